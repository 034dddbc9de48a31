//! The mission's party registry (docs/domain.md, "Parties to conflict"): each party to
//! conflict with a stable id, its category, the names it went by, its listing in the annexes
//! of the Secretary-General's annual report, its action plan, and its splits and mergers.
//!
//! A violation names its perpetrator as typed (`perpetrator.party`) and, once the name is
//! matched, by the registry's id (`perpetrator.party_id`): a store matches a typed name or alias
//! when it writes, a reviewer matches the names the registry does not know, and reports count a
//! party once under its current name whatever name each record used.
//!
//! Kept in the mission configuration, written by its administrators only: one JSON value in the
//! configuration document, read strictly.

use serde::{Deserialize, Serialize};

use crate::report::nfc;

/// What kind of party (the annexes' distinction).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PartyCategory {
    StateArmedForce,
    NonStateArmedGroup,
    Other,
}

impl PartyCategory {
    /// The perpetrator category a violation of this party counts under.
    pub fn perpetrator(self) -> crate::model::PerpetratorCategory {
        use crate::model::PerpetratorCategory as P;
        match self {
            PartyCategory::StateArmedForce => P::ArmedForce,
            PartyCategory::NonStateArmedGroup => P::ArmedGroup,
            PartyCategory::Other => P::Unknown,
        }
    }
}

/// The violations a party is listed for in the annexes of the Secretary-General's annual report
/// on children and armed conflict.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AnnexTrigger {
    RecruitmentUse,
    KillingMaiming,
    SexualViolence,
    AttacksSchoolsHospitals,
    Abduction,
}

/// Where a party's action plan stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ActionPlanStatus {
    Signed,
    InProgress,
    Completed,
    Suspended,
}

/// An action plan signed with the United Nations.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ActionPlan {
    /// `YYYY-MM-DD`.
    pub signed_on: String,
    pub status: ActionPlanStatus,
    #[serde(default)]
    pub commitments: String,
}

/// One party to conflict.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Party {
    /// Stable: letters, digits, `-` and `_`, at most 64 (`fardc`, `group-alpha`).
    pub id: String,
    /// The name it goes by now.
    pub name: String,
    pub category: PartyCategory,
    /// Other names and spellings, former names included: a violation typed with one counts
    /// under this party.
    #[serde(default)]
    pub aliases: Vec<String>,
    /// The annexes it is listed in, by trigger.
    #[serde(default)]
    pub listed_for: Vec<AnnexTrigger>,
    #[serde(default)]
    pub action_plan: Option<ActionPlan>,
    /// The party it split from (its id).
    #[serde(default)]
    pub split_from: Option<String>,
    /// The party it merged into (its id): its violations count under that one.
    #[serde(default)]
    pub merged_into: Option<String>,
}

/// Case, accents written two ways and outer spaces never make two parties.
fn key(name: &str) -> String {
    nfc(name.trim()).to_lowercase()
}

/// The most parties a registry holds, and the most other names a party has: a mission deals
/// with tens; the bound keeps a hostile configuration from costing every report.
pub const MAX_PARTIES: usize = 1_000;
pub const MAX_ALIASES: usize = 50;

/// Whether `id` is a party id: letters, digits, `-` and `_`, 1 to 64 of them.
pub fn is_party_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 64
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

/// A registry indexed for lookups: by name and alias, by id, and each party's party after its
/// mergers, computed once.
pub struct Index<'a> {
    parties: &'a [Party],
    by_name: std::collections::HashMap<String, usize>,
    by_id: std::collections::HashMap<&'a str, usize>,
    counts_as: Vec<usize>,
}

impl<'a> Index<'a> {
    pub fn new(parties: &'a [Party]) -> Self {
        let mut by_name = std::collections::HashMap::new();
        let mut by_id = std::collections::HashMap::new();
        for (i, p) in parties.iter().enumerate() {
            by_id.entry(p.id.as_str()).or_insert(i);
            for n in std::iter::once(&p.name).chain(&p.aliases) {
                by_name.entry(key(n)).or_insert(i);
            }
        }
        let counts_as = (0..parties.len())
            .map(|start| {
                let mut at = start;
                // Bounded: a registry is checked for cycles, but one must never loop.
                for _ in 0..parties.len() {
                    match parties[at]
                        .merged_into
                        .as_deref()
                        .and_then(|m| by_id.get(m))
                    {
                        Some(&next) if next != at => at = next,
                        _ => break,
                    }
                }
                at
            })
            .collect();
        Index {
            parties,
            by_name,
            by_id,
            counts_as,
        }
    }

    /// The party a violation naming `name`, matched to `id`, counts under, after mergers. The
    /// name decides when the registry knows it; the id only for a name it does not (a
    /// reviewer's match), so an id can never move a known name to another party. `None` when
    /// the registry knows neither.
    pub fn find(&self, id: Option<&str>, name: &str) -> Option<&'a Party> {
        let k = key(name);
        let at = (!k.is_empty())
            .then(|| self.by_name.get(&k))
            .flatten()
            .or_else(|| id.and_then(|i| self.by_id.get(i)))?;
        Some(&self.parties[self.counts_as[*at]])
    }
}

