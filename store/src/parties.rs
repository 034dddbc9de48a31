//! The party registry on the device ([`mrm_crdt::parties`]): a typed party name matched to the
//! registry's id when an incident is written, the names no party of the registry goes by (for a
//! reviewer to match or to have added), and reports counting a party once.

use std::borrow::Cow;

use mrm_crdt::error::{Error, Result};
use mrm_crdt::input::IncidentPatch;
use mrm_crdt::parties::{self, Party};
use mrm_crdt::report::{nfc, Counted};
use serde::Serialize;

use super::Store;

/// A party name written in violations that the registry does not know.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UnmatchedParty {
    /// As written (in NFC).
    pub name: String,
    /// Live violations naming it, and their incidents.
    pub violations: i64,
    pub incidents: i64,
}

/// What matching a party name did ([`Store::match_party`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PartyMatch {
    /// The registry's id the name now points to.
    pub party_id: String,
    /// Violations matched, and the incidents written (one change each).
    pub violations: i64,
    pub incidents: Vec<String>,
    /// Incidents this device could not write, with the refusal's code (`denied` codes of the
    /// policy, `invalid`, ...) and its message: the rest are matched all the same.
    pub refused: Vec<MatchRefusal>,
}

/// An incident [`Store::match_party`] left unmatched, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MatchRefusal {
    pub incident_id: String,
    pub code: String,
    pub message: String,
}

impl Store {
    /// The mission's party registry (empty until the administrators set one).
    pub fn party_registry(&self) -> Result<Vec<Party>> {
        Ok(self
            .mission_config()?
            .map(|c| c.party_registry)
            .unwrap_or_default())
    }

