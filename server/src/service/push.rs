//! A push: a device's batch decoded, checked against the records it writes ([`crate::checks`])
//! and stored whole, or not at all, if the records are still as the check read them.

use std::collections::{HashMap, HashSet};

use automerge::ChangeHash;
use mrm_crdt::bundle::Tag;
use mrm_crdt::protocol::{author_key, revocation_key, PushResponse};

use super::{entry, load, now, Service, ATTEMPTS};
use crate::checks::{check_decoded, decode_batch, Author, Authors, Checked, Decoded};
use crate::error::{Result, ServerError};
use crate::model::Device;
use crate::repository::{
    Append, AuditAction, Expected, NewChange, RecordWrite, RepoError, Repository,
};

/// Run CPU-bound work (decoding and applying changes) off the threads that serve connections.
async fn compute<T: Send + 'static>(f: impl FnOnce() -> Result<T> + Send + 'static) -> Result<T> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| ServerError::Internal(format!("worker failed: {e}")))?
}

impl<R: Repository> Service<R> {
    /// Check and store a batch of `(record id, change bytes)` from `device`, all or nothing, and
    /// audit it (`sync_push`, or `push_refused` with the reason).
    ///
    /// Errors: what [`crate::checks`] refuses ([`ServerError::BadRequest`],
    /// [`ServerError::Forbidden`], [`ServerError::Denied`],
    /// [`ServerError::MissingDependencies`]); [`ServerError::TooLarge`] for a record that would
    /// pass `mrm_crdt::limits::MAX_RECORD_BYTES`; [`ServerError::Timeout`] when other instances
    /// kept changing the same records.
    pub async fn push(
        &self,
        device: &Device,
        changes: Vec<(String, Vec<u8>)>,
    ) -> Result<PushResponse> {
        self.push_relayed(device, changes, Vec::new()).await
    }

    /// [`Service::push`] of a batch that may relay colleagues' changes: `tags` (aligned with
    /// `changes`) carries each change's authorship tag, and a change of another device is taken
    /// only with a tag that checks out under its author's key, and judged by its author's rules
    /// (`crate::checks`, step 2). Errors: as [`Service::push`].
    pub async fn push_relayed(
        &self,
        device: &Device,
        changes: Vec<(String, Vec<u8>)>,
        tags: Vec<Option<Tag>>,
    ) -> Result<PushResponse> {
        let result = self.push_inner(device, changes, tags).await;
        if let Err(e) = &result {
            self.record_refusal(AuditAction::PushRefused, Some(&device.id), e)
                .await;
        }
        result
    }

    /// Audit a push refused before it reached [`Service::push`] (too large, cut, undecodable),
    /// as `push_refused` with the reason, like a push the rules refuse.
    pub async fn push_refused(&self, device: &Device, e: &ServerError) {
        self.record_refusal(AuditAction::PushRefused, Some(&device.id), e)
            .await;
    }

    /// The mission's enrolled devices by actor, with their authorship keys: who a relayed change
    /// may come from.
    async fn authors(&self) -> Result<Authors> {
        Ok(self
            .repo
            .devices()
            .await?
            .into_iter()
            .filter_map(|device| {
                let actor = device.actor.clone()?;
                let key = revocation_key(&self.revocation_master, &device.id)
                    .and_then(|k| author_key(&k))?;
                Some((actor, Author { device, key }))
            })
            .collect())
    }

