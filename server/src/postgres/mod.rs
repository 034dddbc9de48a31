//! The endpoint's repository on PostgreSQL, for a mission (or a headquarters gathering several)
//! that outgrows one machine: several `mrm serve` instances over one database behind a reverse
//! proxy. It passes the same [`crate::conformance`] suite as SQLite.
//!
//! **One order of the log, in commit order.** Every step that appends to the change log
//! (a push, an enrollment, a revocation) first takes one transaction-scoped advisory lock
//! ([`APPEND_LOCK`]) and holds it until it commits. So appends happen one at a time across all
//! instances, each takes its log positions (`changes.seq`) after the previous append committed,
//! and a change with a lower position is always visible before one with a higher position: a
//! pull reading from one snapshot (`REPEATABLE READ`) sees a prefix of the log and its cursor
//! can never pass a change that commits later with a lower position (the gap that sequences
//! handed out in another order than commits would open). The argument is in
//! docs/sync-protocol.md, "Several instances"; `server/tests/postgres.rs` tests it with many
//! pushers and pullers. Taking the lock first, before any row lock, keeps lock order the same
//! in every transaction, so two appends never deadlock.
//!
//! Connections come from a pool (deadpool-postgres) over tokio-postgres, without TLS: the
//! database is reached on this machine's unix socket or the base's own network, like SQLite's
//! file; its encryption at rest is the database's own.

use std::collections::HashSet;

use deadpool_postgres::{GenericClient, Manager, ManagerConfig, Pool, RecyclingMethod};
use futures_util::{pin_mut, TryStreamExt};
use tokio_postgres::error::SqlState;
use tokio_postgres::types::ToSql;
use tokio_postgres::{IsolationLevel, NoTls, Row};

use crate::error::ServerError;
use crate::model::Device;
use crate::repository::{
    Append, AuditEntry, Conflict, DeviceRow, Enrollment, NewAudit, Page, PageRequest, RepoError,
    RepoResult, Repository, ServerStats, StoredRecord, TokenRow,
};
use mrm_crdt::protocol::Role;

/// The schema, one file per version; `schema_version` holds how many are applied.
const MIGRATIONS: &[&str] = &[include_str!("migrations/0001_initial.sql")];

/// The class of the advisory lock every append holds until it commits ("mrml"), one lock per
/// mission: `pg_advisory_xact_lock(APPEND_LOCK, hashtext(mission))`. Two missions whose names
/// hash alike only wait for each other.
pub const APPEND_LOCK: i32 = 0x6d72_6d6c;
/// The advisory lock a migration holds, so instances starting at once migrate once.
const MIGRATE_LOCK: i64 = 0x006d_726d_5f6d_6967;

/// Connections one instance keeps open at most.
const POOL_SIZE: usize = 16;

impl From<tokio_postgres::Error> for RepoError {
    fn from(e: tokio_postgres::Error) -> Self {
        RepoError::Backend(format!("database: {e}"))
    }
}

impl From<deadpool_postgres::PoolError> for RepoError {
    fn from(e: deadpool_postgres::PoolError) -> Self {
        RepoError::Backend(format!("database connection: {e}"))
    }
}

fn unique_or(e: tokio_postgres::Error, c: Conflict) -> RepoError {
    if e.code() == Some(&SqlState::UNIQUE_VIOLATION) {
        RepoError::Conflict(c)
    } else {
        e.into()
    }
}

/// Whether `db` names a PostgreSQL database (`postgres://…` or `postgresql://…`) rather than a
/// SQLite file.
pub fn is_postgres_url(db: &str) -> bool {
    db.starts_with("postgres://") || db.starts_with("postgresql://")
}

/// The mission of an address without a `mission` parameter.
pub const DEFAULT_MISSION: &str = "default";

