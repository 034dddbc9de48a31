//! The endpoint's service: every rule of the endpoint (enrollment, authentication, revocation,
//! the checks of a push, a device's scope, the audit trail, the endpoint's own documents) over a
//! [`Repository`] that only stores. The HTTP layer ([`crate::api`]) and the admin commands call
//! it; any backend that passes [`crate::conformance`] gets the same behaviour.
//!
//! A write is computed from what was read and stored only if that still holds (the repository's
//! compare-and-swap); when it no longer does, the service reads and computes again. Every store
//! step of an instance takes its write turn, and a write computed again keeps the turn from its
//! reading to its storing: within one instance it then cannot lose again, however busy a record
//! is. Only writes of other instances over the same database can make it lose more than once.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use automerge::{ActorId, Automerge};
use mrm_crdt::document::{self, CONFIG_ID};
use mrm_crdt::model::MissionConfig;
use mrm_crdt::protocol::{revocation_key, revocation_proof, Role};

use crate::error::{Result, ServerError};
use crate::model::Device;
use crate::repository::{
    Append, AuditAction, AuditEntry, NewAudit, RepoError, Repository, ServerStats, TokenRow,
};
use crate::secret::{hash_secret, new_secret};

mod audit;
mod enroll;
mod pull;
mod push;
mod registry;

use audit::RefusalBudget;

/// Longest nonce a request may carry (hex of 16 bytes is 32 characters).
pub const MAX_NONCE: usize = 128;

/// How many times a write is computed before the device is told to retry later
/// ([`ServerError::Busy`]).
const ATTEMPTS: usize = 8;

/// Longest wait for the instance's write turn before the device is told to retry later.
const WRITE_WAIT: Duration = Duration::from_secs(60);

/// The endpoint's service over a repository `R`.
pub struct Service<R> {
    repo: R,
    /// The endpoint's own Automerge actor as read at open: it writes the configuration and the
    /// registry. [`Service::endpoint_actor`] reads it afresh (a restore gives a new one).
    actor: ActorId,
    /// The endpoint's secret from which each device's revocation key is derived (hex).
    revocation_master: String,
    /// How many refusals the audit log takes ([`Service::record_refusal`]), one budget per kind
    /// of requester: strangers with a bad credential, enrollments, and enrolled devices, so a
    /// stranger's flood never hides an insider's refused push or forged enrollment.
    refusals: Mutex<[RefusalBudget; 3]>,
    /// Per device: when its last `sync_pull` entry was written, and the pages and changes sent
    /// since (summed into the next entry).
    pulls_seen: Mutex<HashMap<String, PullsSeen>>,
    /// The instance's write turn (see the module's doc).
    writes: tokio::sync::Mutex<()>,
}

/// When a device's last `sync_pull` entry was written, and the pages and changes sent since.
type PullsSeen = (Option<std::time::Instant>, u64, u64);

/// The meta key of the log's epoch (`MeResponse::log_epoch`).
pub const LOG_EPOCH: &str = "log_epoch";

/// A new log epoch: a UUID v7, so epochs also sort by when they were made.
pub fn new_log_epoch() -> String {
    uuid::Uuid::now_v7().to_string()
}

/// The meta key of the endpoint's own Automerge actor (hex).
pub const ENDPOINT_ACTOR: &str = "actor";

/// A new actor for the endpoint (hex of a UUID v7's 16 bytes). A restored database takes a new
/// one: under the old one its next change of the configuration or the registry would reuse
/// sequence numbers that devices already hold for changes the restore lost, and every device
/// would hold those records as reusing an identity.
pub fn new_endpoint_actor() -> String {
    ActorId::from(uuid::Uuid::now_v7().as_bytes().to_vec()).to_hex_string()
}

/// Now, as the endpoint stamps its rows: RFC 3339, UTC, milliseconds.
pub(crate) fn now() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // The guarded values are budgets and counters: a panic elsewhere leaves them usable.
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// An audit entry stamped now.
pub(crate) fn entry(
    action: AuditAction,
    device_id: Option<&str>,
    detail: serde_json::Value,
) -> NewAudit {
    NewAudit {
        at: now(),
        action,
        device_id: device_id.map(str::to_string),
        detail,
    }
}

