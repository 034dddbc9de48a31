//! `mrm-crdt`: the core of MRM Field.
//!
//! It owns the truth: the MRM record vocabulary ([`model`]), one Automerge document per record
//! ([`document`], [`edit`]), the durable SQLite store with its change log and projections
//! ([`store`]), conflicts and history as data ([`conflicts`], [`history`]), and the change exchange
//! that USB bundles and network sync share ([`bundle`], [`Store::import`]).
//!
//! It knows nothing of Tauri, HTTP handlers or terminals.

pub mod bundle;
pub mod changes;
pub mod conflicts;
pub mod crypto;
pub mod demo;
pub mod document;
pub mod edit;
pub mod effect;
pub mod error;
pub mod history;
pub mod input;
pub mod limits;
pub mod model;
pub mod period;
pub mod policy;
pub mod report;
pub mod split;
pub mod store;
pub mod sync;
pub mod validate;

pub use error::{Error, FieldError, FieldErrors, Result};
pub use store::Store;
