//! `mrm recover`: a copied or restored store's unsent work, written again under a new identity.
//!
//! When the endpoint finds this store reusing its identity (`identity_reused`: a copy of
//! another laptop's store, or one restored from a backup, went on recording under the same
//! Automerge actor), the changes it refused can never be sent: no replica can hold two
//! different changes under one author's number. [`Store::recover_identity`] takes them (and
//! every unacknowledged change of this store) out of the log and writes what they did as one
//! new change per record by a new actor ([`mrm_crdt::rerecord`]), so the records read the
//! same, nothing is retyped, and a new enrollment sends the work.

use std::collections::{BTreeMap, HashSet};

use automerge::{ActorId, ChangeHash};
use rusqlite::{params, TransactionBehavior};
use serde::Serialize;

use mrm_crdt::error::{Error, Result};
use mrm_crdt::history::ChangeNote;

use super::{exchange, projection, Store};

/// What [`Store::recover_identity`] did.
#[derive(Debug, Clone, Serialize)]
pub struct Recovery {
    /// The identity (Automerge actor, hex) this store recorded under until now.
    pub old_actor: String,
    /// The identity it records under from now on.
    pub new_actor: String,
    /// Records whose unsent work was written again under the new identity.
    pub records: Vec<String>,
    /// How many old changes the new ones replace.
    pub replaced: usize,
    /// Records that could not be written again, with the reason: their work stays on this
    /// laptop, unchanged, under the old identity.
    pub left: Vec<(String, String)>,
}

