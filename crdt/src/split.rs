//! One id, two incidents: a record created independently twice (two officers whose template
//! carried the same id) is detected from its change graph and split by a reviewer into two
//! records, each with what its officer recorded.
//!
//! A record is created by one change with no dependencies (its *creation*). Two creations in one
//! document mean two records merged under one id: every field both wrote is a conflict, and the
//! objects of one (its violations, sources, verification trail) are hidden behind the other's.
//! The creation whose values win the merge is kept under the id; each other creation's
//! *branch* (the changes that build on it and not on the kept one) is copied into a new record
//! (`split_from` names the old record and the creation), and the old record lists it in
//! `split_off`, so the values that branch wrote are no longer shown as conflicts there. Changes
//! made after the two met (built on both) stay with the old record.

use std::collections::{HashMap, HashSet};

use automerge::{Automerge, ChangeHash, ReadDoc, ROOT};

/// The creations of a document: its changes with no dependencies, in the document's order.
pub fn creations(doc: &Automerge) -> Vec<ChangeHash> {
    doc.get_changes(&[])
        .iter()
        .filter(|c| c.deps().is_empty())
        .map(|c| c.hash())
        .collect()
}

/// The creation whose values the merge shows: the one that wrote the winning `created_at`.
pub fn kept_creation(doc: &Automerge) -> Option<ChangeHash> {
    let (_, op) = doc.get(ROOT, "created_at").ok().flatten()?;
    doc.hash_for_opid(&op)
}

/// For each change, which of `roots` it builds on (itself included), as a bit set.
fn descent(doc: &Automerge, roots: &[ChangeHash]) -> HashMap<ChangeHash, u64> {
    let mut of: HashMap<ChangeHash, u64> = HashMap::new();
    // `get_changes` lists a change after its dependencies.
    for c in doc.get_changes(&[]) {
        let mut bits = c
            .deps()
            .iter()
            .map(|d| of.get(d).copied().unwrap_or(0))
            .fold(0u64, |a, b| a | b);
        if let Some(i) = roots.iter().position(|r| *r == c.hash()) {
            bits |= 1 << (i % 64);
        }
        of.insert(c.hash(), bits);
    }
    of
}

/// The changes of the branch of `root` that do not build on `kept`, and the heads of that set
/// (what a copy of the branch is read at).
pub fn branch(
    doc: &Automerge,
    root: ChangeHash,
    kept: ChangeHash,
) -> (HashSet<ChangeHash>, Vec<ChangeHash>) {
    let of = descent(doc, &[root, kept]);
    let members: HashSet<ChangeHash> = of
        .iter()
        .filter(|(_, bits)| **bits & 1 != 0 && **bits & 2 == 0)
        .map(|(h, _)| *h)
        .collect();
    let mut depended: HashSet<ChangeHash> = HashSet::new();
    for c in doc.get_changes(&[]) {
        if members.contains(&c.hash()) {
            depended.extend(c.deps().iter().copied());
        }
    }
    let mut heads: Vec<ChangeHash> = members
        .iter()
        .filter(|h| !depended.contains(h))
        .copied()
        .collect();
    heads.sort();
    (members, heads)
}

/// The top-level fields whose shown value a change in `gone` wrote, each with the value the rest
/// of the record wrote (the latest such scalar): what a split writes back.
pub fn repairs(
    doc: &Automerge,
    gone: &HashSet<ChangeHash>,
) -> Vec<(String, automerge::ScalarValue)> {
    let from_gone =
        |id: &automerge::ObjId| doc.hash_for_opid(id).is_some_and(|h| gone.contains(&h));
    let mut out = Vec::new();
    for key in doc.keys(ROOT) {
        let Ok(all) = doc.get_all(ROOT, key.as_str()) else {
            continue;
        };
        match all.last() {
            Some((_, winner)) if all.len() > 1 && from_gone(winner) => {}
            _ => continue,
        }
        let kept = all.iter().rev().find_map(|(v, id)| match v {
            automerge::Value::Scalar(s) if !from_gone(id) => Some(s.as_ref().clone()),
            _ => None,
        });
        if let Some(v) = kept {
            out.push((key, v));
        }
    }
    out
}

