//! The storage seam: everything the HTTP layer needs from a backend. SQLite (embedded, the default)
//! implements it in [`crate::sqlite`]; a PostgreSQL backend will implement the same trait.
//!
//! The trait speaks in protocol terms (devices, batches of changes, cursors), never in SQL terms,
//! and every method is one atomic step: a push is stored whole or not at all.

use std::time::Duration;

use mrm_crdt::bundle::Frames;
use mrm_crdt::model::MissionConfig;
use mrm_crdt::sync::protocol::{EnrollRequest, EnrollResponse, PullHeader, PushResponse, Role};
use serde::Serialize;

use crate::model::Device;

/// Why a request was refused or failed.
#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    #[error("{0}")]
    Unauthorized(String),
    #[error("this device has been revoked; it may not sync")]
    Revoked,
    /// [`ServerError::Revoked`] with the proof for the request's nonce.
    #[error("this device has been revoked; it may not sync")]
    RevokedProven(String),
    #[error("{0}")]
    Forbidden(String),
    /// The one policy refuses the effect of a batch on a record.
    #[error("record {record}: {denial}")]
    Denied {
        record: String,
        denial: mrm_crdt::policy::Denial,
    },
    #[error("{0}")]
    BadRequest(String),
    /// A body or message larger than the endpoint takes (HTTP 413, code `too_large`).
    #[error("too large: {0}")]
    TooLarge(String),
    /// A body that did not arrive in time, or a turn that did not come (HTTP 408, code
    /// `timeout`).
    #[error("{0}")]
    Timeout(String),
    /// The batch depends on changes the endpoint does not have yet.
    #[error("{0}")]
    MissingDependencies(String),
    #[error("{0}")]
    NotFound(String),
    #[error("internal error: {0}")]
    Internal(String),
    /// The endpoint's database cannot be used as given (in clear, another key, no key): said at
    /// start, never to a device.
    #[error("the endpoint's database: {0}")]
    Unusable(String),
}

impl From<rusqlite::Error> for ServerError {
    fn from(e: rusqlite::Error) -> Self {
        ServerError::Internal(format!("database: {e}"))
    }
}

impl From<mrm_crdt::Error> for ServerError {
    fn from(e: mrm_crdt::Error) -> Self {
        match e {
            mrm_crdt::Error::Sqlite(e) => ServerError::Internal(format!("database: {e}")),
            other => ServerError::BadRequest(other.to_string()),
        }
    }
}

/// Longest nonce a request may carry (hex of 16 bytes is 32 characters).
pub const MAX_NONCE: usize = 128;

/// Result of the storage layer.
pub type Result<T, E = ServerError> = std::result::Result<T, E>;

/// Figures about what the endpoint holds.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ServerStats {
    pub changes: i64,
    pub distinct_hashes: i64,
    pub records: i64,
    pub devices: i64,
}

/// A sync endpoint backend.
pub trait Storage: Send + Sync + 'static {
    /// Register a device and return it with a one-time enrollment token that expires after `ttl`.
    /// The token enrolls only a store that proves its actor (`EnrollRequest::actor_proof`) unless
    /// `allow_unproven` (for a store made before actors were derived from a seed).
    fn create_enrollment(
        &self,
        officer: &str,
        team: &str,
        role: Role,
        ttl: Duration,
        allow_unproven: bool,
    ) -> Result<(Device, String)>;

    /// Exchange an enrollment token for a device credential, binding `req.actor` to the device once
    /// its proof holds (`mrm_crdt::sync::protocol::actor_from_seed`).
    fn enroll(&self, req: &EnrollRequest) -> Result<EnrollResponse>;

    /// The device a credential belongs to; refuses unknown, wrong and revoked credentials.
    fn authenticate(&self, device_id: &str, secret: &str) -> Result<Device>;

    /// Every device, enrolled or not.
    fn list_devices(&self) -> Result<Vec<Device>>;

    /// Revoke a device: its next request is refused.
    fn revoke(&self, device_id: &str) -> Result<Device>;

    /// The proof, bound to a request's `nonce` (at most [`MAX_NONCE`] characters), that this
    /// endpoint revoked `device_id` (`mrm_crdt::sync::protocol::revocation_proof` with the
    /// device's revocation key): what lets a revoked device wipe itself, and an impostor not.
    fn revocation_proof(&self, device_id: &str, nonce: &str) -> Option<String>;

    /// Check and store a batch of changes from `device`, all or nothing.
    fn push(&self, device: &Device, changes: Vec<(String, Vec<u8>)>) -> Result<PushResponse>;

    /// Audit a push refused before it reached [`Storage::push`] (too large, cut, undecodable),
    /// as `push_refused` with the reason, like a push the rules refuse.
    fn push_refused(&self, device: &Device, e: &ServerError);

    /// The changes in `device`'s scope after `cursor`, at most about `limit`.
    fn pull(&self, device: &Device, cursor: i64, limit: i64) -> Result<(PullHeader, Frames)>;

    /// Set the mission configuration (written as a change by the endpoint itself).
    /// Returns whether anything changed.
    fn set_config(&self, cfg: &MissionConfig) -> Result<bool>;

    /// The mission configuration, if set.
    fn config(&self) -> Result<Option<MissionConfig>>;

    /// What the endpoint holds.
    fn stats(&self) -> Result<ServerStats>;

    /// The audit log, oldest first, from `since` (an RFC 3339 time or date prefix) on.
    fn audit_log(&self, since: Option<&str>) -> Result<Vec<AuditEntry>>;
}

/// One entry of the endpoint's append-only audit log.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AuditEntry {
    pub seq: i64,
    pub at: String,
    /// `enrollment_issued`, `enrolled`, `enroll_refused`, `auth_refused`, `revoked`, `sync_push`,
    /// `sync_pull`, `push_refused`, `config_set`.
    pub action: String,
    pub device_id: Option<String>,
    /// Counts and reasons; never record contents or secrets.
    pub detail: serde_json::Value,
}
