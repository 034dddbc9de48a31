//! Re-recording a record's work under another author: what a copied or restored store does to
//! get its unsent work to the mission once the endpoint found it reusing its identity
//! (`mrm recover`).
//!
//! Two stores that went on recording under one Automerge actor have written different changes
//! under the same sequence numbers; no replica can hold both, so the endpoint refuses the second
//! (`identity_reused`). The old bytes can never be sent. What they did to the record can: the
//! record's state before them, and its state after, are both known here, and the difference is
//! written again as one new change by a new actor, on top of what the endpoint may hold.

use std::collections::{HashMap, HashSet};

use automerge::transaction::{CommitOptions, Transactable};
use automerge::{ActorId, Automerge, Change, ChangeHash, ObjId, PatchAction, ReadDoc, Value};

use crate::error::{Error, Result};

/// A record with some of its changes written again by a new author.
pub struct Rerecorded {
    /// The record without the dropped changes, plus the new change: what the store keeps.
    pub doc: Automerge,
    /// The changes taken out: those asked for and every change that builds on one of them.
    pub removed: Vec<ChangeHash>,
    /// The new change, `None` when the dropped changes left the record as it was before them.
    pub added: Option<Change>,
}

/// Take `drop` (and every change built on one of them) out of `doc`, and write what they did
/// as one change by `actor`, committed with `options`. The record reads the same after as
/// before (its conflicts included, unless a dropped change had settled one).
///
/// Errors: [`Error::Automerge`] if the record cannot be rebuilt (a damaged document).
pub fn re_record(
    doc: &Automerge,
    drop: &HashSet<ChangeHash>,
    actor: ActorId,
    options: CommitOptions,
) -> Result<Rerecorded> {
    // In causal order, so a change is judged after everything it depends on.
    let all = doc.get_changes(&[]);
    let mut removed: HashSet<ChangeHash> = HashSet::new();
    for c in &all {
        if drop.contains(&c.hash()) || c.deps().iter().any(|d| removed.contains(d)) {
            removed.insert(c.hash());
        }
    }
    let kept: Vec<&Change> = all
        .iter()
        .filter(|c| !removed.contains(&c.hash()))
        .collect();
    let depended: HashSet<ChangeHash> = kept.iter().flat_map(|c| c.deps().to_vec()).collect();
    let base_heads: Vec<ChangeHash> = kept
        .iter()
        .map(|c| c.hash())
        .filter(|h| !depended.contains(h))
        .collect();
    let mut out = doc.fork_at(&base_heads)?;
    out.set_actor(actor);
    let patches = doc.diff(&base_heads, &doc.get_heads());
    let done = out
        .transact_with(
            |_| options,
            |tx| -> Result<()> {
                // Objects the dropped changes created get new ids here.
                let mut renamed: HashMap<ObjId, ObjId> = HashMap::new();
                for p in patches {
                    let obj = renamed.get(&p.obj).cloned().unwrap_or(p.obj);
                    replay(tx, &obj, p.action, &mut renamed)?;
                }
                Ok(())
            },
        )
        .map_err(|f| f.error)?;
    let added = match done.hash {
        None => None,
        Some(h) => Some(
            out.get_change_by_hash(&h)
                .ok_or_else(|| Error::Refused("the re-recorded change vanished".into()))?,
        ),
    };
    Ok(Rerecorded {
        doc: out,
        removed: all
            .iter()
            .map(|c| c.hash())
            .filter(|h| removed.contains(h))
            .collect(),
        added,
    })
}

/// Do to `obj` what one patch says was done to it.
fn replay(
    tx: &mut automerge::transaction::Transaction<'_>,
    obj: &ObjId,
    action: PatchAction,
    renamed: &mut HashMap<ObjId, ObjId>,
) -> Result<()> {
    match action {
        PatchAction::PutMap { key, value, .. } => put(tx, obj, key.into(), value, renamed)?,
        PatchAction::PutSeq { index, value, .. } => put(tx, obj, index.into(), value, renamed)?,
        PatchAction::Insert { index, values } => {
            for (k, (v, id, _)) in values.iter().enumerate() {
                match v {
                    Value::Object(t) => {
                        let new = tx.insert_object(obj, index + k, *t)?;
                        renamed.insert(id.clone(), new);
                    }
                    Value::Scalar(s) => tx.insert(obj, index + k, s.as_ref().clone())?,
                }
            }
        }
        PatchAction::SpliceText { index, value, .. } => {
            tx.splice_text(obj, index, 0, &value.make_string())?
        }
        PatchAction::Increment { prop, value } => tx.increment(obj, prop, value)?,
        PatchAction::DeleteMap { key } => tx.delete(obj, key)?,
        PatchAction::DeleteSeq { index, length } => {
            for _ in 0..length {
                tx.delete(obj, index)?;
            }
        }
        // A conflict is two values at once; the winner was put by its own patch. Records carry
        // no marks.
        PatchAction::Conflict { .. } | PatchAction::Mark { .. } => {}
    }
    Ok(())
}

