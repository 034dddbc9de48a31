//! Helpers for applying received changes to a document, shared by the device import and the
//! endpoint's push checks. Both run once per received change, so they avoid Automerge calls that
//! rebuild changes from the document (`get_change_by_hash`, `get_changes`) on the common path.

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

/// Whether no change of `changes` comes before one of them it depends on, so that they can be
/// logged in the order they came (an endpoint's log order and a device's own log are causal).
/// Otherwise the caller takes the document's causal order.
pub fn in_causal_order(changes: &[Change]) -> bool {
    let all: HashSet<ChangeHash> = changes.iter().map(|c| c.hash()).collect();
    let mut placed = HashSet::with_capacity(changes.len());
    for c in changes {
        if c.deps()
            .iter()
            .any(|d| all.contains(d) && !placed.contains(d))
        {
            return false;
        }
        placed.insert(c.hash());
    }
    true
}

/// A document's snapshot as stored by the device and the endpoint: Automerge's compact format
/// without DEFLATE. A record's columns are small, and deflating them (a fresh compressor per
/// column) cost more than applying the changes; the snapshot loads the same either way.
pub fn snapshot(doc: &Automerge) -> Vec<u8> {
    doc.save_nocompress()
}

#[cfg(test)]
mod tests {
    use automerge::transaction::Transactable;
    use automerge::{Automerge, ReadDoc, ROOT};

    use super::{in_causal_order, not_applied};

    #[test]
    fn order_and_missing_dependencies() {
        let mut doc = Automerge::new();
        for i in 0..3 {
            let mut tx = doc.transaction();
            tx.put(ROOT, "n", i).unwrap();
            tx.commit();
        }
        let changes = doc.get_changes(&[]);
        assert!(in_causal_order(&changes));
        let reversed: Vec<_> = changes.iter().rev().cloned().collect();
        assert!(!in_causal_order(&reversed));

        let mut fresh = Automerge::new();
        fresh.apply_changes(changes[1..].iter().cloned()).unwrap();
        assert_eq!(not_applied(&fresh, &changes[1..]), 2);
        fresh.apply_changes([changes[0].clone()]).unwrap();
        assert_eq!(not_applied(&fresh, &changes), 0);
        assert_eq!(fresh.get_heads(), doc.get_heads());
    }
}