/// Take the `mission` parameter out of a database address (`…?host=…&mission=monusco` or, in
/// key=value form, `… mission=monusco`), which PostgreSQL itself would refuse.
///
/// Returns the address without it and the mission ([`DEFAULT_MISSION`] when absent).
/// Errors: a mission name outside 1–64 letters, digits, `-` and `_`.
pub fn split_mission(url: &str) -> Result<(String, String), ServerError> {
    let mut mission = None;
    // The parameters other than `mission`, which is kept aside (the last one given wins).
    let mut others = |parts: &mut dyn Iterator<Item = &'_ str>| -> Vec<String> {
        parts
            .filter(|p| match p.strip_prefix("mission=") {
                Some(m) => {
                    mission = Some(m.to_string());
                    false
                }
                None => true,
            })
            .map(str::to_string)
            .collect()
    };
    let rest = if is_postgres_url(url) {
        match url.split_once('?') {
            Some((base, query)) => {
                let kept = others(&mut query.split('&'));
                if kept.is_empty() {
                    base.to_string()
                } else {
                    format!("{base}?{}", kept.join("&"))
                }
            }
            None => url.to_string(),
        }
    } else {
        others(&mut url.split_whitespace()).join(" ")
    };
    let mission = mission.unwrap_or_else(|| DEFAULT_MISSION.to_string());
    let valid = (1..=64).contains(&mission.len())
        && mission
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if !valid {
        return Err(ServerError::Unusable(
            "the database address's mission must be 1 to 64 letters, digits, '-' or '_'"
                .to_string(),
        ));
    }
    Ok((rest, mission))
}

/// The endpoint's repository in a PostgreSQL database, for one mission: every row it reads or
/// writes carries that mission, so missions sharing a database never see each other's devices,
/// tokens, changes or audit.
#[derive(Clone)]
pub struct PgRepository {
    pool: Pool,
    mission: String,
}

impl PgRepository {
    /// Connect to the database at `url` (`postgres://user@host/db`, or with
    /// `?host=/run/postgresql` for a unix socket; key=value strings work too; `mission=…`
    /// chooses the mission, [`split_mission`]) and bring its schema up to date.
    ///
    /// Errors: [`ServerError::Unusable`] for an address that does not parse, a database that
    /// cannot be reached, or a schema newer than this endpoint knows. The address is never
    /// repeated (it may hold a password).
    pub async fn open(url: &str) -> Result<PgRepository, ServerError> {
        let (url, mission) = split_mission(url)?;
        let config: tokio_postgres::Config = url.parse().map_err(|e| {
            ServerError::Unusable(format!("the PostgreSQL address does not parse: {e}"))
        })?;
        let manager = Manager::from_config(
            config,
            NoTls,
            ManagerConfig {
                recycling_method: RecyclingMethod::Fast,
            },
        );
        let pool = Pool::builder(manager)
            .max_size(POOL_SIZE)
            .build()
            .map_err(|e| ServerError::Unusable(format!("database connection pool: {e}")))?;
        let repo = PgRepository { pool, mission };
        repo.migrate()
            .await
            .map_err(|e| ServerError::Unusable(e.to_string()))?;
        Ok(repo)
    }

    async fn client(&self) -> RepoResult<deadpool_postgres::Object> {
        Ok(self.pool.get().await?)
    }

    async fn migrate(&self) -> RepoResult<()> {
        let mut c = self.client().await?;
        let tx = c.transaction().await?;
        tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATE_LOCK])
            .await?;
        tx.batch_execute("CREATE TABLE IF NOT EXISTS schema_version (version BIGINT NOT NULL)")
            .await?;
        let version = tx
            .query_opt("SELECT version FROM schema_version", &[])
            .await?
            .map(|r| r.get::<_, i64>(0))
            .unwrap_or(0) as usize;
        if version > MIGRATIONS.len() {
            return Err(RepoError::Backend(format!(
                "the endpoint's database is at schema {version}, newer than this endpoint knows \
                 ({}): run the newer endpoint",
                MIGRATIONS.len()
            )));
        }
        for sql in &MIGRATIONS[version..] {
            tx.batch_execute(sql).await?;
        }
        tx.execute("DELETE FROM schema_version", &[]).await?;
        tx.execute(
            "INSERT INTO schema_version (version) VALUES ($1)",
            &[&(MIGRATIONS.len() as i64)],
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// The mission this repository serves.
    pub fn mission(&self) -> &str {
        &self.mission
    }

    /// The schema version the database is at.
    pub async fn schema_version(&self) -> RepoResult<i64> {
        let c = self.client().await?;
        Ok(c.query_one("SELECT version FROM schema_version", &[])
            .await?
            .get(0))
    }
}

