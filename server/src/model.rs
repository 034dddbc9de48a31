//! What the endpoint knows about devices.

use mrm_crdt::protocol::Role;
use serde::Serialize;

/// An enrolled (or pending) device.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Device {
    pub id: String,
    pub officer: String,
    pub team: String,
    pub role: Role,
    /// Hex Automerge actor id bound at enrollment.
    pub actor: Option<String>,
    pub created_at: String,
    pub enrolled_at: Option<String>,
    pub revoked_at: Option<String>,
    pub last_sync_at: Option<String>,
}
