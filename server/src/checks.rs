//! The checks every pushed batch passes before anything of it is stored. Backend-agnostic: a
//! backend loads documents and stores the result; the decisions are made here.
//!
//! 1. every change decodes as an Automerge change;
//! 2. every change's actor is the actor bound to the authenticated device (no device writes as
//!    another), or the change is **relayed**: it carries an authorship tag that checks out under
//!    the key of the enrolled, unrevoked device bound to its actor
//!    ([`mrm_crdt::protocol::authorship_proven`]), and is judged as that author's from then on;
//! 3. every change applies (its dependencies are on the endpoint or in the batch);
//! 4. the resulting document is a well-formed MRM record with the id it was sent under;
//! 5. the change's metadata is within bounds ([`mrm_crdt::changes::check_metadata`]: operation
//!    counters, sequence numbers, dependency counts, a timestamp at most a day ahead);
//! 6. the effect of the batch on the whole record, before and after, passes the one policy
//!    ([`mrm_crdt::effect::check`], the same function a device runs before every local commit):
//!    role and team, append-only verification events and comments, decisions and review moves by
//!    reviewers only, decided violations and cited sources never deleted, values that pass the
//!    field checks. Each author's changes are judged with that author's role and team, in causal
//!    order, so a relay can neither gain nor lose rights by carrying a colleague's work.

use std::collections::{BTreeMap, HashMap, HashSet};

use automerge::{ActorId, Automerge, Change, ChangeHash, ReadDoc};
use mrm_crdt::bundle::Tag;
use mrm_crdt::changes::{added_since, not_applied};
use mrm_crdt::document::{check_readable, kind_of, team_of, RecordKind, CONFIG_ID, REGISTRY_ID};
use mrm_crdt::policy::Writer;
use mrm_crdt::validate::Clock;

use crate::error::{Result, ServerError};
use crate::model::Device;

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

/// An enrolled device whose changes another device may relay: its identity and the key its
/// authorship tags are checked with.
#[derive(Clone)]
pub struct Author {
    pub device: Device,
    /// Hex authorship key ([`mrm_crdt::protocol::author_key`]).
    pub key: String,
}

/// The devices a push may carry changes of, by hex actor (only consulted for changes of another
/// actor than the pushing device's).
pub type Authors = HashMap<String, Author>;

/// A batch decoded and checked change by change (steps 1, 2 and 5), before any record is read.
pub struct Decoded {
    /// The batch's changes not already in it earlier, by record, in the order sent.
    by_doc: BTreeMap<String, Vec<Change>>,
    /// Changes sent twice in the batch.
    duplicates: usize,
    /// The rules of each relayed author, by actor (the pushing device's own actor is absent).
    relayed: HashMap<ActorId, Writer>,
    /// Another device's changes whose authorship did not check out, with the refusal: fatal
    /// only for a change the endpoint does not hold already (re-sending a change it holds, under
    /// any tag, adds nothing).
    unvouched: HashMap<ChangeHash, String>,
}

impl Decoded {
    /// The hashes of the batch's changes.
    pub fn hashes(&self) -> impl Iterator<Item = ChangeHash> + '_ {
        self.by_doc.values().flatten().map(|c| c.hash())
    }

    /// How many of the batch's changes are a colleague's, relayed.
    pub fn relayed_changes(&self) -> usize {
        self.by_doc
            .values()
            .flatten()
            .filter(|c| self.relayed.contains_key(c.actor_id()))
            .count()
    }

    /// The record ids with at least one change not in `known`: the records the batch writes.
    pub fn doc_ids_with_changes_outside<'a>(
        &'a self,
        known: &'a HashSet<ChangeHash>,
    ) -> impl Iterator<Item = &'a str> + 'a {
        self.by_doc
            .iter()
            .filter(|(_, changes)| changes.iter().any(|c| !known.contains(&c.hash())))
            .map(|(id, _)| id.as_str())
    }
}

/// Decode, check and apply a batch. `load` returns a record's current document; `known` tells
/// whether the endpoint already holds a change.
pub fn check_batch(
    device: &Device,
    batch: Vec<(String, Vec<u8>)>,
    load: impl FnMut(&str) -> Result<Option<Automerge>>,
    mut known: impl FnMut(&ChangeHash) -> Result<bool>,
) -> Result<Checked> {
    let decoded = decode_batch(device, batch, &[], &Authors::new())?;
    let mut held = HashSet::new();
    for h in decoded.hashes() {
        if known(&h)? {
            held.insert(h);
        }
    }
    check_decoded(device, &decoded, &held, load)
}

