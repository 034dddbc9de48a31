//! The sync protocol's messages and constants, shared by the client (here) and the endpoint
//! (`mrm-server`). The protocol is written down in docs/sync-protocol.md.

use serde::{Deserialize, Serialize};

/// Version prefix of every endpoint path.
pub const API: &str = "/v1";
/// Most changes the client sends in one push.
pub const PUSH_BATCH_CHANGES: usize = 2_000;
/// Most change bytes the client sends in one push.
pub const PUSH_BATCH_BYTES: usize = 4 * 1024 * 1024;
/// Largest request body the endpoint accepts (compressed).
pub const MAX_BODY: usize = 32 * 1024 * 1024;
/// Default and largest page size of a pull, in changes. A page also ends at [`PULL_PAGE_BYTES`]:
/// what a cut re-sends is bounded by bytes, while a fresh device gets a record's creation and its
/// edits in one page (each record a page touches costs an import; 5,000-change pages made a fresh
/// 10,000-incident pull import most records twice).
pub const PULL_PAGE: i64 = 50_000;
/// A pull page stops once its change bytes (before gzip) reach this (it always holds at least one
/// change of the log, so the cursor moves).
pub const PULL_PAGE_BYTES: usize = 16 * 1024 * 1024;

pub use crate::policy::Role;

/// `POST /v1/enroll` request.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EnrollRequest {
    pub token: String,
    /// The store's team: a token for another team is refused before it is used up.
    pub team: String,
    /// The store's mission code: refused if the endpoint serves another mission.
    pub mission: String,
    /// The device's Automerge actor id (hex), bound to the device from now on.
    pub actor: String,
}

/// `POST /v1/enroll` response: the credential is shown once and stored only hashed.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct EnrollResponse {
    pub device_id: String,
    pub secret: String,
    pub officer: String,
    pub team: String,
    pub role: Role,
    pub mission: String,
}

/// `POST /v1/push` response.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct PushResponse {
    /// Changes stored by this request.
    pub accepted: usize,
    /// Changes the endpoint already had.
    pub duplicates: usize,
}

/// Header of a `GET /v1/pull` response page.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct PullHeader {
    /// The cursor to send next time.
    pub cursor: i64,
    /// More pages wait after this one.
    pub more: bool,
    /// Changes in scope after `cursor` (for progress).
    pub remaining: i64,
    pub count: u64,
}

/// `GET /v1/me` response.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct MeResponse {
    pub device_id: String,
    pub officer: String,
    pub team: String,
    pub role: Role,
    pub mission: String,
}

/// Error body of every non-2xx response.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ErrorBody {
    pub error: String,
    /// Machine-readable kind: `unauthorized`, `revoked`, `forbidden`, `bad_request`,
    /// `missing_dependencies`, `not_found`, `internal`.
    #[serde(default)]
    pub code: String,
    /// For `forbidden` by the one policy: its reason ([`crate::policy::Denial::code`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}