/// Load an Automerge document the repository holds; a snapshot that does not load is the
/// endpoint's fault, never the device's.
pub(crate) fn load(doc_id: &str, snapshot: &[u8]) -> Result<Automerge> {
    Automerge::load(snapshot).map_err(|e| ServerError::Internal(format!("record {doc_id}: {e}")))
}

impl<R: Repository> Service<R> {
    /// The service over `repo`: reads (or, on a new database, makes) the endpoint's actor and
    /// revocation secret.
    pub async fn open(repo: R) -> Result<Service<R>> {
        let actor: ActorId = repo
            .meta_or_insert(ENDPOINT_ACTOR, &new_endpoint_actor())
            .await?
            .parse()
            .map_err(|_| ServerError::Internal("bad endpoint actor id".into()))?;
        let revocation_master = repo
            .meta_or_insert("revocation_master", &new_secret())
            .await?;
        repo.meta_or_insert(LOG_EPOCH, &new_log_epoch()).await?;
        Ok(Service {
            repo,
            actor,
            revocation_master,
            refusals: Mutex::new([
                RefusalBudget::new(),
                RefusalBudget::new(),
                RefusalBudget::new(),
            ]),
            pulls_seen: Mutex::new(HashMap::new()),
            writes: tokio::sync::Mutex::new(()),
        })
    }

