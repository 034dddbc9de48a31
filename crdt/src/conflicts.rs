//! Conflicts as data: fields that hold concurrent values after a merge.
//!
//! Automerge keeps every value written concurrently to a field and picks one deterministically;
//! we show all of them, with who wrote each, so that a reviewer chooses instead of the merge.

use automerge::{Automerge, ObjId, ReadDoc, Value};
use serde::{Deserialize, Serialize};
use serde_json::Value as Json;

use crate::document::{to_json_flagged, value_json, Flagged};
use crate::history::note_of;

/// One of the concurrent values of a field.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConflictValue {
    pub value: Json,
    pub by: String,
    pub at: String,
    /// The change that wrote it.
    pub change: String,
}

/// A field with concurrent values.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Conflict {
    /// Dotted path into the record, e.g. `violations.<id>.victims.boys`; what `resolve --field` takes.
    pub path: String,
    /// The values, in a fixed order (by change hash) so that every replica lists them alike.
    pub values: Vec<ConflictValue>,
}

/// Every field of a document that holds more than one distinct value.
pub fn conflicts(doc: &Automerge) -> Vec<Conflict> {
    from_flagged(doc, to_json_flagged(doc).1)
}

/// The conflicts among fields flagged while reading the document ([`to_json_flagged`]): only
/// those are looked up with `get_all`; looking up every field cost most of an import.
///
/// Values written by a branch the record split off ([`crate::split`]) are not its values any
/// more: they are left out, and a field whose remaining values agree is no conflict.
pub fn from_flagged(doc: &Automerge, flagged: Vec<Flagged>) -> Vec<Conflict> {
    let mut out = Vec::new();
    if flagged.is_empty() {
        return out;
    }
    let gone: std::collections::HashSet<String> =
        crate::split::split_off_changes(doc, &crate::split::split_off_roots(doc))
            .into_iter()
            .map(|h| h.to_string())
            .collect();
    for f in flagged {
        if let Ok(all) = doc.get_all(&f.obj, f.prop) {
            push_conflict(doc, all, &f.path, &gone, &mut out);
        }
    }
    out.sort_by(|a, b| a.path.cmp(&b.path));
    out
}

/// Record a field's concurrent values if they are not all equal.
fn push_conflict(
    doc: &Automerge,
    all: Vec<(Value<'_>, ObjId)>,
    here: &str,
    gone: &std::collections::HashSet<String>,
    out: &mut Vec<Conflict>,
) {
    if all.len() < 2 {
        return;
    }
    let mut values: Vec<ConflictValue> = all
        .into_iter()
        .map(|(v, id)| {
            let value = value_json(doc, v, &id);
            let hash = doc.hash_for_opid(&id);
            let note = hash.as_ref().and_then(|h| note_of(doc, h));
            ConflictValue {
                value,
                by: note.as_ref().map(|n| n.by.clone()).unwrap_or_default(),
                at: note.map(|n| n.at).unwrap_or_default(),
                change: hash.map(|h| h.to_string()).unwrap_or_default(),
            }
        })
        .collect();
    values.retain(|v| !gone.contains(&v.change));
    if values.len() < 2 {
        return;
    }
    values.sort_by(|a, b| a.change.cmp(&b.change));
    let first = &values[0].value;
    if values.iter().any(|v| &v.value != first) {
        out.push(Conflict {
            path: here.to_string(),
            values,
        });
    }
}

#[cfg(test)]
mod tests {
    use automerge::transaction::Transactable;
    use automerge::{ActorId, Automerge, ObjId, ObjType, ReadDoc, Value, ROOT};

    use super::{conflicts, push_conflict, Conflict};

    fn join(path: &str, key: &str) -> String {
        if path.is_empty() {
            key.to_string()
        } else {
            format!("{path}.{key}")
        }
    }

    /// The straightforward walk (every field looked up with `get_all`), which the flagged walk must
    /// match exactly.
    fn reference(doc: &Automerge) -> Vec<Conflict> {
        fn walk(doc: &Automerge, obj: &ObjId, path: &str, out: &mut Vec<Conflict>) {
            let props: Vec<automerge::Prop> = match doc.object_type(obj) {
                Ok(ObjType::Map | ObjType::Table) => {
                    doc.keys(obj).map(automerge::Prop::Map).collect()
                }
                Ok(ObjType::List) => (0..doc.length(obj)).map(automerge::Prop::Seq).collect(),
                _ => return,
            };
            for prop in props {
                let here = join(path, &prop.to_string());
                push_conflict(
                    doc,
                    doc.get_all(obj, prop.clone()).unwrap(),
                    &here,
                    &Default::default(),
                    out,
                );
                if let Ok(Some((Value::Object(_), child))) = doc.get(obj, prop) {
                    walk(doc, &child, &here, out);
                }
            }
        }
        let mut out = Vec::new();
        walk(doc, &ROOT, "", &mut out);
        out.sort_by(|a, b| a.path.cmp(&b.path));
        out
    }

    fn actor(n: u8) -> ActorId {
        ActorId::from(vec![n; 16])
    }

    #[test]
    fn flagged_walk_finds_what_a_lookup_of_every_field_finds() {
        let mut base = Automerge::new().with_actor(actor(1));
        let (map, list) = {
            let mut tx = base.transaction();
            tx.put(ROOT, "title", "t").unwrap();
            tx.put(ROOT, "same", "x").unwrap();
            let map = tx.put_object(ROOT, "victims", ObjType::Map).unwrap();
            tx.put(&map, "boys", 1).unwrap();
            let list = tx.put_object(ROOT, "trail", ObjType::List).unwrap();
            let item = tx.insert_object(&list, 0, ObjType::Map).unwrap();
            tx.put(&item, "status", "reported").unwrap();
            tx.insert(&list, 1, "plain").unwrap();
            tx.commit();
            (map, list)
        };
        let mut a = base.fork().with_actor(actor(2));
        let mut b = base.fork().with_actor(actor(3));
        for (doc, n) in [(&mut a, 2i64), (&mut b, 3i64)] {
            let mut tx = doc.transaction();
            tx.put(ROOT, "title", format!("t{n}")).unwrap();
            tx.put(ROOT, "same", "x").unwrap(); // concurrent but equal: not a conflict
            tx.put(&map, "boys", n).unwrap();
            tx.put(&list, 1, format!("plain{n}")).unwrap();
            let obj = tx.put_object(ROOT, "nested", ObjType::Map).unwrap();
            tx.put(&obj, "k", n).unwrap();
            tx.commit();
        }
        a.merge(&mut b).unwrap();
        let found = conflicts(&a);
        assert_eq!(found, reference(&a));
        // The reading that flags them gives the same content as a plain reading.
        let (j, _) = crate::document::to_json_flagged(&a);
        assert_eq!(j, crate::document::to_json(&a));
        let paths: Vec<&str> = found.iter().map(|c| c.path.as_str()).collect();
        assert_eq!(paths, ["nested", "title", "trail.1", "victims.boys"]);
    }
}
