//! The embedded SQLite repository: one encrypted file ([`at_rest`]), one writer connection, a few
//! reader connections, numbered migrations. SQL only: every rule is the service's.
//!
//! Blocking SQLite work runs on tokio's blocking threads ([`SqliteRepository::run`]), so the
//! repository's futures never stall the threads that serve connections.

use std::collections::HashSet;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use mrm_crdt::crypto::Key;
use rusqlite::{params, Connection, OptionalExtension, TransactionBehavior};

use crate::error::ServerError;
use crate::model::Device;
use crate::repository::{
    Append, AuditEntry, Conflict, DeviceRow, Enrollment, NewAudit, Page, PageRequest, RepoError,
    RepoResult, Repository, ServerStats, StoredRecord, TokenRow,
};

pub mod at_rest;
pub mod backup;
mod devices;
mod log;

/// The endpoint's migrations, in order: migration `n` (1-based) brings a database from
/// `user_version` `n - 1` to `n`. A file, once released, never changes; a new one is added.
const MIGRATIONS: &[&str] = &[include_str!("migrations/0001_initial.sql")];

/// Bring the database to the last migration, each in its own transaction with its version.
/// Hand-written rather than rusqlite_migration: the device store numbers its schema the same
/// way, and the endpoint's one special case (a database made before numbering) needs code.
fn migrate(conn: &mut Connection) -> RepoResult<()> {
    let version: usize =
        conn.query_row("PRAGMA user_version", [], |r| r.get::<_, i64>(0))? as usize;
    if version > MIGRATIONS.len() {
        return Err(RepoError::Backend(format!(
            "the endpoint's database is at schema {version}, newer than this endpoint knows ({}): \
             run the newer endpoint",
            MIGRATIONS.len()
        )));
    }
    if version == 0 {
        before_numbering(conn)?;
    }
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(version) {
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        tx.execute_batch(sql)?;
        tx.pragma_update(None, "user_version", (i + 1) as i64)?;
        tx.commit()?;
    }
    Ok(())
}

/// A database made before migrations were numbered has the first schema's tables, maybe without
/// the column added to them later (`CREATE TABLE IF NOT EXISTS` leaves a table as it was).
fn before_numbering(conn: &Connection) -> RepoResult<()> {
    let has_table: bool = conn.query_row(
        "SELECT EXISTS (SELECT 1 FROM sqlite_master WHERE name = 'enrollment_tokens')",
        [],
        |r| r.get(0),
    )?;
    let has_column: bool = conn.query_row(
        "SELECT EXISTS (SELECT 1 FROM pragma_table_info('enrollment_tokens')
                        WHERE name = 'allow_unproven')",
        [],
        |r| r.get(0),
    )?;
    if has_table && !has_column {
        conn.execute_batch(
            "ALTER TABLE enrollment_tokens ADD COLUMN allow_unproven INTEGER NOT NULL DEFAULT 0;",
        )?;
    }
    Ok(())
}

impl From<rusqlite::Error> for RepoError {
    fn from(e: rusqlite::Error) -> Self {
        RepoError::Backend(format!("database: {e}"))
    }
}

impl From<rusqlite::Error> for ServerError {
    fn from(e: rusqlite::Error) -> Self {
        ServerError::Internal(format!("database: {e}"))
    }
}

const READERS: usize = 4;

/// The connections, shared by the blocking tasks.
struct Inner {
    writer: Mutex<Connection>,
    readers: Vec<Mutex<Connection>>,
    next_reader: AtomicUsize,
}

impl Inner {
    fn writer(&self) -> std::sync::MutexGuard<'_, Connection> {
        lock(&self.writer)
    }

    fn reader(&self) -> std::sync::MutexGuard<'_, Connection> {
        let i = self.next_reader.fetch_add(1, Ordering::Relaxed) % self.readers.len();
        lock(&self.readers[i])
    }
}

/// The SQLite repository. Cheap to clone (the connections are shared).
#[derive(Clone)]
pub struct SqliteRepository {
    inner: Arc<Inner>,
}

