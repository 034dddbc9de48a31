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
    let existed = super::check::load_doc(tx, REGISTRY_ID)?;
    let is_new = existed.is_none();
    let mut doc = existed.unwrap_or_default().with_actor(endpoint.clone());
    let old_heads = doc.get_heads();
    let entry = RegisteredDevice {
        device_id: device.id.clone(),
        officer: device.officer.clone(),
        team: device.team.clone(),
        role: device.role.as_str().to_string(),
        revoked_at: device.revoked_at.clone(),
    };
    let note = |_: &()| {
        let note = ChangeNote {
            by: "mission admin".into(),
            device: "endpoint".into(),
            at: now(),
            msg: if entry.revoked_at.is_some() {
                "revoked a device".into()
            } else {
                "registered a device".into()
            },
        };
        automerge::transaction::CommitOptions::default()
            .with_message(serde_json::to_string(&note).unwrap_or_default())
            .with_time(chrono::Utc::now().timestamp())
    };
    let done = doc
        .transact_with(note, |t| mrm_crdt::edit::put_registered(t, actor, &entry))
        .map_err(|f| ServerError::Internal(format!("registry: {}", f.error)))?;
    if done.hash.is_none() {
        return Ok(());
    }
    document::read_registry(&doc)?;
    let mut applied = vec![Applied {
        doc_id: REGISTRY_ID.to_string(),
        kind: RecordKind::Registry,
        team: String::new(),
        team_changed: is_new,
        new_changes: doc.get_changes(&old_heads),
        doc,
    }];
    store_applied(tx, "endpoint", &mut applied)?;
    Ok(())
}
