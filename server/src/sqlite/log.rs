//! The change log, the records' snapshots and the scope log in SQLite: append with a
//! compare-and-swap on what the write was computed from, and pages of the log in a scope.

use std::collections::HashSet;

use rusqlite::{params, Connection, OptionalExtension};

use super::audit;
use crate::repository::{Append, Page, PageRequest, RepoError, RepoResult, StoredRecord};

pub(super) fn snapshot(conn: &Connection, doc_id: &str) -> RepoResult<Option<Vec<u8>>> {
    Ok(conn
        .prepare_cached("SELECT snapshot FROM docs WHERE doc_id = ?1")?
        .query_row([doc_id], |r| r.get(0))
        .optional()?)
}

pub(super) fn record(conn: &Connection, doc_id: &str) -> RepoResult<Option<StoredRecord>> {
    Ok(conn
        .prepare_cached("SELECT kind, team, snapshot FROM docs WHERE doc_id = ?1")?
        .query_row([doc_id], |r| {
            Ok(StoredRecord {
                kind: r.get(0)?,
                team: r.get(1)?,
                snapshot: r.get(2)?,
            })
        })
        .optional()?)
}

fn has_change(conn: &Connection, hash: &str) -> RepoResult<bool> {
    Ok(conn
        .prepare_cached("SELECT 1 FROM changes WHERE hash = ?1")?
        .query_row([hash], |_| Ok(()))
        .optional()?
        .is_some())
}

pub(super) fn known(conn: &Connection, hashes: &[String]) -> RepoResult<HashSet<String>> {
    let mut out = HashSet::new();
    for h in hashes {
        if has_change(conn, h)? {
            out.insert(h.clone());
        }
    }
    Ok(out)
}

