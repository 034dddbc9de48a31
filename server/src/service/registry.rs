//! The documents the endpoint alone writes: the mission configuration and the device registry
//! (`mrm_crdt::document::REGISTRY_ID`: who each actor id is, written when a device enrolls or is
//! revoked, and synced to every device so that history and views name authors as the endpoint
//! registered them, never as a change describes itself).

use mrm_crdt::document::{self, RecordKind, REGISTRY_ID};
use mrm_crdt::history::ChangeNote;
use mrm_crdt::model::RegisteredDevice;

use super::{endpoint_append, load, now, Service};
use crate::error::{Result, ServerError};
use crate::model::Device;
use crate::repository::{Append, NewChange, RecordWrite, Repository};

impl<R: Repository> Service<R> {
    /// The registry's change that sets `device`'s entry under its actor, as an append that holds
    /// only while the registry is as read. `None` for a device without an actor (not enrolled
    /// yet: it has no entry).
    pub(super) async fn register(&self, device: &Device) -> Result<Option<Append>> {
        let Some(actor) = device.actor.as_deref() else {
            return Ok(None);
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
        Ok(Some(
            self.endpoint_write(
                REGISTRY_ID,
                RecordKind::Registry,
                |_: &()| msg.to_string(),
                |t| mrm_crdt::edit::put_registered(t, actor, &entry),
            )
            .await?
            .unwrap_or_else(endpoint_append),
        ))
    }

    /// A change to a document the endpoint alone writes, under its own actor: `edit` makes the
    /// change, `message` names it in history; the result must read back as `kind`. `None` when
    /// the edit changes nothing; otherwise an append of the change that holds only while the
    /// document is as read.
    ///
    /// Errors: [`ServerError::BadRequest`] when the edit fails (the configuration an admin gave).
    pub(super) async fn endpoint_write<O>(
        &self,
        doc_id: &str,
        kind: RecordKind,
        message: impl Fn(&O) -> String,
        edit: impl FnOnce(&mut automerge::transaction::Transaction<'_>) -> mrm_crdt::Result<O>,
    ) -> Result<Option<Append>> {
        let actor = self.endpoint_actor().await?;
        let stored = self.repo.record(doc_id).await?;
        let was = stored.as_ref().map(|r| r.snapshot.clone());
        let mut doc = match &stored {
            Some(r) => load(doc_id, &r.snapshot)?,
            None => automerge::Automerge::new(),
        }
        .with_actor(actor);
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
            return Ok(None);
        }
        document::check_readable(&doc, kind)?;
        let changes = doc
            .get_changes(&old_heads)
            .into_iter()
            .map(|c| NewChange {
                hash: c.hash().to_string(),
                actor: c.actor_id().to_hex_string(),
                bytes: c.raw_bytes().to_vec(),
            })
            .collect();
        let mut append = endpoint_append();
        append.expected.records.push((doc_id.to_string(), was));
        append.records.push(RecordWrite {
            doc_id: doc_id.to_string(),
            kind: kind.as_str().to_string(),
            team: String::new(),
            entered_scope: stored.is_none(),
            changes,
            snapshot: mrm_crdt::changes::snapshot(&doc),
        });
        Ok(Some(append))
    }
}
