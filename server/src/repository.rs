//! The endpoint's repository: what the service ([`crate::service`]) stores and reads, in data
//! terms: devices and their credentials' hashes, enrollment tokens, records by id, known change
//! hashes, the change log, the audit log. No rule lives here: who may enroll, push or read what
//! is decided by the service, and a repository only keeps its writes atomic and refuses a write
//! whose premises changed ([`RepoError::Stale`]) or that would break a uniqueness it guards
//! ([`RepoError::Conflict`]).
//!
//! SQLite implements it ([`crate::sqlite::SqliteRepository`]); any other backend must pass the
//! same [`crate::conformance`] suite.

use std::collections::HashSet;
use std::future::Future;

use serde::Serialize;

use crate::model::Device;

/// Result of a repository step.
pub type RepoResult<T> = std::result::Result<T, RepoError>;

/// Why a repository step did nothing.
#[derive(Debug, thiserror::Error)]
pub enum RepoError {
    /// What the write was computed from changed since it was read (a record's snapshot, a hash
    /// found unknown): nothing was written; the service reads again and recomputes.
    #[error("what the write was computed from has changed: {0}")]
    Stale(String),
    /// The write would break a uniqueness the repository guards; nothing was written.
    #[error("{0}")]
    Conflict(Conflict),
    /// No such device.
    #[error("no such device")]
    NotFound,
    /// The backend failed (IO, corruption, a lost connection): nothing is known to be written.
    #[error("{0}")]
    Backend(String),
}

/// A uniqueness a repository guards, whatever runs beside it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Conflict {
    /// The enrollment token has been used already.
    TokenUsed,
    /// The actor id is bound to another device.
    ActorTaken,
    /// A device with this id exists.
    DeviceExists,
    /// The device has been revoked: it may not enroll, and nothing it sent is stored.
    Revoked,
}

impl std::fmt::Display for Conflict {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Conflict::TokenUsed => "the enrollment token has been used",
            Conflict::ActorTaken => "the actor id is bound to another device",
            Conflict::DeviceExists => "a device with this id exists",
            Conflict::Revoked => "the device has been revoked",
        })
    }
}

/// A device as stored, with the hash of its credential (`None` before enrollment).
#[derive(Debug, Clone, PartialEq)]
pub struct DeviceRow {
    pub device: Device,
    /// Hex SHA-256 of the device's secret ([`crate::secret::hash_secret`]).
    pub secret_hash: Option<String>,
}

/// A one-time enrollment token as stored: only its hash.
#[derive(Debug, Clone, PartialEq)]
pub struct TokenRow {
    /// Hex SHA-256 of the token.
    pub token_hash: String,
    pub device_id: String,
    /// RFC 3339.
    pub expires_at: String,
    /// RFC 3339; `Some` once the token enrolled a store.
    pub used_at: Option<String>,
    /// Enrolls a store that cannot prove its actor (made before actors had seeds).
    pub allow_unproven: bool,
}

/// A record as the endpoint holds it: kind, team and its document saved whole (an Automerge
/// save), from which a push is checked and a pull is scoped.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredRecord {
    /// `RecordKind::as_str` (`incident`, `patrol`, `config`, `registry`, `period`).
    pub kind: String,
    pub team: String,
    pub snapshot: Vec<u8>,
}

/// One change to append to the log.
#[derive(Debug, Clone, PartialEq)]
pub struct NewChange {
    /// Hex change hash; unique in the log.
    pub hash: String,
    /// Hex actor id.
    pub actor: String,
    /// The change's bytes as decoded (same hash).
    pub bytes: Vec<u8>,
}

/// One record's part of an [`Append`]: its new changes, in causal order, and what it reads as
/// after them.
#[derive(Debug, Clone, PartialEq)]
pub struct RecordWrite {
    pub doc_id: String,
    pub kind: String,
    pub team: String,
    /// The record entered `team`'s scope with this write (new, or moved from another team):
    /// devices of that team get its whole history on their next pull.
    pub entered_scope: bool,
    pub changes: Vec<NewChange>,
    pub snapshot: Vec<u8>,
}

/// What a write was computed from. If any of it changed when the write comes, the write is
/// refused with [`RepoError::Stale`] and nothing of it is stored.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Expected {
    /// Each record read, with its snapshot then (`None`: it did not exist).
    pub records: Vec<(String, Option<Vec<u8>>)>,
    /// Change hashes found unknown: each must still be unknown.
    pub unknown_hashes: Vec<String>,
}