const DEVICE_COLS: &str =
    "id, officer, team, role, actor, created_at, enrolled_at, revoked_at, last_sync_at";

fn device_from_row(r: &Row) -> Device {
    let role: String = r.get(3);
    Device {
        id: r.get(0),
        officer: r.get(1),
        team: r.get(2),
        role: Role::parse(&role).unwrap_or(Role::Officer),
        actor: r.get(4),
        created_at: r.get(5),
        enrolled_at: r.get(6),
        revoked_at: r.get(7),
        last_sync_at: r.get(8),
    }
}

async fn device_row(c: &impl GenericClient, m: &str, id: &str) -> RepoResult<Option<DeviceRow>> {
    let sql =
        format!("SELECT {DEVICE_COLS}, secret_hash FROM devices WHERE mission = $1 AND id = $2");
    Ok(c.query_opt(&sql, &[&m, &id]).await?.map(|r| DeviceRow {
        device: device_from_row(&r),
        secret_hash: r.get(9),
    }))
}

async fn audit(c: &impl GenericClient, m: &str, e: &NewAudit) -> RepoResult<()> {
    c.execute(
        "INSERT INTO audit (mission, at, action, device_id, detail) VALUES ($1, $2, $3, $4, $5)",
        &[
            &m,
            &e.at,
            &e.action.as_str(),
            &e.device_id,
            &e.detail.to_string(),
        ],
    )
    .await?;
    Ok(())
}

async fn snapshot(c: &impl GenericClient, m: &str, doc_id: &str) -> RepoResult<Option<Vec<u8>>> {
    Ok(c.query_opt(
        "SELECT snapshot FROM docs WHERE mission = $1 AND doc_id = $2",
        &[&m, &doc_id],
    )
    .await?
    .map(|r| r.get(0)))
}

async fn has_change(c: &impl GenericClient, m: &str, hash: &str) -> RepoResult<bool> {
    Ok(c.query_opt(
        "SELECT 1 FROM changes WHERE mission = $1 AND hash = $2",
        &[&m, &hash],
    )
    .await?
    .is_some())
}

/// Take the mission's append lock in `tx` (first, before any row lock: see the module).
async fn lock_log(tx: &impl GenericClient, m: &str) -> RepoResult<()> {
    tx.execute(
        "SELECT pg_advisory_xact_lock($1, hashtext($2))",
        &[&APPEND_LOCK, &m],
    )
    .await?;
    Ok(())
}