fn open(path: &Path, key: &Key) -> Result<Connection, ServerError> {
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

impl SqliteRepository {
    /// Open (creating if needed) the endpoint's database, encrypted under `key` ([`at_rest`]),
    /// and bring it to the last migration.
    ///
    /// Errors: [`ServerError::Unusable`] for a database in clear, under another key, or at a
    /// newer schema than this endpoint knows.
    pub fn open(path: &Path, key: &Key) -> Result<SqliteRepository, ServerError> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|e| {
                ServerError::Internal(format!("cannot create {}: {e}", dir.display()))
            })?;
        }
        at_rest::refuse_clear(path)?;
        let mut writer = open(path, key)?;
        migrate(&mut writer).map_err(|e| ServerError::Unusable(e.to_string()))?;
        let readers = (0..READERS)
            .map(|_| open(path, key).map(Mutex::new))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(SqliteRepository {
            inner: Arc::new(Inner {
                writer: Mutex::new(writer),
                readers,
                next_reader: AtomicUsize::new(0),
            }),
        })
    }

    /// The schema version the database is at ([`MIGRATIONS`]).
    pub fn schema_version(&self) -> RepoResult<i64> {
        Ok(self
            .inner
            .reader()
            .query_row("PRAGMA user_version", [], |r| r.get(0))?)
    }

    /// Run blocking SQLite work on a blocking thread.
    async fn run<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Inner) -> RepoResult<T> + Send + 'static,
    ) -> RepoResult<T> {
        let inner = self.inner.clone();
        tokio::task::spawn_blocking(move || f(&inner))
            .await
            .map_err(|e| RepoError::Backend(format!("worker failed: {e}")))?
    }
}

/// Append an audit entry in `conn`'s transaction.
fn audit(conn: &Connection, e: &NewAudit) -> RepoResult<()> {
    conn.prepare_cached(
        "INSERT INTO audit (at, action, device_id, detail) VALUES (?1, ?2, ?3, ?4)",
    )?
    .execute(params![
        e.at,
        e.action.as_str(),
        e.device_id,
        e.detail.to_string()
    ])?;
    Ok(())
}

impl Repository for SqliteRepository {
    async fn meta(&self, key: &str) -> RepoResult<Option<String>> {
        let key = key.to_string();
        self.run(move |i| {
            Ok(i.reader()
                .query_row("SELECT value FROM meta WHERE key = ?1", [key], |r| r.get(0))
                .optional()?)
        })
        .await
    }

    async fn set_meta(&self, key: &str, value: &str) -> RepoResult<()> {
        let (key, value) = (key.to_string(), value.to_string());
        self.run(move |i| {
            i.writer().execute(
                "INSERT INTO meta (key, value) VALUES (?1, ?2)
                 ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                params![key, value],
            )?;
            Ok(())
        })
        .await
    }

    async fn meta_or_insert(&self, key: &str, value: &str) -> RepoResult<String> {
        let (key, value) = (key.to_string(), value.to_string());
        self.run(move |i| {
            let conn = i.writer();
            conn.execute(
                "INSERT INTO meta (key, value) VALUES (?1, ?2) ON CONFLICT (key) DO NOTHING",
                params![key, value],
            )?;
            Ok(conn.query_row("SELECT value FROM meta WHERE key = ?1", [key], |r| r.get(0))?)
        })
        .await
    }

    async fn create_device(
        &self,
        device: &Device,
        token: &TokenRow,
        audit: NewAudit,
    ) -> RepoResult<()> {
        let (device, token) = (device.clone(), token.clone());
        self.run(move |i| devices::create(&mut i.writer(), &device, &token, &audit))
            .await
    }

    async fn device(&self, id: &str) -> RepoResult<Option<DeviceRow>> {
        let id = id.to_string();
        self.run(move |i| devices::row(&i.reader(), &id)).await
    }

    async fn devices(&self) -> RepoResult<Vec<Device>> {
        self.run(|i| devices::all(&i.reader())).await
    }

    async fn token(&self, token_hash: &str) -> RepoResult<Option<TokenRow>> {
        let hash = token_hash.to_string();
        self.run(move |i| devices::token(&i.reader(), &hash)).await
    }

