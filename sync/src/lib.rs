//! `mrm-sync`: a device's sync with the mission endpoint. The client ([`client`]: push what the
//! endpoint lacks, pull what the device lacks, per page, resumable), the transport seam
//! ([`transport`]: HTTP with reqwest and rustls, or anything implementing [`Transport`]) and
//! certificate pinning ([`pin`]). The messages themselves are `mrm_crdt::protocol`, shared with
//! the endpoint, which links none of this crate.
//!
//! Async and cancellable; progress goes through a callback so the CLI can draw a bar and the app
//! can emit events.

#![forbid(unsafe_code)]

pub mod client;
pub mod pace;
pub mod pin;
mod pull;
mod relay;
pub mod transport;

pub use client::{
    enroll, sync, Progress, SyncOptions, SyncReport, ENDPOINT_RESTORED_ADVICE,
    IDENTITY_REUSED_ADVICE,
};
pub use transport::{HttpTransport, Transport};
