//! `mrm-store`: the device's store. One SQLite file (SQLCipher, keyed from the store's key file)
//! holding the append-only change log, a compacted snapshot per document, and projection tables
//! for lists, filters and figures; the caseload query the CLI and the app share; exchange of
//! changes (USB bundles, sync pages); the sync state; demo data ([`demo`]).
//!
//! Every user action is one Automerge commit written, with its snapshot and projection rows, in one
//! SQLite transaction (`BEGIN IMMEDIATE`, WAL, `synchronous=FULL`): when a call returns, the edit is
//! on disk; when it fails, nothing of it is.

#![forbid(unsafe_code)]

mod activities;
mod authors;
mod caseload;
pub mod demo;
pub use activities::ActivityFigures;
pub use parties::{MatchRefusal, PartyMatch, UnmatchedParty};
mod drafts;
mod exchange;
mod facts;
mod import;
mod inbound;
mod keyfile;
mod lifecycle;
mod parties;
mod periods;
mod projection;
mod pull_part;
mod query;
mod record_sync;
mod recover;
mod relay;
mod report;
mod schema;
mod split;
mod sync_state;

use std::path::{Path, PathBuf};

use automerge::transaction::Transaction;
use automerge::{ActorId, Automerge, ChangeHash, ReadDoc};
use chrono::{NaiveDate, Utc};
use rusqlite::{Connection, OptionalExtension, TransactionBehavior};
use serde::Serialize;

use mrm_crdt::conflicts::{conflicts, Conflict};
use mrm_crdt::document::{self, RecordKind};
use mrm_crdt::edit::{self, Actor, ReviewAction};

use mrm_crdt::history::{history, ChangeNote, HistoryEntry};
use mrm_crdt::input::{EventInput, IncidentPatch, PatrolPatch};
use mrm_crdt::model::{Incident, Patrol, ReviewState};
use mrm_crdt::validate;

pub use mrm_crdt::{Error, Result};

pub use caseload::{
    caseload, incidents_by_month, CaseloadPage, ChildCounts, IncidentFilter, Sort, SyncFilter,
};
pub use drafts::{Draft, DRAFTS_DIR, MAX_DRAFT_BYTES};
pub use exchange::{Heads, ImportReport};
pub use inbound::set_import_chunk_changes;
pub use keyfile::{unlock, KEY_FILE};
pub use lifecycle::{key_connection, open_reader};
pub use periods::PeriodChanges;
pub use projection::{attention, is_late};
pub use pull_part::PullPart;
pub use query::{
    incident_count, incident_row, text_condition, write_csv, Children, IncidentRow, Page,
    PatrolRow, RowSync, Stats, ViolationRow, CASELOAD_COLUMNS, CASELOAD_NUMBERS,
    INCIDENT_ROW_COLUMNS,
};
pub use record_sync::{RecordSync, RecordSyncState, SyncCounts};
pub use recover::Recovery;
pub use relay::Relayed;
pub use report::ReportViolation;
pub use split::ExtraCreation;
pub use sync_state::{HeldRecord, SyncState, Unpushed};

/// The database file inside a store's folder.
pub const DB_FILE: &str = "mrm.sqlite";

/// Who this device is; created once by `init`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Device {
    pub device_id: String,
    /// Hex Automerge actor id: derived from the store's key (`Key::actor_seed`, then
    /// `mrm_crdt::protocol::actor_from_seed`), or for a store made before 0.1.1 the device id's 16
    /// bytes.
    pub actor: String,
    pub officer: String,
    pub team: String,
    pub mission: String,
    pub created_at: String,
}