    async fn push_inner(
        &self,
        device: &Device,
        changes: Vec<(String, Vec<u8>)>,
        tags: Vec<Option<Tag>>,
    ) -> Result<PushResponse> {
        let received = changes.len();
        let dev = device.clone();
        // Only a batch that carries tags may relay: no other push reads the device list.
        let authors = if tags.iter().any(Option::is_some) {
            self.authors().await?
        } else {
            Authors::new()
        };
        let decoded = std::sync::Arc::new(
            compute(move || decode_batch(&dev, changes, &tags, &authors)).await?,
        );
        let relayed = decoded.relayed_changes();
        let mut attempt = 0;
        let mut held = None;
        loop {
            let (checked, snapshots, expected) = self.check(device, decoded.clone()).await?;
            let duplicates = checked.duplicates;
            let mut append = Append {
                device_id: device.id.clone(),
                received_at: now(),
                records: Vec::with_capacity(checked.applied.len()),
                expected,
                audit: Vec::new(),
                touch: Some(device.id.clone()),
            };
            let mut accepted = 0;
            for (a, snapshot) in checked.applied.into_iter().zip(snapshots) {
                accepted += a.new_changes.len();
                append.records.push(RecordWrite {
                    doc_id: a.doc_id,
                    kind: a.kind.as_str().to_string(),
                    team: a.team,
                    entered_scope: a.team_changed,
                    changes: a
                        .new_changes
                        .iter()
                        .map(|c| NewChange {
                            hash: c.hash().to_string(),
                            actor: c.actor_id().to_hex_string(),
                            bytes: c.raw_bytes().to_vec(),
                        })
                        .collect(),
                    snapshot,
                });
            }
            append.audit.push(entry(
                AuditAction::SyncPush,
                Some(&device.id),
                serde_json::json!({"received": received, "accepted": accepted,
                                   "duplicates": duplicates, "relayed": relayed}),
            ));
            let stored = self
                .in_turn(held.is_some(), self.repo.append(append))
                .await?;
            match stored {
                Ok(_) => {
                    return Ok(PushResponse {
                        accepted,
                        duplicates,
                    })
                }
                Err(RepoError::Stale(_)) if attempt + 1 < ATTEMPTS => {
                    attempt += 1;
                    // From now on this push keeps the instance's write turn from its reading to
                    // its storing: no other write of this instance can make it lose again.
                    if held.is_none() {
                        held = Some(self.write_turn().await?);
                    }
                }
                Err(e) => return Err(e.into()),
            }
        }
    }

    /// Read what the decoded batch writes (the records with at least one change the endpoint
    /// lacks) and check it; returns the check, each written record's new snapshot, and what was
    /// read. Decoding, applying and saving run on a blocking thread, any panic contained.
    async fn check(
        &self,
        device: &Device,
        decoded: std::sync::Arc<Decoded>,
    ) -> Result<(Checked, Vec<Vec<u8>>, Expected)> {
        let hashes: Vec<ChangeHash> = decoded.hashes().collect();
        let hex: Vec<String> = hashes.iter().map(ChangeHash::to_string).collect();
        let held = self.repo.known(&hex).await?;
        let known: HashSet<ChangeHash> = hashes
            .iter()
            .filter(|h| held.contains(&h.to_string()))
            .copied()
            .collect();
        let mut expected = Expected {
            records: Vec::new(),
            unknown_hashes: hex.into_iter().filter(|h| !held.contains(h)).collect(),
        };
        let mut snapshots = HashMap::new();
        // A record whose changes the endpoint all holds is neither read nor written: re-sending
        // known changes under many record ids costs a lookup each, never a snapshot.
        let writes: Vec<String> = decoded
            .doc_ids_with_changes_outside(&known)
            .map(str::to_string)
            .collect();
        for id in writes {
            let snapshot = self.repo.record(&id).await?.map(|r| r.snapshot);
            expected.records.push((id.clone(), snapshot.clone()));
            if let Some(s) = snapshot {
                snapshots.insert(id, s);
            }
        }
        let dev = device.clone();
        let (checked, saved) = compute(move || {
            let checked = check_decoded(&dev, &decoded, &known, |id| {
                snapshots.get(id).map(|s| load(id, s)).transpose()
            })?;
            let saved = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                checked
                    .applied
                    .iter()
                    .map(|a| mrm_crdt::changes::snapshot(&a.doc))
                    .collect::<Vec<_>>()
            }))
            .map_err(|_| ServerError::BadRequest("a change is malformed".into()))?;
            Ok((checked, saved))
        })
        .await?;
        for (a, snapshot) in checked.applied.iter().zip(&saved) {
            // Never store what could not be served again (crate limits, as devices check at
            // edit).
            if snapshot.len() > mrm_crdt::limits::MAX_RECORD_BYTES {
                return Err(ServerError::TooLarge(format!(
                    "record {} would reach {} bytes; a record may hold at most {}",
                    a.doc_id,
                    snapshot.len(),
                    mrm_crdt::limits::MAX_RECORD_BYTES
                )));
            }
        }
        Ok((checked, saved, expected))
    }
}
