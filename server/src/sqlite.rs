//! The embedded SQLite backend: one file, one writer connection, a few reader connections.

use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::Duration;

use automerge::ActorId;
use mrm_crdt::bundle::Frames;
use mrm_crdt::crypto::Key;
use mrm_crdt::document::{self, RecordKind, CONFIG_ID};
use mrm_crdt::model::MissionConfig;
use mrm_crdt::sync::protocol::{
    revocation_key, revocation_proof, EnrollRequest, EnrollResponse, PullHeader, PushResponse, Role,
};
use rusqlite::{params, Connection, OptionalExtension, TransactionBehavior};

use crate::checks::Applied;
use crate::model::Device;
use crate::secret::{hash_secret, new_secret};
use crate::storage::{AuditEntry, Result, ServerError, ServerStats, Storage};

pub mod at_rest;
mod audit;
mod check;
mod enroll;
mod pull;
mod registry;

use audit::{audit, RefusalBudget};
use check::{check_reading, load_doc};

const SCHEMA: &str = r#"
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS devices (
    id           TEXT PRIMARY KEY,
    officer      TEXT NOT NULL,
    team         TEXT NOT NULL,
    role         TEXT NOT NULL,
    actor        TEXT UNIQUE,
    secret_hash  TEXT UNIQUE,
    created_at   TEXT NOT NULL,
    enrolled_at  TEXT,
    revoked_at   TEXT,
    last_sync_at TEXT
);
CREATE TABLE IF NOT EXISTS enrollment_tokens (
    token_hash   TEXT PRIMARY KEY,
    device_id    TEXT NOT NULL,
    expires_at   TEXT NOT NULL,
    used_at      TEXT,
    -- 1: enrolls a store that cannot prove its actor (made before actors had seeds).
    allow_unproven INTEGER NOT NULL DEFAULT 0
);
-- Append-only, in causal order: a change always comes after the changes it depends on.
CREATE TABLE IF NOT EXISTS changes (
    seq          INTEGER PRIMARY KEY AUTOINCREMENT,
    doc_id       TEXT NOT NULL,
    hash         TEXT NOT NULL UNIQUE,
    actor        TEXT NOT NULL,
    device_id    TEXT NOT NULL,
    bytes        BLOB NOT NULL,
    received_at  TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS changes_by_doc ON changes (doc_id, seq);
-- Materialized documents, to check pushes and scope pulls.
CREATE TABLE IF NOT EXISTS docs (
    doc_id       TEXT PRIMARY KEY,
    kind         TEXT NOT NULL,
    team         TEXT NOT NULL,
    snapshot     BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS docs_by_team ON docs (team);
-- When a record entered a team's scope (created, or reassigned), at which log position.
CREATE TABLE IF NOT EXISTS scope_log (
    seq          INTEGER NOT NULL,
    doc_id       TEXT NOT NULL,
    team         TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS scope_log_by_team ON scope_log (team, seq);
-- Append-only: who did what on the endpoint, and what was refused and why. Never record contents.
CREATE TABLE IF NOT EXISTS audit (
    seq          INTEGER PRIMARY KEY AUTOINCREMENT,
    at           TEXT NOT NULL,
    action       TEXT NOT NULL,
    device_id    TEXT,
    detail       TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS audit_by_time ON audit (at);
"#;

/// Columns added since a database was first made (`CREATE TABLE IF NOT EXISTS` leaves an existing
/// table as it was).
fn upgrade(conn: &Connection) -> Result<()> {
    let has: bool = conn.query_row(
        "SELECT EXISTS (SELECT 1 FROM pragma_table_info('enrollment_tokens')
                        WHERE name = 'allow_unproven')",
        [],
        |r| r.get(0),
    )?;
    if !has {
        conn.execute_batch(
            "ALTER TABLE enrollment_tokens ADD COLUMN allow_unproven INTEGER NOT NULL DEFAULT 0;",
        )?;
    }
    Ok(())
}

const READERS: usize = 4;

/// The SQLite backend.
pub struct SqliteStorage {
    writer: Mutex<Connection>,
    readers: Vec<Mutex<Connection>>,
    next_reader: AtomicUsize,
    actor: ActorId,
    /// The endpoint's secret from which each device's revocation key is derived (hex).
    revocation_master: String,
    /// How many refusals the audit log takes ([`SqliteStorage::record_refusal`]), one budget per
    /// kind of requester: strangers with a bad credential, enrollments, and enrolled devices, so
    /// a stranger's flood never hides an insider's refused push or forged enrollment.
    refusals: Mutex<[RefusalBudget; 3]>,
    /// Per device: when its last `sync_pull` entry was written, and the pages and changes sent
    /// since (summed into the next entry).
    pulls_seen: Mutex<std::collections::HashMap<String, PullsSeen>>,
}

/// When a device's last `sync_pull` entry was written, and the pages and changes sent since.
type PullsSeen = (Option<std::time::Instant>, u64, u64);

fn now() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

fn open(path: &Path, key: &Key) -> Result<Connection> {
    let conn = at_rest::open_keyed(path, key)?;
    // 16 MiB of page cache per connection (a device's store keeps 64): the endpoint has five,
    // and its memory must stay bounded whatever devices ask.
    conn.execute_batch("PRAGMA cache_size = -16384;")?;
    // FULL: an acknowledged push must survive a power cut of the endpoint.
    conn.execute_batch(
        "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; PRAGMA busy_timeout = 10000;",
    )?;
    Ok(conn)
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // A panic while holding the lock cannot leave SQLite half-written (transactions roll back),
    // so a poisoned lock is still safe to use.
    m.lock().unwrap_or_else(|p| p.into_inner())
}

fn device_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Device> {
    let role: String = r.get(3)?;
    Ok(Device {
        id: r.get(0)?,
        officer: r.get(1)?,
        team: r.get(2)?,
        role: Role::parse(&role).unwrap_or(Role::Officer),
        actor: r.get(4)?,
        created_at: r.get(5)?,
        enrolled_at: r.get(6)?,
        revoked_at: r.get(7)?,
        last_sync_at: r.get(8)?,
    })
}

const DEVICE_COLS: &str =
    "id, officer, team, role, actor, created_at, enrolled_at, revoked_at, last_sync_at";

/// Store the checked result of a batch: changes, snapshots, scope entries.
fn store_applied(conn: &Connection, device_id: &str, applied: &mut [Applied]) -> Result<usize> {
    let mut accepted = 0;
    let received = now();
    for a in applied.iter_mut() {
        let mut last_seq = 0;
        // Stored as decoded (same hash): deflating each change cost more than checking it, and
        // pull pages are gzip-compressed whole.
        for c in &a.new_changes {
            conn.prepare_cached(
                "INSERT INTO changes (doc_id, hash, actor, device_id, bytes, received_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            )?
            .execute(params![
                a.doc_id,
                c.hash().to_string(),
                c.actor_id().to_hex_string(),
                device_id,
                c.raw_bytes(),
                received
            ])?;
            last_seq = conn.last_insert_rowid();
            accepted += 1;
        }
        let snapshot = mrm_crdt::changes::snapshot(&a.doc);
        // Never store what could not be served again (crate limits, as devices check at edit).
        if snapshot.len() > mrm_crdt::limits::MAX_RECORD_BYTES {
            return Err(ServerError::TooLarge(format!(
                "record {} would reach {} bytes; a record may hold at most {}",
                a.doc_id,
                snapshot.len(),
                mrm_crdt::limits::MAX_RECORD_BYTES
            )));
        }
        conn.prepare_cached(
            "INSERT INTO docs (doc_id, kind, team, snapshot) VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT (doc_id) DO UPDATE SET kind = excluded.kind, team = excluded.team,
                 snapshot = excluded.snapshot",
        )?
        .execute(params![a.doc_id, a.kind.as_str(), a.team, snapshot])?;
        if a.team_changed && last_seq > 0 {
            conn.execute(
                "INSERT INTO scope_log (seq, doc_id, team) VALUES (?1, ?2, ?3)",
                params![last_seq, a.doc_id, a.team],
            )?;
        }
    }
    Ok(accepted)
}

impl SqliteStorage {
    /// Open (creating if needed) the endpoint's database, encrypted under `key`
    /// ([`at_rest`]).
    ///
    /// Errors: [`ServerError::Unusable`] for a database in clear or under another key.
    pub fn open(path: &Path, key: &Key) -> Result<SqliteStorage> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|e| {
                ServerError::Internal(format!("cannot create {}: {e}", dir.display()))
            })?;
        }
        at_rest::refuse_clear(path)?;
        let writer = open(path, key)?;
        writer.execute_batch(SCHEMA)?;
        upgrade(&writer)?;
        let actor: Option<String> = writer
            .query_row("SELECT value FROM meta WHERE key = 'actor'", [], |r| {
                r.get(0)
            })
            .optional()?;
        let actor: ActorId = match actor {
            Some(a) => a
                .parse()
                .map_err(|_| ServerError::Internal("bad endpoint actor id".into()))?,
            None => {
                let a = ActorId::from(uuid::Uuid::now_v7().as_bytes().to_vec());
                writer.execute(
                    "INSERT INTO meta (key, value) VALUES ('actor', ?1)",
                    [a.to_hex_string()],
                )?;
                a
            }
        };
        let revocation_master: String = match writer
            .query_row(
                "SELECT value FROM meta WHERE key = 'revocation_master'",
                [],
                |r| r.get(0),
            )
            .optional()?
        {
            Some(m) => m,
            None => {
                let m = crate::secret::new_secret();
                writer.execute(
                    "INSERT INTO meta (key, value) VALUES ('revocation_master', ?1)",
                    [&m],
                )?;
                m
            }
        };
        let readers = (0..READERS)
            .map(|_| open(path, key).map(Mutex::new))
            .collect::<Result<Vec<_>>>()?;
        Ok(SqliteStorage {
            writer: Mutex::new(writer),
            readers,
            next_reader: AtomicUsize::new(0),
            actor,
            revocation_master,
            refusals: Mutex::new([
                RefusalBudget::new(),
                RefusalBudget::new(),
                RefusalBudget::new(),
            ]),
            pulls_seen: Mutex::new(std::collections::HashMap::new()),
        })
    }

    fn reader(&self) -> std::sync::MutexGuard<'_, Connection> {
        let i = self.next_reader.fetch_add(1, Ordering::Relaxed) % self.readers.len();
        lock(&self.readers[i])
    }
}

