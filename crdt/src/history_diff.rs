//! What each change of a record changed, from what to what: the history in words.
//!
//! A change's note (its commit message) says what kind of edit it was and never holds a value,
//! because the note travels with the change wherever the record goes. The values are read here,
//! on the device that shows the history, from the record itself: the record's state as the
//! change's author saw it (the change's dependencies) against the state the change made. A
//! change made apart from another is therefore shown against what its author saw, not against
//! the merged record.

use std::collections::BTreeMap;

use automerge::{Automerge, ChangeHash};
use serde::Serialize;
use serde_json::Value as Json;

/// One field a change set, cleared or first wrote.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FieldChange {
    /// Dotted path into the record, as [`crate::conflicts::Conflict::path`]
    /// (`violations.<id>.victims.boys`, `violations.<id>.verification.0.status`).
    pub path: String,
    /// The value before (`None`: the field did not exist), texts cut to [`MAX_TEXT`] chars.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub before: Option<Json>,
    /// The value after (`None`: the field was removed).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub after: Option<Json>,
}

/// Longest text shown as a value, in characters: a narrative edit shows its beginning.
pub const MAX_TEXT: usize = 120;
/// Most fields listed for one change (a record's first change lists every field it wrote).
pub const MAX_FIELDS: usize = 60;
/// Changes whose fields are read, the most recent ones: the history of a record edited
/// thousands of times still opens at once, and older entries keep their note.
pub const MAX_CHANGES: usize = 300;
/// Work allowed for one history, in bytes of changes read: each change read costs about the
/// record's size, so a record near the size limit has only its last few changes read (a
/// hostile or huge record never holds the detail view for seconds).
pub const WORK_BUDGET: usize = 64 << 20;
/// Work allowed for one history, in operations replayed or read: a change made on the state
/// before it costs its own operations and a read of the record (bounded by the operations
/// before it); one made apart costs rebuilding the record up to it. A record of a few
/// kilobytes can hold a million operations (inserted and deleted), so bytes alone do not bound
/// the work. Under a second on this project's machines (a record rebuilt costs about 1.5 µs
/// per operation in a release build); a usual record's last hundred changes fit.
pub const OP_BUDGET: usize = 600_000;

/// Keys that identify rather than describe, or that the entry already says (who, when), or
/// that a decision keeps for itself (the facts it saw, the rulings it replaced): never listed.
const SKIPPED: &[&str] = &[
    "id",
    "kind",
    "created_at",
    "created_by",
    "schema",
    "at",
    "by",
    "supersedes",
    "verified",
];
/// What an item appended to a list (a verification event, a comment) is listed by.
const ITEM_KEYS: &[&str] = &["status", "level", "note", "text"];

/// The fields each change of `doc` changed, by change hash (the most recent [`MAX_CHANGES`]
/// changes; at most [`MAX_FIELDS`] fields each). `read` is how a record's state is read as JSON
/// (`crate::document::to_json`). A change that cannot be replayed is left out, never an error.
pub fn field_changes(
    doc: &Automerge,
    read: impl Fn(&Automerge) -> Json,
) -> BTreeMap<ChangeHash, Vec<FieldChange>> {
    within(doc, read, OP_BUDGET)
}

/// [`field_changes`] within `budget` operations.
fn within(
    doc: &Automerge,
    read: impl Fn(&Automerge) -> Json,
    budget: usize,
) -> BTreeMap<ChangeHash, Vec<FieldChange>> {
    let changes = doc.get_changes(&[]);
    let size: usize = changes.iter().map(|c| c.raw_bytes().len()).sum();
    let most = (WORK_BUDGET / size.max(1)).clamp(1, MAX_CHANGES);
    let skip = first_affordable(&changes, changes.len().saturating_sub(most), budget);
    let mut out = BTreeMap::new();
    // The state after the previous change, to go on from when a change was made on top of it
    // (the usual case): one change applied, not the whole record rebuilt.
    let mut state: Option<(Automerge, Json)> = None;
    for change in changes.into_iter().skip(skip) {
        let hash = change.hash();
        let mut deps = change.deps().to_vec();
        deps.sort();
        let reuse = state.take().filter(|(d, _)| {
            let mut h = d.get_heads();
            h.sort();
            h == deps
        });
        let (mut at, before) = match reuse {
            Some(s) => s,
            None => match doc.fork_at(&deps) {
                Ok(d) => {
                    let j = read(&d);
                    (d, j)
                }
                Err(_) => continue,
            },
        };
        if at.apply_changes([change]).is_err() {
            continue;
        }
        let after = read(&at);
        let mut fields = Vec::new();
        diff("", Some(&before), Some(&after), &mut fields);
        out.insert(hash, fields);
        state = Some((at, after));
    }
    out
}

