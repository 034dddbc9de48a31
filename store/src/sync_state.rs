//! What a store remembers about its sync endpoint: the credential from enrollment and the two
//! cursors that make every sync step resumable.

use rusqlite::{params, OptionalExtension, TransactionBehavior};
use serde::Serialize;

use mrm_crdt::error::Result;
use mrm_crdt::protocol::{EnrollResponse, Role};

use super::exchange::ImportReport;
use super::import::import_tx;
use super::{now_str, Store};

/// The store's enrollment and sync progress.
#[derive(Debug, Clone, Serialize)]
pub struct SyncState {
    pub server_url: String,
    pub device_id: String,
    #[serde(skip)]
    pub secret: String,
    pub role: Role,
    pub pull_cursor: i64,
    pub push_seq: i64,
    pub last_sync_at: Option<String>,
    pub last_error: Option<String>,
    /// The endpoint's certificate fingerprint, pinned at enrollment (HTTPS endpoints).
    pub tls_pin: Option<String>,
    /// The key with which the endpoint proves a revocation (hex; from enrollment).
    #[serde(skip)]
    pub revocation_key: Option<String>,
}

/// A record whose local changes the endpoint refused.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HeldRecord {
    pub doc_id: String,
    pub reason: String,
    pub held_at: String,
}

/// A local change waiting to be pushed.
pub struct Unpushed {
    pub seq: i64,
    pub doc_id: String,
    pub bytes: Vec<u8>,
}

impl Store {
    /// The enrollment, if this store has one.
    pub fn sync_state(&self) -> Result<Option<SyncState>> {
        Ok(self
            .conn()
            .query_row(
                "SELECT server_url, device_id, secret, role, pull_cursor, push_seq, last_sync_at,
                        last_error, tls_pin, revocation_key
                 FROM sync_state",
                [],
                |r| {
                    let role: String = r.get(3)?;
                    Ok(SyncState {
                        server_url: r.get(0)?,
                        device_id: r.get(1)?,
                        secret: r.get(2)?,
                        role: Role::parse(&role).unwrap_or(Role::Officer),
                        pull_cursor: r.get(4)?,
                        push_seq: r.get(5)?,
                        last_sync_at: r.get(6)?,
                        last_error: r.get(7)?,
                        tls_pin: r.get(8)?,
                        revocation_key: r.get(9)?,
                    })
                },
            )
            .optional()?)
    }

    /// Remember a new enrollment (replacing an earlier one: cursors start over, which is safe
    /// because every step is idempotent).
    pub fn save_enrollment(
        &mut self,
        server_url: &str,
        e: &EnrollResponse,
        tls_pin: Option<&str>,
    ) -> Result<()> {
        self.conn.execute(
            "INSERT OR REPLACE INTO sync_state
                 (singleton, server_url, device_id, secret, role, tls_pin, revocation_key)
             VALUES (1, ?1, ?2, ?3, ?4, ?5, ?6)",
            params![
                server_url,
                e.device_id,
                e.secret,
                e.role.as_str(),
                tls_pin,
                e.revocation_key
            ],
        )?;
        Ok(())
    }

    /// Local changes the endpoint has not acknowledged, oldest first, up to the limits (at least
    /// one change is returned when any waits).
    pub fn unpushed(&self, max_changes: usize, max_bytes: usize) -> Result<Vec<Unpushed>> {
        let after = self.sync_state()?.map(|s| s.push_seq).unwrap_or(0);
        let mut stmt = self.conn().prepare_cached(
            "SELECT seq, doc_id, bytes FROM changes
             WHERE local = 1 AND seq > ?1 AND doc_id NOT IN (SELECT doc_id FROM held_records)
             ORDER BY seq LIMIT ?2",
        )?;
        let rows = stmt.query_map(params![after, max_changes as i64], |r| {
            Ok(Unpushed {
                seq: r.get(0)?,
                doc_id: r.get(1)?,
                bytes: r.get(2)?,
            })
        })?;
        let mut out = Vec::new();
        let mut bytes = 0;
        for row in rows {
            let u = row?;
            bytes += u.bytes.len();
            if !out.is_empty() && bytes > max_bytes {
                break;
            }
            out.push(u);
        }
        Ok(out)
    }

