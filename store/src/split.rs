//! Splitting a record created twice under one id ([`mrm_crdt::split`]) into two records.

use sha2::{Digest, Sha256};

use mrm_crdt::document::{self, RecordKind};
use mrm_crdt::edit;
use mrm_crdt::error::{Error, Result};
use mrm_crdt::model::SplitLink;
use mrm_crdt::policy::Denial;
use mrm_crdt::split;

use super::Store;

/// The id of the record a split makes: the same for every reviewer who splits the same creation
/// out of the same record, so two splits made apart make one record, not two.
fn split_id(record: &str, root: &str) -> String {
    let digest = Sha256::digest(format!("mrm split\n{record}\n{root}").as_bytes());
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(&digest[..16]);
    uuid::Builder::from_custom_bytes(bytes)
        .into_uuid()
        .to_string()
}

/// A creation of a record besides the one it keeps, that no split has taken yet.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct ExtraCreation {
    /// The creation's change hash (hex).
    pub root: String,
    /// Who recorded it, and when (from the creation's change note).
    pub by: String,
    pub at: String,
}

impl Store {
    /// What the caseload counts as needing attention in incident `id`, from its document: the
    /// problems a merge left, and a creation twice or changes made on a split-off incident after
    /// the split. The projection's `IncidentRow::attention` must equal it.
    pub fn attention_count(&self, id: &str) -> Result<i64> {
        let doc = self.load_kind(id, RecordKind::Incident)?;
        let inc = document::read_incident(&doc)?;
        Ok(super::projection::attention(&inc)
            + i64::from(split::recorded_twice(&doc))
            + i64::from(split::late_changes(&doc) > 0))
    }

    /// The creations of incident `id` beyond the one it keeps and those already split off: each
    /// an incident recorded apart under the same id, for a reviewer to split out. Empty for a
    /// record created once.
    pub fn extra_creations(&self, id: &str) -> Result<Vec<ExtraCreation>> {
        let doc = self.load_kind(id, RecordKind::Incident)?;
        Ok(extra(&doc))
    }

    /// Split the next extra creation of incident `id` out into a record of its own; returns the
    /// new record's id. Only a reviewer splits ([`Denial::SplitByNonReviewer`]); a record created
    /// once is refused ([`Error::Refused`]). Run again after a crash, it finishes the same split.
    pub fn split_incident(&mut self, id: &str) -> Result<String> {
        if !self.writer()?.decides() {
            return Err(Denial::SplitByNonReviewer.into());
        }
        let doc = self.load_kind(id, RecordKind::Incident)?;
        let kept = split::kept_creation(&doc)
            .ok_or_else(|| Error::Refused(format!("incident {id} has no creation")))?;
        let Some(next) = extra(&doc).into_iter().next() else {
            return Err(Error::Refused(format!(
                "incident {id} was recorded once: there is nothing to split"
            )));
        };
        let root = next
            .root
            .parse()
            .map_err(|_| Error::Refused("a creation's hash is unreadable".into()))?;
        let (gone, heads) = split::branch(&doc, root, kept);
        let copy = document::read_incident(&doc.fork_at(&heads)?)?;
        let created_at = created_at(&doc.fork_at(&[root])?);
        let new_id = split_id(id, &next.root);
        let link = |record: &str| SplitLink {
            record: record.to_string(),
            root: next.root.clone(),
        };
        let (to_new, to_old) = (link(id), link(&new_id));
        match self.write(&new_id, RecordKind::Incident, true, |t, who| {
            edit::copy_incident(t, &copy, &new_id, &created_at, &to_new, who)?;
            Ok(vec![format!("split out of incident {id}")])
        }) {
            // Made by an earlier run cut short, or by another reviewer's split that arrived.
            Err(Error::Refused(m)) if m.contains("already exists") => {}
            r => {
                r?;
            }
        }
        let repairs = split::repairs(&doc, &gone);
        self.write(id, RecordKind::Incident, false, |t, _| {
            edit::record_split(t, &to_old, &repairs)?;
            Ok(vec![format!("split incident {new_id} out")])
        })?;
        Ok(new_id)
    }
}

fn created_at(doc: &automerge::Automerge) -> String {
    use automerge::ReadDoc;
    match doc.get(automerge::ROOT, "created_at") {
        Ok(Some((automerge::Value::Scalar(s), _))) => match s.as_ref() {
            automerge::ScalarValue::Str(t) => t.to_string(),
            _ => String::new(),
        },
        _ => String::new(),
    }
}

fn extra(doc: &automerge::Automerge) -> Vec<ExtraCreation> {
    let Some(kept) = split::kept_creation(doc) else {
        return Vec::new();
    };
    // Two reviewers' splits of one record make the same copy twice: one record, not two to
    // split again.
    if !split::recorded_twice(doc) {
        return Vec::new();
    }
    let done = split::split_off_roots(doc);
    split::creations(doc)
        .into_iter()
        .filter(|c| *c != kept && !done.contains(&c.to_string()))
        .map(|c| {
            let note = mrm_crdt::history::note_of(doc, &c);
            ExtraCreation {
                root: c.to_string(),
                by: note.as_ref().map(|n| n.by.clone()).unwrap_or_default(),
                at: note.map(|n| n.at).unwrap_or_default(),
            }
        })
        .collect()
}
