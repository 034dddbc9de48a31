//! Applying received changes to records inside an open transaction, record by record: a record
//! that cannot take its changes comes back as [`Failed`] (what `inbound` holds), the others go
//! in.
//!
//! Most of an import is Automerge work on one record at a time (decode, apply, read, walk for
//! conflicts, save the snapshot), and records are independent; only the database work needs the
//! transaction's connection. So the records are spread over worker threads, and this thread,
//! which holds the connection, reads what they need before and writes what they computed after,
//! in record-id order, so that a page gives the same store and the same error whatever the timing.

use std::collections::{BTreeMap, HashSet};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::{mpsc, Mutex};

use automerge::{Automerge, Change, ReadDoc};
use rusqlite::Connection;

use mrm_crdt::changes::{added_since, not_applied};
use mrm_crdt::document::{kind_of, RecordKind};
use mrm_crdt::error::{Error, Result};

use super::exchange::{append_raw, ImportReport};
use super::projection::Prepared;
use super::{doc_id_matches, Store};

/// Below this many records the import runs on the calling thread: starting workers costs more
/// than it saves on a small push or an incremental page.
const PARALLEL_FROM: usize = 8;

/// Records handed to the workers ahead of the one being written, per worker: enough to keep
/// them busy while this thread writes, few enough to bound the memory held by finished records.
const AHEAD_PER_WORKER: usize = 16;

/// One record's part of the batch, with what the store already holds of it.
struct Job {
    doc_id: String,
    /// (position in the batch, bytes), in batch order.
    changes: Vec<(usize, Vec<u8>)>,
    /// Kind and snapshot of the stored record, if there is one.
    stored: Option<(RecordKind, Vec<u8>)>,
    /// Hashes of the stored record's changes (hex).
    stored_hashes: HashSet<String>,
    /// Conflicting fields the store lists for the record now.
    stored_conflicts: usize,
}

/// A change to append to the log.
struct NewChange {
    hash: String,
    actor: String,
    bytes: Vec<u8>,
}

/// What a worker computed for one record.
struct Done {
    doc_id: String,
    duplicates: usize,
    /// `None` when every change was already known.
    update: Option<Update>,
    /// Changes left out (out of bounds: they could never apply), in words.
    dropped: Vec<String>,
}

struct Update {
    changes: Vec<NewChange>,
    prepared: Prepared,
    is_new: bool,
    stored_conflicts: usize,
    /// Changes of the record that wait for changes nobody has sent yet (held, with the
    /// reason, once the others are written).
    waiting: Option<Failed>,
}

/// The clock received changes are bounded by on a device: none. A laptop's clock is not the
/// mission's (it may be days or years off), so judging others' stamps by it would refuse a
/// colleague's correct work; the endpoint bounds stamps by its own clock at the push.
fn metadata_clock() -> mrm_crdt::validate::Clock {
    mrm_crdt::validate::Clock::timeless()
}

/// A record's changes computed, or why they could not be (boxed: the success is the common,
/// small case).
type Outcome = std::result::Result<Done, Box<Failed>>;

/// One record that could not take its changes: what was received of it and why.
pub(crate) struct Failed {
    pub(crate) doc_id: String,
    /// The changes to keep for a later try (raw bytes; those that do not even decode are
    /// dropped, since nothing could ever apply them).
    pub(crate) bytes: Vec<Vec<u8>>,
    pub(crate) error: Error,
}

/// Apply each record's changes; returns the records that could not take theirs. Errors: only
/// the database's.
pub(crate) fn apply_records(
    tx: &Connection,
    by_doc: BTreeMap<String, Vec<(usize, Vec<u8>)>>,
    report: &mut ImportReport,
) -> Result<Vec<Failed>> {
    let workers = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
        .min(by_doc.len() / PARALLEL_FROM);
    let mut failures = Vec::new();
    if workers <= 1 {
        for (doc_id, changes) in by_doc {
            let done = compute_caught(job(tx, doc_id, changes)?);
            settle(tx, done, report, &mut failures)?;
        }
    } else {
        import_parallel(tx, by_doc, workers, report, &mut failures)?;
    }
    Ok(failures)
}