/// Store `a` in the caller's transaction, which holds the append lock, if what it was computed
/// from still holds.
async fn append_tx(tx: &impl GenericClient, m: &str, a: &Append) -> RepoResult<usize> {
    for (id, expected) in &a.expected.records {
        if snapshot(tx, m, id).await? != *expected {
            return Err(RepoError::Stale(format!("record {id} changed")));
        }
    }
    for h in &a.expected.unknown_hashes {
        if has_change(tx, m, h).await? {
            return Err(RepoError::Stale(format!("change {h} arrived")));
        }
    }
    let mut stored = 0;
    for w in &a.records {
        let mut last_seq = 0i64;
        for c in &w.changes {
            let row = tx
                .query_one(
                    "INSERT INTO changes
                         (mission, doc_id, hash, actor, device_id, bytes, received_at)
                     VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING seq",
                    &[
                        &m,
                        &w.doc_id,
                        &c.hash,
                        &c.actor,
                        &a.device_id,
                        &c.bytes,
                        &a.received_at,
                    ],
                )
                .await
                .map_err(|e| {
                    if e.code() == Some(&SqlState::UNIQUE_VIOLATION) {
                        RepoError::Stale(format!("change {} arrived", c.hash))
                    } else {
                        e.into()
                    }
                })?;
            last_seq = row.get(0);
            stored += 1;
        }
        tx.execute(
            "INSERT INTO docs (mission, doc_id, kind, team, snapshot) VALUES ($1, $2, $3, $4, $5)
             ON CONFLICT (mission, doc_id) DO UPDATE SET kind = excluded.kind,
                 team = excluded.team, snapshot = excluded.snapshot",
            &[&m, &w.doc_id, &w.kind, &w.team, &w.snapshot],
        )
        .await?;
        if w.entered_scope && last_seq > 0 {
            tx.execute(
                "INSERT INTO scope_log (mission, seq, doc_id, team) VALUES ($1, $2, $3, $4)",
                &[&m, &last_seq, &w.doc_id, &w.team],
            )
            .await?;
        }
    }
    for e in &a.audit {
        audit(tx, m, e).await?;
    }
    if let Some(d) = &a.touch {
        let n = tx
            .execute(
                "UPDATE devices SET last_sync_at = $1
                 WHERE mission = $2 AND id = $3 AND revoked_at IS NULL",
                &[&a.received_at, &m, d],
            )
            .await?;
        if n == 0 {
            return Err(RepoError::Conflict(Conflict::Revoked));
        }
    }
    Ok(stored)
}

/// The mission's changes in scope, as one condition on `c` (changes) and `d` (docs, joined on
/// mission and record): `$2` the device left out, `$3` the team (NULL: every record), `$4` the
/// kinds every device reads, `$5` the kinds a team's device reads of its team, `$6` the
/// mission.
const IN_SCOPE: &str = "c.mission = $6 AND c.device_id <> $2
    AND ($3::text IS NULL OR (d.team = $3 AND d.kind = ANY($5)) OR d.kind = ANY($4))";

async fn page_tx(tx: &impl GenericClient, m: &str, req: &PageRequest) -> RepoResult<Page> {
    let scope = &req.scope;
    let limit = req.limit.max(1);
    let cursor = req.cursor;
    let max_seq: i64 = tx
        .query_one(
            "SELECT COALESCE(MAX(seq), 0)::BIGINT FROM changes WHERE mission = $1",
            &[&m],
        )
        .await?
        .get(0);
    let mut out: Vec<(String, Vec<u8>)> = Vec::new();
    // Records that entered the team's scope after the cursor: their history from before it,
    // which the device was not allowed to see then.
    if let Some(team) = &scope.team {
        let docs = tx
            .query(
                "SELECT DISTINCT s.doc_id FROM scope_log s
                     JOIN docs d ON d.mission = s.mission AND d.doc_id = s.doc_id
                 WHERE s.mission = $4 AND s.seq > $1 AND s.team = $2 AND d.team = $2
                     AND d.kind = ANY($3)
                 ORDER BY s.doc_id",
                &[&cursor, team, &scope.team_kinds, &m],
            )
            .await?;
        for d in docs {
            let doc_id: String = d.get(0);
            let rows = tx
                .query(
                    "SELECT doc_id, bytes FROM changes
                     WHERE mission = $4 AND doc_id = $1 AND seq <= $2 AND device_id <> $3
                     ORDER BY seq",
                    &[&doc_id, &cursor, &scope.exclude_device, &m],
                )
                .await?;
            out.extend(rows.into_iter().map(|r| (r.get(0), r.get(1))));
        }
    }
    let params: [&(dyn ToSql + Sync); 7] = [
        &cursor,
        &scope.exclude_device,
        &scope.team,
        &scope.shared_kinds,
        &scope.team_kinds,
        &m,
        &limit,
    ];
    let stream = tx
        .query_raw(
            &format!(
                "SELECT c.seq, c.doc_id, c.bytes FROM changes c
                     JOIN docs d ON d.mission = c.mission AND d.doc_id = c.doc_id
                 WHERE c.seq > $1 AND {IN_SCOPE} ORDER BY c.seq LIMIT $7"
            ),
            params,
        )
        .await?;
    pin_mut!(stream);
    let mut last = cursor;
    let mut n = 0;
    // Bytes of the page so far (history included); the page ends before the change that would
    // pass the cap, but always holds at least one change of the log so the cursor moves.
    let mut bytes: usize = out.iter().map(|(_, b)| b.len()).sum();
    let mut capped = false;
    while let Some(r) = stream.try_next().await? {
        let change: Vec<u8> = r.get(2);
        if n > 0 && bytes + change.len() > req.max_bytes {
            capped = true;
            break;
        }
        bytes += change.len();
        last = r.get(0);
        out.push((r.get(1), change));
        n += 1;
    }
    let full = capped || n == limit;
    let next = if full { last } else { max_seq.max(cursor) };
    let remaining: i64 = if full {
        tx.query_one(
            &format!(
                "SELECT COUNT(*) FROM changes c
                     JOIN docs d ON d.mission = c.mission AND d.doc_id = c.doc_id
                 WHERE c.seq > $1 AND {IN_SCOPE}"
            ),
            &[
                &next,
                &scope.exclude_device,
                &scope.team,
                &scope.shared_kinds,
                &scope.team_kinds,
                &m,
            ],
        )
        .await?
        .get(0)
    } else {
        0
    };
    Ok(Page {
        changes: out,
        cursor: next,
        remaining,
    })
}