    async fn enroll(&self, enrollment: Enrollment) -> RepoResult<()> {
        self.run(move |i| devices::enroll(&mut i.writer(), &enrollment))
            .await
    }

    async fn revoke(
        &self,
        device_id: &str,
        actor: Option<&str>,
        at: &str,
        append: Append,
    ) -> RepoResult<()> {
        let (id, actor, at) = (
            device_id.to_string(),
            actor.map(str::to_string),
            at.to_string(),
        );
        self.run(move |i| devices::revoke(&mut i.writer(), &id, actor.as_deref(), &at, &append))
            .await
    }

    async fn touch_device(
        &self,
        device_id: &str,
        at: &str,
        unless_after: Option<&str>,
    ) -> RepoResult<()> {
        let (id, at, unless) = (
            device_id.to_string(),
            at.to_string(),
            unless_after.map(str::to_string),
        );
        self.run(move |i| {
            i.writer().execute(
                "UPDATE devices SET last_sync_at = ?1
                 WHERE id = ?2 AND (?3 IS NULL OR last_sync_at IS NULL OR last_sync_at < ?3)",
                params![at, id, unless],
            )?;
            Ok(())
        })
        .await
    }

    async fn record(&self, doc_id: &str) -> RepoResult<Option<StoredRecord>> {
        let id = doc_id.to_string();
        self.run(move |i| log::record(&i.reader(), &id)).await
    }

    async fn known(&self, hashes: &[String]) -> RepoResult<HashSet<String>> {
        let hashes = hashes.to_vec();
        self.run(move |i| log::known(&i.reader(), &hashes)).await
    }

    async fn append(&self, append: Append) -> RepoResult<usize> {
        self.run(move |i| {
            let mut conn = i.writer();
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let n = log::append(&tx, &append)?;
            tx.commit()?;
            Ok(n)
        })
        .await
    }

    async fn page(&self, request: &PageRequest) -> RepoResult<Page> {
        let request = request.clone();
        self.run(move |i| {
            let mut conn = i.reader();
            // One read transaction: the page, its cursor and the remaining count see one state.
            let tx = conn.transaction()?;
            log::page(&tx, &request)
        })
        .await
    }

    async fn audit(&self, entry: NewAudit) -> RepoResult<()> {
        self.run(move |i| audit(&i.writer(), &entry)).await
    }

    async fn audit_log(&self, since: &str) -> RepoResult<Vec<AuditEntry>> {
        let since = since.to_string();
        self.run(move |i| {
            let conn = i.reader();
            let mut stmt = conn.prepare(
                "SELECT seq, at, action, device_id, detail FROM audit WHERE at >= ?1 ORDER BY seq",
            )?;
            let rows = stmt.query_map([since], |r| {
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
        })
        .await
    }

    async fn stats(&self) -> RepoResult<ServerStats> {
        self.run(|i| {
            let conn = i.reader();
            let q = |sql: &str| -> RepoResult<i64> { Ok(conn.query_row(sql, [], |r| r.get(0))?) };
            Ok(ServerStats {
                changes: q("SELECT COUNT(*) FROM changes")?,
                distinct_hashes: q("SELECT COUNT(DISTINCT hash) FROM changes")?,
                records: q("SELECT COUNT(*) FROM docs")?,
                devices: q("SELECT COUNT(*) FROM devices")?,
            })
        })
        .await
    }
}

/// Whether an error is SQLite refusing a row for a UNIQUE or PRIMARY KEY constraint.
fn is_unique_violation(e: &rusqlite::Error) -> bool {
    matches!(
        e,
        rusqlite::Error::SqliteFailure(f, _)
            if f.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE
                || f.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_PRIMARYKEY
    )
}

/// `Conflict` for a uniqueness violation, the error otherwise.
fn unique_or(e: rusqlite::Error, conflict: Conflict) -> RepoError {
    if is_unique_violation(&e) {
        RepoError::Conflict(conflict)
    } else {
        e.into()
    }
}