    /// This instance's write turn, within [`WRITE_WAIT`].
    ///
    /// Errors: [`ServerError::Busy`].
    pub(crate) async fn write_turn(&self) -> Result<tokio::sync::MutexGuard<'_, ()>> {
        tokio::time::timeout(WRITE_WAIT, self.writes.lock())
            .await
            .map_err(|_| {
                ServerError::Busy("the endpoint is busy with other writes; try again".into())
            })
    }

    /// Run a store step in this instance's write turn, unless the caller `held` it already (a
    /// write computed again). `step` is polled only once the turn is held.
    ///
    /// Errors: [`ServerError::Busy`] when the turn does not come; the step's own result inside.
    pub(crate) async fn in_turn<T>(
        &self,
        held: bool,
        step: impl std::future::Future<Output = crate::repository::RepoResult<T>>,
    ) -> Result<crate::repository::RepoResult<T>> {
        let _turn = if held {
            None
        } else {
            Some(self.write_turn().await?)
        };
        Ok(step.await)
    }

    /// The endpoint's own actor, read afresh: `mrm admin restored` may have given the database
    /// a new one while this instance ran, and a write under the old one would reuse sequence
    /// numbers devices hold ([`new_endpoint_actor`]).
    ///
    /// Errors: the repository's; [`ServerError::Internal`] for a stored actor that does not parse.
    pub(crate) async fn endpoint_actor(&self) -> Result<ActorId> {
        match self.repo.meta(ENDPOINT_ACTOR).await? {
            Some(hex) => hex
                .parse()
                .map_err(|_| ServerError::Internal("bad endpoint actor id".into())),
            None => Ok(self.actor.clone()),
        }
    }

    /// The log's epoch, read afresh (an administrator may have marked the database restored).
    ///
    /// Errors: the repository's.
    pub async fn log_epoch(&self) -> Result<String> {
        match self.repo.meta(LOG_EPOCH).await? {
            Some(e) => Ok(e),
            None => Ok(self
                .repo
                .meta_or_insert(LOG_EPOCH, &new_log_epoch())
                .await?),
        }
    }

    /// Mark the database as restored from a backup: a new log epoch, so every device sends what
    /// the restored log may lack and reads the log again from its start, and a new endpoint
    /// actor ([`new_endpoint_actor`]). Takes effect for instances started afterwards. Returns
    /// the new epoch.
    ///
    /// Errors: the repository's.
    pub async fn mark_restored(&self) -> Result<String> {
        let epoch = new_log_epoch();
        self.repo
            .set_meta(ENDPOINT_ACTOR, &new_endpoint_actor())
            .await?;
        self.repo.set_meta(LOG_EPOCH, &epoch).await?;
        self.repo
            .audit(entry(
                AuditAction::Restored,
                None,
                serde_json::json!({ "epoch": epoch }),
            ))
            .await?;
        Ok(epoch)
    }

    /// The repository under the service (for tests and figures).
    pub fn repository(&self) -> &R {
        &self.repo
    }

    /// Register a device and return it with a one-time enrollment token (64 hex digits) that
    /// expires after `ttl`. The token enrolls only a store that proves its actor
    /// (`EnrollRequest::actor_proof`) unless `allow_unproven` (for a store made before actors
    /// were derived from a seed).
    ///
    /// Errors: [`ServerError::BadRequest`] for an empty officer or team.
    pub async fn create_enrollment(
        &self,
        officer: &str,
        team: &str,
        role: Role,
        ttl: Duration,
        allow_unproven: bool,
    ) -> Result<(Device, String)> {
        if officer.trim().is_empty() || team.trim().is_empty() {
            return Err(ServerError::BadRequest(
                "officer and team are required".into(),
            ));
        }
        let token = new_secret();
        let expires = chrono::Utc::now()
            + chrono::Duration::from_std(ttl).unwrap_or_else(|_| chrono::Duration::hours(24));
        let device = Device {
            id: uuid::Uuid::now_v7().to_string(),
            officer: officer.trim().to_string(),
            team: team.trim().to_string(),
            role,
            actor: None,
            created_at: now(),
            enrolled_at: None,
            revoked_at: None,
            last_sync_at: None,
        };
        let row = TokenRow {
            token_hash: hash_secret(&token),
            device_id: device.id.clone(),
            expires_at: expires.to_rfc3339(),
            used_at: None,
            allow_unproven,
        };
        let audit = entry(
            AuditAction::EnrollmentIssued,
            Some(&device.id),
            serde_json::json!({"officer": device.officer, "team": device.team,
                               "role": role.as_str(), "expires_at": row.expires_at,
                               "allow_unproven": allow_unproven}),
        );
        self.repo.create_device(&device, &row, audit).await?;
        Ok((device, token))
    }

    /// The device a credential belongs to. A revoked device that sent a `nonce` (at most
    /// [`MAX_NONCE`] characters) gets the proof that this endpoint revoked it
    /// ([`ServerError::RevokedProven`]), so an impostor's "revoked" wipes nothing.
    ///
    /// Errors: [`ServerError::Unauthorized`] for an unknown or wrong credential,
    /// [`ServerError::Revoked`] / [`ServerError::RevokedProven`].
    pub async fn authenticate(
        &self,
        device_id: &str,
        secret: &str,
        nonce: Option<&str>,
    ) -> Result<Device> {
        let result = self.authenticate_inner(device_id, secret).await;
        let Err(e) = result else {
            return result;
        };
        self.record_refusal(AuditAction::AuthRefused, Some(device_id), &e)
            .await;
        Err(match e {
            ServerError::Revoked => nonce
                .filter(|n| n.len() <= MAX_NONCE)
                .and_then(|n| self.revocation_proof(device_id, n))
                .map(ServerError::RevokedProven)
                .unwrap_or(ServerError::Revoked),
            e => e,
        })
    }

    async fn authenticate_inner(&self, device_id: &str, secret: &str) -> Result<Device> {
        let Some(row) = self.repo.device(device_id).await? else {
            return Err(ServerError::Unauthorized(
                "unknown device credential".into(),
            ));
        };
        let Some(stored) = row.secret_hash else {
            return Err(ServerError::Unauthorized(
                "unknown device credential".into(),
            ));
        };
        if !crate::secret::equal(&stored, &hash_secret(secret)) {
            return Err(ServerError::Unauthorized("wrong device credential".into()));
        }
        if row.device.revoked_at.is_some() {
            return Err(ServerError::Revoked);
        }
        Ok(row.device)
    }

    /// Every device, enrolled or not, oldest first.
    pub async fn list_devices(&self) -> Result<Vec<Device>> {
        Ok(self.repo.devices().await?)
    }

    /// Revoke a device: its next request is refused, and the registry says so to every device.
    /// Revoking twice keeps the first time.
    ///
    /// Errors: [`ServerError::NotFound`].
    pub async fn revoke(&self, device_id: &str) -> Result<Device> {
        let mut attempt = 0;
        let mut held = None;
        loop {
            let Some(row) = self.repo.device(device_id).await? else {
                return Err(ServerError::NotFound(format!("no device {device_id}")));
            };
            let mut device = row.device;
            let actor = device.actor.clone();
            let at = now();
            device.revoked_at.get_or_insert_with(|| at.clone());
            let mut append = self
                .register(&device)
                .await?
                .unwrap_or_else(endpoint_append);
            append.audit.push(entry(
                AuditAction::Revoked,
                Some(device_id),
                serde_json::json!({}),
            ));
            let stored = self
                .in_turn(
                    held.is_some(),
                    self.repo.revoke(device_id, actor.as_deref(), &at, append),
                )
                .await?;
            match stored {
                Ok(()) => return Ok(device),
                Err(RepoError::Stale(_)) if attempt + 1 < ATTEMPTS => {
                    attempt += 1;
                    if held.is_none() {
                        held = Some(self.write_turn().await?);
                    }
                }
                Err(RepoError::NotFound) => {
                    return Err(ServerError::NotFound(format!("no device {device_id}")))
                }
                Err(e) => return Err(e.into()),
            }
        }
    }

    /// The proof, bound to a request's `nonce`, that this endpoint revoked `device_id`
    /// (`mrm_crdt::protocol::revocation_proof` with the device's revocation key).
    pub fn revocation_proof(&self, device_id: &str, nonce: &str) -> Option<String> {
        revocation_key(&self.revocation_master, device_id)
            .and_then(|k| revocation_proof(&k, device_id, nonce))
    }

    /// Set the mission configuration (written as a change by the endpoint itself). Returns
    /// whether anything changed.
    ///
    /// Errors: [`ServerError::BadRequest`] for a configuration without a mission code or one
    /// that does not read back.
    pub async fn set_config(&self, cfg: &MissionConfig) -> Result<bool> {
        if cfg.mission.trim().is_empty() {
            return Err(ServerError::BadRequest(
                "the configuration needs a mission code".into(),
            ));
        }
        let mut attempt = 0;
        let mut held = None;
        loop {
            let Some(mut append) = self
                .endpoint_write(
                    CONFIG_ID,
                    document::RecordKind::Config,
                    |log: &Vec<String>| log.join(", "),
                    |t| mrm_crdt::edit::apply_config(t, cfg),
                )
                .await?
            else {
                return Ok(false);
            };
            append.audit.push(entry(
                AuditAction::ConfigSet,
                None,
                serde_json::json!({"mission": cfg.mission, "teams": cfg.teams.len(),
                                   "parties": cfg.parties.len(),
                                   "admin_areas": cfg.admin_areas.len()}),
            ));
            let stored = self
                .in_turn(held.is_some(), self.repo.append(append))
                .await?;
            match stored {
                Ok(_) => return Ok(true),
                Err(RepoError::Stale(_)) if attempt + 1 < ATTEMPTS => {
                    attempt += 1;
                    if held.is_none() {
                        held = Some(self.write_turn().await?);
                    }
                }
                Err(e) => return Err(e.into()),
            }
        }
    }

    /// The mission configuration, if set.
    pub async fn config(&self) -> Result<Option<MissionConfig>> {
        match self.repo.record(CONFIG_ID).await? {
            // What the endpoint stored and cannot read is its own fault, never the device's.
            Some(r) => document::read_config(&load(CONFIG_ID, &r.snapshot)?)
                .map(Some)
                .map_err(|e| ServerError::Internal(format!("the mission configuration: {e}"))),
            None => Ok(None),
        }
    }

    /// What the endpoint holds.
    pub async fn stats(&self) -> Result<ServerStats> {
        Ok(self.repo.stats().await?)
    }

    /// The audit log, oldest first, from `since` (an RFC 3339 time or date prefix) on.
    pub async fn audit_log(&self, since: Option<&str>) -> Result<Vec<AuditEntry>> {
        Ok(self.repo.audit_log(since.unwrap_or("")).await?)
    }
}

/// An empty append by the endpoint itself, stamped now.
pub(crate) fn endpoint_append() -> Append {
    Append {
        device_id: "endpoint".into(),
        received_at: now(),
        ..Append::default()
    }
}