/// Write a record's result inside its own savepoint, or note why it failed: a record refused
/// half-way through its writes leaves nothing behind.
fn settle(
    tx: &Connection,
    done: Outcome,
    report: &mut ImportReport,
    failures: &mut Vec<Failed>,
) -> Result<()> {
    let mut done = match done {
        Ok(d) => d,
        Err(f) => {
            failures.push(*f);
            return Ok(());
        }
    };
    tx.execute_batch("SAVEPOINT record")?;
    let mut mine = ImportReport::default();
    let doc_id = done.doc_id.clone();
    let bytes: Vec<Vec<u8>> = done
        .update
        .as_ref()
        .map(|u| u.changes.iter().map(|c| c.bytes.clone()).collect())
        .unwrap_or_default();
    let waiting = done.update.as_mut().and_then(|u| u.waiting.take());
    report.left_out.append(&mut done.dropped);
    match write(tx, done, &mut mine) {
        Ok(()) => {
            tx.execute_batch("RELEASE record")?;
            failures.extend(waiting);
            report.duplicates += mine.duplicates;
            report.new_changes += mine.new_changes;
            report.new_conflicts += mine.new_conflicts;
            report.records_new += mine.records_new;
            report.records_changed.extend(mine.records_changed);
            Ok(())
        }
        Err(e @ Error::Database(_)) => Err(e),
        Err(error) => {
            tx.execute_batch("ROLLBACK TO record; RELEASE record")?;
            failures.push(Failed {
                doc_id,
                bytes,
                error,
            });
            Ok(())
        }
    }
}

fn import_parallel(
    tx: &Connection,
    by_doc: BTreeMap<String, Vec<(usize, Vec<u8>)>>,
    workers: usize,
    report: &mut ImportReport,
    failures: &mut Vec<Failed>,
) -> Result<()> {
    let (job_tx, job_rx) = mpsc::channel::<(usize, Job)>();
    let job_rx = Mutex::new(job_rx);
    let (done_tx, done_rx) = mpsc::channel::<(usize, Outcome)>();
    std::thread::scope(|s| {
        for _ in 0..workers {
            let done_tx = done_tx.clone();
            let job_rx = &job_rx;
            s.spawn(move || loop {
                // The lock is held only while waiting for the next job, never while computing.
                let next = match job_rx.lock() {
                    Ok(rx) => rx.recv(),
                    Err(_) => break,
                };
                let Ok((i, job)) = next else { break };
                if done_tx.send((i, compute_caught(job))).is_err() {
                    break;
                }
            });
        }
        drop(done_tx);
        let result = drive(tx, by_doc, workers, &job_tx, &done_rx, report, failures);
        // Whatever happened here, the workers stop once the queue is closed and empty, and the
        // scope waits for them: no thread outlives the transaction.
        drop(job_tx);
        result
    })
}

/// Feed the workers and write their results in record order.
fn drive(
    tx: &Connection,
    by_doc: BTreeMap<String, Vec<(usize, Vec<u8>)>>,
    workers: usize,
    job_tx: &mpsc::Sender<(usize, Job)>,
    done_rx: &mpsc::Receiver<(usize, Outcome)>,
    report: &mut ImportReport,
    failures: &mut Vec<Failed>,
) -> Result<()> {
    let total = by_doc.len();
    let ahead = workers * AHEAD_PER_WORKER;
    let mut records = by_doc.into_iter().enumerate();
    let mut finished: BTreeMap<usize, Outcome> = BTreeMap::new();
    let (mut sent, mut written) = (0, 0);
    let stopped = || Error::Bundle("the import stopped unexpectedly".into());
    while written < total {
        while sent < total && sent - written < ahead {
            let Some((i, (doc_id, changes))) = records.next() else {
                break;
            };
            job_tx
                .send((i, job(tx, doc_id, changes)?))
                .map_err(|_| stopped())?;
            sent += 1;
        }
        let (i, done) = done_rx.recv().map_err(|_| stopped())?;
        finished.insert(i, done);
        while let Some(done) = finished.remove(&written) {
            settle(tx, done, report, failures)?;
            written += 1;
        }
    }
    Ok(())
}