impl Store {
    /// Re-record this store's unsent work under a new identity, after the endpoint found the
    /// store reusing its identity ([`Store::identity_reused`]). In one transaction: the changes
    /// the endpoint refused (and in other records every change it has not acknowledged) are
    /// replaced by one new change per record, by a new actor derived from the store's key; the
    /// old identity's changes stop being this store's own; the enrollment is dropped, since its
    /// credential belongs to the old identity. The records read exactly as before.
    ///
    /// Errors: [`Error::Refused`] when the endpoint never found the identity reused (nothing
    /// to recover); database errors (nothing changed).
    pub fn recover_identity(&mut self) -> Result<Recovery> {
        let reused = self.reused_from()?;
        let state = self.sync_state()?;
        // Not enrolled: a store copied before its enrollment (the copy's enrollment finds its
        // identity taken) takes a new identity for all its work.
        if reused.is_empty() && state.is_some() {
            return Err(Error::Refused(
                "the endpoint has not found this store reusing its identity (mrm sync says so \
                 when it does): there is nothing to recover"
                    .into(),
            ));
        }
        if reused.iter().any(|(_, from)| *from == Some(0)) {
            return Err(Error::Refused(
                "the last sync was cut before it found which of this store's changes the \
                 endpoint already has: run `mrm sync` once more, online, then `mrm recover`"
                    .into(),
            ));
        }
        let push_seq = state.map(|s| s.push_seq).unwrap_or(0);
        let writer = self.writer()?;
        let judge = self.clock.judge();
        let who = self.actor();
        let old_actor = self.device.actor.clone();
        let new_actor = self.fresh_actor()?;
        let new_id: ActorId = new_actor
            .parse()
            .map_err(|_| Error::Crypto("cannot make a new identity".into()))?;
        let note = ChangeNote {
            by: who.officer.clone(),
            device: self.device.device_id.clone(),
            at: who.clock.stamp(who.now),
            msg: "re-recorded under a new identity (this store was a copy or a restored backup)"
                .into(),
        };
        let message = serde_json::to_string(&note)?;
        let options = || {
            automerge::transaction::CommitOptions::default()
                .with_message(message.clone())
                .with_time(who.now.timestamp())
        };

        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        // What goes, by record: in a record the endpoint refused, this store's changes from
        // the first it refused on its own; in any other record, those it never acknowledged.
        let mut drops: BTreeMap<String, HashSet<ChangeHash>> = BTreeMap::new();
        for (doc_id, from) in &reused {
            let mut stmt = tx.prepare_cached(
                "SELECT hash FROM changes WHERE doc_id = ?1 AND local = 1 AND seq >= ?2",
            )?;
            let hashes = stmt.query_map(params![doc_id, from.unwrap_or(1)], |r| {
                r.get::<_, String>(0)
            })?;
            let set = drops.entry(doc_id.clone()).or_default();
            for h in hashes {
                set.extend(h?.parse::<ChangeHash>().ok());
            }
        }
        {
            let mut stmt = tx.prepare(
                "SELECT doc_id, hash FROM changes WHERE local = 1 AND seq > ?1
                   AND doc_id NOT IN (SELECT doc_id FROM held_records)",
            )?;
            let rows = stmt.query_map([push_seq], |r| {
                Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?))
            })?;
            for row in rows {
                let (doc_id, h) = row?;
                drops
                    .entry(doc_id)
                    .or_default()
                    .extend(h.parse::<ChangeHash>().ok());
            }
        }

        let mut out = Recovery {
            old_actor: old_actor.clone(),
            new_actor: new_actor.clone(),
            records: Vec::new(),
            replaced: 0,
            left: Vec::new(),
        };
        for (doc_id, drop) in drops {
            let Some((kind, doc)) = Store::load(&tx, &doc_id)? else {
                continue;
            };
            let r = match mrm_crdt::rerecord::re_record(&doc, &drop, new_id.clone(), options()) {
                Ok(r) => r,
                Err(e) => {
                    out.left.push((doc_id, e.to_string()));
                    continue;
                }
            };
            // The one policy, on what the new change does to the record as the endpoint will
            // see it (the record without the dropped changes).
            if let Some(added) = &r.added {
                let before = if added.deps().is_empty() {
                    None
                } else {
                    Some(r.doc.fork_at(added.deps())?)
                };
                if let Err(e) =
                    mrm_crdt::effect::check(&writer, kind, before.as_ref(), &r.doc, &judge)
                {
                    out.left.push((doc_id, e.to_string()));
                    continue;
                }
            }
            let prepared = projection::Prepared::from_doc(&r.doc, kind)?;
            for h in &r.removed {
                tx.execute(
                    "DELETE FROM changes WHERE doc_id = ?1 AND hash = ?2",
                    params![doc_id, h.to_string()],
                )?;
            }
            if let Some(added) = &r.added {
                exchange::append_change(&tx, &doc_id, added, true)?;
            }
            projection::save_prepared(&tx, &doc_id, &prepared)?;
            out.replaced += r.removed.len();
            out.records.push(doc_id);
        }
        for doc_id in &out.records {
            tx.execute("DELETE FROM held_records WHERE doc_id = ?1", [doc_id])?;
        }
        // Records held for another reason keep their work on this laptop: it was made under
        // the former identity, which can no longer send it.
        tx.execute(
            "UPDATE held_records SET reason = 'made under this store''s former identity (before \
             mrm recover) and never sent: ' || reason, reused_from = NULL",
            [],
        )?;
        // What could not be re-recorded stays held, named, on this laptop: its changes stay
        // this store's own (never sent: the new credential cannot send a former identity's).
        for (doc_id, why) in &out.left {
            tx.execute(
                "INSERT INTO held_records (doc_id, reason, held_at) VALUES (?1, ?2, ?3)
                 ON CONFLICT (doc_id) DO UPDATE SET reason = excluded.reason, reused_from = NULL",
                params![
                    doc_id,
                    format!(
                        "recorded under this store's former identity and not re-recorded \
                         ({why}); it stays on this laptop"
                    ),
                    super::now_str()
                ],
            )?;
        }
        // The old identity's other changes are now another device's: the endpoint has them
        // (or this store re-recorded them). Those of records still held stay this store's.
        tx.execute(
            "UPDATE changes SET local = 0
             WHERE actor = ?1 AND doc_id NOT IN (SELECT doc_id FROM held_records)",
            [old_actor.as_str()],
        )?;
        tx.execute(crate::facts::REFRESH_LOCAL_SEQ, [])?;
        tx.execute("UPDATE device SET actor = ?1", [new_actor.as_str()])?;
        tx.execute("DELETE FROM sync_state", [])?;
        tx.commit()?;
        self.device.actor = new_actor;
        self.actor = new_id;
        Ok(out)
    }

    /// The records held as this store's identity reused, with the log position from which the
    /// endpoint refused their changes (`Some(0)`: not found yet).
    fn reused_from(&self) -> Result<Vec<(String, Option<i64>)>> {
        let mut stmt = self.conn().prepare(
            "SELECT doc_id, reused_from FROM held_records
             WHERE reused_from IS NOT NULL ORDER BY doc_id",
        )?;
        let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// A new actor: from the store's key like the first (so it can be proved at enrollment),
    /// with the time of now; a store without a key (benchmarks) gets a random one.
    fn fresh_actor(&self) -> Result<String> {
        let millis = u64::try_from(chrono::Utc::now().timestamp_millis()).unwrap_or(0);
        let actor = match &self.key {
            Some(k) => mrm_crdt::protocol::actor_from_seed(&k.actor_seed(), millis)
                .ok_or_else(|| Error::Crypto("cannot derive the actor id".into()))?,
            None => ActorId::from(uuid::Uuid::now_v7().as_bytes().to_vec()).to_hex_string(),
        };
        if actor == self.device.actor {
            return Err(Error::Refused(
                "the new identity came out the same as the old; try again".into(),
            ));
        }
        Ok(actor)
    }
}