impl Storage for SqliteStorage {
    fn create_enrollment(
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
        let id = uuid::Uuid::now_v7().to_string();
        let expires = chrono::Utc::now()
            + chrono::Duration::from_std(ttl).unwrap_or_else(|_| chrono::Duration::hours(24));
        let mut conn = lock(&self.writer);
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        tx.execute(
            "INSERT INTO devices (id, officer, team, role, created_at) VALUES (?1, ?2, ?3, ?4, ?5)",
            params![id, officer.trim(), team.trim(), role.as_str(), now()],
        )?;
        tx.execute(
            "INSERT INTO enrollment_tokens (token_hash, device_id, expires_at, allow_unproven)
             VALUES (?1, ?2, ?3, ?4)",
            params![
                hash_secret(&token),
                id,
                expires.to_rfc3339(),
                allow_unproven
            ],
        )?;
        let device = tx.query_row(
            &format!("SELECT {DEVICE_COLS} FROM devices WHERE id = ?1"),
            [&id],
            device_from_row,
        )?;
        audit(
            &tx,
            "enrollment_issued",
            Some(&id),
            serde_json::json!({"officer": device.officer, "team": device.team, "role": role.as_str(),
                               "expires_at": expires.to_rfc3339(),
                               "allow_unproven": allow_unproven}),
        )?;
        tx.commit()?;
        Ok((device, token))
    }