/// An incident with everything a reader needs: the record, derived statuses and conflicts.
#[derive(Debug, Clone, Serialize)]
pub struct IncidentView {
    #[serde(flatten)]
    pub incident: Incident,
    /// Current status per violation id (derived from the verification trail).
    pub status: Vec<ViolationStatus>,
    pub conflicts: Vec<Conflict>,
    /// What the merged record breaks, for a person to settle (a date order, a count below the
    /// coded victims two edits left): never a reason to refuse an edit that does not add to it.
    pub attention: Vec<mrm_crdt::error::FieldError>,
    /// The document's current heads.
    pub heads: Vec<String>,
    /// What the creation said of its author (`created_by`) when the endpoint's registry names
    /// its writer otherwise; `created_by` is then the registry's name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub created_by_declared: Option<String>,
}

/// A violation's derived verification status.
#[derive(Debug, Clone, Serialize)]
pub struct ViolationStatus {
    pub violation_id: String,
    pub status: mrm_crdt::model::VerificationStatus,
    pub late: bool,
    /// Concurrent decisions that disagree, for a reviewer to settle; `status` is the one counted
    /// until then. Empty when there is no such conflict.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub contested: Vec<mrm_crdt::model::VerificationStatus>,
    /// The violation's withdrawal is in effect: shown with its trail, left out of figures.
    pub withdrawn: bool,
    /// It was withdrawn apart from a decision that stands: it still counts, and needs a
    /// reviewer (see [`mrm_crdt::model::Violation::withdrawal_contested`]).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub withdrawal_contested: bool,
}

/// An open device store.
pub struct Store {
    conn: Connection,
    dir: PathBuf,
    device: Device,
    actor: ActorId,
    /// The database key while the store is open (`None` only for benchmark baselines).
    key: Option<mrm_crdt::crypto::Key>,
    /// The clock and calendar every stamp and check of this store uses.
    clock: validate::DeviceClock,
}