/// What the store holds of a record, read before its changes are applied.
fn job(tx: &Connection, doc_id: String, changes: Vec<(usize, Vec<u8>)>) -> Result<Job> {
    let Some(stored) = Store::load_snapshot(tx, &doc_id)? else {
        return Ok(Job {
            doc_id,
            changes,
            stored: None,
            stored_hashes: HashSet::new(),
            stored_conflicts: 0,
        });
    };
    let stored_hashes = tx
        .prepare_cached("SELECT hash FROM changes WHERE doc_id = ?1")?
        .query_map([&doc_id], |r| r.get::<_, String>(0))?
        .collect::<rusqlite::Result<HashSet<_>>>()?;
    // The stored conflicts are those of the stored snapshot (rewritten with it).
    let n: i64 = tx
        .prepare_cached("SELECT COUNT(*) FROM conflicts WHERE doc_id = ?1")?
        .query_row([&doc_id], |r| r.get(0))?;
    Ok(Job {
        doc_id,
        changes,
        stored: Some(stored),
        stored_hashes,
        stored_conflicts: n as usize,
    })
}

fn malformed() -> Error {
    Error::Bundle("a change is malformed".into())
}

/// [`compute`] with a panic inside Automerge contained to its record.
fn compute_caught(job: Job) -> Outcome {
    let doc_id = job.doc_id.clone();
    catch_unwind(AssertUnwindSafe(|| compute(job))).unwrap_or_else(|_| {
        Err(Box::new(Failed {
            doc_id,
            bytes: Vec::new(),
            error: malformed(),
        }))
    })
}

/// The Automerge work for one record: no database access, so it runs on any thread.
fn compute(job: Job) -> Outcome {
    let Job {
        doc_id,
        changes,
        stored,
        stored_hashes,
        stored_conflicts,
    } = job;
    let mut parsed = Vec::with_capacity(changes.len());
    let mut undecodable = None;
    for (i, bytes) in changes {
        match Change::from_bytes(bytes) {
            Ok(c) => parsed.push((i, c)),
            Err(e) => {
                undecodable.get_or_insert_with(|| {
                    Error::Bundle(format!(
                        "change {} is not a valid Automerge change: {e}",
                        i + 1
                    ))
                });
            }
        }
    }
    let result = match undecodable {
        Some(e) => Err(e),
        None => apply(&doc_id, &parsed, stored, &stored_hashes, stored_conflicts),
    };
    result.map_err(|error| {
        Box::new(Failed {
            bytes: parsed.iter().map(|(_, c)| c.raw_bytes().to_vec()).collect(),
            doc_id: doc_id.clone(),
            error,
        })
    })
}

