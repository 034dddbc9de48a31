//! What a store remembers about its sync endpoint: the credential from enrollment and the two
//! cursors that make every sync step resumable.

use rusqlite::{params, OptionalExtension};
use serde::Serialize;

use mrm_crdt::error::Result;
use mrm_crdt::protocol::{EnrollResponse, Role};

use super::exchange::ImportReport;
use super::inbound::{import_chunked, Retry};
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
    /// The endpoint's log epoch at the last sync ([`Store::note_log_epoch`]); `None` before the
    /// first sync that saw one.
    pub log_epoch: Option<String>,
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
                        last_error, tls_pin, revocation_key, epoch
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
                        log_epoch: r.get(10)?,
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

    /// Hold a record because the endpoint found this store reusing its identity (a copy, or
    /// restored from a backup): like [`Store::hold_record`], and [`Store::identity_reused`]
    /// says so until `mrm recover` re-records the work.
    pub fn hold_reused(&mut self, doc_id: &str, reason: &str) -> Result<HeldRecord> {
        let held = self.hold_record(doc_id, reason)?;
        self.conn.execute(
            "UPDATE held_records SET reused_from = 0 WHERE doc_id = ?1 AND reused_from IS NULL",
            [doc_id],
        )?;
        Ok(held)
    }

    /// The records held as this store's identity reused whose first refused change is not
    /// known yet (sync finds it, [`Store::set_reused_from`]).
    pub fn reused_unprobed(&self) -> Result<Vec<String>> {
        let mut stmt = self.conn().prepare(
            "SELECT doc_id FROM held_records
             WHERE reused_from = 0 ORDER BY doc_id",
        )?;
        let rows = stmt.query_map([], |r| r.get(0))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Every local change of a record with its log position, oldest first.
    pub fn local_changes(&self, doc_id: &str) -> Result<Vec<(i64, Vec<u8>)>> {
        let mut stmt = self.conn().prepare_cached(
            "SELECT seq, bytes FROM changes WHERE local = 1 AND doc_id = ?1 ORDER BY seq",
        )?;
        let rows = stmt.query_map([doc_id], |r| Ok((r.get(0)?, r.get(1)?)))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// The endpoint took this record's local changes before log position `seq` and refused
    /// the one at `seq` on its own: what `mrm recover` re-records starts there.
    pub fn set_reused_from(&mut self, doc_id: &str, seq: i64) -> Result<()> {
        self.conn.execute(
            "UPDATE held_records SET reused_from = ?2 WHERE doc_id = ?1",
            params![doc_id, seq],
        )?;
        Ok(())
    }

    /// The records the endpoint refused because this store reused its identity.
    pub fn identity_reused(&self) -> Result<Vec<String>> {
        let mut stmt = self.conn().prepare(
            "SELECT doc_id FROM held_records WHERE reused_from IS NOT NULL ORDER BY doc_id",
        )?;
        let rows = stmt.query_map([], |r| r.get(0))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// The names (as the endpoint's registry gives them) of the other writers of a record whose
    /// changes are in this store: whom a record held for missing changes waits for.
    pub fn co_authors(&self, doc_id: &str) -> Result<Vec<String>> {
        let registry = self.registry()?;
        let mut stmt = self.conn().prepare_cached(
            "SELECT DISTINCT actor FROM changes WHERE doc_id = ?1 AND local = 0 ORDER BY actor",
        )?;
        let actors: Vec<String> = stmt
            .query_map([doc_id], |r| r.get(0))?
            .collect::<Result<_, _>>()?;
        let mut names: Vec<String> = actors
            .iter()
            .filter(|a| **a != self.device().actor)
            .map(|a| match registry.author(a) {
                Some(d) => d.officer.clone(),
                None => format!(
                    "a device not yet in the registry (author {})",
                    &a[..a.len().min(12)]
                ),
            })
            .collect();
        names.dedup();
        Ok(names)
    }

    /// Every local change of a held record, oldest first: what a retry sends (the endpoint skips
    /// the ones it already has).
    pub fn held_changes(&self, doc_id: &str) -> Result<Vec<(String, Vec<u8>)>> {
        // Only this identity's: a former identity's (before `mrm recover`) cannot be sent.
        let mut stmt = self.conn().prepare_cached(
            "SELECT doc_id, bytes FROM changes
             WHERE local = 1 AND doc_id = ?1 AND actor = ?2 ORDER BY seq",
        )?;
        let rows = stmt.query_map(params![doc_id, self.device().actor], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })?;
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

    /// Compare the endpoint's log epoch (`MeResponse::log_epoch`) with the one this store synced
    /// with. The first one seen is kept. Another one means the endpoint was restored from a
    /// backup: it may lack changes it once acknowledged, and its log positions were handed out
    /// again, so both cursors go back to the start (every local change is offered again, the
    /// endpoint keeps one copy of each; every change is read again, what is here is skipped by
    /// hash). Returns whether the cursors were reset. Not enrolled: does nothing.
    pub fn note_log_epoch(&mut self, epoch: &str) -> Result<bool> {
        let Some(state) = self.sync_state()? else {
            return Ok(false);
        };
        match state.log_epoch.as_deref() {
            Some(known) if known == epoch => Ok(false),
            None => {
                self.conn
                    .execute("UPDATE sync_state SET epoch = ?1", [epoch])?;
                Ok(false)
            }
            Some(_) => {
                self.conn.execute(
                    "UPDATE sync_state SET epoch = ?1, pull_cursor = 0, push_seq = 0, part_at = NULL, \
                     part = NULL",
                    [epoch],
                )?;
                tracing::warn!("the sync endpoint was restored from a backup: sending and reading everything again");
                Ok(true)
            }
        }
    }

    /// The endpoint acknowledged every local change up to `seq`.
    pub fn ack_pushed(&mut self, seq: i64) -> Result<()> {
        self.conn
            .execute("UPDATE sync_state SET push_seq = MAX(push_seq, ?1)", [seq])?;
        Ok(())
    }

    /// Apply a pulled page and move the pull cursor: the page goes in chunks (a local edit
    /// meanwhile waits about a tenth of a second), the cursor moves with the last; after a crash
    /// before it the page is simply pulled again, and what was applied is skipped by hash.
    pub fn import_pulled(
        &mut self,
        changes: Vec<(String, Vec<u8>)>,
        cursor: i64,
    ) -> Result<ImportReport> {
        import_chunked(&mut self.conn, changes, Retry::Touched, |tx| {
            // The page received in part, if any, is this one: it is in.
            tx.execute(
                "UPDATE sync_state SET pull_cursor = ?1, part_at = NULL, part = NULL",
                [cursor],
            )?;
            Ok(())
        })
    }

    /// Try again every received change that waits in this store (what it waited for may have
    /// come since, or by another way), in one transaction; returns what was released and what
    /// still waits.
    pub fn retry_held_inbound(&mut self) -> Result<ImportReport> {
        import_chunked(&mut self.conn, Vec::new(), Retry::All, |_| Ok(()))
    }

    /// Records whose received changes wait in this store, with the reason, oldest first.
    pub fn held_inbound(&self) -> Result<Vec<HeldRecord>> {
        super::inbound::held_inbound(self.conn())
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
