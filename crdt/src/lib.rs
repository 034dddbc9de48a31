//! `mrm-crdt`: the MRM record as a CRDT, with no IO.
//!
//! It owns the meaning of a record: the vocabulary ([`model`], [`input`], [`validate`]), one
//! Automerge document per record ([`document`], [`edit`]), the one policy of who may write what
//! ([`policy`], [`effect`]), conflicts and history as data ([`conflicts`], [`history`]), the
//! counting rules of the MRM's reports ([`counting`], [`report`], [`period`]), the frames and
//! sealed bundles changes travel in ([`bundle`], [`crypto`]) and the sync protocol's messages
//! ([`protocol`]). Bytes and values in, bytes and values out.
//!
//! It opens no file, database or socket and knows nothing of Tauri, HTTP or terminals: the
//! device's store is `mrm-store`, the sync client `mrm-sync`, the endpoint `mrm-server`.

#![forbid(unsafe_code)]

pub mod activity;
pub mod activity_figures;
pub mod bounds;
pub mod bundle;
pub mod changes;
pub mod conflicts;
pub mod counting;
pub mod crypto;
pub mod details;
pub mod document;
pub mod edit;
pub mod effect;
pub mod error;
pub mod history;
pub mod history_diff;
pub mod input;
pub mod limits;
pub mod model;
pub mod parties;
pub mod period;
pub mod policy;
pub mod protocol;
pub mod report;
pub mod rerecord;
pub mod split;
pub mod validate;

pub use error::{Error, FieldError, FieldErrors, Result};
