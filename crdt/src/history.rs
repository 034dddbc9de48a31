//! Who changed what and when: every change carries a small note (officer, device, time, a readable
//! description without field values) in its Automerge commit message.

use automerge::{Automerge, ChangeHash};
use serde::{Deserialize, Serialize};

/// The note stored as a change's commit message.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChangeNote {
    /// The officer who made the change.
    pub by: String,
    /// The device it was made on.
    pub device: String,
    /// RFC 3339 time, to the millisecond (the change's own timestamp has only seconds).
    pub at: String,
    /// What changed, e.g. "set violation 2 status to verified".
    pub msg: String,
}

impl ChangeNote {
    /// Read a commit message; a message that is not ours still shows, attributed to nobody.
    pub fn parse(message: Option<&str>, timestamp: i64) -> ChangeNote {
        let fallback = || ChangeNote {
            by: "unknown".into(),
            device: String::new(),
            at: chrono::DateTime::from_timestamp(timestamp, 0)
                .map(|t| t.to_rfc3339())
                .unwrap_or_default(),
            msg: message.unwrap_or("").to_string(),
        };
        message
            .and_then(|m| serde_json::from_str(m).ok())
            .unwrap_or_else(fallback)
    }
}

/// One change in a record's history.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HistoryEntry {
    pub hash: String,
    pub at: String,
    /// Who made it: the officer the endpoint registered for the change's actor, or, for an actor
    /// the registry does not know (yet), what the change says of itself.
    pub by: String,
    pub device: String,
    pub message: String,
    /// Hashes of the changes this one was made on top of.
    pub deps: Vec<String>,
    /// The Automerge actor id (hex) that wrote it.
    pub actor: String,
    /// Whether the endpoint's registry knows the actor (`by` is then the endpoint's word).
    pub registered: bool,
    /// What the change said of its author when that differs from the registry's: a store
    /// initialised under another name, or a forgery.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub declared_by: Option<String>,
    /// What the change changed, from what to what, against the record as its author saw it
    /// ([`crate::history_diff`]); empty for a change older than the most recent ones read
    /// ([`crate::history_diff::MAX_CHANGES`], fewer for a large record).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub changes: Vec<crate::history_diff::FieldChange>,
}

/// A record's changes in causal order (every change after the ones it depends on), authors
/// named from `registry` (see [`HistoryEntry::by`]).
pub fn history(doc: &Automerge, registry: &crate::model::Registry) -> Vec<HistoryEntry> {
    let mut fields = crate::history_diff::field_changes(doc, crate::document::to_json);
    doc.get_changes_meta(&[])
        .into_iter()
        .map(|m| {
            let note = ChangeNote::parse(m.message.as_deref(), m.timestamp);
            let actor = m.actor.to_hex_string();
            let known = registry.author(&actor);
            let (by, declared_by) = match known {
                Some(d) if d.officer != note.by => (d.officer.clone(), Some(note.by)),
                Some(d) => (d.officer.clone(), None),
                None => (note.by, None),
            };
            HistoryEntry {
                hash: m.hash.to_string(),
                at: note.at,
                by,
                device: note.device,
                message: note.msg,
                deps: m.deps.iter().map(ChangeHash::to_string).collect(),
                registered: known.is_some(),
                actor,
                declared_by,
                changes: fields.remove(&m.hash).unwrap_or_default(),
            }
        })
        .collect()
}

/// The note of the change that holds `hash`, if the document has it.
pub fn note_of(doc: &Automerge, hash: &ChangeHash) -> Option<ChangeNote> {
    doc.get_change_meta_by_hash(hash)
        .map(|m| ChangeNote::parse(m.message.as_deref(), m.timestamp))
}