/// The first change (at or after `earliest`) from which reading every later change fits in
/// `budget` ([`OP_BUDGET`]): the most recent changes are the ones shown in words.
fn first_affordable(changes: &[automerge::Change], earliest: usize, budget: usize) -> usize {
    // Operations before each change, in causal order.
    let mut before = Vec::with_capacity(changes.len());
    let mut total = 0usize;
    for c in changes {
        before.push(total);
        total = total.saturating_add(c.len());
    }
    let linear = |i: usize| i > 0 && changes[i].deps() == [changes[i - 1].hash()];
    // What reading change `i` costs once the one before it was read (the first one read is
    // always rebuilt).
    let cost = |i: usize, first: bool| {
        let read = before[i].saturating_add(changes[i].len());
        if first || !linear(i) {
            read.saturating_add(before[i])
        } else {
            read
        }
    };
    let mut start = changes.len();
    // The cost of reading every change after `i`, each on top of the one before it.
    let mut tail = 0usize;
    for i in (earliest..changes.len()).rev() {
        if tail.saturating_add(cost(i, true)) > budget {
            break;
        }
        start = i;
        tail = tail.saturating_add(cost(i, false));
    }
    start
}

fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_string()
    } else {
        format!("{path}.{key}")
    }
}

fn shown(v: &Json) -> Json {
    match v {
        Json::String(s) if s.chars().count() > MAX_TEXT => Json::String(
            s.chars()
                .take(MAX_TEXT)
                .chain(std::iter::once('…'))
                .collect(),
        ),
        other => other.clone(),
    }
}

/// The leaves that differ between `a` and `b` under `path`, in key order.
fn diff(path: &str, a: Option<&Json>, b: Option<&Json>, out: &mut Vec<FieldChange>) {
    if out.len() >= MAX_FIELDS || a == b {
        return;
    }
    let empty = serde_json::Map::new();
    match (a, b) {
        (Some(Json::Object(_)) | None, Some(Json::Object(_)) | None)
            if matches!(a, Some(Json::Object(_))) || matches!(b, Some(Json::Object(_))) =>
        {
            let (ma, mb) = (
                a.and_then(Json::as_object).unwrap_or(&empty),
                b.and_then(Json::as_object).unwrap_or(&empty),
            );
            let keys: std::collections::BTreeSet<&String> = ma.keys().chain(mb.keys()).collect();
            for k in keys {
                if SKIPPED.contains(&k.as_str()) {
                    continue;
                }
                diff(&join(path, k), ma.get(k), mb.get(k), out);
            }
        }
        (Some(Json::Array(_)) | None, Some(Json::Array(_)) | None)
            if matches!(a, Some(Json::Array(_))) || matches!(b, Some(Json::Array(_))) =>
        {
            let (la, lb) = (
                a.and_then(Json::as_array).map(Vec::as_slice).unwrap_or(&[]),
                b.and_then(Json::as_array).map(Vec::as_slice).unwrap_or(&[]),
            );
            for i in 0..la.len().max(lb.len()) {
                let at = join(path, &i.to_string());
                match (la.get(i), lb.get(i)) {
                    // An item appended: what it says, not every key it has.
                    (None, Some(Json::Object(item))) => {
                        for k in ITEM_KEYS {
                            if let Some(v) = item.get(*k) {
                                leaf(&join(&at, k), None, Some(v), out);
                            }
                        }
                    }
                    (x, y) => diff(&at, x, y, out),
                }
            }
        }
        _ => leaf(path, a, b, out),
    }
}