    /// `patch` with each violation's typed party matched to the registry's id (`party_id`),
    /// unless the patch gives one itself (a reviewer matching by hand): a known name or alias
    /// gets its party's id, an unknown one none. Unchanged without a registry.
    pub(crate) fn link_parties<'a>(
        &self,
        patch: &'a IncidentPatch,
    ) -> Result<Cow<'a, IncidentPatch>> {
        let named = patch
            .violations
            .iter()
            .flatten()
            .any(|v| v.perpetrator.as_ref().is_some_and(|p| p.party.is_some()));
        if !named {
            return Ok(Cow::Borrowed(patch));
        }
        let registry = self.party_registry()?;
        if registry.is_empty() {
            return Ok(Cow::Borrowed(patch));
        }
        let mut linked = patch.clone();
        for v in linked.violations.iter_mut().flatten() {
            if let Some(p) = v.perpetrator.as_mut() {
                if let (Some(name), None) = (&p.party, &p.party_id) {
                    p.party_id =
                        Some(parties::resolve(&registry, None, name).map(|q| q.id.clone()));
                }
            }
        }
        Ok(Cow::Owned(linked))
    }

    /// The party names written in live violations that the registry does not know (neither
    /// matched to a party nor any party's name or alias), most used first: what a reviewer
    /// matches, or asks the administrators to add. Empty without a registry.
    pub fn unmatched_parties(&self) -> Result<Vec<UnmatchedParty>> {
        let registry = self.party_registry()?;
        if registry.is_empty() {
            return Ok(Vec::new());
        }
        let index = parties::Index::new(&registry);
        let mut stmt = self.conn().prepare_cached(
            "SELECT party, party_id, COUNT(*), COUNT(DISTINCT incident_id) FROM violations
             WHERE party != '' GROUP BY party, party_id",
        )?;
        let rows = stmt.query_map([], |r| {
            Ok((
                r.get::<_, Option<String>>(1)?,
                UnmatchedParty {
                    name: r.get(0)?,
                    violations: r.get(2)?,
                    incidents: r.get(3)?,
                },
            ))
        })?;
        let mut out: Vec<UnmatchedParty> = Vec::new();
        for row in rows {
            let (party_id, row) = row?;
            if index.find(party_id.as_deref(), &row.name).is_some() {
                continue;
            }
            // Spellings that differ only in Unicode form are one name.
            let name = nfc(&row.name);
            match out.iter_mut().find(|u| u.name == name) {
                Some(u) => {
                    u.violations += row.violations;
                    u.incidents += row.incidents;
                }
                None => out.push(UnmatchedParty { name, ..row }),
            }
        }
        out.sort_by(|a, b| b.violations.cmp(&a.violations).then(a.name.cmp(&b.name)));
        Ok(out)
    }

    /// Match every live violation that names the unknown party `name` (compared in NFC) to the
    /// registry's party `party_id`: a reviewer's answer to [`Store::unmatched_parties`]. Each
    /// incident is one write through the usual path (policy, validation, history), so a record
    /// this device may not change is listed in [`PartyMatch::refused`] and the others are
    /// matched. Names the registry already knows are never moved to another party.
    ///
    /// Errors: [`Error::Denied`] (`party_match_by_non_reviewer`) for an officer's or an
    /// administrator's device; [`Error::Invalid`] when the registry has no party `party_id`;
    /// [`Error::Database`] when the store cannot be read.
    pub fn match_party(&mut self, name: &str, party_id: &str) -> Result<PartyMatch> {
        mrm_crdt::policy::may_match_parties(&self.writer()?)?;
        let registry = self.party_registry()?;
        if !registry.iter().any(|p| p.id == party_id) {
            return Err(Error::invalid(
                "party",
                "party_id",
                format!(
                    "the mission's registry has no party `{}` (`mrm party list`)",
                    party_id.chars().take(40).collect::<String>()
                ),
            ));
        }
        let index = parties::Index::new(&registry);
        let wanted = nfc(name.trim());
        let mut by_incident: std::collections::BTreeMap<String, Vec<String>> = Default::default();
        {
            let mut stmt = self.conn().prepare_cached(
                "SELECT id, incident_id, party, party_id FROM violations WHERE party != ''",
            )?;
            let rows = stmt.query_map([], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, Option<String>>(3)?,
                ))
            })?;
            for row in rows {
                let (vid, incident, party, pid) = row?;
                if nfc(&party) == wanted && index.find(pid.as_deref(), &party).is_none() {
                    by_incident.entry(incident).or_default().push(vid);
                }
            }
        }
        let mut out = PartyMatch {
            party_id: party_id.to_string(),
            violations: 0,
            incidents: Vec::new(),
            refused: Vec::new(),
        };
        for (incident, vids) in by_incident {
            let patch = serde_json::json!({"violations": vids.iter().map(|v| serde_json::json!(
                {"id": v, "perpetrator": {"party_id": party_id}})).collect::<Vec<_>>()});
            let written = serde_json::from_value::<IncidentPatch>(patch)
                .map_err(|e| Error::Refused(e.to_string()))
                .and_then(|p| self.edit_incident(&incident, &p));
            match written {
                Ok(_) => {
                    out.violations += vids.len() as i64;
                    out.incidents.push(incident);
                }
                Err(Error::Database(e)) => return Err(Error::Database(e)),
                Err(e) => out.refused.push(MatchRefusal {
                    incident_id: incident,
                    code: refusal_code(&e).to_string(),
                    message: e.to_string(),
                }),
            }
        }
        Ok(out)
    }

    /// Count each violation under its party's current name and category: by the id it was
    /// matched to, else by the name or alias it was typed with, after mergers. A renamed party
    /// is counted once; a name the registry does not know is counted as written.
    pub(crate) fn canonical_parties(&self, rows: &mut [Counted]) -> Result<()> {
        let registry = self.party_registry()?;
        if registry.is_empty() {
            return Ok(());
        }
        let index = parties::Index::new(&registry);
        for v in rows {
            if let Some(p) = index.find(v.party_id.as_deref(), &v.party) {
                v.party = nfc(&p.name);
                v.category = p.category.perpetrator();
            }
        }
        Ok(())
    }
}

/// The stable code of a refusal a match reports per incident.
fn refusal_code(e: &Error) -> &'static str {
    match e {
        Error::Denied(d) => d.code(),
        Error::Invalid { .. } | Error::UnknownValue { .. } => "invalid",
        Error::NotFound { .. } => "not_found",
        Error::TooLarge(_) => "too_large",
        _ => "refused",
    }
}