/// Store `a` in the caller's write transaction `tx`, if what it was computed from still holds.
pub(super) fn append(tx: &Connection, a: &Append) -> RepoResult<usize> {
    for (id, expected) in &a.expected.records {
        if snapshot(tx, id)? != *expected {
            return Err(RepoError::Stale(format!("record {id} changed")));
        }
    }
    for h in &a.expected.unknown_hashes {
        if has_change(tx, h)? {
            return Err(RepoError::Stale(format!("change {h} arrived")));
        }
    }
    let mut stored = 0;
    for w in &a.records {
        let mut last_seq = 0;
        for c in &w.changes {
            tx.prepare_cached(
                "INSERT INTO changes (doc_id, hash, actor, device_id, bytes, received_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            )?
            .execute(params![
                w.doc_id,
                c.hash,
                c.actor,
                a.device_id,
                c.bytes,
                a.received_at
            ])
            .map_err(|e| {
                if super::is_unique_violation(&e) {
                    RepoError::Stale(format!("change {} arrived", c.hash))
                } else {
                    e.into()
                }
            })?;
            last_seq = tx.last_insert_rowid();
            stored += 1;
        }
        tx.prepare_cached(
            "INSERT INTO docs (doc_id, kind, team, snapshot) VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT (doc_id) DO UPDATE SET kind = excluded.kind, team = excluded.team,
                 snapshot = excluded.snapshot",
        )?
        .execute(params![w.doc_id, w.kind, w.team, w.snapshot])?;
        if w.entered_scope && last_seq > 0 {
            tx.prepare_cached("INSERT INTO scope_log (seq, doc_id, team) VALUES (?1, ?2, ?3)")?
                .execute(params![last_seq, w.doc_id, w.team])?;
        }
    }
    for e in &a.audit {
        audit(tx, e)?;
    }
    if let Some(d) = &a.touch {
        let n = tx
            .prepare_cached(
                "UPDATE devices SET last_sync_at = ?1 WHERE id = ?2 AND revoked_at IS NULL",
            )?
            .execute(params![a.received_at, d])?;
        if n == 0 {
            return Err(RepoError::Conflict(crate::repository::Conflict::Revoked));
        }
    }
    Ok(stored)
}

/// A page of the log (see [`PageRequest`]), read in the caller's read transaction `tx`.
pub(super) fn page(tx: &Connection, req: &PageRequest) -> RepoResult<Page> {
    let scope = &req.scope;
    let limit = req.limit.max(1);
    let cursor = req.cursor;
    // `?1` cursor, `?2` device left out, `?3` team, `?4` the kinds every device reads (JSON),
    // `?5` the kinds a team's device reads of its team (JSON), `?6` the limit: both statements
    // take all six, whether or not the scope uses them (SQLite counts parameters up to the
    // highest index named).
    let kinds = serde_json::to_string(&scope.shared_kinds).unwrap_or_else(|_| "[]".into());
    let team_kinds = serde_json::to_string(&scope.team_kinds).unwrap_or_else(|_| "[]".into());
    let filter = if scope.team.is_none() {
        "c.device_id <> ?2"
    } else {
        "c.device_id <> ?2 AND ((d.team = ?3 AND d.kind IN (SELECT value FROM json_each(?5)))
                                OR d.kind IN (SELECT value FROM json_each(?4)))"
    };
    let team = scope.team.clone().unwrap_or_default();
    let max_seq: i64 = tx.query_row("SELECT COALESCE(MAX(seq), 0) FROM changes", [], |r| {
        r.get(0)
    })?;
    let mut out: Vec<(String, Vec<u8>)> = Vec::new();
    // Records that entered the team's scope after the cursor: their history from before it,
    // which the device was not allowed to see then.
    if let Some(team) = &scope.team {
        let mut stmt = tx.prepare_cached(
            "SELECT DISTINCT s.doc_id FROM scope_log s JOIN docs d ON d.doc_id = s.doc_id
             WHERE s.seq > ?1 AND s.team = ?2 AND d.team = ?2
               AND d.kind IN (SELECT value FROM json_each(?3))",
        )?;
        let docs: Vec<String> = stmt
            .query_map(params![cursor, team, team_kinds], |r| r.get(0))?
            .collect::<Result<_, _>>()?;
        let mut hist = tx.prepare_cached(
            "SELECT doc_id, bytes FROM changes
             WHERE doc_id = ?1 AND seq <= ?2 AND device_id <> ?3 ORDER BY seq",
        )?;
        for d in docs {
            let rows = hist.query_map(params![d, cursor, scope.exclude_device], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })?;
            for row in rows {
                out.push(row?);
            }
        }
    }
    let mut stmt = tx.prepare_cached(&format!(
        "SELECT c.seq, c.doc_id, c.bytes FROM changes c JOIN docs d ON d.doc_id = c.doc_id
         WHERE c.seq > ?1 AND {filter} ORDER BY c.seq LIMIT ?6"
    ))?;
    let mut rows = stmt.query(params![
        cursor,
        scope.exclude_device,
        team,
        kinds,
        team_kinds,
        limit
    ])?;
    let mut last = cursor;
    let mut n = 0;
    // Bytes of the page so far (history included); the page ends before the change that would
    // pass the cap, but always holds at least one change of the log so the cursor moves.
    let mut bytes: usize = out.iter().map(|(_, b)| b.len()).sum();
    let mut capped = false;
    while let Some(r) = rows.next()? {
        let change: Vec<u8> = r.get(2)?;
        if n > 0 && bytes + change.len() > req.max_bytes {
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
    let remaining: i64 = if full {
        tx.prepare_cached(&format!(
            "SELECT COUNT(*) FROM changes c JOIN docs d ON d.doc_id = c.doc_id
             WHERE c.seq > ?1 AND {filter} AND ?6 IS NOT NULL"
        ))?
        .query_row(
            params![next, scope.exclude_device, team, kinds, team_kinds, 0],
            |r| r.get(0),
        )?
    } else {
        0
    };
    Ok(Page {
        changes: out,
        cursor: next,
        remaining,
    })
}