/// A value set, cleared or first written; nothing when both sides read as empty.
fn leaf(path: &str, a: Option<&Json>, b: Option<&Json>, out: &mut Vec<FieldChange>) {
    let some = |v: Option<&Json>| {
        v.filter(|v| !v.is_null() && v.as_str() != Some(""))
            .map(shown)
    };
    let (before, after) = (some(a), some(b));
    if before != after && out.len() < MAX_FIELDS {
        out.push(FieldChange {
            path: path.to_string(),
            before,
            after,
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use automerge::transaction::Transactable;
    use automerge::{AutoCommit, ObjType, ROOT};

    fn read(d: &Automerge) -> Json {
        crate::document::to_json(d)
    }

    #[test]
    fn each_change_lists_what_it_changed_from_what_to_what() {
        let mut d = AutoCommit::new();
        d.put(ROOT, "id", "x").unwrap();
        d.put(ROOT, "title", "First").unwrap();
        let v = d.put_object(ROOT, "victims", ObjType::Map).unwrap();
        d.put(&v, "boys", 1).unwrap();
        d.commit();
        d.put(ROOT, "title", "Second").unwrap();
        d.put(&v, "boys", 2).unwrap();
        d.put(ROOT, "narrative", "n".repeat(500)).unwrap();
        d.commit();
        let doc = d.document().clone();
        let by = field_changes(&doc, read);
        let metas = doc.get_changes_meta(&[]);
        let first = &by[&metas[0].hash];
        assert_eq!(
            first.iter().map(|f| f.path.as_str()).collect::<Vec<_>>(),
            ["title", "victims.boys"],
            "ids are not listed"
        );
        assert_eq!(first[0].before, None);
        let second = &by[&metas[1].hash];
        assert_eq!(second.len(), 3);
        assert_eq!(second[1].path, "title");
        assert_eq!(second[1].before, Some(Json::from("First")));
        assert_eq!(second[1].after, Some(Json::from("Second")));
        assert_eq!(second[2].after, Some(Json::from(2)));
        let cut = second[0].after.as_ref().unwrap().as_str().unwrap();
        assert_eq!(cut.chars().count(), MAX_TEXT + 1, "a long text is cut");
    }

    /// A record of a few kilobytes holding many operations (a list filled and emptied) and
    /// changes made apart: only what the budget allows is read, the latest change first. (At
    /// a hundredth of the scale: the budget is a parameter, the rule the same.)
    #[test]
    fn a_record_heavy_in_operations_is_read_within_its_budget() {
        let budget = OP_BUDGET / 100;
        let mut base = AutoCommit::new();
        base.put(ROOT, "title", "t").unwrap();
        let list = base.put_object(ROOT, "pad", ObjType::List).unwrap();
        for i in 0..budget / 2 {
            base.insert(&list, i, automerge::ScalarValue::Null).unwrap();
        }
        base.commit();
        base.splice(
            &list,
            0,
            (budget / 2) as isize,
            std::iter::empty::<automerge::ScalarValue>(),
        )
        .unwrap();
        base.commit();
        let mut all = base.fork();
        for i in 0..20 {
            let mut b = base.fork();
            b.put(ROOT, "title", format!("v{i}")).unwrap();
            b.commit();
            all.merge(&mut b).unwrap();
        }
        let doc = all.document().clone();
        let changes = doc.get_changes(&[]);
        let by = within(&doc, read, budget);
        let read_ops = changes
            .iter()
            .filter(|c| by.contains_key(&c.hash()))
            .count();
        assert!(read_ops <= 1, "{read_ops} changes read");
        // With the whole budget, every change is read.
        let by = within(&doc, read, budget * 100);
        assert_eq!(by.len(), changes.len());
    }

    /// A usual record (a creation of a hundred operations, then small edits): its last hundred
    /// changes are all read.
    #[test]
    fn a_usual_records_recent_changes_are_all_read() {
        let mut d = AutoCommit::new();
        for k in 0..100 {
            d.put(ROOT, format!("field{k}"), k).unwrap();
        }
        d.commit();
        for i in 0..150 {
            d.put(ROOT, format!("field{}", i % 100), i).unwrap();
            d.put(ROOT, "title", format!("edit {i}")).unwrap();
            d.commit();
        }
        let doc = d.document().clone();
        let by = field_changes(&doc, read);
        let changes = doc.get_changes(&[]);
        let read_ops = changes
            .iter()
            .filter(|c| by.contains_key(&c.hash()))
            .count();
        assert!(
            read_ops >= 100,
            "only {read_ops} of {} changes read",
            changes.len()
        );
        assert!(by.contains_key(&changes.last().unwrap().hash()));
    }

    #[test]
    fn a_change_made_apart_is_shown_against_what_its_author_saw() {
        let mut a = AutoCommit::new();
        a.put(ROOT, "title", "Start").unwrap();
        a.commit();
        let mut b = a.fork();
        a.put(ROOT, "title", "From A").unwrap();
        a.commit();
        b.put(ROOT, "place", "Kiwanja").unwrap();
        b.commit();
        a.merge(&mut b).unwrap();
        let doc = a.document().clone();
        let by = field_changes(&doc, read);
        let b_change = doc
            .get_changes_meta(&[])
            .into_iter()
            .find(|m| *m.actor == *b.get_actor())
            .unwrap();
        let fields = &by[&b_change.hash];
        assert_eq!(fields.len(), 1, "{fields:?}");
        assert_eq!(fields[0].path, "place");
    }
}
