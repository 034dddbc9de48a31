//! Pull pages: the changes after a device's cursor within its scope, capped by count and bytes.

use mrm_crdt::bundle::Frames;
use mrm_crdt::sync::protocol::{PullHeader, PULL_PAGE, PULL_PAGE_BYTES};
use rusqlite::params;

use crate::model::Device;
use crate::storage::Result;

use super::SqliteStorage;

impl SqliteStorage {
    /// A page of the changes after `cursor` that `device` may see, with the history of records
    /// that entered its scope since.
    pub(super) fn pull_inner(
        &self,
        device: &Device,
        cursor: i64,
        limit: i64,
    ) -> Result<(PullHeader, Frames)> {
        let mut conn = self.reader();
        // One read transaction: the page, its cursor and the remaining count see one snapshot.
        let tx = conn.transaction()?;
        let limit = limit.clamp(1, PULL_PAGE);
        let whole = device.role.sees_whole_mission();
        // A device is not sent its own changes back: it made them and keeps them in its log
        // (append-only), so echoing them only cost bandwidth and an import that finds them all
        // duplicates. `?1` cursor, `?2` device, `?3` team. The configuration and the registry
        // belong to the whole mission: every device gets them. A closed reporting period is the
        // whole mission's figures, down to each counted record's id, area and party, and its
        // flagged titles: only roles that see the whole mission get it.
        let scope = if whole {
            "c.device_id <> ?2"
        } else {
            "c.device_id <> ?2 AND (d.team = ?3 OR d.kind IN ('config', 'registry'))"
        };
        let max_seq: i64 = tx.query_row("SELECT COALESCE(MAX(seq), 0) FROM changes", [], |r| {
            r.get(0)
        })?;
        let mut out: Vec<(String, Vec<u8>)> = Vec::new();
        // Records that entered this team's scope since the cursor: their history from before the
        // cursor, which the device was not allowed to see then.
        if !whole {
            let mut stmt = tx.prepare_cached(
                "SELECT DISTINCT s.doc_id FROM scope_log s JOIN docs d ON d.doc_id = s.doc_id
                 WHERE s.seq > ?1 AND s.team = ?2 AND d.team = ?2",
            )?;
            let docs: Vec<String> = stmt
                .query_map(params![cursor, device.team], |r| r.get(0))?
                .collect::<Result<_, _>>()?;
            let mut hist = tx.prepare_cached(
                "SELECT doc_id, bytes FROM changes
                 WHERE doc_id = ?1 AND seq <= ?2 AND device_id <> ?3 ORDER BY seq",
            )?;
            for d in docs {
                let rows = hist.query_map(params![d, cursor, device.id], |r| {
                    Ok((r.get(0)?, r.get(1)?))
                })?;
                for row in rows {
                    out.push(row?);
                }
            }
        }
        let sql = format!(
            "SELECT c.seq, c.doc_id, c.bytes FROM changes c JOIN docs d ON d.doc_id = c.doc_id
             WHERE c.seq > ?1 AND {scope} ORDER BY c.seq LIMIT {limit}"
        );
        let mut stmt = tx.prepare(&sql)?;
        let mut rows = if whole {
            stmt.query(params![cursor, device.id])?
        } else {
            stmt.query(params![cursor, device.id, device.team])?
        };
        let mut last = cursor;
        let mut n = 0;
        // Bytes of the page so far (history included); the page ends before the change that would
        // pass the cap, but always holds at least one change of the log so the cursor moves.
        let mut bytes: usize = out.iter().map(|(_, b)| b.len()).sum();
        let mut capped = false;
        while let Some(r) = rows.next()? {
            let change: Vec<u8> = r.get(2)?;
            if n > 0 && bytes + change.len() > PULL_PAGE_BYTES {
                capped = true;
                break;
            }
            bytes += change.len();
            last = r.get(0)?;
            out.push((r.get(1)?, change));
            n += 1;
        }
        drop(rows);
        let full = capped || n == limit;
        let next = if full { last } else { max_seq.max(cursor) };
        let count_sql = format!(
            "SELECT COUNT(*) FROM changes c JOIN docs d ON d.doc_id = c.doc_id WHERE c.seq > ?1 AND {scope}"
        );
        let remaining: i64 = if !full {
            0
        } else if whole {
            tx.query_row(&count_sql, params![next, device.id], |r| r.get(0))?
        } else {
            tx.query_row(&count_sql, params![next, device.id, device.team], |r| {
                r.get(0)
            })?
        };
        let header = PullHeader {
            cursor: next,
            more: remaining > 0,
            remaining,
            count: out.len() as u64,
        };
        Ok((header, out))
    }
}
