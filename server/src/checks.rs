//! The checks every pushed batch passes before anything of it is stored. Backend-agnostic: a
//! backend loads documents and stores the result; the decisions are made here.
//!
//! 1. every change decodes as an Automerge change;
//! 2. every change's actor is the actor bound to the authenticated device (no device writes as
//!    another);
//! 3. every change applies (its dependencies are on the endpoint or in the batch);
//! 4. the resulting document is a well-formed MRM record with the id it was sent under;
//! 5. the device's role may write that record, before and after the batch (officers: their own
//!    team's incidents and patrols; reviewers: every incident; admins: the mission configuration).

use std::collections::{BTreeMap, HashSet};

use automerge::{Automerge, Change, ChangeHash, ReadDoc};
use mrm_crdt::changes::{added_since, not_applied};
use mrm_crdt::document::{check_readable, kind_of, team_of, RecordKind};
use mrm_crdt::sync::protocol::Role;

use crate::model::Device;
use crate::storage::{Result, ServerError};

/// One record after a batch was applied to it.
pub struct Applied {
    pub doc_id: String,
    pub kind: RecordKind,
    pub team: String,
    /// Whether the record entered a team's scope (new, or its team changed).
    pub team_changed: bool,
    pub doc: Automerge,
    /// The batch's new changes for this record, in causal order.
    pub new_changes: Vec<Change>,
}

/// What a batch amounts to once checked.
pub struct Checked {
    pub applied: Vec<Applied>,
    pub duplicates: usize,
}

fn refuse(msg: String) -> ServerError {
    ServerError::Forbidden(msg)
}

/// Decode, check and apply a batch. `load` returns a record's current document; `known` tells
/// whether the endpoint already holds a change.
pub fn check_batch(
    device: &Device,
    batch: Vec<(String, Vec<u8>)>,
    load: impl FnMut(&str) -> Result<Option<Automerge>>,
    known: impl FnMut(&ChangeHash) -> Result<bool>,
) -> Result<Checked> {
    // Automerge 0.12 can panic on a change that decodes but is malformed inside; such a batch is
    // refused like any other bad input (nothing of it is stored: the caller's transaction rolls
    // back).
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        check_unwinding(device, batch, load, known)
    }))
    .unwrap_or_else(|_| Err(ServerError::BadRequest("a change is malformed".into())))
}

fn check_unwinding(
    device: &Device,
    batch: Vec<(String, Vec<u8>)>,
    mut load: impl FnMut(&str) -> Result<Option<Automerge>>,
    mut known: impl FnMut(&ChangeHash) -> Result<bool>,
) -> Result<Checked> {
    let actor = device
        .actor
        .as_deref()
        .ok_or_else(|| ServerError::Unauthorized("this device is not enrolled".into()))?;
    let mut by_doc: BTreeMap<String, Vec<Change>> = BTreeMap::new();
    let mut seen = HashSet::new();
    let mut duplicates = 0;
    for (i, (doc_id, bytes)) in batch.into_iter().enumerate() {
        let change = Change::from_bytes(bytes).map_err(|e| {
            ServerError::BadRequest(format!(
                "change {} is not a valid Automerge change: {e}",
                i + 1
            ))
        })?;
        if change.actor_id().to_hex_string() != actor {
            return Err(refuse(format!(
                "change {} was written by another device (actor {}); a device may only push its own changes",
                i + 1,
                change.actor_id().to_hex_string()
            )));
        }
        if !seen.insert(change.hash()) || known(&change.hash())? {
            duplicates += 1;
            continue;
        }
        by_doc.entry(doc_id).or_default().push(change);
    }
    let mut applied = Vec::new();
    for (doc_id, changes) in by_doc {
        let before = load(&doc_id)?;
        let (mut doc, kind_before, team_before) = match before {
            Some(d) => {
                let k = kind_of(&d);
                let t = team_of(&d);
                (d, k, Some(t))
            }
            None => (Automerge::new(), None, None),
        };
        let old_heads = doc.get_heads();
        doc.apply_changes(changes.iter().cloned())
            .map_err(|e| ServerError::BadRequest(format!("record {doc_id}: {e}")))?;
        let missing = not_applied(&doc, &changes);
        if missing > 0 {
            return Err(ServerError::MissingDependencies(format!(
                "{missing} change(s) of record {doc_id} depend on changes the endpoint does not have; \
                 the device that made those must sync first"
            )));
        }
        let id_ok = matches!(
            doc.get(automerge::ROOT, "id"),
            Ok(Some((automerge::Value::Scalar(s), _))) if s.as_str() == Some(doc_id.as_str())
        );
        let kind = kind_of(&doc).filter(|_| id_ok).ok_or_else(|| {
            ServerError::BadRequest(format!("record {doc_id} is not an MRM record"))
        })?;
        if kind_before.is_some_and(|k| k != kind) {
            return Err(ServerError::BadRequest(format!(
                "record {doc_id} may not change its kind"
            )));
        }
        check_readable(&doc, kind).map_err(|e| ServerError::BadRequest(e.to_string()))?;
        let team_after = team_of(&doc);
        may_write(device, kind, team_before.as_deref(), &team_after, &doc_id)?;
        let new_changes = added_since(&doc, &old_heads, &changes).ok_or_else(|| {
            ServerError::BadRequest(format!("record {doc_id}: a change is malformed"))
        })?;
        applied.push(Applied {
            team_changed: team_before.as_deref() != Some(team_after.as_str()),
            doc_id,
            kind,
            team: team_after,
            doc,
            new_changes,
        });
    }
    Ok(Checked {
        applied,
        duplicates,
    })
}

/// The write permission of a role over one record.
fn may_write(
    device: &Device,
    kind: RecordKind,
    team_before: Option<&str>,
    team_after: &str,
    doc_id: &str,
) -> Result<()> {
    match (device.role, kind) {
        (Role::Officer, RecordKind::Incident | RecordKind::Patrol) => {
            let own = |t: &str| t == device.team;
            if team_before.is_some_and(|t| !own(t)) {
                return Err(refuse(format!(
                    "{} {doc_id} belongs to team {}; an officer of team {} may not change it",
                    kind.as_str(),
                    team_before.unwrap_or(""),
                    device.team
                )));
            }
            if !own(team_after) {
                return Err(refuse(format!(
                    "an officer of team {} may not give {} {doc_id} to team {team_after}",
                    device.team,
                    kind.as_str()
                )));
            }
            Ok(())
        }
        (Role::Reviewer, RecordKind::Incident) => Ok(()),
        (Role::Admin, RecordKind::Config) => Ok(()),
        (role, kind) => Err(refuse(format!(
            "a device with role {} may not write {} records",
            role.as_str(),
            kind.as_str()
        ))),
    }
}