    fn enroll(&self, req: &EnrollRequest) -> Result<EnrollResponse> {
        let result = self.enroll_inner(req);
        if let Err(e) = &result {
            // A refusal of someone holding a real token (a forged proof, another team) names the
            // device the token was issued for, and is logged apart from strangers' guesses.
            let holder: Option<String> = self
                .reader()
                .query_row(
                    "SELECT device_id FROM enrollment_tokens WHERE token_hash = ?1",
                    [hash_secret(&req.token)],
                    |r| r.get(0),
                )
                .optional()
                .ok()
                .flatten();
            self.record_refusal("enroll_refused", holder.as_deref(), e);
        }
        result
    }

    fn authenticate(&self, device_id: &str, secret: &str) -> Result<Device> {
        let result = self.authenticate_inner(device_id, secret);
        if let Err(e) = &result {
            self.record_refusal("auth_refused", Some(device_id), e);
        }
        result
    }

    fn list_devices(&self) -> Result<Vec<Device>> {
        self.list_devices_inner()
    }

    fn revoke(&self, device_id: &str) -> Result<Device> {
        self.revoke_inner(device_id)
    }

    fn revocation_proof(&self, device_id: &str, nonce: &str) -> Option<String> {
        revocation_key(&self.revocation_master, device_id)
            .and_then(|k| revocation_proof(&k, device_id, nonce))
    }