/// What an audit entry says happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AuditAction {
    EnrollmentIssued,
    Enrolled,
    EnrollRefused,
    AuthRefused,
    Revoked,
    SyncPush,
    SyncPull,
    PushRefused,
    ConfigSet,
    /// The database was marked restored from a backup (a new log epoch).
    Restored,
}

impl AuditAction {
    /// Every action, in the order above.
    pub const ALL: [AuditAction; 10] = [
        AuditAction::EnrollmentIssued,
        AuditAction::Enrolled,
        AuditAction::EnrollRefused,
        AuditAction::AuthRefused,
        AuditAction::Revoked,
        AuditAction::SyncPush,
        AuditAction::SyncPull,
        AuditAction::PushRefused,
        AuditAction::ConfigSet,
        AuditAction::Restored,
    ];

    /// The name stored and shown (`enrollment_issued`, …).
    pub fn as_str(self) -> &'static str {
        match self {
            AuditAction::EnrollmentIssued => "enrollment_issued",
            AuditAction::Enrolled => "enrolled",
            AuditAction::EnrollRefused => "enroll_refused",
            AuditAction::AuthRefused => "auth_refused",
            AuditAction::Revoked => "revoked",
            AuditAction::SyncPush => "sync_push",
            AuditAction::SyncPull => "sync_pull",
            AuditAction::PushRefused => "push_refused",
            AuditAction::ConfigSet => "config_set",
            AuditAction::Restored => "restored",
        }
    }
}

/// An audit entry to append.
#[derive(Debug, Clone, PartialEq)]
pub struct NewAudit {
    /// RFC 3339, UTC, milliseconds.
    pub at: String,
    pub action: AuditAction,
    pub device_id: Option<String>,
    /// Counts and reasons; never record contents or secrets.
    pub detail: serde_json::Value,
}

/// One entry of the endpoint's append-only audit log.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AuditEntry {
    /// Position in the log; grows with every entry.
    pub seq: i64,
    pub at: String,
    /// [`AuditAction::as_str`].
    pub action: String,
    pub device_id: Option<String>,
    pub detail: serde_json::Value,
}

/// Changes to store as one step, with the audit entries that say so.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Append {
    /// The device that sent the changes (`endpoint` for the endpoint's own documents).
    pub device_id: String,
    /// RFC 3339 time the changes are stored under.
    pub received_at: String,
    pub records: Vec<RecordWrite>,
    pub expected: Expected,
    /// Written in the same step.
    pub audit: Vec<NewAudit>,
    /// A device whose last sync becomes `received_at`; the append is refused
    /// ([`Conflict::Revoked`]) if that device has been revoked meanwhile, so nothing a revoked
    /// device sent is stored after its revocation, whenever its request began.
    pub touch: Option<String>,
}

/// An enrollment, written as one step: the token marked used, the device bound to its actor
/// and credential, and the registry's change that names it.
#[derive(Debug, Clone, PartialEq)]
pub struct Enrollment {
    pub token_hash: String,
    pub device_id: String,
    /// 32 lower-case hex digits.
    pub actor: String,
    pub secret_hash: String,
    /// RFC 3339.
    pub at: String,
    /// The registry's change and the `enrolled` audit entry.
    pub append: Append,
}

/// Which part of the log a device reads.
#[derive(Debug, Clone, PartialEq)]
pub struct Scope {
    /// Changes this device sent are left out: it holds them.
    pub exclude_device: String,
    /// `None`: every record; `Some(team)`: the team's records of `team_kinds`, and every
    /// record of `shared_kinds`.
    pub team: Option<String>,
    /// Kinds a team's device reads of its own team's records (incidents, patrols): a record of
    /// any other kind in the team, whatever its writer claimed, is not read.
    pub team_kinds: Vec<String>,
    /// Kinds every device reads (the configuration, the registry).
    pub shared_kinds: Vec<String>,
}

/// A page of the log to read.
#[derive(Debug, Clone, PartialEq)]
pub struct PageRequest {
    pub scope: Scope,
    /// The last log position the device has read (0: none).
    pub cursor: i64,
    /// At most this many changes of the log after `cursor` (at least 1).
    pub limit: i64,
    /// The page ends before the change that would take it past this many bytes, but always
    /// holds at least one change after `cursor` so the cursor moves.
    pub max_bytes: usize,
}

/// A page of the log: for a team's device, first the earlier history of records that entered
/// its scope after `cursor`, then the changes after `cursor` in log order.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Page {
    /// `(record id, change bytes)`.
    pub changes: Vec<(String, Vec<u8>)>,
    /// The position to ask from next: the last change sent when the page is full, else the end
    /// of the log.
    pub cursor: i64,
    /// Changes in scope after `cursor` (0 when the page was not full).
    pub remaining: i64,
}

