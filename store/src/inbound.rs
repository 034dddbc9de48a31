//! Received changes (a pull page, a USB bundle) into the store: in chunks, each its own
//! transaction, so a long import never locks the officer out; record by record, so a record
//! that cannot take its changes is held in `inbound`, named, and tried again later, while the
//! others go in.

use std::collections::{BTreeMap, HashSet};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use rusqlite::{Connection, TransactionBehavior};

use mrm_crdt::error::{Error, Result};
use mrm_crdt::validate::is_uuid;

use super::exchange::ImportReport;
use super::import::{apply_records, Failed};

/// Changes applied in the first transaction of an import (records are never split); later
/// chunks are sized from the time the last one took, to last about [`CHUNK_TIME`].
const CHUNK_CHANGES: usize = 128;

/// How long one chunk of an import holds the store's write lock, about: an edit that arrives
/// meanwhile waits that long, not for the whole page or bundle.
const CHUNK_TIME: Duration = Duration::from_millis(100);

/// A chunk size a benchmark fixed ([`set_import_chunk_changes`]); 0: sized by time.
static CHUNK: AtomicUsize = AtomicUsize::new(0);

/// For `mrm-bench import` only: apply imports in chunks of `n` changes (`usize::MAX`: one
/// transaction, as before chunking; 0: sized by time, the default), to measure what chunking
/// changes.
#[doc(hidden)]
pub fn set_import_chunk_changes(n: usize) {
    CHUNK.store(n, Ordering::SeqCst);
}

/// Most received changes one record keeps waiting ([`hold`]).
const MAX_WAITING_CHANGES: usize = 1_000;

/// Most records a store keeps waiting ([`hold`]); beyond, received changes that cannot be
/// applied are left out, and said.
const MAX_WAITING_RECORDS: usize = 500;

/// How long an import lets local writes of this process go first between two chunks, at most.
const GIVE_WAY_AT_MOST: Duration = Duration::from_secs(2);

/// Local writes of this process waiting to begin their transaction ([`WaitingWrite`]). SQLite
/// gives the lock to whoever asks first after a commit, and an import asks again at once; an
/// edit polling from its busy handler could wait for the whole import.
static WAITING_WRITES: AtomicUsize = AtomicUsize::new(0);

/// Held while a local write waits to begin its transaction: an import between two chunks waits
/// until none is waiting.
pub(crate) struct WaitingWrite;

impl WaitingWrite {
    pub(crate) fn new() -> WaitingWrite {
        WAITING_WRITES.fetch_add(1, Ordering::SeqCst);
        WaitingWrite
    }
}

impl Drop for WaitingWrite {
    fn drop(&mut self) {
        WAITING_WRITES.fetch_sub(1, Ordering::SeqCst);
    }
}

fn give_way() {
    let start = Instant::now();
    while WAITING_WRITES.load(Ordering::SeqCst) > 0 && start.elapsed() < GIVE_WAY_AT_MOST {
        std::thread::sleep(Duration::from_millis(1));
    }
}

/// Which held changes an import tries again ([`import_chunked`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Retry {
    /// Those of the records the batch touches (what they waited for may have come with it).
    Touched,
    /// Every held record's (once per sync: a newer program may take what an older refused).
    All,
}