/// Steps 1, 2 and 5 of a batch: every change decodes, is the device's own or a colleague's
/// relayed with a valid authorship tag (`tags`, aligned with `batch`, may be shorter; `authors`
/// holds the mission's devices by actor), and is within bounds. Errors:
/// [`ServerError::BadRequest`], [`ServerError::Forbidden`], [`ServerError::Unauthorized`] for a
/// device not enrolled.
pub fn decode_batch(
    device: &Device,
    batch: Vec<(String, Vec<u8>)>,
    tags: &[Option<Tag>],
    authors: &Authors,
) -> Result<Decoded> {
    // Automerge 0.12 can panic on a change that decodes but is malformed inside; such a batch is
    // refused like any other bad input.
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        decode_unwinding(device, batch, tags, authors)
    }))
    .unwrap_or_else(|_| Err(ServerError::BadRequest("a change is malformed".into())))
}

/// Steps 3, 4 and 6 of a decoded batch: `known` holds the batch's changes the endpoint already
/// has (counted as duplicates), `load` returns a record's current document.
pub fn check_decoded(
    device: &Device,
    decoded: &Decoded,
    known: &HashSet<ChangeHash>,
    load: impl FnMut(&str) -> Result<Option<Automerge>>,
) -> Result<Checked> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        check_unwinding(device, decoded, known, load)
    }))
    .unwrap_or_else(|_| Err(ServerError::BadRequest("a change is malformed".into())))
}

/// Most runs of one author's changes one record of a batch may hold once relayed changes are in
/// it (judging each costs a copy of the record).
const MAX_AUTHOR_RUNS: usize = 64;

/// Writers' clocks may be a day ahead of the endpoint's (docs/sync-protocol.md).
fn clock() -> Clock {
    Clock::at(chrono::Utc::now(), chrono::Duration::days(1))
}

fn enrolled_actor(device: &Device) -> Result<&str> {
    device
        .actor
        .as_deref()
        .ok_or_else(|| ServerError::Unauthorized("this device is not enrolled".into()))
}

/// Whether change `i` (1-based) of another actor than the pushing device's is a colleague's,
/// relayed: its tag must check out under the key of the live device bound to its actor. Returns
/// that author's rules.
fn relayed_author(
    i: usize,
    change: &Change,
    tag: Option<&Tag>,
    authors: &Authors,
) -> Result<Writer> {
    let actor = change.actor_id().to_hex_string();
    let Some(tag) = tag else {
        return Err(ServerError::Unvouched(format!(
            "change {i} was written by another device (actor {actor}) and carries no \
             authorship tag; a device may push its own changes, and a colleague's only as they \
             came, tagged, from that colleague's enrolled laptop"
        )));
    };
    let Some(author) = authors.get(&actor) else {
        return Err(ServerError::Unvouched(format!(
            "change {i} was written by actor {actor}, which no device of this mission is \
             enrolled as; it cannot be relayed"
        )));
    };
    if !mrm_crdt::protocol::authorship_proven(&author.key, &change.hash().to_string(), tag) {
        return Err(ServerError::Unvouched(format!(
            "change {i} claims to be by device {} ({}), but its authorship tag does not check \
             out: it was altered or forged",
            author.device.id, author.device.officer
        )));
    }
    if author.device.revoked_at.is_some() {
        return Err(ServerError::Unvouched(format!(
            "change {i} was made by device {} ({}), which has been revoked: its changes are \
             no longer taken, relayed or not",
            author.device.id, author.device.officer
        )));
    }
    Ok(Writer::enrolled(
        author.device.role,
        author.device.team.clone(),
    ))
}

fn decode_unwinding(
    device: &Device,
    batch: Vec<(String, Vec<u8>)>,
    tags: &[Option<Tag>],
    authors: &Authors,
) -> Result<Decoded> {
    let clock = clock();
    let actor = enrolled_actor(device)?;
    let mut by_doc: BTreeMap<String, Vec<Change>> = BTreeMap::new();
    let mut relayed = HashMap::new();
    let mut unvouched = HashMap::new();
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
            let tag = tags.get(i).and_then(Option::as_ref);
            match relayed_author(i + 1, &change, tag, authors) {
                Ok(writer) => {
                    relayed.insert(change.actor_id().clone(), writer);
                }
                Err(e) => {
                    unvouched.insert(change.hash(), e.to_string());
                }
            }
        }
        mrm_crdt::changes::check_metadata(&change, &clock).map_err(|e| {
            ServerError::BadRequest(format!("change {} is out of bounds: {e}", i + 1))
        })?;
        if !seen.insert(change.hash()) {
            duplicates += 1;
            continue;
        }
        by_doc.entry(doc_id).or_default().push(change);
    }
    Ok(Decoded {
        by_doc,
        duplicates,
        relayed,
        unvouched,
    })
}

