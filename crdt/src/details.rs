//! A violation's details by type: what weapon, which facility and what became of it, what role a
//! recruited child had (docs/domain.md, "Violation details").
//!
//! One table, [`DETAILS`], says which keys each violation type takes and what values each key
//! holds; the validation, the document's layout check, the CLI, the exports and the app's form
//! all read it (the app through `ui/src/lib/generated/details.json`, held equal by a test).
//!
//! The terms follow the MRM Field Manual's categories and the lookups of Primero's MRM module
//! (weapon type, combat role, recruitment factors, sexual violence type, abduction purpose,
//! facility attack type, military use, denial method, reasons for deprivation of liberty),
//! shortened to what an officer can pick on patrol; `other` and `unknown` are always offered.
//!
//! Every key is optional. A key that does not belong to the violation's type is refused when
//! written (`detail_not_of_type`); one a merge left behind (a type changed apart from a detail
//! set) is shown on the record for a person to settle, never a reason to refuse other writes.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::model::ViolationType;
use ViolationType::*;

/// What a detail holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(tag = "shape", content = "terms", rename_all = "snake_case")]
pub enum DetailShape {
    /// One term of the list (snake_case, as in JSON and the CLI).
    Term(&'static [&'static str]),
    /// Yes or no.
    Flag,
    /// A whole number of days, 0 to [`MAX_DAYS`].
    Days,
}

/// The longest duration a detail holds, in days (a hundred years: longer is a typing error).
pub const MAX_DAYS: i64 = 36_500;

/// One detail key for the violation types it belongs to.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct DetailSpec {
    /// The key in `violation.details`.
    pub key: &'static str,
    /// The violation types that take it.
    pub types: &'static [ViolationType],
    #[serde(flatten)]
    pub shape: DetailShape,
}

const WEAPON: &[&str] = &[
    "small_arms",
    "light_weapons",
    "mortar_rocket_artillery",
    "aerial_bomb",
    "drone",
    "landmine",
    "improvised_explosive_device",
    "explosive_remnant_of_war",
    "sharp_weapon",
    "beating",
    "burning",
    "other",
    "unknown",
];
const CHILD_ROLE: &[&str] = &[
    "combatant",
    "support",
    "messenger_spy",
    "checkpoint_guard",
    "sexual_purposes",
    "human_shield",
    "other",
    "unknown",
];
const RECRUITMENT_METHOD: &[&str] = &[
    "abduction",
    "forced_conscription",
    "coercion_threats",
    "family_community_pressure",
    "economic_reasons",
    "voluntary",
    "other",
    "unknown",
];
const SEXUAL_VIOLENCE_FORM: &[&str] = &[
    "rape",
    "gang_rape",
    "sexual_assault",
    "sexual_slavery",
    "forced_marriage",
    "forced_prostitution",
    "forced_pregnancy",
    "sexual_mutilation",
    "other",
    "unknown",
];
const ABDUCTION_PURPOSE: &[&str] = &[
    "recruitment_use",
    "sexual_violence",
    "forced_marriage",
    "forced_labour",
    "ransom_extortion",
    "indoctrination",
    "punishment_intimidation",
    "killing_maiming",
    "other",
    "unknown",
];
/// What became of a child held: updated as it is learnt, so the record's history gives the
/// status over time.
const CHILD_STATUS: &[&str] = &[
    "still_held",
    "released",
    "escaped",
    "rescued",
    "died",
    "unknown",
];
const SCHOOL_FACILITY: &[&str] = &[
    "primary_school",
    "secondary_school",
    "other_education_facility",
    "education_personnel",
];
const HOSPITAL_FACILITY: &[&str] = &[
    "hospital",
    "health_centre",
    "mobile_clinic",
    "other_health_facility",
    "medical_personnel",
];
const ATTACK_TYPE: &[&str] = &[
    "aerial_bombardment",
    "shelling",
    "ground_assault",
    "explosive_device",
    "arson",
    "looting",
    "threat",
    "attack_on_personnel",
    "other",
    "unknown",
];
const DAMAGE: &[&str] = &["none", "partial", "destroyed", "unknown"];
const MILITARY_USE: &[&str] = &[
    "base_barracks",
    "weapons_storage",
    "detention",
    "firing_position",
    "checkpoint",
    "training",
    "other",
    "unknown",
];
const DENIAL_METHOD: &[&str] = &[
    "restriction_of_movement",
    "administrative_impediment",
    "besiegement",
    "attack_on_personnel",
    "abduction_of_personnel",
    "looting_theft",
    "property_damage",
    "threats_to_beneficiaries",
    "other",
    "unknown",
];
const AID_AFFECTED: &[&str] = &[
    "food",
    "health",
    "water_sanitation",
    "shelter",
    "education",
    "protection",
    "several",
    "other",
    "unknown",
];
const DETENTION_REASON: &[&str] = &[
    "association_with_armed_group",
    "security_reasons",
    "other",
    "unknown",
];