/// Apply received changes, record by record, in chunks of about [`CHUNK_TIME`] of work, each
/// chunk its own transaction (a record is never split); `finish` runs in the last transaction
/// (a pull moves its cursor there, so a crash before it means the page is pulled again, and
/// applying it again is idempotent).
///
/// A record whose changes cannot be applied (missing dependencies, a reused identity,
/// malformed, out of bounds, too large) is held in `inbound` and named in the report, and every
/// other record goes in. Held changes are tried again as `retry` says and released once they
/// apply. Errors: only the database's; chunks committed before stay (each is whole).
pub(crate) fn import_chunked(
    conn: &mut Connection,
    changes: Vec<(String, Vec<u8>)>,
    retry: Retry,
    finish: impl FnOnce(&Connection) -> Result<()>,
) -> Result<ImportReport> {
    let mut report = ImportReport {
        received: changes.len(),
        ..ImportReport::default()
    };
    // Changes grouped per record: each record of the batch is loaded, applied to, read, walked
    // for conflicts and saved once, however many of its changes the batch holds.
    let mut by_doc: BTreeMap<String, Vec<(usize, Vec<u8>)>> = BTreeMap::new();
    let mut bad_ids = 0;
    for (i, (doc_id, bytes)) in changes.into_iter().enumerate() {
        if !is_uuid(&doc_id) {
            // Nothing could ever file it: left out, and said.
            bad_ids += 1;
            continue;
        }
        by_doc.entry(doc_id).or_default().push((i, bytes));
    }
    if bad_ids > 0 {
        report.left_out.push(format!(
            "{bad_ids} change(s) name an invalid record id and were left out"
        ));
    }
    let had_held: HashSet<String> = conn
        .prepare_cached("SELECT DISTINCT doc_id FROM inbound")?
        .query_map([], |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    let mut failed = HashSet::new();
    let mut chunk: BTreeMap<String, Vec<(usize, Vec<u8>)>> = BTreeMap::new();
    let mut in_chunk = 0;
    let fixed = Some(CHUNK.load(Ordering::SeqCst)).filter(|n| *n != 0);
    let mut chunk_changes = fixed.unwrap_or(CHUNK_CHANGES);
    let mut records = by_doc.into_iter().peekable();
    while let Some((doc_id, changes)) = records.next() {
        in_chunk += changes.len();
        chunk.insert(doc_id, changes);
        if in_chunk >= chunk_changes || records.peek().is_none() {
            let began = Instant::now();
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let part = std::mem::take(&mut chunk);
            for f in caught(|| apply_records(&tx, part, &mut report))? {
                failed.insert(f.doc_id.clone());
                hold(&tx, f, &mut report.left_out)?;
            }
            tx.commit()?;
            // The next chunk sized to the time this one took (a machine, a kind of record),
            // unless a benchmark fixed the size.
            if fixed.is_none() {
                let took = began.elapsed().as_secs_f64().max(1e-4);
                let fit = in_chunk as f64 * CHUNK_TIME.as_secs_f64() / took;
                chunk_changes = (fit as usize).clamp(16, 8 * 1024);
            }
            in_chunk = 0;
            give_way();
        }
    }

    // Then the held changes of the records concerned, each record's on their own: a change that
    // can never apply must not keep a record from taking what it can. A record is concerned
    // when it took new changes (what its held ones waited for may be among them), or when it
    // failed with changes already waiting (the two together may be whole).
    let took: HashSet<String> = report.records_changed.iter().cloned().collect();
    let mut held_docs: Vec<String> = conn
        .prepare_cached("SELECT DISTINCT doc_id FROM inbound")?
        .query_map([], |r| r.get(0))?
        .collect::<rusqlite::Result<Vec<String>>>()?
        .into_iter()
        .filter(|d| {
            retry == Retry::All || took.contains(d) || (failed.contains(d) && had_held.contains(d))
        })
        .collect();
    held_docs.sort();
    // In chunks too: a store holding many records must not lock the officer out while it
    // tries them again.
    let mut docs = held_docs.into_iter().peekable();
    while docs.peek().is_some() {
        let began = Instant::now();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let mut again: BTreeMap<String, Vec<(usize, Vec<u8>)>> = BTreeMap::new();
        let mut in_chunk = 0;
        while in_chunk < chunk_changes {
            let Some(doc_id) = docs.next() else { break };
            let rows: Vec<Vec<u8>> = tx
                .prepare_cached("SELECT bytes FROM inbound WHERE doc_id = ?1 ORDER BY n")?
                .query_map([&doc_id], |r| r.get(0))?
                .collect::<rusqlite::Result<_>>()?;
            in_chunk += rows.len();
            again.insert(doc_id, rows.into_iter().enumerate().collect());
        }
        let tried: Vec<String> = again.keys().cloned().collect();
        let mut retried = ImportReport::default();
        let failures = caught(|| apply_records(&tx, again, &mut retried))?;
        let still: HashSet<String> = failures.iter().map(|f| f.doc_id.clone()).collect();
        for f in failures {
            hold(&tx, f, &mut report.left_out)?;
        }
        for doc_id in tried.iter().filter(|d| !still.contains(*d)) {
            tx.execute("DELETE FROM inbound WHERE doc_id = ?1", [doc_id])?;
            report.released.push(doc_id.clone());
        }
        tx.commit()?;
        report.released_changes += retried.new_changes;
        report.records_new += retried.records_new;
        report.new_conflicts += retried.new_conflicts;
        for id in retried.records_changed {
            if !report.records_changed.contains(&id) {
                report.records_changed.push(id);
            }
        }
        if fixed.is_none() {
            let took = began.elapsed().as_secs_f64().max(1e-4);
            let fit = in_chunk.max(1) as f64 * CHUNK_TIME.as_secs_f64() / took;
            chunk_changes = (fit as usize).clamp(16, 8 * 1024);
        }
        give_way();
    }
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    report.held = held_inbound(&tx)?;
    finish(&tx)?;
    tx.commit()?;
    Ok(report)
}

/// Automerge 0.12 can panic on a change that parses but is malformed inside; each record's work
/// is caught on its own, this is the last line (the chunk's transaction is then rolled back).
fn caught<T>(f: impl FnOnce() -> Result<T>) -> Result<T> {
    catch_unwind(AssertUnwindSafe(f))
        .unwrap_or_else(|_| Err(Error::Bundle("a change is malformed".into())))
}

/// Keep a record's received changes that could not apply (with those it already had waiting,
/// each once, at most [`MAX_WAITING_CHANGES`] or a record's size), with the reason; the first
/// holding's time stays.
fn hold(tx: &Connection, failed: Failed, left_out: &mut Vec<String>) -> Result<()> {
    let Failed {
        doc_id,
        bytes,
        error,
    } = failed;
    if matches!(error, Error::Database(_)) {
        return Err(error);
    }
    let held_at: Option<String> = tx
        .prepare_cached("SELECT MIN(at) FROM inbound WHERE doc_id = ?1")?
        .query_row([&doc_id], |r| r.get(0))?;
    let mut keep: Vec<Vec<u8>> = tx
        .prepare_cached("SELECT bytes FROM inbound WHERE doc_id = ?1 ORDER BY n")?
        .query_map([&doc_id], |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    if keep.is_empty() {
        // A record not waiting yet: only while the store keeps few (a hostile bundle of
        // thousands of records that can never apply must not make every sync slow).
        let waiting: i64 = tx
            .prepare_cached("SELECT COUNT(DISTINCT doc_id) FROM inbound")?
            .query_row([], |r| r.get(0))?;
        if waiting as usize >= MAX_WAITING_RECORDS {
            left_out.push(format!(
                "record {doc_id}: {error}; not kept, since this store already keeps \
                 {MAX_WAITING_RECORDS} records waiting"
            ));
            return Ok(());
        }
    }
    let mut seen: HashSet<Vec<u8>> = keep.iter().cloned().collect();
    keep.extend(bytes.into_iter().filter(|b| seen.insert(b.clone())));
    // Bounded, newest kept: a stream of hostile bundles must not grow a record's wait without
    // end (nor the work of trying it again).
    let mut total = 0;
    let mut from = keep.len();
    while from > 0
        && keep.len() - from < MAX_WAITING_CHANGES
        && total + keep[from - 1].len() <= mrm_crdt::limits::MAX_RECORD_BYTES
    {
        total += keep[from - 1].len();
        from -= 1;
    }
    if from > 0 {
        left_out.push(format!(
            "record {doc_id}: {from} older waiting change(s) dropped (a record keeps at most \
             {MAX_WAITING_CHANGES} changes, {} bytes, waiting)",
            mrm_crdt::limits::MAX_RECORD_BYTES
        ));
        keep.drain(..from);
    }
    tx.execute("DELETE FROM inbound WHERE doc_id = ?1", [&doc_id])?;
    let reason = error.to_string();
    if keep.is_empty() {
        // Nothing of it decodes: nothing to try again, only to say.
        left_out.push(format!("record {doc_id}: {reason}; left out"));
        return Ok(());
    }
    let held_at = held_at.unwrap_or_else(super::now_str);
    for (n, b) in keep.into_iter().enumerate() {
        tx.prepare_cached(
            "INSERT INTO inbound (doc_id, n, bytes, reason, at) VALUES (?1, ?2, ?3, ?4, ?5)",
        )?
        .execute(rusqlite::params![doc_id, n as i64, b, reason, held_at])?;
    }
    Ok(())
}

/// Every record with received changes waiting, with the reason and since when, oldest first.
pub(crate) fn held_inbound(tx: &Connection) -> Result<Vec<super::HeldRecord>> {
    let mut stmt = tx.prepare_cached(
        "SELECT doc_id, MAX(reason), MIN(at) FROM inbound GROUP BY doc_id ORDER BY 3, 1",
    )?;
    let rows = stmt.query_map([], |r| {
        Ok(super::HeldRecord {
            doc_id: r.get(0)?,
            reason: r.get(1)?,
            held_at: r.get(2)?,
        })
    })?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}