/// [`Index::find`] for one lookup.
pub fn resolve<'a>(registry: &'a [Party], id: Option<&str>, name: &str) -> Option<&'a Party> {
    Index::new(registry).find(id, name)
}

/// Why a registry cannot be the mission's: ids well formed and unique, every name and alias
/// naming one party only, `split_from` and `merged_into` naming parties of the registry, no
/// merger cycle, dates real. Errors: [`crate::Error::Invalid`] naming the field.
pub fn check(registry: &[Party]) -> crate::Result<()> {
    let bad = |field: String, why: String| Err(crate::Error::invalid("party registry", field, why));
    if registry.len() > MAX_PARTIES {
        return bad(
            "party_registry".into(),
            format!("holds {} parties (at most {MAX_PARTIES})", registry.len()),
        );
    }
    let mut names: std::collections::BTreeMap<String, &str> = Default::default();
    for (i, p) in registry.iter().enumerate() {
        let at = |f: &str| format!("party_registry[{}].{f}", i + 1);
        if p.aliases.len() > MAX_ALIASES {
            return bad(at("aliases"), format!("has more than {MAX_ALIASES} names"));
        }
        if !is_party_id(&p.id) {
            return bad(
                at("id"),
                format!("`{}` is not an id (letters, digits, - and _)", p.id),
            );
        }
        if registry[..i].iter().any(|q| q.id == p.id) {
            return bad(at("id"), format!("`{}` is used twice", p.id));
        }
        if p.name.trim().is_empty() {
            return bad(at("name"), "is required".into());
        }
        for n in std::iter::once(&p.name).chain(&p.aliases) {
            if n.chars().count() > crate::validate::MAX_SHORT || n.chars().any(char::is_control) {
                return bad(at("aliases"), format!("`{n}` is not a party's name"));
            }
            if let Some(other) = names.insert(key(n), &p.id) {
                if other != p.id {
                    return bad(at("aliases"), format!("`{n}` names {other} already"));
                }
            }
        }
        for (f, link) in [
            ("split_from", &p.split_from),
            ("merged_into", &p.merged_into),
        ] {
            if let Some(l) = link {
                if l == &p.id || !registry.iter().any(|q| &q.id == l) {
                    return bad(at(f), format!("`{l}` is not another party of the registry"));
                }
            }
        }
        if let Some(plan) = &p.action_plan {
            if plan.commitments.chars().count() > crate::validate::MAX_TEXT {
                return bad(at("action_plan.commitments"), "is too long".into());
            }
            if crate::validate::parse_date(&plan.signed_on).is_none() {
                return bad(
                    at("action_plan.signed_on"),
                    format!("`{}` is not a date", plan.signed_on),
                );
            }
        }
    }
    for p in registry {
        let mut seen = vec![p.id.as_str()];
        let mut at = p;
        while let Some(next) = at.merged_into.as_deref() {
            if seen.contains(&next) {
                return bad(
                    "party_registry".into(),
                    format!("{} merges into itself", p.id),
                );
            }
            seen.push(next);
            match registry.iter().find(|q| q.id == next) {
                Some(q) => at = q,
                None => break,
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn party(id: &str, name: &str, aliases: &[&str]) -> Party {
        Party {
            id: id.into(),
            name: name.into(),
            category: PartyCategory::NonStateArmedGroup,
            aliases: aliases.iter().map(|a| a.to_string()).collect(),
            listed_for: Vec::new(),
            action_plan: None,
            split_from: None,
            merged_into: None,
        }
    }

    #[test]
    fn names_aliases_and_mergers_resolve_to_one_party() {
        let mut reg = vec![
            party("alpha", "Alpha Front", &["Group Alpha", "Groupe Alpha"]),
            party("beta", "Beta Brigade", &[]),
        ];
        assert_eq!(resolve(&reg, None, " group ALPHA ").unwrap().id, "alpha");
        // A known name decides; an id matches only a name the registry does not know.
        assert_eq!(
            resolve(&reg, Some("beta"), "Group Alpha").unwrap().id,
            "alpha"
        );
        assert_eq!(resolve(&reg, Some("beta"), "Grp B").unwrap().id, "beta");
        assert!(resolve(&reg, None, "Gamma").is_none());
        reg[1].merged_into = Some("alpha".into());
        assert_eq!(resolve(&reg, None, "Beta Brigade").unwrap().id, "alpha");
        check(&reg).unwrap();
        reg[0].merged_into = Some("beta".into());
        assert!(check(&reg).is_err(), "a merger cycle");
        assert!(
            resolve(&reg, None, "Beta Brigade").is_some(),
            "resolving never loops"
        );
    }

    #[test]
    fn a_name_names_one_party() {
        let reg = vec![party("a", "Alpha", &[]), party("b", "Beta", &["alpha"])];
        assert!(check(&reg).is_err());
        assert!(check(&[party("bad id!", "X", &[])]).is_err());
    }
}
