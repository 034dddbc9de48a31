//! Sync with the mission endpoint: the protocol's messages ([`protocol`]), the transport seam
//! ([`transport`]) and the client ([`client`]). Async, cancellable, resumable; it reports progress
//! through a callback so the CLI can draw a bar and the app can emit events.

pub mod client;
pub mod pin;
pub mod protocol;
pub mod transport;

pub use client::{enroll, sync, Progress, SyncOptions, SyncReport};
pub use transport::{HttpTransport, Transport};