const ATTACKS: &[ViolationType] = &[AttackSchool, AttackHospital];
const MILITARY_USE_TYPES: &[ViolationType] = &[MilitaryUseSchool, MilitaryUseHospital];

/// Every detail key, with the types that take it and its values. A key appears once per shape:
/// `facility_type` twice, since a school and a hospital are different facilities.
pub const DETAILS: &[DetailSpec] = &[
    DetailSpec {
        key: "weapon",
        types: &[Killing, Maiming],
        shape: DetailShape::Term(WEAPON),
    },
    DetailSpec {
        key: "child_role",
        types: &[RecruitmentUse],
        shape: DetailShape::Term(CHILD_ROLE),
    },
    DetailSpec {
        key: "recruitment_method",
        types: &[RecruitmentUse],
        shape: DetailShape::Term(RECRUITMENT_METHOD),
    },
    DetailSpec {
        key: "form",
        types: &[SexualViolence],
        shape: DetailShape::Term(SEXUAL_VIOLENCE_FORM),
    },
    DetailSpec {
        key: "purpose",
        types: &[Abduction],
        shape: DetailShape::Term(ABDUCTION_PURPOSE),
    },
    DetailSpec {
        key: "child_status",
        types: &[Abduction, DeprivationLiberty],
        shape: DetailShape::Term(CHILD_STATUS),
    },
    DetailSpec {
        key: "facility_type",
        types: &[AttackSchool],
        shape: DetailShape::Term(SCHOOL_FACILITY),
    },
    DetailSpec {
        key: "facility_type",
        types: &[AttackHospital],
        shape: DetailShape::Term(HOSPITAL_FACILITY),
    },
    DetailSpec {
        key: "attack_type",
        types: ATTACKS,
        shape: DetailShape::Term(ATTACK_TYPE),
    },
    DetailSpec {
        key: "operational_before",
        types: ATTACKS,
        shape: DetailShape::Flag,
    },
    DetailSpec {
        key: "closed_after",
        types: ATTACKS,
        shape: DetailShape::Flag,
    },
    DetailSpec {
        key: "damage",
        types: ATTACKS,
        shape: DetailShape::Term(DAMAGE),
    },
    DetailSpec {
        key: "use_type",
        types: MILITARY_USE_TYPES,
        shape: DetailShape::Term(MILITARY_USE),
    },
    DetailSpec {
        key: "duration_days",
        types: MILITARY_USE_TYPES,
        shape: DetailShape::Days,
    },
    DetailSpec {
        key: "method",
        types: &[DenialHumanitarianAccess],
        shape: DetailShape::Term(DENIAL_METHOD),
    },
    DetailSpec {
        key: "aid_affected",
        types: &[DenialHumanitarianAccess],
        shape: DetailShape::Term(AID_AFFECTED),
    },
    DetailSpec {
        key: "reason",
        types: &[DeprivationLiberty],
        shape: DetailShape::Term(DETENTION_REASON),
    },
];

/// Every key any type takes, once each, in table order (the document layout's allow-list).
pub fn all_keys() -> Vec<&'static str> {
    let mut keys: Vec<&'static str> = Vec::new();
    for s in DETAILS {
        if !keys.contains(&s.key) {
            keys.push(s.key);
        }
    }
    keys
}

/// The spec of `key` for a violation of type `kind`; `None` when that type does not take it.
pub fn spec(kind: ViolationType, key: &str) -> Option<&'static DetailSpec> {
    DETAILS
        .iter()
        .find(|s| s.key == key && s.types.contains(&kind))
}

/// The keys a violation of type `kind` takes, in table order.
pub fn keys_of(kind: ViolationType) -> impl Iterator<Item = &'static str> {
    DETAILS
        .iter()
        .filter(move |s| s.types.contains(&kind))
        .map(|s| s.key)
}

/// One detail's value: a term, a flag or a number of days. In JSON a string, a boolean or an
/// integer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum DetailValue {
    Flag(bool),
    Number(i64),
    Term(String),
}

impl std::fmt::Display for DetailValue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DetailValue::Flag(true) => f.write_str("yes"),
            DetailValue::Flag(false) => f.write_str("no"),
            DetailValue::Number(n) => write!(f, "{n}"),
            DetailValue::Term(t) => f.write_str(t),
        }
    }
}

/// A violation's details: key to value, in key order. Empty when none was recorded.
pub type ViolationDetails = BTreeMap<String, DetailValue>;

