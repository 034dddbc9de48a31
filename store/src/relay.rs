//! Relays: a colleague's changes that came by USB go on to the endpoint from this laptop, so a
//! colleague whose laptop is lost before it syncs cuts nobody off (docs/sync-protocol.md,
//! "Relays").
//!
//! An enrolled store tags each of its own changes it exports with its authorship key
//! ([`mrm_crdt::protocol::authorship_tag`]); the tag travels with the change in the bundle, is
//! kept here beside the change (`changes.tag`, counted in `counts` row `relay`), and is sent with
//! it at the next sync. The endpoint
//! takes the change only if the tag checks out under its author's key, and judges it by its
//! author's role and team, never this laptop's: a relay can carry a colleague's work but never
//! forge it.

use automerge::Change;
use mrm_crdt::bundle::Tag;
use mrm_crdt::error::Result;
use rusqlite::{params, Connection, OptionalExtension};

use super::exchange::ImportReport;
use super::Store;

/// A colleague's change waiting here to be relayed to the endpoint.
#[derive(Debug, Clone, PartialEq)]
pub struct Relayed {
    /// Its position in this store's change log.
    pub seq: i64,
    /// Hex change hash.
    pub hash: String,
    /// The record it belongs to.
    pub doc_id: String,
    /// Hex Automerge actor of its author.
    pub actor: String,
    pub bytes: Vec<u8>,
    pub tag: Tag,
}

impl Store {
    /// This store's authorship key (hex), from its enrollment: `None` before an enrollment, or
    /// for an enrollment with an endpoint too old to give a revocation key.
    fn author_key(&self) -> Result<Option<String>> {
        Ok(self
            .sync_state()?
            .and_then(|s| s.revocation_key)
            .and_then(|k| mrm_crdt::protocol::author_key(&k)))
    }

    /// The authorship tag of each of `frames` (aligned with them): this store's own changes
    /// tagged with its key, a colleague's with the tag it came with; `None` for the rest (a
    /// store not enrolled, changes from the endpoint, frames that do not decode).
    ///
    /// Errors: only the database's.
    pub fn authorship_tags(&self, frames: &[(String, Vec<u8>)]) -> Result<Vec<Option<Tag>>> {
        let key = self.author_key()?;
        let own = self.device().actor.clone();
        let mut stmt = self
            .conn()
            .prepare_cached("SELECT tag FROM changes WHERE hash = ?1 AND tag IS NOT NULL")?;
        let mut tags = Vec::with_capacity(frames.len());
        for (_, bytes) in frames {
            let Ok(change) = Change::from_bytes(bytes.clone()) else {
                tags.push(None);
                continue;
            };
            let hash = change.hash().to_string();
            let tag = if change.actor_id().to_hex_string() == own {
                key.as_deref()
                    .and_then(|k| mrm_crdt::protocol::authorship_tag(k, &hash))
            } else {
                stmt.query_row([&hash], |r| r.get::<_, Vec<u8>>(0))
                    .optional()?
                    .and_then(|t| Tag::try_from(t.as_slice()).ok())
            };
            tags.push(tag);
        }
        Ok(tags)
    }

