//! Helpers for applying received changes to a document, shared by the device import and the
//! endpoint's push checks. Both run for every received change, so each rebuilds the new changes
//! from the document once (`added_since`), not once per change (`get_change_by_hash`).

use std::collections::HashSet;

use automerge::{Automerge, Change, ChangeHash, ReadDoc};

/// How many of `applied` (just given to `doc.apply_changes`) are not in `doc` because their
/// dependencies are missing. Automerge keeps such changes in a queue; the queue is empty in the
/// common case, and only then is every change known to be applied without looking each one up.
pub fn not_applied(doc: &Automerge, applied: &[Change]) -> usize {
    if doc.get_missing_deps(&[]).is_empty() {
        return 0;
    }
    applied
        .iter()
        .filter(|c| doc.get_change_by_hash(&c.hash()).is_none())
        .count()
}

/// The changes `doc` gained since `old_heads` (just after applying `received` to it), in causal
/// order as the document encodes them, or `None` if one of them is not among `received`. That
/// happens when Automerge decodes a damaged or non-canonical change that it would encode
/// differently: its document could not be loaded again, so such a change is refused. (Automerge
/// may also panic here on such a change; callers run this under `catch_unwind`.)
pub fn added_since(
    doc: &Automerge,
    old_heads: &[ChangeHash],
    received: &[Change],
) -> Option<Vec<Change>> {
    let sent: HashSet<ChangeHash> = received.iter().map(|c| c.hash()).collect();
    let added = doc.get_changes(old_heads);
    added
        .iter()
        .all(|c| sent.contains(&c.hash()))
        .then_some(added)
}

/// A document's snapshot as stored by the device and the endpoint: Automerge's compact format
/// without DEFLATE. A record's columns are small, and deflating them (a fresh compressor per
/// column) cost more than applying the changes; the snapshot loads the same either way.
pub fn snapshot(doc: &Automerge) -> Vec<u8> {
    doc.save_nocompress()
}

/// Largest operation counter a change may reach: far beyond any real record (a record of a
/// million edits has a few million operations), far below 2^32, where Automerge 0.12's counters
/// overflow: a change near that made every later edit of its record panic on every device.
pub const MAX_OP_COUNTER: u64 = 1 << 31;
/// Largest sequence number of one actor's changes.
pub const MAX_SEQ: u64 = 1 << 32;
/// Most dependencies one change may name (a merge of this many concurrent heads).
pub const MAX_DEPS: usize = 1_024;
/// Most operations one change may hold: far beyond any edit of a record (a new incident with
/// eighty sources is a few thousand), far below what a few hundred bytes of run-length-encoded
/// columns can claim (a 107-byte change of a million operations took seconds to apply, and one of
/// fifty million exhausted memory).
pub const MAX_CHANGE_OPS: usize = 100_000;

/// Whether a received change's metadata is within bounds: operation counter, sequence number,
/// number of dependencies, and a timestamp (seconds since 1970, as the store writes it) at most
/// `clock.skew` ahead of `clock.now`. Errors: a sentence naming the bound.
pub fn check_metadata(change: &Change, clock: &crate::validate::Clock) -> Result<(), String> {
    let end = change.start_op().get().saturating_add(change.len() as u64);
    if end > MAX_OP_COUNTER {
        return Err(format!("its operation counter exceeds {MAX_OP_COUNTER}"));
    }
    if change.len() > MAX_CHANGE_OPS {
        return Err(format!("it holds more than {MAX_CHANGE_OPS} operations"));
    }
    if change.seq() > MAX_SEQ {
        return Err(format!("its sequence number exceeds {MAX_SEQ}"));
    }
    if change.deps().len() > MAX_DEPS {
        return Err(format!("it names more than {MAX_DEPS} dependencies"));
    }
    let latest = clock
        .now
        .checked_add_signed(clock.skew)
        .map_or(i64::MAX, |t| t.timestamp());
    if change.timestamp() > latest {
        return Err("it is stamped more than a day after the endpoint's clock".into());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use automerge::transaction::Transactable;
    use automerge::{Automerge, ROOT};

    use super::{added_since, check_metadata, not_applied, MAX_CHANGE_OPS};

    #[test]
    fn missing_dependencies_and_added_changes() {
        let mut doc = Automerge::new();
        for i in 0..3 {
            let mut tx = doc.transaction();
            tx.put(ROOT, "n", i).unwrap();
            tx.commit();
        }
        let changes = doc.get_changes(&[]);
        let mut fresh = Automerge::new();
        fresh.apply_changes(changes[1..].iter().cloned()).unwrap();
        assert_eq!(not_applied(&fresh, &changes[1..]), 2);
        fresh.apply_changes([changes[0].clone()]).unwrap();
        assert_eq!(not_applied(&fresh, &changes), 0);
        assert_eq!(fresh.get_heads(), doc.get_heads());
        let added = added_since(&fresh, &[], &changes).unwrap();
        let hashes = |v: &[automerge::Change]| v.iter().map(|c| c.hash()).collect::<Vec<_>>();
        assert_eq!(hashes(&added), hashes(&changes));
        assert!(added_since(&fresh, &[], &changes[1..]).is_none());
    }

    #[test]
    fn a_change_of_too_many_operations_is_out_of_bounds() {
        let mut doc = Automerge::new();
        let mut tx = doc.transaction();
        let list = tx.put_object(ROOT, "l", automerge::ObjType::List).unwrap();
        tx.splice(
            &list,
            0,
            0,
            (0..MAX_CHANGE_OPS as i64).map(automerge::ScalarValue::Int),
        )
        .unwrap();
        tx.commit();
        let change = doc.get_last_local_change().unwrap();
        let clock = crate::validate::Clock::timeless();
        let e = check_metadata(&change, &clock).unwrap_err();
        assert!(e.contains("operations"), "{e}");
    }
}
