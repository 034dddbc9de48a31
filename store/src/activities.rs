//! Releases, trainings and engagements on the device ([`mrm_crdt::activity`]): recorded,
//! edited and read through the one write path, like incidents and patrols.
//!
//! They are not projected into tables: a mission records hundreds a year, not the tens of
//! thousands of incidents a caseload holds, so a list or a figure reads their documents.

use mrm_crdt::activity::{self, Activity, ActivityKind};
use mrm_crdt::document::RecordKind;
use mrm_crdt::error::{Error, Result};
use mrm_crdt::validate;
use serde::Serialize;

use super::Store;

/// The year's figures of the section's work beside the violations, for the dashboard: children
/// released (by sex, and the instruments they were released under), people trained (by sex,
/// and how many trainings of trainers), engagements with parties (advocacy and negotiation).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ActivityFigures {
    pub releases: i64,
    pub released_boys: i64,
    pub released_girls: i64,
    pub released_sex_unknown: i64,
    /// Releases by instrument (`action_plan`, `unilateral_declaration`, ...).
    pub released_by_instrument: std::collections::BTreeMap<String, i64>,
    pub trainings: i64,
    pub trained_male: i64,
    pub trained_female: i64,
    pub trained_unknown: i64,
    pub trainings_of_trainers: i64,
    pub engagements: i64,
    pub advocacy: i64,
    pub negotiations: i64,
}

impl Store {
    /// Record a release, a training or an engagement (`patch`: a JSON object of its kind's
    /// fields, `id` optional, `team` this device's by default); returns its id.
    ///
    /// Errors: [`Error::Invalid`] naming each field and why; [`Error::Denied`] when this
    /// device's role may not record it.
    pub fn add_activity(
        &mut self,
        kind: ActivityKind,
        patch: &serde_json::Value,
    ) -> Result<String> {
        let id = match patch.get("id") {
            None | Some(serde_json::Value::Null) => uuid::Uuid::now_v7().to_string(),
            Some(serde_json::Value::String(s)) if validate::is_uuid(s) => s.clone(),
            Some(other) => {
                return Err(Error::invalid(
                    kind.as_str(),
                    "id",
                    format!("`{other}` is not a UUID"),
                ))
            }
        };
        let team = match patch.get("team").and_then(|t| t.as_str()) {
            Some(t) => t.to_string(),
            None => self.device.team.clone(),
        };
        self.write(&id, RecordKind::Activity(kind), true, |t, who| {
            activity::init(t, kind, &id, &team, who)?;
            activity::apply(t, kind, patch)?;
            Ok(vec![format!("recorded the {kind}")])
        })?;
        Ok(id)
    }

    /// Edit an activity: the fields given are set, `null` clears one. Returns the change's
    /// hash, `None` when nothing changed.
    ///
    /// Errors: [`Error::NotFound`] when no activity has this id; as [`Store::add_activity`].
    pub fn edit_activity(&mut self, id: &str, patch: &serde_json::Value) -> Result<Option<String>> {
        let kind = self.activity_kind(id)?;
        if patch
            .get("id")
            .and_then(|p| p.as_str())
            .is_some_and(|p| p != id)
        {
            return Err(Error::invalid(kind.as_str(), "id", "cannot be changed"));
        }
        self.write(id, RecordKind::Activity(kind), false, |t, _| {
            activity::apply(t, kind, patch)
        })
    }

    /// An activity as stored.
    ///
    /// Errors: [`Error::NotFound`] when no activity has this id.
    pub fn activity(&self, id: &str) -> Result<Activity> {
        let kind = self.activity_kind(id)?;
        activity::read(&self.load_kind(id, RecordKind::Activity(kind))?, kind)
    }

    /// The activities of `kind` this store holds, latest first (by date, then id). A record
    /// that cannot be read is left out of the list, never the cause of an error.
    pub fn activities(&self, kind: ActivityKind) -> Result<Vec<Activity>> {
        let mut stmt = self
            .conn()
            .prepare_cached("SELECT doc_id, snapshot FROM docs WHERE kind = ?1")?;
        let rows = stmt.query_map([kind.as_str()], |r| {
            Ok((r.get::<_, String>(0)?, r.get::<_, Vec<u8>>(1)?))
        })?;
        let mut out = Vec::new();
        for row in rows {
            let (_, snap) = row?;
            let Ok(doc) = automerge::Automerge::load(&snap) else {
                continue;
            };
            if let Ok(a) = activity::read(&doc, kind) {
                out.push(a);
            }
        }
        out.sort_by(|a, b| (b.text("date"), &b.id).cmp(&(a.text("date"), &a.id)));
        Ok(out)
    }

    /// The figures of the activities dated from `from` to `to` (`YYYY-MM-DD`, inclusive).
    pub fn activity_figures(&self, from: &str, to: &str) -> Result<ActivityFigures> {
        let mut f = ActivityFigures::default();
        let inside = |a: &Activity| (from..=to).contains(&a.text("date"));
        for a in self
            .activities(ActivityKind::Release)?
            .iter()
            .filter(|a| inside(a))
        {
            // Saturating: a stored count is bounded when written, but a figure must never panic.
            let children = a
                .count("boys")
                .saturating_add(a.count("girls"))
                .saturating_add(a.count("sex_unknown"));
            f.releases += 1;
            f.released_boys = f.released_boys.saturating_add(a.count("boys"));
            f.released_girls = f.released_girls.saturating_add(a.count("girls"));
            f.released_sex_unknown = f
                .released_sex_unknown
                .saturating_add(a.count("sex_unknown"));
            let by = f
                .released_by_instrument
                .entry(a.text("instrument").to_string())
                .or_default();
            *by = by.saturating_add(children);
        }
        for a in self
            .activities(ActivityKind::Training)?
            .iter()
            .filter(|a| inside(a))
        {
            let [m, w, u] = a.by_sex("participants");
            f.trainings += 1;
            f.trained_male = f.trained_male.saturating_add(m);
            f.trained_female = f.trained_female.saturating_add(w);
            f.trained_unknown = f.trained_unknown.saturating_add(u);
            if a.fields.get("training_of_trainers") == Some(&serde_json::Value::Bool(true)) {
                f.trainings_of_trainers += 1;
            }
        }
        for a in self
            .activities(ActivityKind::Engagement)?
            .iter()
            .filter(|a| inside(a))
        {
            f.engagements += 1;
            match a.text("kind") {
                "advocacy" => f.advocacy += 1,
                "negotiation" => f.negotiations += 1,
                _ => {}
            }
        }
        Ok(f)
    }

    fn activity_kind(&self, id: &str) -> Result<ActivityKind> {
        let kind: Option<String> = self
            .conn()
            .prepare_cached("SELECT kind FROM docs WHERE doc_id = ?1")?
            .query_row([id], |r| r.get(0))
            .ok();
        kind.as_deref()
            .and_then(ActivityKind::parse)
            .ok_or_else(|| Error::NotFound {
                kind: "activity",
                id: id.to_string(),
            })
    }
}
