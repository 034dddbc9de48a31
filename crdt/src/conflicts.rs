//! Conflicts as data: fields that hold concurrent values after a merge.
//!
//! Automerge keeps every value written concurrently to a field and picks one deterministically;
//! we show all of them, with who wrote each, so that a reviewer chooses instead of the merge.

use automerge::{Automerge, ObjId, ObjType, ReadDoc, Value, ROOT};
use serde::{Deserialize, Serialize};
use serde_json::Value as Json;

use crate::document::value_json;
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
    let mut out = Vec::new();
    walk(doc, &ROOT, "", &mut out);
    out.sort_by(|a, b| a.path.cmp(&b.path));
    out
}

fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_string()
    } else {
        format!("{path}.{key}")
    }
}

fn walk(doc: &Automerge, obj: &ObjId, path: &str, out: &mut Vec<Conflict>) {
    let props: Vec<automerge::Prop> = match doc.object_type(obj) {
        Ok(ObjType::Map | ObjType::Table) => doc.keys(obj).map(automerge::Prop::Map).collect(),
        Ok(ObjType::List) => (0..doc.length(obj)).map(automerge::Prop::Seq).collect(),
        _ => return,
    };
    for prop in props {
        let key = match &prop {
            automerge::Prop::Map(k) => k.clone(),
            automerge::Prop::Seq(i) => i.to_string(),
        };
        let here = join(path, &key);
        if let Ok(all) = doc.get_all(obj, prop.clone()) {
            if all.len() > 1 {
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
                values.sort_by(|a, b| a.change.cmp(&b.change));
                let first = &values[0].value;
                if values.iter().any(|v| &v.value != first) {
                    out.push(Conflict {
                        path: here.clone(),
                        values,
                    });
                }
            }
        }
        if let Ok(Some((Value::Object(_), child))) = doc.get(obj, prop) {
            walk(doc, &child, &here, out);
        }
    }
}
