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
    pub by: String,
    pub device: String,
    pub message: String,
    /// Hashes of the changes this one was made on top of.
    pub deps: Vec<String>,
}

/// A record's changes in causal order (every change after the ones it depends on).
pub fn history(doc: &Automerge) -> Vec<HistoryEntry> {
    doc.get_changes_meta(&[])
        .into_iter()
        .map(|m| {
            let note = ChangeNote::parse(m.message.as_deref(), m.timestamp);
            HistoryEntry {
                hash: m.hash.to_string(),
                at: note.at,
                by: note.by,
                device: note.device,
                message: note.msg,
                deps: m.deps.iter().map(ChangeHash::to_string).collect(),
            }
        })
        .collect()
}

/// The note of the change that holds `hash`, if the document has it.
pub fn note_of(doc: &Automerge, hash: &ChangeHash) -> Option<ChangeNote> {
    doc.get_change_meta_by_hash(hash)
        .map(|m| ChangeNote::parse(m.message.as_deref(), m.timestamp))
}