    fn push(&self, device: &Device, changes: Frames) -> Result<PushResponse> {
        let received = changes.len();
        let result = self.push_inner(device, changes);
        match &result {
            Ok(r) => {
                let conn = lock(&self.writer);
                audit(
                    &conn,
                    "sync_push",
                    Some(&device.id),
                    serde_json::json!({"received": received, "accepted": r.accepted, "duplicates": r.duplicates}),
                )?;
            }
            Err(e) => self.record_refusal("push_refused", Some(&device.id), e),
        }
        result
    }

    fn push_refused(&self, device: &Device, e: &ServerError) {
        self.record_refusal("push_refused", Some(&device.id), e);
    }

    fn pull(&self, device: &Device, cursor: i64, limit: i64) -> Result<(PullHeader, Frames)> {
        let result = self.pull_inner(device, cursor, limit)?;
        let conn = lock(&self.writer);
        // Pages that sent something are audited at most every 10 s per device, summed (a device
        // asking in a loop costs the log a row per 10 s); an empty page only refreshes the
        // device's last sync, at most once a minute.
        if !result.1.is_empty() {
            let due = {
                let mut seen = lock(&self.pulls_seen);
                let e = seen.entry(device.id.clone()).or_insert((None, 0u64, 0u64));
                e.1 += 1;
                e.2 += result.1.len() as u64;
                let due =
                    e.0.is_none_or(|t: std::time::Instant| t.elapsed().as_secs() >= 10);
                if due {
                    let summed = (e.1, e.2);
                    *e = (Some(std::time::Instant::now()), 0, 0);
                    Some(summed)
                } else {
                    None
                }
            };
            if let Some((pages, sent)) = due {
                audit(
                    &conn,
                    "sync_pull",
                    Some(&device.id),
                    serde_json::json!({"cursor": cursor, "sent": sent, "pages": pages,
                                       "next_cursor": result.0.cursor}),
                )?;
            }
        }
        let a_minute_ago = (chrono::Utc::now() - chrono::Duration::minutes(1))
            .to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
        conn.execute(
            "UPDATE devices SET last_sync_at = ?1
             WHERE id = ?2 AND (?3 OR last_sync_at IS NULL OR last_sync_at < ?4)",
            params![now(), device.id, !result.1.is_empty(), a_minute_ago],
        )?;
        Ok(result)
    }