/// Why `value` cannot be the detail `key` of a `kind` violation; `None` when it can. The
/// message is plain words; the code names the problem for translation.
pub fn problem(
    kind: ViolationType,
    key: &str,
    value: &DetailValue,
) -> Option<(&'static str, String)> {
    let Some(spec) = spec(kind, key) else {
        let takers: Vec<&str> = DETAILS
            .iter()
            .filter(|s| s.key == key)
            .flat_map(|s| s.types.iter().map(|t| t.as_str()))
            .collect();
        return Some(if takers.is_empty() {
            (
                "detail_unknown",
                format!("`{key}` is not a violation detail"),
            )
        } else {
            (
                "detail_not_of_type",
                format!(
                    "does not apply to a {kind} violation (it is a detail of {})",
                    takers.join(", ")
                ),
            )
        });
    };
    // Bounded: a refusal's message is logged by the endpoint, and a value is whatever was sent.
    let value = &shown(value);
    match (spec.shape, value) {
        (DetailShape::Term(terms), DetailValue::Term(t)) if terms.contains(&t.as_str()) => None,
        (DetailShape::Term(terms), _) => Some((
            "detail_term",
            format!("`{value}` is not one of: {}", terms.join(", ")),
        )),
        (DetailShape::Flag, DetailValue::Flag(_)) => None,
        (DetailShape::Flag, _) => Some(("detail_flag", format!("`{value}` is not true or false"))),
        (DetailShape::Days, DetailValue::Number(n)) if (0..=MAX_DAYS).contains(n) => None,
        (DetailShape::Days, _) => Some((
            "detail_days",
            format!("`{value}` is not a number of days (0 to {MAX_DAYS})"),
        )),
    }
}

/// `v` cut to 40 characters, for a message.
fn shown(v: &DetailValue) -> DetailValue {
    match v {
        DetailValue::Term(t) if t.chars().count() > 40 => {
            DetailValue::Term(t.chars().take(40).chain(std::iter::once('…')).collect())
        }
        other => other.clone(),
    }
}

/// The table as JSON, for the app's form (`ui/src/lib/generated/details.json`).
pub fn spec_json() -> serde_json::Value {
    serde_json::json!({ "details": DETAILS })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_type_takes_details_and_terms_are_unique() {
        for t in ViolationType::ALL {
            assert!(keys_of(*t).next().is_some(), "{t} takes no detail");
        }
        for s in DETAILS {
            if let DetailShape::Term(terms) = s.shape {
                let mut sorted = terms.to_vec();
                sorted.sort();
                sorted.dedup();
                assert_eq!(sorted.len(), terms.len(), "{} repeats a term", s.key);
            }
            for t in s.types {
                let found = spec(*t, s.key).unwrap();
                assert!(
                    found.types == s.types && found.shape == s.shape,
                    "{} twice for {t}",
                    s.key
                );
            }
        }
    }

    #[test]
    fn a_detail_is_judged_against_its_type() {
        let term = |s: &str| DetailValue::Term(s.into());
        assert_eq!(problem(Killing, "weapon", &term("landmine")), None);
        assert_eq!(
            problem(DenialHumanitarianAccess, "weapon", &term("landmine")).map(|p| p.0),
            Some("detail_not_of_type")
        );
        assert_eq!(
            problem(Killing, "weapon", &term("spaceship")).map(|p| p.0),
            Some("detail_term")
        );
        assert_eq!(
            problem(AttackSchool, "facility_type", &term("hospital")).map(|p| p.0),
            Some("detail_term")
        );
        assert_eq!(
            problem(AttackHospital, "facility_type", &term("hospital")),
            None
        );
        assert_eq!(
            problem(Abduction, "nickname", &term("x")).map(|p| p.0),
            Some("detail_unknown")
        );
        assert_eq!(
            problem(MilitaryUseSchool, "duration_days", &DetailValue::Number(-1)).map(|p| p.0),
            Some("detail_days")
        );
        assert_eq!(
            problem(AttackSchool, "closed_after", &term("yes")).map(|p| p.0),
            Some("detail_flag")
        );
    }

    /// The app's copy of the table is the table: run `make ui-details` after changing it.
    #[test]
    fn the_apps_copy_is_current() {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../ui/src/lib/generated/details.json"
        );
        let want = serde_json::to_string_pretty(&spec_json()).unwrap() + "\n";
        if std::env::var_os("MRM_WRITE_UI_DETAILS").is_some() {
            std::fs::write(path, &want).unwrap();
        }
        let have = std::fs::read_to_string(path).unwrap_or_default();
        assert!(
            have == want,
            "{path} is stale: run `make ui-details` (MRM_WRITE_UI_DETAILS=1 cargo test -p mrm-crdt details)"
        );
    }
}
