//! What a user sends: partial records. `incident add` and `incident edit` take the same shape; fields
//! given are set, list items (violations, sources, coded victims) are matched by id and new ones added.
//!
//! Unknown fields are refused so that a typo (`"victim"` for `"victims"`) is an error, not a silent no-op.

use serde::{Deserialize, Deserializer};

use crate::model::{
    DatePrecision, DecisionLevel, PerpetratorCategory, Sex, SourceCounts, SourceKind,
    VerificationStatus, ViolationType,
};

/// Distinguishes a field that is absent (`None`) from one set to `null` (`Some(None)`).
fn nullable<'de, D, T>(d: D) -> Result<Option<Option<T>>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(d).map(Some)
}

/// A partial incident.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IncidentPatch {
    pub id: Option<String>,
    pub title: Option<String>,
    pub occurred_on: Option<String>,
    pub date_precision: Option<DatePrecision>,
    /// The incident's last day when it lasted over a period; `null` clears it.
    #[serde(default, deserialize_with = "nullable")]
    pub ended_on: Option<Option<String>>,
    pub reported_on: Option<String>,
    pub location: Option<LocationPatch>,
    pub narrative: Option<String>,
    #[serde(default, deserialize_with = "nullable")]
    pub patrol_id: Option<Option<String>>,
    pub team: Option<String>,
    pub sources: Option<Vec<SourcePatch>>,
    pub violations: Option<Vec<ViolationPatch>>,
    /// Ids of violations, sources or coded victims to remove. A violation or a source is
    /// withdrawn (kept with its history, left out of figures); a coded victim is deleted.
    #[serde(default)]
    pub remove: Vec<String>,
    /// Why the violations or sources in `remove` are withdrawn (kept with the withdrawal).
    #[serde(default)]
    pub remove_reason: String,
    /// Ids of withdrawn violations or sources to count again (their withdrawal is deleted; a
    /// decided violation's only by a reviewer).
    #[serde(default)]
    pub restore: Vec<String>,
}

/// A partial location; `lat`/`lon` set to `null` clear them.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LocationPatch {
    pub admin1: Option<String>,
    pub admin2: Option<String>,
    pub place: Option<String>,
    #[serde(default, deserialize_with = "nullable")]
    pub lat: Option<Option<f64>>,
    #[serde(default, deserialize_with = "nullable")]
    pub lon: Option<Option<f64>>,
}

/// A source to add or change.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SourcePatch {
    pub id: Option<String>,
    pub kind: Option<SourceKind>,
    pub consent: Option<bool>,
    pub notes: Option<String>,
}

/// A violation to add or change.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ViolationPatch {
    pub id: Option<String>,
    #[serde(rename = "type")]
    pub kind: Option<ViolationType>,
    pub victims: Option<VictimsPatch>,
    pub perpetrator: Option<PerpetratorPatch>,
    /// Details to set by key ([`crate::details`]); `null` clears one. A key the violation's type
    /// does not take is refused.
    pub details: Option<std::collections::BTreeMap<String, Option<crate::details::DetailValue>>>,
    /// Only when a violation is first recorded (e.g. importing a record with its history); later
    /// events go through `verify`, because the trail is append-only.
    pub verification: Option<Vec<EventInput>>,
}

/// Victim counts and coded victims to set.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VictimsPatch {
    pub boys: Option<i64>,
    pub girls: Option<i64>,
    pub sex_unknown: Option<i64>,
    pub coded: Option<Vec<CodedVictimPatch>>,
}

/// A coded victim to add or change. A code, never a name.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CodedVictimPatch {
    pub id: Option<String>,
    pub code: Option<String>,
    pub sex: Option<Sex>,
    #[serde(default, deserialize_with = "nullable")]
    pub age: Option<Option<i64>>,
}

/// Perpetrator fields to set.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PerpetratorPatch {
    pub party: Option<String>,
    pub category: Option<PerpetratorCategory>,
    /// The registry's id of the party (`null`: not matched); a store sets it from `party`
    /// when the registry knows the name, a reviewer to match a name it does not.
    #[serde(default, deserialize_with = "nullable")]
    pub party_id: Option<Option<String>>,
}

/// A verification event as given by a user; time and author default to now and the device's officer.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EventInput {
    pub status: VerificationStatus,
    pub at: Option<String>,
    pub by: Option<String>,
    #[serde(default)]
    pub note: String,
    #[serde(default)]
    pub source_ids: Vec<String>,
    /// Of a decision: its tier (`None`: the focal point's). Who may decide at which tier is
    /// the policy's ([`crate::policy::may_decide_at`]).
    #[serde(default)]
    pub level: Option<DecisionLevel>,
    /// Of a decision: the sources it rests on, counted.
    #[serde(default)]
    pub sources: Option<SourceCounts>,
}

/// A partial patrol.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PatrolPatch {
    pub id: Option<String>,
    pub date: Option<String>,
    pub team: Option<String>,
    pub route: Option<Vec<String>>,
    pub participants: Option<Vec<String>>,
    pub notes: Option<String>,
    #[serde(default, deserialize_with = "nullable")]
    pub ended_at: Option<Option<String>>,
}

/// Parse a JSON object, with errors that name the line and column.
pub fn parse<T: serde::de::DeserializeOwned>(json: &str) -> crate::Result<T> {
    Ok(serde_json::from_str(json)?)
}
