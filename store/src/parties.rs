//! The party registry on the device ([`mrm_crdt::parties`]): a typed party name matched to the
//! registry's id when an incident is written, the names no party of the registry goes by (for a
//! reviewer to match or to have added), and reports counting a party once.

use std::borrow::Cow;

use mrm_crdt::error::Result;
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
