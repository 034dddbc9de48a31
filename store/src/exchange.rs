//! The change exchange shared by USB bundles and network sync: what another replica lacks, and
//! applying what it sent. Changes are identified by hash, so applying the same batch twice stores
//! it once, and a batch is applied whole or not at all.

use std::collections::BTreeMap;

use automerge::{Change, ChangeHash, ReadDoc};
use rusqlite::{params, Connection};
use serde::Serialize;

use mrm_crdt::error::{Error, Result};

use super::{now_str, Store};

/// Heads per document id (hex hashes), what a replica tells another so it sends only what is new.
pub type Heads = BTreeMap<String, Vec<String>>;

/// What an import did.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ImportReport {
    /// Changes received.
    pub received: usize,
    /// Changes that were new to this store.
    pub new_changes: usize,
    /// Changes this store already had.
    pub duplicates: usize,
    /// Records whose content changed.
    pub records_changed: Vec<String>,
    /// Records created here by the import.
    pub records_new: usize,
    /// Conflicting fields that the import added.
    pub new_conflicts: usize,
    /// Every record whose received changes wait in this store (this import's and earlier
    /// ones'), with the reason: they could not be applied, and everything else was.
    pub held: Vec<super::HeldRecord>,
    /// Records whose waiting changes this import applied.
    pub released: Vec<String>,
    /// How many waiting changes (received earlier) this import applied; not in `new_changes`.
    pub released_changes: usize,
    /// What was neither applied nor kept, in words (changes under an invalid record id, or
    /// that do not decode).
    pub left_out: Vec<String>,
}

/// Append a change to the log unless it is already there. Returns whether it was new.
///
/// A local change is stored as Automerge sends it (`bytes()`, deflated when large); a received one
/// as decoded (`raw_bytes()`, same hash): deflating every imported change cost a fifth of an
/// import, and pages are gzip-compressed on the wire anyway.
pub(crate) fn append_change(
    conn: &Connection,
    doc_id: &str,
    change: &Change,
    local: bool,
) -> Result<bool> {
    let mut owned;
    let bytes = if local {
        owned = change.clone();
        owned.bytes()
    } else {
        std::borrow::Cow::Borrowed(change.raw_bytes())
    };
    append_raw(
        conn,
        doc_id,
        &change.hash().to_string(),
        &change.actor_id().to_hex_string(),
        local,
        bytes.as_ref(),
    )
}

/// [`append_change`] for a change already taken apart. Returns whether it was new.
pub(crate) fn append_raw(
    conn: &Connection,
    doc_id: &str,
    hash: &str,
    actor: &str,
    local: bool,
    bytes: &[u8],
) -> Result<bool> {
    let n = conn
        .prepare_cached(
            "INSERT OR IGNORE INTO changes (doc_id, hash, actor, local, bytes, received_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        )?
        .execute(params![doc_id, hash, actor, local, bytes, now_str()])?;
    Ok(n == 1)
}

impl Store {
    /// Heads of every document in this store.
    pub fn heads(&self) -> Result<Heads> {
        let mut stmt = self.conn().prepare("SELECT doc_id, heads FROM docs")?;
        let rows = stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))?;
        let mut out = Heads::new();
        for row in rows {
            let (id, heads) = row?;
            out.insert(id, serde_json::from_str(&heads)?);
        }
        Ok(out)
    }

    /// The changes a replica with heads `theirs` lacks, per document in causal order.
    /// `None` means the other replica has nothing: every change is returned.
    pub fn changes_missing_from(&self, theirs: Option<&Heads>) -> Result<Vec<(String, Vec<u8>)>> {
        let ours = self.heads()?;
        let mut out = Vec::new();
        for (doc_id, our_heads) in &ours {
            match theirs.and_then(|t| t.get(doc_id)) {
                Some(h) if h == our_heads => {}
                Some(h) => {
                    let Some((_, doc)) = Store::load(self.conn(), doc_id)? else {
                        continue;
                    };
                    // Heads we do not know mean they have changes we lack; they are simply not a
                    // reason to send less.
                    let known: Vec<ChangeHash> = h
                        .iter()
                        .filter_map(|s| s.parse().ok())
                        .filter(|hash| doc.get_change_by_hash(hash).is_some())
                        .collect();
                    for mut c in doc.get_changes(&known) {
                        out.push((doc_id.clone(), c.bytes().into_owned()));
                    }
                }
                None => {
                    let mut stmt = self.conn().prepare_cached(
                        "SELECT bytes FROM changes WHERE doc_id = ?1 ORDER BY seq",
                    )?;
                    let rows = stmt.query_map([doc_id], |r| r.get::<_, Vec<u8>>(0))?;
                    for bytes in rows {
                        out.push((doc_id.clone(), bytes?));
                    }
                }
            }
        }
        Ok(out)
    }

    /// Apply changes received from another replica (a USB bundle), record by record: a record
    /// that cannot take its changes is held and named in the report ([`ImportReport::held`]),
    /// every other record goes in. Changes to the device registry are left out: it names every
    /// author, so only the endpoint's copy, pulled over the pinned connection, is believed
    /// ([`Store::import_pulled`]).
    ///
    /// A large bundle goes in chunks, each its own transaction, so a local edit meanwhile waits
    /// about a tenth of a second, not for the whole bundle. Errors: only the database's (the
    /// chunks before stay, each whole; importing the bundle again completes it).
    pub fn import(&mut self, changes: Vec<(String, Vec<u8>)>) -> Result<ImportReport> {
        let changes: Vec<(String, Vec<u8>)> = changes
            .into_iter()
            .filter(|(doc_id, _)| doc_id != mrm_crdt::document::REGISTRY_ID)
            .collect();
        super::inbound::import_chunked(
            &mut self.conn,
            changes,
            super::inbound::Retry::Touched,
            |_| Ok(()),
        )
    }
}