/// Whether the record was created more than once apart and not yet split: its `created_at`,
/// written only by a creation, holds several values (equal or not: a forged copy of a creation
/// is caught too), leaving out the creations split off. A record made by a split holds one value
/// per reviewer who made it, all the same copy: that is one record.
pub fn recorded_twice(doc: &Automerge) -> bool {
    let Ok(all) = doc.get_all(ROOT, "created_at") else {
        return false;
    };
    if all.len() < 2 || matches!(doc.get(ROOT, "split_from"), Ok(Some(_))) {
        return false;
    }
    let gone = split_off_changes(doc, &split_off_roots(doc));
    all.iter()
        .filter(|(_, id)| doc.hash_for_opid(id).is_none_or(|h| !gone.contains(&h)))
        .count()
        > 1
}

/// How many changes of the branches this record split off were made without seeing the split
/// (on a laptop that held only the split-off incident, say a decision made offline): they are
/// in this record's history, not in the record split out, and need a reviewer. Zero, at no
/// cost, for a record never split.
pub fn late_changes(doc: &Automerge) -> usize {
    let roots = split_off_roots(doc);
    if roots.is_empty() {
        return 0;
    }
    let gone = split_off_changes(doc, &roots);
    // The changes that wrote the split: their ancestors are what the split saw.
    let Ok(Some((automerge::Value::Object(_), list))) = doc.get(ROOT, "split_off") else {
        return 0;
    };
    let mut seen: HashSet<ChangeHash> = HashSet::new();
    let mut todo: Vec<ChangeHash> = (0..doc.length(&list))
        .filter_map(|i| doc.get(&list, i).ok().flatten())
        .filter_map(|(_, id)| doc.hash_for_opid(&id))
        .collect();
    let changes = doc.get_changes(&[]);
    let deps: HashMap<ChangeHash, Vec<ChangeHash>> = changes
        .iter()
        .map(|c| (c.hash(), c.deps().to_vec()))
        .collect();
    while let Some(h) = todo.pop() {
        if seen.insert(h) {
            todo.extend(deps.get(&h).into_iter().flatten().copied());
        }
    }
    gone.iter().filter(|h| !seen.contains(h)).count()
}

/// The changes whose values no longer count in a record: the branches of the creations it split
/// off (`split_off[].root`, hex hashes). Empty, at no cost, for a record never split.
pub fn split_off_changes(doc: &Automerge, roots: &[String]) -> HashSet<ChangeHash> {
    let roots: Vec<ChangeHash> = roots.iter().filter_map(|r| r.parse().ok()).collect();
    if roots.is_empty() {
        return HashSet::new();
    }
    let Some(kept) = creations(doc).into_iter().find(|c| !roots.contains(c)) else {
        return HashSet::new();
    };
    roots.iter().flat_map(|r| branch(doc, *r, kept).0).collect()
}

/// The `root` of each entry of the record's `split_off` list, read straight from the document.
pub fn split_off_roots<R: ReadDoc>(doc: &R) -> Vec<String> {
    use automerge::Value;
    let Ok(Some((Value::Object(_), list))) = doc.get(ROOT, "split_off") else {
        return Vec::new();
    };
    (0..doc.length(&list))
        .filter_map(|i| match doc.get(&list, i) {
            Ok(Some((Value::Object(_), item))) => match doc.get(&item, "root") {
                Ok(Some((Value::Scalar(s), _))) => match s.as_ref() {
                    automerge::ScalarValue::Str(t) => Some(t.to_string()),
                    _ => None,
                },
                _ => None,
            },
            _ => None,
        })
        .collect()
}
