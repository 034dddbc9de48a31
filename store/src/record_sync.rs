//! Where each record stands with the endpoint, as DHIS2 Capture shows it per record: synced,
//! waiting to be sent, held (the endpoint refused this device's changes, with the reason), or
//! waiting here (changes received for it cannot be applied yet); and whether it holds a
//! conflict. `mrm status` and the app read it; a sync changes it.

use rusqlite::params;
use serde::Serialize;

use mrm_crdt::error::Result;

use crate::Store;

/// A record's sync state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RecordSync {
    /// The endpoint has every change this device made to it.
    Synced,
    /// Changes made here wait for the next sync.
    ToSend,
    /// The endpoint refused this device's changes to it; they stay here ([`Store::held_records`]).
    Held,
    /// Changes received for it wait here, not applied yet ([`Store::held_inbound`]).
    Waiting,
}

/// A record that is not simply synced, or holds a conflict.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RecordSyncState {
    pub doc_id: String,
    /// `incident`, `patrol`, … (`None` for a record known only by its waiting changes).
    pub kind: Option<String>,
    pub state: RecordSync,
    /// Local changes not yet acknowledged by the endpoint, and their bytes.
    pub changes_to_send: i64,
    pub bytes_to_send: i64,
    /// Why it is held or waiting.
    pub reason: Option<String>,
    /// Whether two edits left values for a person to choose between.
    pub conflict: bool,
}

/// How many records are in each state (a record in conflict is also counted by its state).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct SyncCounts {
    pub synced: i64,
    pub to_send: i64,
    pub held: i64,
    pub waiting: i64,
    pub conflict: i64,
    /// Local changes and their bytes waiting to be sent, over all records.
    pub changes_to_send: i64,
    pub bytes_to_send: i64,
}

impl Store {
    /// Every record that is not simply synced, or that holds a conflict, oldest unsent first:
    /// held first, then waiting, then to send, then conflicts of synced records.
    pub fn unsynced_records(&self) -> Result<Vec<RecordSyncState>> {
        let after = self.sync_state()?.map(|s| s.push_seq).unwrap_or(0);
        let mut stmt = self.conn().prepare(
            "WITH unsent AS (
                 SELECT doc_id, COUNT(*) AS n, SUM(LENGTH(bytes)) AS b, MIN(seq) AS first
                 FROM changes WHERE local = 1 AND seq > ?1 GROUP BY doc_id),
             ids AS (
                 SELECT doc_id FROM unsent UNION SELECT doc_id FROM held_records
                 UNION SELECT doc_id FROM inbound UNION SELECT doc_id FROM conflicts)
             SELECT ids.doc_id, d.kind, COALESCE(u.n, 0), COALESCE(u.b, 0),
                    h.reason, (SELECT reason FROM inbound i WHERE i.doc_id = ids.doc_id LIMIT 1),
                    EXISTS (SELECT 1 FROM conflicts c WHERE c.doc_id = ids.doc_id),
                    h.doc_id IS NOT NULL, u.first
             FROM ids
             LEFT JOIN docs d ON d.doc_id = ids.doc_id
             LEFT JOIN unsent u ON u.doc_id = ids.doc_id
             LEFT JOIN held_records h ON h.doc_id = ids.doc_id",
        )?;
        let rows = stmt.query_map(params![after], |r| {
            let held: bool = r.get(7)?;
            let held_reason: Option<String> = r.get(4)?;
            let waiting_reason: Option<String> = r.get(5)?;
            let to_send: i64 = r.get(2)?;
            let (state, reason) = if held {
                (RecordSync::Held, held_reason)
            } else if waiting_reason.is_some() {
                (RecordSync::Waiting, waiting_reason)
            } else if to_send > 0 {
                (RecordSync::ToSend, None)
            } else {
                (RecordSync::Synced, None)
            };
            let first: Option<i64> = r.get(8)?;
            Ok((
                RecordSyncState {
                    doc_id: r.get(0)?,
                    kind: r.get(1)?,
                    state,
                    changes_to_send: to_send,
                    bytes_to_send: r.get(3)?,
                    reason,
                    conflict: r.get(6)?,
                },
                first.unwrap_or(i64::MAX),
            ))
        })?;
        let mut out = rows.collect::<std::result::Result<Vec<_>, _>>()?;
        let rank = |s: RecordSync| match s {
            RecordSync::Held => 0,
            RecordSync::Waiting => 1,
            RecordSync::ToSend => 2,
            RecordSync::Synced => 3,
        };
        out.sort_by(|(a, af), (b, bf)| {
            (rank(a.state), *af, &a.doc_id).cmp(&(rank(b.state), *bf, &b.doc_id))
        });
        Ok(out.into_iter().map(|(s, _)| s).collect())
    }

    /// How many records are in each sync state, and what waits to be sent.
    pub fn sync_counts(&self) -> Result<SyncCounts> {
        self.sync_counts_of(&self.unsynced_records()?)
    }

    /// [`Store::sync_counts`] from a list [`Store::unsynced_records`] already read.
    pub fn sync_counts_of(&self, unsynced: &[RecordSyncState]) -> Result<SyncCounts> {
        let records: i64 = self
            .conn()
            .query_row("SELECT COUNT(*) FROM docs", [], |r| r.get(0))?;
        let mut c = SyncCounts::default();
        for r in unsynced {
            match r.state {
                RecordSync::Synced => {}
                RecordSync::ToSend => c.to_send += 1,
                RecordSync::Held => c.held += 1,
                RecordSync::Waiting => c.waiting += 1,
            }
            if r.state != RecordSync::Held {
                c.changes_to_send += r.changes_to_send;
                c.bytes_to_send += r.bytes_to_send;
            }
            c.conflict += i64::from(r.conflict);
        }
        c.synced = (records - c.to_send - c.held - c.waiting).max(0);
        Ok(c)
    }

    /// One record's sync state ([`RecordSync::Synced`] for a record with nothing pending).
    pub fn record_sync_state(&self, doc_id: &str) -> Result<RecordSync> {
        // One record: the same rules as the list, without listing everything.
        let after = self.sync_state()?.map(|s| s.push_seq).unwrap_or(0);
        let (held, waiting, to_send): (bool, bool, bool) = self.conn().query_row(
            "SELECT EXISTS (SELECT 1 FROM held_records WHERE doc_id = ?1),
                    EXISTS (SELECT 1 FROM inbound WHERE doc_id = ?1),
                    EXISTS (SELECT 1 FROM changes WHERE doc_id = ?1 AND local = 1 AND seq > ?2)",
            params![doc_id, after],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )?;
        Ok(if held {
            RecordSync::Held
        } else if waiting {
            RecordSync::Waiting
        } else if to_send {
            RecordSync::ToSend
        } else {
            RecordSync::Synced
        })
    }
}