    fn audit_log(&self, since: Option<&str>) -> Result<Vec<AuditEntry>> {
        let conn = self.reader();
        let mut stmt = conn.prepare(
            "SELECT seq, at, action, device_id, detail FROM audit WHERE at >= ?1 ORDER BY seq",
        )?;
        let rows = stmt.query_map([since.unwrap_or("")], |r| {
            let detail: String = r.get(4)?;
            Ok(AuditEntry {
                seq: r.get(0)?,
                at: r.get(1)?,
                action: r.get(2)?,
                device_id: r.get(3)?,
                detail: serde_json::from_str(&detail).unwrap_or(serde_json::Value::Null),
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    fn set_config(&self, cfg: &MissionConfig) -> Result<bool> {
        if cfg.mission.trim().is_empty() {
            return Err(ServerError::BadRequest(
                "the configuration needs a mission code".into(),
            ));
        }
        let mut conn = lock(&self.writer);
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let changed = registry::endpoint_write(
            &tx,
            &self.actor,
            CONFIG_ID,
            RecordKind::Config,
            |log: &Vec<String>| log.join(", "),
            |t| mrm_crdt::edit::apply_config(t, cfg),
        )?;
        if !changed {
            return Ok(false);
        }
        audit(
            &tx,
            "config_set",
            None,
            serde_json::json!({"mission": cfg.mission, "teams": cfg.teams.len(), "parties": cfg.parties.len(),
                               "admin_areas": cfg.admin_areas.len()}),
        )?;
        tx.commit()?;
        Ok(true)
    }

    fn config(&self) -> Result<Option<MissionConfig>> {
        let conn = self.reader();
        match load_doc(&conn, CONFIG_ID)? {
            Some(doc) => Ok(Some(document::read_config(&doc)?)),
            None => Ok(None),
        }
    }

    fn stats(&self) -> Result<ServerStats> {
        let conn = self.reader();
        let q = |sql: &str| -> Result<i64> { Ok(conn.query_row(sql, [], |r| r.get(0))?) };
        Ok(ServerStats {
            changes: q("SELECT COUNT(*) FROM changes")?,
            distinct_hashes: q("SELECT COUNT(DISTINCT hash) FROM changes")?,
            records: q("SELECT COUNT(*) FROM docs")?,
            devices: q("SELECT COUNT(*) FROM devices")?,
        })
    }
}

impl SqliteStorage {
    fn authenticate_inner(&self, device_id: &str, secret: &str) -> Result<Device> {
        let conn = self.reader();
        let row: Option<(Device, Option<String>)> = conn
            .query_row(
                &format!("SELECT {DEVICE_COLS}, secret_hash FROM devices WHERE id = ?1"),
                [device_id],
                |r| Ok((device_from_row(r)?, r.get(9)?)),
            )
            .optional()?;
        let Some((device, Some(stored))) = row else {
            return Err(ServerError::Unauthorized(
                "unknown device credential".into(),
            ));
        };
        if !crate::secret::equal(&stored, &hash_secret(secret)) {
            return Err(ServerError::Unauthorized("wrong device credential".into()));
        }
        if device.revoked_at.is_some() {
            return Err(ServerError::Revoked);
        }
        Ok(device)
    }

    fn list_devices_inner(&self) -> Result<Vec<Device>> {
        let conn = self.reader();
        let mut stmt = conn.prepare(&format!(
            "SELECT {DEVICE_COLS} FROM devices ORDER BY created_at, id"
        ))?;
        let rows = stmt.query_map([], device_from_row)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    fn revoke_inner(&self, device_id: &str) -> Result<Device> {
        let mut conn = lock(&self.writer);
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let n = tx.execute(
            "UPDATE devices SET revoked_at = COALESCE(revoked_at, ?1) WHERE id = ?2",
            params![now(), device_id],
        )?;
        if n == 0 {
            return Err(ServerError::NotFound(format!("no device {device_id}")));
        }
        audit(&tx, "revoked", Some(device_id), serde_json::json!({}))?;
        let device = tx.query_row(
            &format!("SELECT {DEVICE_COLS} FROM devices WHERE id = ?1"),
            [device_id],
            device_from_row,
        )?;
        registry::register(&tx, &self.actor, &device)?;
        tx.commit()?;
        Ok(device)
    }

    fn push_inner(&self, device: &Device, changes: Vec<(String, Vec<u8>)>) -> Result<PushResponse> {
        // The check (decoding, applying, reading records) is most of a push. It runs first on a
        // reader's snapshot, outside the write lock, so that concurrent pushes check in parallel;
        // under the lock, the push is stored only if every record and change it read is still
        // as it was (otherwise, or if that check failed, it is checked again under the lock).
        let early = {
            let mut conn = self.reader();
            let tx = conn.transaction()?;
            check_reading(&tx, device, changes.clone()).ok()
        };
        let mut conn = lock(&self.writer);
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let mut checked = match early {
            Some((checked, read)) if read.still_holds(&tx)? => checked,
            _ => check_reading(&tx, device, changes)?.0,
        };
        let accepted = store_applied(&tx, &device.id, &mut checked.applied)?;
        tx.execute(
            "UPDATE devices SET last_sync_at = ?1 WHERE id = ?2",
            params![now(), device.id],
        )?;
        tx.commit()?;
        Ok(PushResponse {
            accepted,
            duplicates: checked.duplicates,
        })
    }
}
