//! The change exchange shared by USB bundles and network sync: what another replica lacks, and
//! applying what it sent. Changes are identified by hash, so applying the same batch twice stores
//! it once, and a batch is applied whole or not at all.

use std::collections::{BTreeMap, HashSet};

use automerge::{Automerge, Change, ChangeHash, ReadDoc};
use rusqlite::{params, Connection, OptionalExtension, TransactionBehavior};
use serde::Serialize;

use crate::changes::{added_since, not_applied};
use crate::conflicts::conflicts;
use crate::document::kind_of;
use crate::error::{Error, Result};
use crate::validate::is_uuid;

use super::{doc_id_matches, now_str, projection, Store};

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
    let n = conn
        .prepare_cached(
            "INSERT OR IGNORE INTO changes (doc_id, hash, actor, local, bytes, received_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        )?
        .execute(params![
            doc_id,
            change.hash().to_string(),
            change.actor_id().to_hex_string(),
            local,
            bytes.as_ref(),
            now_str()
        ])?;
    Ok(n == 1)
}

fn has_change(conn: &Connection, hash: &ChangeHash) -> Result<bool> {
    Ok(conn
        .prepare_cached("SELECT 1 FROM changes WHERE hash = ?1")?
        .query_row([hash.to_string()], |_| Ok(()))
        .optional()?
        .is_some())
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

    /// Apply changes received from another replica, all or nothing.
    pub fn import(&mut self, changes: Vec<(String, Vec<u8>)>) -> Result<ImportReport> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let report = import_tx(&tx, changes)?;
        tx.commit()?;
        Ok(report)
    }
}

/// Apply changes inside an open transaction (the caller commits, possibly with more writes such
/// as a sync cursor, so that both land together or not at all).
pub(crate) fn import_tx(tx: &Connection, changes: Vec<(String, Vec<u8>)>) -> Result<ImportReport> {
    // Automerge 0.12 can panic on a change that parses but is malformed inside (and then on the
    // document it was applied to). Such input is refused like any other bad input; the caller
    // rolls the transaction back, so nothing of it is kept.
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| import_checked(tx, changes)))
        .unwrap_or_else(|_| Err(Error::Bundle("a change is malformed".into())))
}

fn import_checked(tx: &Connection, changes: Vec<(String, Vec<u8>)>) -> Result<ImportReport> {
    let mut report = ImportReport {
        received: changes.len(),
        ..ImportReport::default()
    };
    // Changes grouped per record: each record of the page is loaded, applied to, read, walked for
    // conflicts and saved once, however many of its changes the page holds.
    let mut by_doc: BTreeMap<String, Vec<Change>> = BTreeMap::new();
    for (i, (doc_id, bytes)) in changes.into_iter().enumerate() {
        if !is_uuid(&doc_id) {
            return Err(Error::Bundle(format!(
                "change {} names an invalid record id",
                i + 1
            )));
        }
        let change = Change::from_bytes(bytes).map_err(|e| {
            Error::Bundle(format!(
                "change {} is not a valid Automerge change: {e}",
                i + 1
            ))
        })?;
        by_doc.entry(doc_id).or_default().push(change);
    }
    for (doc_id, changes) in by_doc {
        let mut seen = HashSet::new();
        let mut fresh = Vec::new();
        for c in changes {
            let h = c.hash();
            if !seen.insert(h) || has_change(tx, &h)? {
                report.duplicates += 1;
            } else {
                fresh.push(c);
            }
        }
        if fresh.is_empty() {
            continue;
        }
        let existing = Store::load(tx, &doc_id)?;
        let (old_kind, mut doc) = match existing {
            Some((k, d)) => (Some(k), d),
            None => (None, Automerge::new()),
        };
        let old_heads = doc.get_heads();
        // The stored conflicts are those of the stored snapshot (rewritten with it).
        let old_conflicts = if old_kind.is_some() {
            stored_conflicts(tx, &doc_id)?
        } else {
            0
        };
        doc.apply_changes(fresh.iter().cloned())
            .map_err(|e| Error::Bundle(format!("record {doc_id}: {e}")))?;
        let missing = not_applied(&doc, &fresh);
        if missing > 0 {
            return Err(Error::MissingDependencies(missing));
        }
        let kind = kind_of(&doc)
            .filter(|_| doc_id_matches(&doc, &doc_id))
            .ok_or_else(|| Error::Bundle(format!("record {doc_id} is not an MRM record")))?;
        if old_kind.is_some_and(|k| k != kind) {
            return Err(Error::Bundle(format!("record {doc_id} changed its kind")));
        }
        // Read once: this refuses a malformed record and gives the projection rows.
        let record = projection::read_record(&doc, kind)?;
        let fresh = added_since(&doc, &old_heads, &fresh)
            .ok_or_else(|| Error::Bundle(format!("record {doc_id}: a change is malformed")))?;
        for c in &fresh {
            append_change(tx, &doc_id, c, false)?;
            report.new_changes += 1;
        }
        let found = conflicts(&doc);
        projection::save_read(tx, &doc_id, kind, &doc, &record, &found)?;
        report.new_conflicts += found.len().saturating_sub(old_conflicts);
        if old_kind.is_none() {
            report.records_new += 1;
        }
        report.records_changed.push(doc_id);
    }
    Ok(report)
}

/// How many conflicting fields the store lists for a record.
fn stored_conflicts(conn: &Connection, doc_id: &str) -> Result<usize> {
    let n: i64 = conn
        .prepare_cached("SELECT COUNT(*) FROM conflicts WHERE doc_id = ?1")?
        .query_row([doc_id], |r| r.get(0))?;
    Ok(n as usize)
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
    use crate::input::IncidentPatch;

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
