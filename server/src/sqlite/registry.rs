//! The device registry document (`mrm_crdt::document::REGISTRY_ID`): who each actor id is, written
//! by the endpoint alone when a device enrolls or is revoked, and synced to every device so that
//! history and views name authors as the endpoint registered them, never as a change describes
//! itself.

use automerge::ActorId;
use mrm_crdt::document::{self, RecordKind, REGISTRY_ID};
use mrm_crdt::history::ChangeNote;
use mrm_crdt::model::RegisteredDevice;
use rusqlite::Connection;

use super::{now, store_applied};
use crate::checks::Applied;
use crate::model::Device;
use crate::storage::{Result, ServerError};

/// Set `device`'s entry under its actor in the registry, in the caller's transaction `tx`.
/// A device without an actor (not enrolled yet) has no entry.
pub(super) fn register(tx: &Connection, endpoint: &ActorId, device: &Device) -> Result<()> {
    let Some(actor) = device.actor.as_deref() else {
        return Ok(());
    };
    let entry = RegisteredDevice {
        device_id: device.id.clone(),
        officer: device.officer.clone(),
        team: device.team.clone(),
        role: device.role.as_str().to_string(),
        revoked_at: device.revoked_at.clone(),
    };
    let msg = if entry.revoked_at.is_some() {
        "revoked a device"
    } else {
        "registered a device"
    };
    endpoint_write(
        tx,
        endpoint,
        REGISTRY_ID,
        RecordKind::Registry,
        |_: &()| msg.to_string(),
        |t| mrm_crdt::edit::put_registered(t, actor, &entry),
    )?;
    Ok(())
}

/// Write a document the endpoint alone writes (the mission configuration, the registry) under its
/// own actor, in `tx`: `edit` makes the change, `message` names it in history; the result must
/// read back as `kind`. Returns whether anything changed; an edit that fails is a bad request
/// (the configuration an admin gave).
pub(super) fn endpoint_write<O>(
    tx: &Connection,
    endpoint: &ActorId,
    doc_id: &str,
    kind: RecordKind,
    message: impl Fn(&O) -> String,
    edit: impl FnOnce(&mut automerge::transaction::Transaction<'_>) -> mrm_crdt::Result<O>,
) -> Result<bool> {
    let existed = super::check::load_doc(tx, doc_id)?;
    let is_new = existed.is_none();
    let mut doc = existed.unwrap_or_default().with_actor(endpoint.clone());
    let old_heads = doc.get_heads();
    let note = |o: &O| {
        let note = ChangeNote {
            by: "mission admin".into(),
            device: "endpoint".into(),
            at: now(),
            msg: message(o),
        };
        automerge::transaction::CommitOptions::default()
            .with_message(serde_json::to_string(&note).unwrap_or_default())
            .with_time(chrono::Utc::now().timestamp())
    };
    let done = doc
        .transact_with(note, edit)
        .map_err(|f| ServerError::BadRequest(f.error.to_string()))?;
    if done.hash.is_none() {
        return Ok(false);
    }
    document::check_readable(&doc, kind)?;
    let mut applied = vec![Applied {
        doc_id: doc_id.to_string(),
        kind,
        team: String::new(),
        team_changed: is_new,
        new_changes: doc.get_changes(&old_heads),
        doc,
    }];
    store_applied(tx, "endpoint", &mut applied)?;
    Ok(true)
}