/// Turn a field path (`violations.<id>.victims.boys`) and a value into the partial-record JSON that
/// sets it, so that resolving a conflict goes through the same checks as any edit.
pub fn path_to_patch(path: &str, value: &serde_json::Value) -> Result<serde_json::Value> {
    use serde_json::{json, Map, Value};
    let segs: Vec<&str> = path.split('.').collect();
    if segs.iter().any(|s| s.is_empty()) {
        return Err(Error::invalid("record", path, "is not a field path"));
    }
    fn build(segs: &[&str], value: &Value, path: &str) -> Result<Value> {
        let Some((first, rest)) = segs.split_first() else {
            return Ok(value.clone());
        };
        let keyed = matches!(*first, "violations" | "sources" | "coded");
        if keyed {
            let Some((id, rest)) = rest.split_first() else {
                return Err(Error::invalid("record", path, "names a list, not a field"));
            };
            let mut item = match build(rest, value, path)? {
                Value::Object(m) if !rest.is_empty() => m,
                _ => {
                    return Err(Error::invalid(
                        "record",
                        path,
                        "names a whole item, not a field",
                    ))
                }
            };
            item.insert("id".into(), json!(id));
            let mut m = Map::new();
            m.insert(first.to_string(), Value::Array(vec![Value::Object(item)]));
            return Ok(Value::Object(m));
        }
        let mut m = Map::new();
        m.insert(first.to_string(), build(rest, value, path)?);
        Ok(Value::Object(m))
    }
    build(&segs, value, path)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::path_to_patch;
    use mrm_crdt::input::IncidentPatch;

    const V: &str = "01890000-0000-7000-8000-000000000001";
    const C: &str = "01890000-0000-7000-8000-000000000002";

    #[test]
    fn top_level_and_nested_fields() {
        assert_eq!(
            path_to_patch("title", &json!("x")).unwrap(),
            json!({"title": "x"})
        );
        assert_eq!(
            path_to_patch("location.place", &json!("Kiwanja")).unwrap(),
            json!({"location": {"place": "Kiwanja"}})
        );
        assert_eq!(
            path_to_patch("patrol_id", &json!(null)).unwrap(),
            json!({"patrol_id": null})
        );
    }

    #[test]
    fn items_of_keyed_lists_become_items_with_their_id() {
        assert_eq!(
            path_to_patch(&format!("violations.{V}.victims.boys"), &json!(3)).unwrap(),
            json!({"violations": [{"id": V, "victims": {"boys": 3}}]})
        );
        assert_eq!(
            path_to_patch(&format!("sources.{V}.consent"), &json!(true)).unwrap(),
            json!({"sources": [{"id": V, "consent": true}]})
        );
        let p = path_to_patch(&format!("violations.{V}.victims.coded.{C}.age"), &json!(7)).unwrap();
        assert_eq!(
            p,
            json!({"violations": [{"id": V, "victims": {"coded": [{"id": C, "age": 7}]}}]})
        );
        // What it builds is a partial incident the edit path accepts.
        let patch: IncidentPatch = serde_json::from_value(p).unwrap();
        let v = &patch.violations.unwrap()[0];
        assert_eq!(v.id.as_deref(), Some(V));
        let coded = v.victims.as_ref().unwrap().coded.as_ref().unwrap();
        assert_eq!(coded[0].id.as_deref(), Some(C));
        assert_eq!(coded[0].age, Some(Some(7)));
    }

    #[test]
    fn paths_that_name_no_field_are_refused() {
        for (path, why) in [
            ("", "is not a field path"),
            ("title..x", "is not a field path"),
            (".title", "is not a field path"),
            ("violations", "names a list, not a field"),
            (
                &format!("violations.{V}") as &str,
                "names a whole item, not a field",
            ),
            (
                &format!("sources.{V}.x.coded") as &str,
                "names a list, not a field",
            ),
        ] {
            let e = path_to_patch(path, &json!(1)).unwrap_err().to_string();
            assert!(e.contains(why), "{path:?}: {e}");
        }
    }
}