fn now_str() -> String {
    Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

/// Today's date where the device is (the system's clock and zone).
pub fn today() -> NaiveDate {
    validate::DeviceClock::default().today()
}

impl Store {
    /// This device's identity.
    pub fn device(&self) -> &Device {
        &self.device
    }

    /// The store's folder.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn actor(&self) -> Actor {
        Actor {
            officer: self.device.officer.clone(),
            now: self.clock.now(),
            clock: self.clock,
        }
    }

    /// The clock and calendar this store stamps and checks with.
    pub fn device_clock(&self) -> validate::DeviceClock {
        self.clock
    }

    /// Act as a device whose clock and zone are `clock` (drills, and tests of merges across
    /// zones and wrong clocks). The system's clock and zone otherwise.
    pub fn set_device_clock(&mut self, clock: validate::DeviceClock) {
        self.clock = clock;
    }

    /// Today on this store's calendar.
    pub fn today(&self) -> NaiveDate {
        self.clock.today()
    }

    /// Load a document from its snapshot.
    fn load(conn: &Connection, doc_id: &str) -> Result<Option<(RecordKind, Automerge)>> {
        match Store::load_snapshot(conn, doc_id)? {
            None => Ok(None),
            Some((kind, snap)) => Ok(Some((kind, Automerge::load(&snap)?))),
        }
    }

    /// A document's kind and snapshot bytes, not yet decoded (an import decodes them on a worker).
    fn load_snapshot(conn: &Connection, doc_id: &str) -> Result<Option<(RecordKind, Vec<u8>)>> {
        let row: Option<(String, Vec<u8>)> = conn
            .prepare_cached("SELECT kind, snapshot FROM docs WHERE doc_id = ?1")?
            .query_row([doc_id], |r| Ok((r.get(0)?, r.get(1)?)))
            .optional()?;
        row.map(|(kind, snap)| {
            RecordKind::parse(&kind)
                .map(|k| (k, snap))
                .ok_or_else(|| Error::Refused(format!("unknown record kind {kind}")))
        })
        .transpose()
    }

    fn load_kind(&self, doc_id: &str, want: RecordKind) -> Result<Automerge> {
        match Store::load(&self.conn, doc_id)? {
            Some((k, doc)) if k == want => Ok(doc),
            _ => Err(Error::NotFound {
                kind: want.as_str(),
                id: doc_id.to_string(),
            }),
        }
    }

    /// Run one user action on one document as one commit in one SQLite transaction.
    /// `f` describes what it changed; an empty description with no operations writes nothing.
    /// Returns the new change's hash, or `None` when nothing changed.
    fn write<F>(
        &mut self,
        doc_id: &str,
        kind: RecordKind,
        create: bool,
        f: F,
    ) -> Result<Option<String>>
    where
        F: FnOnce(&mut Transaction<'_>, &Actor) -> Result<Vec<String>>,
    {
        let judge = self.clock.judge();
        self.write_judged(doc_id, kind, create, judge, f)
    }

    /// [`Store::write`], its effect judged with `judge` (a resolve settles by field).
    fn write_judged<F>(
        &mut self,
        doc_id: &str,
        kind: RecordKind,
        create: bool,
        judge: validate::Clock,
        f: F,
    ) -> Result<Option<String>>
    where
        F: FnOnce(&mut Transaction<'_>, &Actor) -> Result<Vec<String>>,
    {
        let who = self.actor();
        let writer = self.writer()?;
        // An import in this process lets this edit go between two of its chunks.
        let waiting = inbound::WaitingWrite::new();
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        drop(waiting);
        // Load inside the write lock: another process may have written since we last looked.
        let existing = Store::load(&tx, doc_id)?;
        let mut doc = match (existing, create) {
            (Some(_), true) => {
                return Err(Error::Refused(format!(
                    "a record with id {doc_id} already exists"
                )))
            }
            (None, false) => {
                return Err(Error::NotFound {
                    kind: kind.as_str(),
                    id: doc_id.to_string(),
                })
            }
            (Some((k, _)), false) if k != kind => {
                return Err(Error::NotFound {
                    kind: kind.as_str(),
                    id: doc_id.to_string(),
                })
            }
            (Some((_, d)), false) => d,
            (None, true) => Automerge::new(),
        }
        .with_actor(self.actor.clone());
        let before = (!create).then(|| doc.clone());
        let note = |log: &Vec<String>| {
            let note = ChangeNote {
                by: who.officer.clone(),
                device: self.device.device_id.clone(),
                at: who.clock.stamp(who.now),
                msg: log.join(", "),
            };
            automerge::transaction::CommitOptions::default()
                .with_message(serde_json::to_string(&note).unwrap_or_default())
                .with_time(who.now.timestamp())
        };
        let done = doc
            .transact_with(note, |t| f(t, &who))
            .map_err(|failure| failure.error)?;
        let Some(hash) = done.hash else {
            return Ok(None);
        };
        // The one policy, on the effect of this commit: what the endpoint will judge at the push.
        mrm_crdt::effect::check(&writer, kind, before.as_ref(), &doc, &judge)?;
        let change = doc
            .get_change_by_hash(&hash)
            .ok_or_else(|| Error::Refused("the new change vanished".into()))?;
        // One size limit, checked here where the work is made (mrm_crdt::limits).
        let size = change.raw_bytes().len();
        if size > mrm_crdt::limits::MAX_CHANGE_BYTES {
            return Err(mrm_crdt::limits::too_large(
                kind.as_str(),
                "change",
                size,
                mrm_crdt::limits::MAX_CHANGE_BYTES,
            ));
        }
        let prepared = projection::Prepared::from_doc(&doc, kind)?;
        if prepared.snapshot.len() > mrm_crdt::limits::MAX_RECORD_BYTES {
            return Err(mrm_crdt::limits::too_large(
                kind.as_str(),
                "record",
                prepared.snapshot.len(),
                mrm_crdt::limits::MAX_RECORD_BYTES,
            ));
        }
        exchange::append_change(&tx, doc_id, &change, true)?;
        projection::save_prepared(&tx, doc_id, &prepared)?;
        tx.commit()?;
        Ok(Some(hash.to_string()))
    }

    fn check_patrol_exists(&self, patch: &IncidentPatch) -> Result<()> {
        if let Some(Some(p)) = &patch.patrol_id {
            let found: bool = self.conn.query_row(
                "SELECT EXISTS (SELECT 1 FROM docs WHERE doc_id = ?1 AND kind = 'patrol')",
                [p],
                |r| r.get(0),
            )?;
            if !found {
                return Err(Error::invalid(
                    "incident",
                    "patrol_id",
                    format!("no patrol with id {p} in this store"),
                ));
            }
        }
        Ok(())
    }

    /// The admin areas `patch` writes, against the mission's configuration once it has arrived
    /// ([`validate::admin_areas_written`]; `current`: the record's province before the edit).
    fn check_admin_areas(&self, patch: &IncidentPatch, current: &str) -> Result<()> {
        let Some(loc) = &patch.location else {
            return Ok(());
        };
        if loc.admin1.is_none() && loc.admin2.is_none() {
            return Ok(());
        }
        match self.mission_config()? {
            Some(cfg) => validate::admin_areas_written(loc, current, &cfg),
            None => Ok(()),
        }
    }

    /// Record a new incident; returns its id.
    pub fn add_incident(&mut self, patch: &IncidentPatch) -> Result<String> {
        let id = patch
            .id
            .clone()
            .unwrap_or_else(|| uuid::Uuid::now_v7().to_string());
        if !validate::is_uuid(&id) {
            return Err(Error::invalid(
                "incident",
                "id",
                format!("`{id}` is not a UUID"),
            ));
        }
        if !patch.remove.is_empty() {
            return Err(Error::invalid(
                "incident",
                "remove",
                "has nothing to remove in a new incident",
            ));
        }
        self.check_patrol_exists(patch)?;
        self.check_admin_areas(patch, "")?;
        let patch = &*self.link_parties(patch)?;
        let team = patch
            .team
            .clone()
            .unwrap_or_else(|| self.device.team.clone());
        self.write(&id, RecordKind::Incident, true, |t, who| {
            edit::init_incident(t, &id, &team, who)?;
            edit::apply_incident_patch(t, patch, who)?;
            Ok(vec!["recorded the incident".to_string()])
        })?;
        Ok(id)
    }

    /// Apply a partial edit; returns the change hash, or `None` when nothing changed.
    pub fn edit_incident(&mut self, id: &str, patch: &IncidentPatch) -> Result<Option<String>> {
        if patch.id.as_deref().is_some_and(|p| p != id) {
            return Err(Error::invalid("incident", "id", "cannot be changed"));
        }
        self.check_patrol_exists(patch)?;
        if patch
            .location
            .as_ref()
            .is_some_and(|l| l.admin1.is_none() && l.admin2.is_some())
        {
            let current = self.incident(id)?.location.admin1;
            self.check_admin_areas(patch, &current)?;
        } else {
            self.check_admin_areas(patch, "")?;
        }
        let patch = &*self.link_parties(patch)?;
        self.write(id, RecordKind::Incident, false, |t, who| {
            edit::apply_incident_patch(t, patch, who)
        })
    }

    /// Append a verification event to a violation.
    pub fn verify(
        &mut self,
        incident_id: &str,
        violation_id: &str,
        event: &EventInput,
    ) -> Result<String> {
        // A reviewer's event replaces the current rulings; an officer's never does (and an
        // officer's decision is refused by the policy in `write`).
        let rule = matches!(
            self.role()?,
            Some(mrm_crdt::policy::Role::Reviewer | mrm_crdt::policy::Role::TaskForce)
        ) || event.status.is_decision();
        let judge = self.clock.judge();
        let hash = self.write(incident_id, RecordKind::Incident, false, |t, who| {
            if let Some(at) = &event.at {
                validate::typed_event_time(&document::read_incident(&*t)?, at, &judge)?;
            }
            let msg = edit::add_verification(t, violation_id, event, who, rule)?;
            Ok(vec![msg])
        })?;
        hash.ok_or_else(|| Error::Refused("the verification was not recorded".into()))
    }

    /// A review workflow step (submit, return to field, accept, or just a comment).
    pub fn review(
        &mut self,
        incident_id: &str,
        action: ReviewAction,
        comment: Option<&str>,
    ) -> Result<String> {
        // Say who may before saying what the workflow allows: an officer asking to accept a
        // draft learns that accepting is a reviewer's decision, not that drafts wait.
        let decision = match action {
            ReviewAction::Accept => Some(ReviewState::Accepted),
            ReviewAction::Return => Some(ReviewState::Returned),
            ReviewAction::Submit | ReviewAction::Comment => None,
        };
        if let Some(to) = decision {
            mrm_crdt::policy::may_set_review_state(&self.writer()?, ReviewState::Submitted, to)?;
        }
        let hash = self.write(incident_id, RecordKind::Incident, false, |t, who| {
            let n = document::read_incident(&*t)?.violations.len();
            Ok(vec![edit::review(t, action, comment, n, who)?])
        })?;
        hash.ok_or_else(|| Error::Refused("nothing to record".into()))
    }

    /// Write a chosen value at a field path (typically one listed in the record's conflicts),
    /// replacing every concurrent value there.
    pub fn resolve(
        &mut self,
        id: &str,
        path: &str,
        value: &serde_json::Value,
    ) -> Result<Option<String>> {
        let kind = match Store::load(&self.conn, id)? {
            Some((k, _)) => k,
            None => {
                return Err(Error::NotFound {
                    kind: "record",
                    id: id.to_string(),
                })
            }
        };
        match kind {
            RecordKind::Incident => {
                if path == "review.state" {
                    let state: ReviewState = serde_json::from_value(value.clone())?;
                    return self.write(id, kind, false, |t, _| {
                        edit::resolve_review_state(t, state)?;
                        Ok(vec!["resolved review state".to_string()])
                    });
                }
                let patch: IncidentPatch =
                    serde_json::from_value(exchange::path_to_patch(path, value)?)
                        .map_err(|e| Error::invalid("incident", path, e.to_string()))?;
                let judge = validate::Clock {
                    settling: true,
                    ..self.clock.judge()
                };
                self.write_judged(id, kind, false, judge, |t, who| {
                    edit::apply_incident_patch(t, &patch, who)?;
                    Ok(vec![format!("resolved {path}")])
                })
            }
            RecordKind::Config => Err(Error::Refused(
                "the mission configuration is set on the sync endpoint (`mrm admin config set`)"
                    .into(),
            )),
            RecordKind::Registry => Err(Error::Refused(
                "the device registry is kept by the sync endpoint (`mrm admin device`)".into(),
            )),
            RecordKind::Period => Err(Error::Denied(mrm_crdt::policy::Denial::Immutable {
                field: "closed period",
            })),
            RecordKind::Activity(a) => {
                // Conflicts name document keys; the engagement's `kind` is kept apart.
                let field = if path == "engagement_kind" {
                    "kind"
                } else {
                    path
                };
                let patch = exchange::path_to_patch(field, value)?;
                self.write(id, kind, false, |t, _| {
                    mrm_crdt::activity::apply(t, a, &patch)?;
                    Ok(vec![format!("resolved {field}")])
                })
            }
            RecordKind::Patrol => {
                let patch: PatrolPatch =
                    serde_json::from_value(exchange::path_to_patch(path, value)?)
                        .map_err(|e| Error::invalid("patrol", path, e.to_string()))?;
                self.write(id, kind, false, |t, _| {
                    edit::apply_patrol_patch(t, &patch)?;
                    Ok(vec![format!("resolved {path}")])
                })
            }
        }
    }

    /// Start (record) a patrol; returns its id.
    pub fn add_patrol(&mut self, patch: &PatrolPatch) -> Result<String> {
        let id = patch
            .id
            .clone()
            .unwrap_or_else(|| uuid::Uuid::now_v7().to_string());
        if !validate::is_uuid(&id) {
            return Err(Error::invalid(
                "patrol",
                "id",
                format!("`{id}` is not a UUID"),
            ));
        }
        let team = patch
            .team
            .clone()
            .unwrap_or_else(|| self.device.team.clone());
        self.write(&id, RecordKind::Patrol, true, |t, who| {
            edit::init_patrol(t, &id, &team, who)?;
            edit::apply_patrol_patch(t, patch)?;
            Ok(vec!["started the patrol".to_string()])
        })?;
        Ok(id)
    }

    /// Edit a patrol (ending it is setting `ended_at`).
    pub fn edit_patrol(&mut self, id: &str, patch: &PatrolPatch) -> Result<Option<String>> {
        if patch.id.as_deref().is_some_and(|p| p != id) {
            return Err(Error::invalid("patrol", "id", "cannot be changed"));
        }
        self.write(id, RecordKind::Patrol, false, |t, _| {
            edit::apply_patrol_patch(t, patch)
        })
    }

    /// An incident as stored.
    pub fn incident(&self, id: &str) -> Result<Incident> {
        document::read_incident(&self.load_kind(id, RecordKind::Incident)?)
    }

    /// An incident with derived statuses and conflicts.
    pub fn incident_view(&self, id: &str) -> Result<IncidentView> {
        let doc = self.load_kind(id, RecordKind::Incident)?;
        // One pass over the document gives the incident and where its conflicts are.
        let (j, flagged) = document::to_json_flagged(&doc);
        let mut incident = document::incident_from(&doc, &j)?;
        let created_by_declared = self.name_authors(&mut incident, &doc)?;
        let status = incident
            .violations
            .iter()
            .map(|v| ViolationStatus {
                violation_id: v.id.clone(),
                status: v.status(),
                late: projection::is_late(&incident, v),
                contested: v.contested(),
                withdrawn: !v.is_live(),
                withdrawal_contested: v.withdrawal_contested(),
            })
            .collect();
        let conflicts = mrm_crdt::conflicts::from_flagged(&doc, flagged);
        // Others' stamps are judged as the endpoint judges them: a day's clock difference is
        // theirs to have, not a problem of the record.
        let judge = validate::Clock {
            skew: chrono::Duration::days(1),
            ..self.clock.judge()
        };
        let mut attention = validate::incident_attention(&incident, &judge);
        if mrm_crdt::split::recorded_twice(&doc) {
            let mut who: Vec<String> = doc
                .get_all(automerge::ROOT, "created_by")
                .unwrap_or_default()
                .into_iter()
                .map(|(v, _)| match v {
                    automerge::Value::Scalar(s) => s.as_str().unwrap_or_default().to_string(),
                    _ => String::new(),
                })
                .collect();
            who.dedup();
            attention.push(mrm_crdt::error::FieldError {
                field: "id".into(),
                message: format!(
                    "recorded twice under this id, apart ({}): two incidents merged into one \
                     record; a reviewer splits them with `mrm incident split {}`",
                    who.join(" and "),
                    incident.id
                ),
                code: Some("recorded_twice"),
                params: [("who", who.join(", "))].into_iter().collect(),
            });
        }
        let late = mrm_crdt::split::late_changes(&doc);
        if late > 0 {
            let into: Vec<&str> = incident
                .split_off
                .iter()
                .map(|s| s.record.as_str())
                .collect();
            attention.push(mrm_crdt::error::FieldError {
                field: "id".into(),
                message: format!(
                    "{late} change(s) were made on an incident split out of this record without \
                     seeing the split; they are in this record's history, not in {}: a reviewer \
                     should record them there",
                    into.join(", ")
                ),
                code: Some("split_late_changes"),
                params: [("n", late.to_string()), ("into", into.join(", "))]
                    .into_iter()
                    .collect(),
            });
        }
        Ok(IncidentView {
            status,
            attention,
            conflicts,
            heads: heads_hex(&doc.get_heads()),
            incident,
            created_by_declared,
        })
    }

    /// A patrol as stored.
    pub fn patrol(&self, id: &str) -> Result<Patrol> {
        document::read_patrol(&self.load_kind(id, RecordKind::Patrol)?)
    }

    /// The mission configuration, once it has arrived from the sync endpoint.
    pub fn mission_config(&self) -> Result<Option<mrm_crdt::model::MissionConfig>> {
        match Store::load(&self.conn, document::CONFIG_ID)? {
            Some((RecordKind::Config, doc)) => Ok(Some(document::read_config(&doc)?)),
            _ => Ok(None),
        }
    }

    /// What in an incident the mission configuration does not know (an unlisted party or admin
    /// area). Warnings, not errors: a patrol may meet a new armed group before the list is updated.
    pub fn warnings(&self, incident: &Incident) -> Result<Vec<mrm_crdt::error::FieldError>> {
        Ok(match self.mission_config()? {
            Some(cfg) => validate::against_config(incident, &cfg),
            None => Vec::new(),
        })
    }

    /// A record's history in causal order.
    pub fn history(&self, id: &str) -> Result<Vec<HistoryEntry>> {
        match Store::load(&self.conn, id)? {
            Some((_, doc)) => Ok(history(&doc, &self.registry()?)),
            None => Err(Error::NotFound {
                kind: "record",
                id: id.to_string(),
            }),
        }
    }

    /// A record's conflicts.
    pub fn conflicts(&self, id: &str) -> Result<Vec<Conflict>> {
        match Store::load(&self.conn, id)? {
            Some((_, doc)) => Ok(conflicts(&doc)),
            None => Err(Error::NotFound {
                kind: "record",
                id: id.to_string(),
            }),
        }
    }

    /// Ids of every record, with their kind.
    pub fn record_ids(&self) -> Result<Vec<(String, RecordKind)>> {
        let mut stmt = self
            .conn
            .prepare("SELECT doc_id, kind FROM docs ORDER BY doc_id")?;
        let rows = stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))?;
        let mut out = Vec::new();
        for row in rows {
            let (id, kind) = row?;
            if let Some(k) = RecordKind::parse(&kind) {
                out.push((id, k));
            }
        }
        Ok(out)
    }

    /// Number of changes in the log.
    pub fn change_count(&self) -> Result<i64> {
        Ok(self
            .conn
            .query_row("SELECT COUNT(*) FROM changes", [], |r| r.get(0))?)
    }

    /// Hashes of every change in the log.
    pub fn change_hashes(&self) -> Result<Vec<String>> {
        let mut stmt = self
            .conn
            .prepare("SELECT hash FROM changes ORDER BY hash")?;
        let rows = stmt.query_map([], |r| r.get(0))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// The role this store is enrolled with, if enrolled.
    fn role(&self) -> Result<Option<mrm_crdt::protocol::Role>> {
        Ok(self.sync_state()?.map(|s| s.role))
    }

    /// Who this store writes as: its enrolled role and team, or an unenrolled store of its team.
    pub fn writer(&self) -> Result<mrm_crdt::policy::Writer> {
        use mrm_crdt::policy::Writer;
        let team = self.device.team.clone();
        Ok(match self.role()? {
            Some(role) => Writer::enrolled(role, team),
            None => Writer::unenrolled(team),
        })
    }

    pub(crate) fn conn(&self) -> &Connection {
        &self.conn
    }
}

/// Hex heads, sorted.
pub fn heads_hex(heads: &[ChangeHash]) -> Vec<String> {
    let mut v: Vec<String> = heads.iter().map(ChangeHash::to_string).collect();
    v.sort();
    v
}

/// Whether a document read back is the record it claims to be.
pub(crate) fn doc_id_matches<R: ReadDoc>(doc: &R, doc_id: &str) -> bool {
    matches!(doc.get(automerge::ROOT, "id"), Ok(Some((automerge::Value::Scalar(s), _))) if s.as_str() == Some(doc_id))
}