/// Figures about what the endpoint holds.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ServerStats {
    pub changes: i64,
    pub distinct_hashes: i64,
    pub records: i64,
    pub devices: i64,
}

/// What the endpoint stores. Every method is one atomic step; futures are `Send` so the service
/// runs on any executor thread.
pub trait Repository: Send + Sync + 'static {
    /// A value the endpoint keeps about itself (`actor`, `revocation_master`).
    fn meta(&self, key: &str) -> impl Future<Output = RepoResult<Option<String>>> + Send;

    /// Set `key` to `value`, whatever it held (`mrm admin restored` gives the log a new epoch).
    fn set_meta(&self, key: &str, value: &str) -> impl Future<Output = RepoResult<()>> + Send;

    /// Set `key` to `value` unless it holds one already; the value it holds afterwards (two
    /// instances starting at once agree on one).
    fn meta_or_insert(
        &self,
        key: &str,
        value: &str,
    ) -> impl Future<Output = RepoResult<String>> + Send;

    /// Store a new device (not enrolled) with its enrollment token and the audit entry.
    /// Errors: [`Conflict::DeviceExists`].
    fn create_device(
        &self,
        device: &Device,
        token: &TokenRow,
        audit: NewAudit,
    ) -> impl Future<Output = RepoResult<()>> + Send;

    /// A device by id.
    fn device(&self, id: &str) -> impl Future<Output = RepoResult<Option<DeviceRow>>> + Send;

    /// Every device, oldest first.
    fn devices(&self) -> impl Future<Output = RepoResult<Vec<Device>>> + Send;

    /// An enrollment token by its hash.
    fn token(&self, token_hash: &str) -> impl Future<Output = RepoResult<Option<TokenRow>>> + Send;

    /// Bind a device to its actor and credential and use its token, with the registry's change,
    /// as one step. Errors: [`Conflict::TokenUsed`] if the token was used meanwhile (by this or
    /// any other instance), [`Conflict::ActorTaken`] if another device holds the actor,
    /// [`Conflict::Revoked`] if the device was revoked meanwhile, [`RepoError::Stale`] if the
    /// registry changed since it was read.
    fn enroll(&self, enrollment: Enrollment) -> impl Future<Output = RepoResult<()>> + Send;

    /// Mark a device revoked at `at` (a device revoked already keeps its first time), with the
    /// registry's change and the audit entry in `append`, as one step, if the device's actor is
    /// still `actor` (what the registry's change was computed from). Errors:
    /// [`RepoError::NotFound`], [`RepoError::Stale`] (its actor changed: it enrolled meanwhile,
    /// or the registry changed).
    fn revoke(
        &self,
        device_id: &str,
        actor: Option<&str>,
        at: &str,
        append: Append,
    ) -> impl Future<Output = RepoResult<()>> + Send;

    /// Set a device's last sync to `at`, unless it is `unless_after` or later.
    fn touch_device(
        &self,
        device_id: &str,
        at: &str,
        unless_after: Option<&str>,
    ) -> impl Future<Output = RepoResult<()>> + Send;

    /// A record as the endpoint holds it.
    fn record(&self, doc_id: &str)
        -> impl Future<Output = RepoResult<Option<StoredRecord>>> + Send;

    /// Which of `hashes` (hex) are in the log.
    fn known(&self, hashes: &[String]) -> impl Future<Output = RepoResult<HashSet<String>>> + Send;

    /// Store changes and their records' new snapshots, scope entries and audit entries as one
    /// step, in log order (each record's changes in the order given), if everything in
    /// `append.expected` still holds. Returns how many changes were stored. Errors:
    /// [`RepoError::Stale`].
    fn append(&self, append: Append) -> impl Future<Output = RepoResult<usize>> + Send;

    /// A page of the log in a scope, read from one consistent state.
    fn page(&self, request: &PageRequest) -> impl Future<Output = RepoResult<Page>> + Send;

    /// Append an audit entry.
    fn audit(&self, entry: NewAudit) -> impl Future<Output = RepoResult<()>> + Send;

    /// The audit log, oldest first, of entries at `since` (an RFC 3339 time or date prefix) or
    /// later; `""` for all.
    fn audit_log(&self, since: &str) -> impl Future<Output = RepoResult<Vec<AuditEntry>>> + Send;

    /// What the endpoint holds.
    fn stats(&self) -> impl Future<Output = RepoResult<ServerStats>> + Send;
}