fn put(
    tx: &mut automerge::transaction::Transaction<'_>,
    obj: &ObjId,
    prop: automerge::Prop,
    (value, id): (Value<'static>, ObjId),
    renamed: &mut HashMap<ObjId, ObjId>,
) -> Result<()> {
    match value {
        Value::Object(t) => {
            let new = tx.put_object(obj, prop, t)?;
            renamed.insert(id, new);
        }
        Value::Scalar(s) => tx.put(obj, prop, s.into_owned())?,
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use automerge::{ObjType, ROOT};

    fn actor(n: u8) -> ActorId {
        ActorId::from(vec![n; 16])
    }

    fn json(doc: &Automerge) -> serde_json::Value {
        crate::document::to_json(doc)
    }

    /// A shared record, then two copies of one author writing different things under the same
    /// numbers; the second's work re-recorded goes on top of the first's.
    #[test]
    fn a_copys_work_rerecorded_merges_with_the_originals() {
        let mut shared = Automerge::new().with_actor(actor(1));
        shared
            .transact::<_, _, automerge::AutomergeError>(|tx| {
                tx.put(ROOT, "title", "Attack")?;
                let v = tx.put_object(ROOT, "violations", ObjType::Map)?;
                let a = tx.put_object(&v, "a", ObjType::Map)?;
                tx.put(&a, "boys", 1)?;
                Ok(())
            })
            .unwrap();
        let mut original = shared.fork().with_actor(actor(2));
        let mut copy = original.clone();
        original
            .transact::<_, _, automerge::AutomergeError>(|tx| tx.put(ROOT, "place", "Kiwanja"))
            .unwrap();
        let v = match copy.get(ROOT, "violations").unwrap() {
            Some((_, id)) => id,
            None => panic!("no violations"),
        };
        copy.transact::<_, _, automerge::AutomergeError>(|tx| {
            tx.put(ROOT, "narrative", "seen at dawn")?;
            let b = tx.put_object(&v, "b", ObjType::Map)?;
            tx.put(&b, "girls", 2)?;
            let list = tx.put_object(&b, "codes", ObjType::List)?;
            tx.insert(&list, 0, "C-1")?;
            tx.delete(ROOT, "title")?;
            Ok(())
        })
        .unwrap();
        // Same author, same number, different change: no replica can take both.
        let mut merged = original.clone();
        let last = copy.get_last_local_change().unwrap();
        assert!(matches!(
            merged.apply_changes([last.clone()]),
            Err(automerge::AutomergeError::DuplicateSeqNumber(..))
        ));
        let drop = HashSet::from([last.hash()]);
        let r = re_record(&copy, &drop, actor(3), CommitOptions::default()).unwrap();
        assert_eq!(json(&r.doc), json(&copy), "the copy reads the same");
        assert_eq!(r.removed, vec![last.hash()]);
        let added = r.added.expect("a new change");
        assert_eq!(added.actor_id(), &actor(3));
        merged.apply_changes([added]).unwrap();
        let m = json(&merged);
        assert_eq!(m["place"], "Kiwanja");
        assert_eq!(m["narrative"], "seen at dawn");
        assert_eq!(m["violations"]["b"]["girls"], 2);
        assert_eq!(m["violations"]["b"]["codes"][0], "C-1");
        assert!(m.get("title").is_none());
        assert_eq!(m["violations"]["a"]["boys"], 1);
    }

    #[test]
    fn a_record_made_entirely_by_the_dropped_changes_is_made_again() {
        let mut doc = Automerge::new().with_actor(actor(1));
        doc.transact::<_, _, automerge::AutomergeError>(|tx| {
            tx.put(ROOT, "id", "x")?;
            let m = tx.put_object(ROOT, "location", ObjType::Map)?;
            tx.put(&m, "admin1", "Nord-Kivu")?;
            Ok(())
        })
        .unwrap();
        doc.transact::<_, _, automerge::AutomergeError>(|tx| tx.put(ROOT, "title", "t"))
            .unwrap();
        let first = doc.get_changes(&[])[0].hash();
        let r = re_record(
            &doc,
            &HashSet::from([first]),
            actor(9),
            CommitOptions::default(),
        )
        .unwrap();
        // The later change built on the first: both go, and one change makes it all again.
        assert_eq!(r.removed.len(), 2);
        assert_eq!(r.doc.get_changes(&[]).len(), 1);
        assert_eq!(json(&r.doc), json(&doc));
    }

    #[test]
    fn dropping_nothing_adds_nothing() {
        let mut doc = Automerge::new().with_actor(actor(1));
        doc.transact::<_, _, automerge::AutomergeError>(|tx| tx.put(ROOT, "title", "t"))
            .unwrap();
        let r = re_record(&doc, &HashSet::new(), actor(2), CommitOptions::default()).unwrap();
        assert!(r.added.is_none());
        assert!(r.removed.is_empty());
        assert_eq!(json(&r.doc), json(&doc));
    }
}
