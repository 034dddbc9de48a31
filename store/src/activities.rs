//! Releases, trainings and engagements on the device ([`mrm_crdt::activity`]): recorded,
//! edited and read through the one write path, like incidents and patrols.
//!
//! They are not projected into tables: a mission records hundreds a year, not the tens of
//! thousands of incidents a caseload holds, so a list or a figure reads their documents.

use mrm_crdt::activity::{self, Activity, ActivityKind};
pub use mrm_crdt::activity_figures::ActivityFigures;
use mrm_crdt::document::RecordKind;
use mrm_crdt::error::{Error, Result};
use mrm_crdt::validate;

use super::Store;

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

    /// The figures of the activities dated from `from` to `to` (`YYYY-MM-DD`, inclusive), by
    /// [`mrm_crdt::activity_figures::tally`].
    ///
    /// Errors: [`Error::Database`] when the store cannot be read.
    pub fn activity_figures(&self, from: &str, to: &str) -> Result<ActivityFigures> {
        let mut all = Vec::new();
        for kind in ActivityKind::ALL {
            all.extend(self.activities(kind)?);
        }
        Ok(mrm_crdt::activity_figures::tally(&all, from, to))
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