    /// [`Store::import`] of a bundle whose changes may carry their authors' tags (`tags`
    /// aligned with `changes`, or empty): a colleague's tagged change is kept to be relayed at
    /// the next sync ([`Store::relays`]). Tags are not checked here (only the endpoint holds
    /// the keys); a wrong one costs the change its relay, never the import. A change that waits
    /// here for its dependencies (`inbound`) keeps no tag: it is relayed once it came again.
    ///
    /// Errors: as [`Store::import`].
    pub fn import_tagged(
        &mut self,
        changes: Vec<(String, Vec<u8>)>,
        tags: &[Option<Tag>],
    ) -> Result<ImportReport> {
        let own = self.device().actor.clone();
        let tagged: Vec<(String, Tag)> = changes
            .iter()
            .zip(tags)
            .filter_map(|((_, bytes), tag)| {
                let tag = (*tag)?;
                let change = Change::from_bytes(bytes.clone()).ok()?;
                (change.actor_id().to_hex_string() != own).then(|| (change.hash().to_string(), tag))
            })
            .collect();
        // A change this store holds already (pulled from the endpoint, or from an earlier
        // bundle) is not relayed: the endpoint has it, or a tag came with it the first time.
        let tagged: Vec<(String, Tag)> = {
            let mut held = self
                .conn()
                .prepare_cached("SELECT 1 FROM changes WHERE hash = ?1")?;
            let mut new = Vec::with_capacity(tagged.len());
            for (hash, tag) in tagged {
                if !held.exists([&hash])? {
                    new.push((hash, tag));
                }
            }
            new
        };
        let report = self.import(changes)?;
        if !tagged.is_empty() {
            let tx = self.conn.transaction()?;
            {
                // Only a colleague's change held here, and not already tagged.
                let mut set = tx.prepare_cached(
                    "UPDATE changes SET tag = ?2 WHERE hash = ?1 AND local = 0 AND tag IS NULL",
                )?;
                let mut n = 0;
                for (hash, tag) in &tagged {
                    n += set.execute(params![hash, tag.as_slice()])?;
                }
                count_relays(&tx, n as i64)?;
            }
            tx.commit()?;
        }
        Ok(report)
    }

    /// Colleagues' changes waiting to be relayed after log position `after`, oldest first, at
    /// most `max_changes` and about `max_bytes` (always at least one).
    ///
    /// Errors: only the database's.
    pub fn relays(&self, after: i64, max_changes: usize, max_bytes: usize) -> Result<Vec<Relayed>> {
        if self.relays_waiting()? == 0 {
            return Ok(Vec::new());
        }
        let mut stmt = self.conn().prepare_cached(
            "SELECT seq, hash, doc_id, actor, bytes, tag FROM changes
             WHERE tag IS NOT NULL AND seq > ?1 ORDER BY seq LIMIT ?2",
        )?;
        let rows = stmt.query_map(params![after, max_changes as i64], |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, String>(3)?,
                r.get::<_, Vec<u8>>(4)?,
                r.get::<_, Vec<u8>>(5)?,
            ))
        })?;
        let mut out = Vec::new();
        let mut size = 0;
        for row in rows {
            let (seq, hash, doc_id, actor, bytes, tag) = row?;
            if !out.is_empty() && size + bytes.len() > max_bytes {
                break;
            }
            // A tag of another length never checks out: sending it would only be refused.
            let Ok(tag) = Tag::try_from(tag.as_slice()) else {
                continue;
            };
            size += bytes.len();
            out.push(Relayed {
                seq,
                hash,
                doc_id,
                actor,
                bytes,
                tag,
            });
        }
        Ok(out)
    }

    /// How many colleagues' changes wait here to be relayed.
    pub fn relays_waiting(&self) -> Result<i64> {
        Ok(self
            .conn()
            .query_row("SELECT n FROM counts WHERE name = 'relay'", [], |r| {
                r.get(0)
            })
            .optional()?
            .unwrap_or(0))
    }

    /// The endpoint took (or for good refused) these relayed changes: they are not sent again.
    ///
    /// Errors: only the database's.
    pub fn relays_done(&mut self, hashes: &[String]) -> Result<()> {
        let tx = self.conn.transaction()?;
        {
            let mut clear = tx.prepare_cached(
                "UPDATE changes SET tag = NULL WHERE hash = ?1 AND tag IS NOT NULL",
            )?;
            let mut n = 0;
            for h in hashes {
                n += clear.execute([h])?;
            }
            count_relays(&tx, -(n as i64))?;
        }
        tx.commit()?;
        Ok(())
    }
}

/// Keep `counts` row `relay` (how many changes wait to be relayed) in step with `changes.tag`.
fn count_relays(conn: &Connection, by: i64) -> Result<()> {
    conn.prepare_cached("UPDATE counts SET n = n + ?1 WHERE name = 'relay'")?
        .execute([by])?;
    Ok(())
}
