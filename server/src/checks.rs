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
        let before_ops = before.as_ref().map(guarded_ops);
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
        if kind == RecordKind::Incident {
            check_effect(device, before_ops.as_ref(), &doc, &doc_id)?;
        }
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

/// The operations the role rules guard, by op id: verification events (with their status) and
/// values of the review state.
#[derive(Default)]
struct GuardedOps {
    /// (violation id, event op id) -> status
    events: BTreeMap<(String, String), String>,
    /// review state op id -> (value, actor hex)
    review: BTreeMap<String, (String, String)>,
}

fn op_actor(id: &automerge::ObjId) -> String {
    match id {
        automerge::ObjId::Id(_, actor, _) => actor.to_hex_string(),
        automerge::ObjId::Root => String::new(),
    }
}

fn scalar_str(v: &automerge::Value<'_>) -> String {
    match v {
        automerge::Value::Scalar(s) => s.as_str().unwrap_or("").to_string(),
        _ => String::new(),
    }
}

fn guarded_ops(doc: &Automerge) -> GuardedOps {
    use automerge::{ObjType, Value, ROOT};
    let mut g = GuardedOps::default();
    let map_at = |obj: &automerge::ObjId, key: &str| match doc.get(obj, key) {
        Ok(Some((Value::Object(ObjType::Map), id))) => Some(id),
        _ => None,
    };
    if let Some(vmap) = map_at(&ROOT, "violations") {
        for vid in doc.keys(&vmap) {
            let Some(v) = map_at(&vmap, &vid) else {
                continue;
            };
            let Ok(Some((Value::Object(ObjType::List), list))) = doc.get(&v, "verification") else {
                continue;
            };
            for i in 0..doc.length(&list) {
                if let Ok(Some((Value::Object(ObjType::Map), ev))) = doc.get(&list, i) {
                    let status = doc
                        .get(&ev, "status")
                        .ok()
                        .flatten()
                        .map(|(v, _)| scalar_str(&v))
                        .unwrap_or_default();
                    g.events.insert((vid.clone(), ev.to_string()), status);
                }
            }
        }
    }
    if let Some(review) = map_at(&ROOT, "review") {
        for (v, id) in doc.get_all(&review, "state").unwrap_or_default() {
            g.review
                .insert(id.to_string(), (scalar_str(&v), op_actor(&id)));
        }
    }
    g
}

/// Role rules checked on the effect of a batch (the document before and after), whatever the
/// device's software claimed to do: only reviewers record verification decisions or accept and
/// return records; nobody removes a verification event.
fn check_effect(
    device: &Device,
    before: Option<&GuardedOps>,
    after: &Automerge,
    doc_id: &str,
) -> Result<()> {
    use mrm_crdt::model::VerificationStatus;
    let after_ops = guarded_ops(after);
    let empty = GuardedOps::default();
    let before = before.unwrap_or(&empty);
    let live_violations: HashSet<&String> = after_ops.events.keys().map(|(v, _)| v).collect();
    for (key, _) in before.events.iter() {
        let violation_still_there =
            live_violations.contains(&key.0) || crate::checks::violation_exists(after, &key.0);
        if violation_still_there && !after_ops.events.contains_key(key) {
            return Err(refuse(format!(
                "incident {doc_id}: verification events are append-only; this batch removes one"
            )));
        }
    }
    if device.role == Role::Reviewer {
        return Ok(());
    }
    for (key, status) in &after_ops.events {
        if before.events.contains_key(key) {
            continue;
        }
        let decision = status
            .parse::<VerificationStatus>()
            .map(VerificationStatus::is_decision)
            .unwrap_or(true);
        if decision {
            return Err(refuse(format!(
                "incident {doc_id}: a device with role {} may not record a `{status}` verification; only reviewers may",
                device.role.as_str()
            )));
        }
    }
    let actor = device.actor.as_deref().unwrap_or("");
    for (op, (state, by)) in &after_ops.review {
        if before.review.contains_key(op) || by != actor {
            continue;
        }
        if matches!(state.as_str(), "accepted" | "returned") {
            return Err(refuse(format!(
                "incident {doc_id}: a device with role {} may not mark a record {state}; only reviewers may",
                device.role.as_str()
            )));
        }
    }
    Ok(())
}

/// Whether the document still has a violation with this id.
pub(crate) fn violation_exists(doc: &Automerge, vid: &str) -> bool {
    use automerge::{ObjType, Value, ROOT};
    match doc.get(ROOT, "violations") {
        Ok(Some((Value::Object(ObjType::Map), vmap))) => {
            matches!(
                doc.get(&vmap, vid),
                Ok(Some((Value::Object(ObjType::Map), _)))
            )
        }
        _ => false,
    }
}