impl Repository for PgRepository {
    async fn meta(&self, key: &str) -> RepoResult<Option<String>> {
        let c = self.client().await?;
        Ok(c.query_opt(
            "SELECT value FROM meta WHERE mission = $1 AND key = $2",
            &[&self.mission, &key],
        )
        .await?
        .map(|r| r.get(0)))
    }

    async fn set_meta(&self, key: &str, value: &str) -> RepoResult<()> {
        let c = self.client().await?;
        c.execute(
            "INSERT INTO meta (mission, key, value) VALUES ($1, $2, $3)
             ON CONFLICT (mission, key) DO UPDATE SET value = excluded.value",
            &[&self.mission, &key, &value],
        )
        .await?;
        Ok(())
    }

    async fn meta_or_insert(&self, key: &str, value: &str) -> RepoResult<String> {
        let c = self.client().await?;
        c.execute(
            "INSERT INTO meta (mission, key, value) VALUES ($1, $2, $3)
             ON CONFLICT (mission, key) DO NOTHING",
            &[&self.mission, &key, &value],
        )
        .await?;
        Ok(c.query_one(
            "SELECT value FROM meta WHERE mission = $1 AND key = $2",
            &[&self.mission, &key],
        )
        .await?
        .get(0))
    }

    async fn create_device(
        &self,
        device: &Device,
        token: &TokenRow,
        entry: NewAudit,
    ) -> RepoResult<()> {
        let mut c = self.client().await?;
        let tx = c.transaction().await?;
        tx.execute(
            "INSERT INTO devices (mission, id, officer, team, role, created_at)
             VALUES ($1, $2, $3, $4, $5, $6)",
            &[
                &self.mission,
                &device.id,
                &device.officer,
                &device.team,
                &device.role.as_str(),
                &device.created_at,
            ],
        )
        .await
        .map_err(|e| unique_or(e, Conflict::DeviceExists))?;
        tx.execute(
            "INSERT INTO enrollment_tokens
                 (mission, token_hash, device_id, expires_at, used_at, allow_unproven)
             VALUES ($1, $2, $3, $4, $5, $6)",
            &[
                &self.mission,
                &token.token_hash,
                &token.device_id,
                &token.expires_at,
                &token.used_at,
                &token.allow_unproven,
            ],
        )
        .await
        .map_err(|e| unique_or(e, Conflict::DeviceExists))?;
        audit(&tx, &self.mission, &entry).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn device(&self, id: &str) -> RepoResult<Option<DeviceRow>> {
        device_row(&self.client().await?, &self.mission, id).await
    }

    async fn devices(&self) -> RepoResult<Vec<Device>> {
        let c = self.client().await?;
        let sql =
            format!("SELECT {DEVICE_COLS} FROM devices WHERE mission = $1 ORDER BY created_at, id");
        Ok(c.query(&sql, &[&self.mission])
            .await?
            .iter()
            .map(device_from_row)
            .collect())
    }

    async fn token(&self, token_hash: &str) -> RepoResult<Option<TokenRow>> {
        let c = self.client().await?;
        Ok(c.query_opt(
            "SELECT token_hash, device_id, expires_at, used_at, allow_unproven
             FROM enrollment_tokens WHERE mission = $1 AND token_hash = $2",
            &[&self.mission, &token_hash],
        )
        .await?
        .map(|r| TokenRow {
            token_hash: r.get(0),
            device_id: r.get(1),
            expires_at: r.get(2),
            used_at: r.get(3),
            allow_unproven: r.get(4),
        }))
    }

    async fn enroll(&self, e: Enrollment) -> RepoResult<()> {
        let mut c = self.client().await?;
        let tx = c.transaction().await?;
        let m = &self.mission;
        lock_log(&tx, m).await?;
        let took = tx
            .execute(
                "UPDATE enrollment_tokens SET used_at = $1
                 WHERE mission = $4 AND token_hash = $2 AND device_id = $3 AND used_at IS NULL",
                &[&e.at, &e.token_hash, &e.device_id, m],
            )
            .await?;
        if took == 0 {
            return Err(RepoError::Conflict(Conflict::TokenUsed));
        }
        let taken = tx
            .query_opt(
                "SELECT 1 FROM devices WHERE mission = $3 AND actor = $1 AND id <> $2",
                &[&e.actor, &e.device_id, m],
            )
            .await?
            .is_some();
        if taken {
            return Err(RepoError::Conflict(Conflict::ActorTaken));
        }
        let n = tx
            .execute(
                "UPDATE devices SET actor = $1, secret_hash = $2, enrolled_at = $3
                 WHERE mission = $5 AND id = $4 AND revoked_at IS NULL",
                &[&e.actor, &e.secret_hash, &e.at, &e.device_id, m],
            )
            .await
            .map_err(|err| unique_or(err, Conflict::ActorTaken))?;
        if n == 0 {
            let exists = device_row(&tx, m, &e.device_id).await?.is_some();
            return Err(if exists {
                RepoError::Conflict(Conflict::Revoked)
            } else {
                RepoError::NotFound
            });
        }
        append_tx(&tx, m, &e.append).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn revoke(
        &self,
        device_id: &str,
        actor: Option<&str>,
        at: &str,
        append: Append,
    ) -> RepoResult<()> {
        let mut c = self.client().await?;
        let tx = c.transaction().await?;
        let m = &self.mission;
        lock_log(&tx, m).await?;
        let n = tx
            .execute(
                "UPDATE devices SET revoked_at = COALESCE(revoked_at, $1)
                 WHERE mission = $4 AND id = $2 AND actor IS NOT DISTINCT FROM $3",
                &[&at, &device_id, &actor, m],
            )
            .await?;
        if n == 0 {
            return Err(if device_row(&tx, m, device_id).await?.is_some() {
                RepoError::Stale(format!("device {device_id} changed"))
            } else {
                RepoError::NotFound
            });
        }
        append_tx(&tx, m, &append).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn touch_device(
        &self,
        device_id: &str,
        at: &str,
        unless_after: Option<&str>,
    ) -> RepoResult<()> {
        let c = self.client().await?;
        c.execute(
            "UPDATE devices SET last_sync_at = $1
             WHERE mission = $4 AND id = $2
                 AND ($3::text IS NULL OR last_sync_at IS NULL OR last_sync_at < $3)",
            &[&at, &device_id, &unless_after, &self.mission],
        )
        .await?;
        Ok(())
    }

    async fn record(&self, doc_id: &str) -> RepoResult<Option<StoredRecord>> {
        let c = self.client().await?;
        Ok(c.query_opt(
            "SELECT kind, team, snapshot FROM docs WHERE mission = $1 AND doc_id = $2",
            &[&self.mission, &doc_id],
        )
        .await?
        .map(|r| StoredRecord {
            kind: r.get(0),
            team: r.get(1),
            snapshot: r.get(2),
        }))
    }

    async fn known(&self, hashes: &[String]) -> RepoResult<HashSet<String>> {
        let c = self.client().await?;
        let hashes = hashes.to_vec();
        Ok(c.query(
            "SELECT hash FROM changes WHERE mission = $1 AND hash = ANY($2)",
            &[&self.mission, &hashes],
        )
        .await?
        .iter()
        .map(|r| r.get(0))
        .collect())
    }

    async fn append(&self, append: Append) -> RepoResult<usize> {
        let mut c = self.client().await?;
        let tx = c.transaction().await?;
        lock_log(&tx, &self.mission).await?;
        let n = append_tx(&tx, &self.mission, &append).await?;
        tx.commit().await?;
        Ok(n)
    }

    async fn page(&self, request: &PageRequest) -> RepoResult<Page> {
        let mut c = self.client().await?;
        // One snapshot for the whole page: the end of the log, the history and the changes
        // agree.
        let tx = c
            .build_transaction()
            .isolation_level(IsolationLevel::RepeatableRead)
            .read_only(true)
            .start()
            .await?;
        let page = page_tx(&tx, &self.mission, request).await?;
        tx.commit().await?;
        Ok(page)
    }

    async fn audit(&self, entry: NewAudit) -> RepoResult<()> {
        audit(&self.client().await?, &self.mission, &entry).await
    }

    async fn audit_log(&self, since: &str) -> RepoResult<Vec<AuditEntry>> {
        let c = self.client().await?;
        Ok(c.query(
            "SELECT seq, at, action, device_id, detail FROM audit
             WHERE mission = $1 AND at >= $2 ORDER BY seq",
            &[&self.mission, &since],
        )
        .await?
        .iter()
        .map(|r| {
            let detail: String = r.get(4);
            AuditEntry {
                seq: r.get(0),
                at: r.get(1),
                action: r.get(2),
                device_id: r.get(3),
                detail: serde_json::from_str(&detail).unwrap_or(serde_json::Value::Null),
            }
        })
        .collect())
    }

    async fn stats(&self) -> RepoResult<ServerStats> {
        let c = self.client().await?;
        let m = &self.mission;
        let q = |sql: &'static str| {
            let c = &c;
            async move { Ok::<i64, RepoError>(c.query_one(sql, &[m]).await?.get(0)) }
        };
        Ok(ServerStats {
            changes: q("SELECT COUNT(*) FROM changes WHERE mission = $1").await?,
            distinct_hashes: q("SELECT COUNT(DISTINCT hash) FROM changes WHERE mission = $1")
                .await?,
            records: q("SELECT COUNT(*) FROM docs WHERE mission = $1").await?,
            devices: q("SELECT COUNT(*) FROM devices WHERE mission = $1").await?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_mission_comes_out_of_the_address() {
        let cases = [
            ("postgres://u@/db", "postgres://u@/db", DEFAULT_MISSION),
            ("postgres://u@/db?mission=hq", "postgres://u@/db", "hq"),
            (
                "postgres://u@/db?host=/run/postgresql&mission=north-1",
                "postgres://u@/db?host=/run/postgresql",
                "north-1",
            ),
            (
                "postgresql://u@h/db?mission=a_b&sslmode=disable",
                "postgresql://u@h/db?sslmode=disable",
                "a_b",
            ),
            ("host=/tmp dbname=db mission=x", "host=/tmp dbname=db", "x"),
        ];
        for (url, rest, mission) in cases {
            assert_eq!(
                split_mission(url).unwrap(),
                (rest.to_string(), mission.to_string()),
                "{url}"
            );
        }
        for bad in [
            "postgres://u@/db?mission=",
            "postgres://u@/db?mission=a%20b",
        ] {
            assert!(split_mission(bad).is_err(), "{bad}");
        }
    }
}