    /// How many local changes wait to be pushed.
    pub fn unpushed_count(&self) -> Result<i64> {
        let after = self.sync_state()?.map(|s| s.push_seq).unwrap_or(0);
        Ok(self.conn().query_row(
            "SELECT COUNT(*) FROM changes
             WHERE local = 1 AND seq > ?1 AND doc_id NOT IN (SELECT doc_id FROM held_records)",
            [after],
            |r| r.get(0),
        )?)
    }

    /// Stop pushing this record's local changes: the endpoint refused them for `reason`. They
    /// stay in this store (nothing is deleted) and [`Store::held_records`] lists them.
    pub fn hold_record(&mut self, doc_id: &str, reason: &str) -> Result<HeldRecord> {
        // Held since the first refusal: a retry refused again keeps that time, with the latest
        // reason.
        let held_at: String = self.conn.query_row(
            "INSERT INTO held_records (doc_id, reason, held_at) VALUES (?1, ?2, ?3)
             ON CONFLICT (doc_id) DO UPDATE SET reason = excluded.reason
             RETURNING held_at",
            params![doc_id, reason, now_str()],
            |r| r.get(0),
        )?;
        Ok(HeldRecord {
            doc_id: doc_id.to_string(),
            reason: reason.to_string(),
            held_at,
        })
    }

    /// Every local change of a held record, oldest first: what a retry sends (the endpoint skips
    /// the ones it already has).
    pub fn held_changes(&self, doc_id: &str) -> Result<Vec<(String, Vec<u8>)>> {
        let mut stmt = self.conn().prepare_cached(
            "SELECT doc_id, bytes FROM changes WHERE local = 1 AND doc_id = ?1 ORDER BY seq",
        )?;
        let rows = stmt.query_map([doc_id], |r| Ok((r.get(0)?, r.get(1)?)))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// The endpoint took a held record's changes: push it again like any other.
    pub fn release_record(&mut self, doc_id: &str) -> Result<()> {
        self.conn
            .execute("DELETE FROM held_records WHERE doc_id = ?1", [doc_id])?;
        Ok(())
    }

    /// Records whose local changes the endpoint refused, oldest first.
    pub fn held_records(&self) -> Result<Vec<HeldRecord>> {
        let mut stmt = self
            .conn()
            .prepare("SELECT doc_id, reason, held_at FROM held_records ORDER BY held_at, doc_id")?;
        let rows = stmt.query_map([], |r| {
            Ok(HeldRecord {
                doc_id: r.get(0)?,
                reason: r.get(1)?,
                held_at: r.get(2)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// The endpoint acknowledged every local change up to `seq`.
    pub fn ack_pushed(&mut self, seq: i64) -> Result<()> {
        self.conn
            .execute("UPDATE sync_state SET push_seq = MAX(push_seq, ?1)", [seq])?;
        Ok(())
    }

    /// Apply a pulled page and move the pull cursor, in one transaction: after a crash either
    /// both happened or neither, and the page is simply pulled again.
    pub fn import_pulled(
        &mut self,
        changes: Vec<(String, Vec<u8>)>,
        cursor: i64,
    ) -> Result<ImportReport> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let report = import_tx(&tx, changes)?;
        tx.execute("UPDATE sync_state SET pull_cursor = ?1", [cursor])?;
        tx.commit()?;
        Ok(report)
    }

    /// Record how the last sync ended.
    pub fn record_sync(&mut self, error: Option<&str>) -> Result<()> {
        match error {
            None => self.conn.execute(
                "UPDATE sync_state SET last_sync_at = ?1, last_error = NULL",
                [now_str()],
            )?,
            Some(e) => self
                .conn
                .execute("UPDATE sync_state SET last_error = ?1", [e])?,
        };
        Ok(())
    }
}