fn apply(
    doc_id: &str,
    parsed: &[(usize, Change)],
    stored: Option<(RecordKind, Vec<u8>)>,
    stored_hashes: &HashSet<String>,
    stored_conflicts: usize,
) -> Result<Done> {
    let doc_id = doc_id.to_string();
    let mut seen = HashSet::new();
    let mut fresh = Vec::new();
    let mut duplicates = 0;
    let mut dropped = Vec::new();
    for (i, change) in parsed {
        // What the endpoint bounds, a USB bundle must not bring in by the side door: a counter
        // near 2^32 freezes every later edit of its record. Such a change can never apply: it
        // is left out (and said), and the record takes the others.
        if let Err(e) = mrm_crdt::changes::check_metadata(change, &metadata_clock()) {
            dropped.push(format!(
                "record {doc_id}: change {} is out of bounds ({e}); left out",
                i + 1
            ));
            continue;
        }
        let hash = change.hash();
        if !seen.insert(hash) || stored_hashes.contains(&hash.to_string()) {
            duplicates += 1;
        } else {
            fresh.push(change.clone());
        }
    }
    if fresh.is_empty() {
        return Ok(Done {
            doc_id,
            duplicates,
            update: None,
            dropped,
        });
    }
    let load = || -> Result<Automerge> {
        Ok(match &stored {
            Some((_, snapshot)) => Automerge::load(snapshot)?,
            None => Automerge::new(),
        })
    };
    let old_kind = stored.as_ref().map(|(k, _)| *k);
    let mut doc = load()?;
    let old_heads = doc.get_heads();
    let applying = |doc: &mut Automerge, changes: &[Change]| {
        doc.apply_changes(changes.iter().cloned())
            .map_err(|e| match e {
                automerge::AutomergeError::DuplicateSeqNumber(seq, actor) => {
                    Error::IdentityReused {
                        record: doc_id.clone(),
                        seq,
                        actor: actor.to_hex_string(),
                    }
                }
                e => Error::Bundle(format!("record {doc_id}: {e}")),
            })
    };
    applying(&mut doc, &fresh)?;
    // Changes whose dependencies nobody has sent yet wait; the record takes the others.
    let mut waiting = None;
    let missing = not_applied(&doc, &fresh);
    if missing > 0 {
        let (ready, queued): (Vec<Change>, Vec<Change>) = fresh
            .into_iter()
            .partition(|c| doc.get_change_by_hash(&c.hash()).is_some());
        if ready.is_empty() {
            return Err(Error::MissingDependencies(missing));
        }
        waiting = Some(Failed {
            doc_id: doc_id.clone(),
            bytes: queued.iter().map(|c| c.raw_bytes().to_vec()).collect(),
            error: Error::MissingDependencies(missing),
        });
        // Again without them: a snapshot would keep Automerge's queue of waiting changes.
        doc = load()?;
        applying(&mut doc, &ready)?;
        fresh = ready;
    }
    let kind = kind_of(&doc)
        .filter(|_| doc_id_matches(&doc, &doc_id))
        .ok_or_else(|| Error::Bundle(format!("record {doc_id} is not an MRM record")))?;
    if old_kind.is_some_and(|k| k != kind) {
        return Err(Error::Bundle(format!("record {doc_id} changed its kind")));
    }
    // Read once: this refuses a malformed record and gives the projection rows.
    let prepared = Prepared::from_doc(&doc, kind)?;
    // The same size limit as an edit here (mrm_crdt::limits): a record nobody could edit or sync
    // further is refused where it arrives.
    if prepared.snapshot.len() > mrm_crdt::limits::MAX_RECORD_BYTES {
        return Err(Error::TooLarge(format!(
            "record {doc_id} would reach {} bytes; a record may hold at most {}",
            prepared.snapshot.len(),
            mrm_crdt::limits::MAX_RECORD_BYTES
        )));
    }
    let added = added_since(&doc, &old_heads, &fresh)
        .ok_or_else(|| Error::Bundle(format!("record {doc_id}: a change is malformed")))?;
    let changes = added
        .iter()
        .map(|c| NewChange {
            hash: c.hash().to_string(),
            actor: c.actor_id().to_hex_string(),
            // As decoded (same hash): deflating every imported change cost a fifth of an
            // import, and pages are gzip-compressed on the wire anyway.
            bytes: c.raw_bytes().to_vec(),
        })
        .collect();
    Ok(Done {
        doc_id,
        duplicates,
        dropped,
        update: Some(Update {
            changes,
            prepared,
            is_new: old_kind.is_none(),
            stored_conflicts,
            waiting,
        }),
    })
}

/// Write one record's result: its new changes, snapshot, projection rows and conflicts.
fn write(tx: &Connection, done: Done, report: &mut ImportReport) -> Result<()> {
    report.duplicates += done.duplicates;
    let Some(u) = done.update else {
        return Ok(());
    };
    for c in &u.changes {
        // A change the log holds under another record: refused rather than counted twice.
        if !append_raw(tx, &done.doc_id, &c.hash, &c.actor, false, &c.bytes)? {
            return Err(Error::Bundle(format!(
                "record {}: change {} belongs to another record",
                done.doc_id, c.hash
            )));
        }
        report.new_changes += 1;
    }
    super::projection::save_prepared(tx, &done.doc_id, &u.prepared)?;
    report.new_conflicts += u
        .prepared
        .conflicts
        .len()
        .saturating_sub(u.stored_conflicts);
    if u.is_new {
        report.records_new += 1;
    }
    report.records_changed.push(done.doc_id);
    Ok(())
}