fn check_unwinding(
    device: &Device,
    decoded: &Decoded,
    known: &HashSet<ChangeHash>,
    mut load: impl FnMut(&str) -> Result<Option<Automerge>>,
) -> Result<Checked> {
    let clock = clock();
    enrolled_actor(device)?;
    let mut duplicates = decoded.duplicates;
    let writer = Writer::enrolled(device.role, device.team.clone());
    let mut applied = Vec::new();
    for (doc_id, sent) in &decoded.by_doc {
        let changes: Vec<Change> = sent
            .iter()
            .filter(|c| !known.contains(&c.hash()))
            .cloned()
            .collect();
        duplicates += sent.len() - changes.len();
        if changes.is_empty() {
            continue;
        }
        if let Some(why) = changes
            .iter()
            .find_map(|c| decoded.unvouched.get(&c.hash()))
        {
            return Err(ServerError::Unvouched(why.clone()));
        }
        let doc_id = doc_id.clone();
        let before = load(&doc_id)?;
        let (mut doc, kind_before, team_before) = match &before {
            Some(d) => (d.clone(), kind_of(d), Some(team_of(d))),
            None => (Automerge::new(), None, None),
        };
        let old_heads = doc.get_heads();
        doc.apply_changes(changes.iter().cloned())
            .map_err(|e| match e {
                automerge::AutomergeError::DuplicateSeqNumber(seq, _) => {
                    ServerError::IdentityReused {
                        record: doc_id.clone(),
                        seq,
                    }
                }
                e => ServerError::BadRequest(format!("record {doc_id}: {e}")),
            })?;
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
        // The configuration and the registry live under fixed ids that nothing else may take:
        // an incident under the configuration's id would make every device's sync fail.
        let reserved = [
            (CONFIG_ID, RecordKind::Config),
            (REGISTRY_ID, RecordKind::Registry),
        ];
        if reserved
            .iter()
            .any(|(id, k)| (doc_id == *id) != (kind == *k))
        {
            return Err(ServerError::BadRequest(format!(
                "record {doc_id}: the mission configuration and the device registry each have \
                 their own record id, which no other record may take"
            )));
        }
        if kind_before.is_some_and(|k| k != kind) {
            return Err(ServerError::BadRequest(format!(
                "record {doc_id} may not change its kind"
            )));
        }
        check_readable(&doc, kind).map_err(|e| ServerError::BadRequest(e.to_string()))?;
        let team_after = team_of(&doc);
        let new_changes = added_since(&doc, &old_heads, &changes).ok_or_else(|| {
            ServerError::BadRequest(format!("record {doc_id}: a change is malformed"))
        })?;
        let judged =
            |writer: &Writer, before: Option<&Automerge>, after: &Automerge, new: &[Change]| {
                mrm_crdt::effect::check_changes(writer, kind, before, after, new, &clock).map_err(
                    |e| match e {
                        mrm_crdt::Error::Denied(d) => ServerError::Denied {
                            record: doc_id.clone(),
                            denial: d,
                        },
                        other => ServerError::BadRequest(format!("record {doc_id}: {other}")),
                    },
                )
            };
        if new_changes
            .iter()
            .all(|c| !decoded.relayed.contains_key(c.actor_id()))
        {
            judged(&writer, before.as_ref(), &doc, &new_changes)?;
        } else {
            // A colleague's relayed work and this device's own, judged each by its author's
            // rules, in causal order: every run of one author's changes against the record as
            // it stood before the run.
            let runs = new_changes.chunk_by(|a, b| a.actor_id() == b.actor_id());
            // Each run costs a copy of the record and a judgement: a batch that alternates
            // authors without end is refused, not computed.
            if runs.clone().count() > MAX_AUTHOR_RUNS {
                return Err(ServerError::BadRequest(format!(
                    "record {doc_id}: the batch alternates between authors more than \
                     {MAX_AUTHOR_RUNS} times; send it in smaller batches"
                )));
            }
            let mut prev = before.clone();
            for run in runs {
                let mut next = prev.clone().unwrap_or_default();
                next.apply_changes(run.iter().cloned())
                    .map_err(|e| ServerError::BadRequest(format!("record {doc_id}: {e}")))?;
                let by = decoded.relayed.get(run[0].actor_id()).unwrap_or(&writer);
                judged(by, prev.as_ref(), &next, run)?;
                prev = Some(next);
            }
        }
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
