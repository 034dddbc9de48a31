//! The Child Protection section's work beside the MRM's violations (docs/domain.md,
//! "Releases, trainings and engagements"): the **release** of children from armed forces and
//! groups, **training** of national forces and others, and **engagement** with parties to
//! conflict (advocacy and negotiation of action plans, unilateral declarations, commitments).
//!
//! Each is a record kind of its own through the same machinery as incidents and patrols: one
//! Automerge document per record, one write path judged by the one policy, synced within its
//! team's scope, encrypted at rest, with history and conflicts. Their fields are flat and are
//! described by one table per kind ([`spec`]), which the validation, the document's layout
//! check, the CLI and the app's form (`ui/src/lib/generated/activities.json`) all read.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value as Json;

use crate::validate::{self, Clock, Collector};

/// The kinds of activity records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ActivityKind {
    Release,
    Training,
    Engagement,
}

impl ActivityKind {
    /// Every kind, in the order the app lists them.
    pub const ALL: [ActivityKind; 3] = [
        ActivityKind::Release,
        ActivityKind::Training,
        ActivityKind::Engagement,
    ];

    /// The name in JSON, the CLI and the store.
    pub fn as_str(self) -> &'static str {
        match self {
            ActivityKind::Release => "release",
            ActivityKind::Training => "training",
            ActivityKind::Engagement => "engagement",
        }
    }

    /// Parse a kind name.
    pub fn parse(s: &str) -> Option<Self> {
        ActivityKind::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

impl std::fmt::Display for ActivityKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What a field holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(tag = "shape", content = "terms", rename_all = "snake_case")]
pub enum FieldShape {
    /// A day, `YYYY-MM-DD`, not in the future.
    Date,
    /// One line of text (at most [`validate::MAX_SHORT`] characters).
    Line,
    /// Free text (at most [`validate::MAX_TEXT`] characters).
    Text,
    /// A whole number, 0 to [`validate::MAX_COUNT`].
    Count,
    /// Yes or no.
    Flag,
    /// One of the terms.
    Term(&'static [&'static str]),
    /// Counts by sex: a map `{male, female, unknown}` of whole numbers.
    BySex,
}

/// One field of an activity record.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct FieldSpec {
    pub key: &'static str,
    #[serde(flatten)]
    pub shape: FieldShape,
    /// A record without it is refused.
    pub required: bool,
}

const fn field(key: &'static str, shape: FieldShape, required: bool) -> FieldSpec {
    FieldSpec {
        key,
        shape,
        required,
    }
}

/// How children were released (MRM Field Manual; the instruments the Secretary-General's
/// reports name).
const INSTRUMENT: &[&str] = &[
    "action_plan",
    "unilateral_declaration",
    "command_order",
    "other",
];
const AUDIENCE: &[&str] = &[
    "national_army",
    "police",
    "un_military",
    "civilians",
    "community",
];
const ENGAGEMENT_KIND: &[&str] = &["advocacy", "negotiation"];

const RELEASE: &[FieldSpec] = &[
    field("date", FieldShape::Date, true),
    field("place", FieldShape::Line, true),
    field("boys", FieldShape::Count, false),
    field("girls", FieldShape::Count, false),
    field("sex_unknown", FieldShape::Count, false),
    field("party", FieldShape::Line, true),
    field("instrument", FieldShape::Term(INSTRUMENT), true),
    field("partner", FieldShape::Line, false),
    field("notes", FieldShape::Text, false),
];
const TRAINING: &[FieldSpec] = &[
    field("date", FieldShape::Date, true),
    field("place", FieldShape::Line, true),
    field("audience", FieldShape::Term(AUDIENCE), true),
    field("participants", FieldShape::BySex, false),
    field("topic", FieldShape::Line, true),
    field("training_of_trainers", FieldShape::Flag, false),
    field("notes", FieldShape::Text, false),
];
const ENGAGEMENT: &[FieldSpec] = &[
    field("date", FieldShape::Date, true),
    field("party", FieldShape::Line, true),
    field("kind", FieldShape::Term(ENGAGEMENT_KIND), true),
    field("level", FieldShape::Line, false),
    field("subject", FieldShape::Line, true),
    field("outcome", FieldShape::Text, false),
    field("commitments", FieldShape::Text, false),
    field("follow_up", FieldShape::Text, false),
];

/// The keys of a [`FieldShape::BySex`] map.
pub const SEXES: [&str; 3] = ["male", "female", "unknown"];

/// The fields of `kind`, in the order forms show them.
pub fn spec(kind: ActivityKind) -> &'static [FieldSpec] {
    match kind {
        ActivityKind::Release => RELEASE,
        ActivityKind::Training => TRAINING,
        ActivityKind::Engagement => ENGAGEMENT,
    }
}

/// The fields every activity document holds beside its kind's: written at creation.
pub const COMMON: &[&str] = &["kind", "id", "team", "created_by", "created_at"];

/// The document key of field `key` of `kind`: the field's own name, except an engagement's
/// `kind` (advocacy or negotiation), since a document's `kind` says what record it holds.
pub fn doc_key(kind: ActivityKind, key: &str) -> &str {
    match (kind, key) {
        (ActivityKind::Engagement, "kind") => "engagement_kind",
        _ => key,
    }
}

/// The fields of `kind` held as maps (counts by sex), by document key.
pub fn maps(kind: ActivityKind) -> &'static [&'static str] {
    match kind {
        ActivityKind::Training => &["participants"],
        ActivityKind::Release | ActivityKind::Engagement => &[],
    }
}

/// Whether a document of `kind` may hold `key` in the object at `path` (the layout check of
/// [`crate::effect`]): the common fields and the kind's own at the top, sexes in a map of
/// counts, nothing else.
pub fn permits(kind: ActivityKind, path: &[&str], key: &str) -> bool {
    match path {
        [] => COMMON.contains(&key) || spec(kind).iter().any(|f| doc_key(kind, f.key) == key),
        [m] => maps(kind).contains(m) && SEXES.contains(&key),
        _ => false,
    }
}

/// An activity record: its identity and its kind's fields (those recorded). In JSON one flat
/// object: `{"id", "record": "release", "team", "created_by", <the kind's fields>}`.
#[derive(Debug, Clone, PartialEq)]
pub struct Activity {
    pub id: String,
    pub kind: ActivityKind,
    pub team: String,
    pub created_by: String,
    /// The kind's fields, by key: text, numbers, booleans, and for [`FieldShape::BySex`] a map
    /// `{male, female, unknown}` of numbers.
    pub fields: BTreeMap<String, Json>,
}

impl Activity {
    /// The record as JSON (the CLI's and the app's shape).
    pub fn to_json(&self) -> Json {
        let mut m = serde_json::Map::new();
        m.insert("id".into(), Json::from(self.id.clone()));
        m.insert("record".into(), Json::from(self.kind.as_str()));
        m.insert("team".into(), Json::from(self.team.clone()));
        m.insert("created_by".into(), Json::from(self.created_by.clone()));
        for (k, v) in &self.fields {
            m.insert(k.clone(), v.clone());
        }
        Json::Object(m)
    }

    /// A count field (0 when not recorded).
    pub fn count(&self, key: &str) -> i64 {
        self.fields.get(key).and_then(Json::as_i64).unwrap_or(0)
    }

    /// A [`FieldShape::BySex`] field's counts, `[male, female, unknown]`.
    pub fn by_sex(&self, key: &str) -> [i64; 3] {
        let m = self.fields.get(key);
        SEXES.map(|s| m.and_then(|m| m.get(s)).and_then(Json::as_i64).unwrap_or(0))
    }

    /// A text field ("" when not recorded).
    pub fn text(&self, key: &str) -> &str {
        self.fields.get(key).and_then(Json::as_str).unwrap_or("")
    }
}

/// Read an activity document of `kind`. Errors: [`crate::Error::Bundle`] for a document whose
/// fields do not have their kind's shapes (a modified client's), never half-read.
pub fn read<R: automerge::ReadDoc>(doc: &R, kind: ActivityKind) -> crate::Result<Activity> {
    let j = crate::document::to_json(doc);
    from_json(&j, kind)
}

/// [`read`] from the document's content already read (`j`, from [`crate::document::to_json`]).
pub fn from_json(j: &Json, kind: ActivityKind) -> crate::Result<Activity> {
    let id = j
        .get("id")
        .and_then(Json::as_str)
        .unwrap_or("?")
        .to_string();
    let bad = |field: &str, why: &str| {
        crate::Error::Bundle(format!("record {id} is malformed: {field} {why}"))
    };
    if j.get("kind").and_then(Json::as_str) != Some(kind.as_str()) {
        return Err(bad("kind", &format!("is not `{kind}`")));
    }
    let text = |key: &str| -> crate::Result<String> {
        match j.get(key) {
            None | Some(Json::Null) => Ok(String::new()),
            Some(Json::String(s)) => Ok(s.clone()),
            Some(_) => Err(bad(key, "is not text")),
        }
    };
    let mut fields = BTreeMap::new();
    for f in spec(kind) {
        let Some(v) = j.get(doc_key(kind, f.key)).filter(|v| !v.is_null()) else {
            continue;
        };
        let ok = match f.shape {
            FieldShape::Date | FieldShape::Line | FieldShape::Text | FieldShape::Term(_) => {
                v.is_string()
            }
            FieldShape::Count => v.as_i64().is_some(),
            FieldShape::Flag => v.is_boolean(),
            FieldShape::BySex => v.as_object().is_some_and(|m| {
                m.iter().all(|(k, n)| {
                    SEXES.contains(&k.as_str()) && (n.is_null() || n.as_i64().is_some())
                })
            }),
        };
        if !ok {
            return Err(bad(f.key, "does not have its field's shape"));
        }
        let v = match (f.shape, v) {
            (FieldShape::BySex, Json::Object(m)) => Json::Object(
                m.iter()
                    .filter(|(_, n)| !n.is_null())
                    .map(|(k, n)| (k.clone(), n.clone()))
                    .collect(),
            ),
            _ => v.clone(),
        };
        fields.insert(f.key.to_string(), v);
    }
    // Read though never shown: a field nobody reads is a channel for data nobody bounds.
    if j.get("created_at").is_some_and(|v| !v.is_string()) {
        return Err(bad("created_at", "is not a time"));
    }
    Ok(Activity {
        id: id.clone(),
        kind,
        team: text("team")?,
        created_by: text("created_by")?,
        fields,
    })
}

/// Write a new activity's fixed fields.
pub fn init<T: automerge::transaction::Transactable>(
    tx: &mut T,
    kind: ActivityKind,
    id: &str,
    team: &str,
    who: &crate::edit::Actor,
) -> crate::Result<()> {
    use automerge::{ObjType, ROOT};
    tx.put(ROOT, "kind", kind.as_str())?;
    tx.put(ROOT, "id", id)?;
    tx.put(ROOT, "team", team)?;
    tx.put(ROOT, "created_by", who.officer.as_str())?;
    tx.put(ROOT, "created_at", who.now_str())?;
    // Made with the record, so counts set apart merge sex by sex.
    for f in spec(kind) {
        if f.shape == FieldShape::BySex {
            tx.put_object(ROOT, f.key, ObjType::Map)?;
        }
    }
    Ok(())
}

/// Apply a partial activity (`patch`: a JSON object of the kind's fields, `null` clearing one;
/// `team` moves it, `id` must be the record's). Returns value-free history lines ("set date").
/// Errors: [`crate::Error::Invalid`] for a field the kind does not have or a value of the
/// wrong shape.
pub fn apply<T: automerge::transaction::Transactable>(
    tx: &mut T,
    kind: ActivityKind,
    patch: &Json,
) -> crate::Result<Vec<String>> {
    use automerge::{ScalarValue, ROOT};
    let what = kind.as_str();
    let Some(map) = patch.as_object() else {
        return Err(crate::Error::invalid(what, "", "is not a JSON object"));
    };
    let mut log = Vec::new();
    for (key, value) in map {
        if key == "id" || key == "record" {
            continue;
        }
        if key == "team" {
            let Some(t) = value.as_str() else {
                return Err(crate::Error::invalid(what, "team", "is not text"));
            };
            if crate::edit::set_scalar(tx, &ROOT, "team", ScalarValue::Str(t.into()))? {
                log.push("set team".to_string());
            }
            continue;
        }
        let Some(f) = spec(kind).iter().find(|f| f.key == key) else {
            let keys: Vec<&str> = spec(kind).iter().map(|f| f.key).collect();
            return Err(crate::Error::invalid(
                what,
                key.as_str(),
                format!("is not a field of a {what} (they are: {})", keys.join(", ")),
            ));
        };
        let dk = doc_key(kind, f.key);
        let wrong = |expected: &str| {
            crate::Error::invalid(what, key.as_str(), format!("must be {expected}"))
        };
        if f.shape == FieldShape::BySex {
            let obj = crate::edit::map_at(tx, &ROOT, dk)?;
            let Some(m) = value.as_object() else {
                return Err(wrong("a map of counts by sex (male, female, unknown)"));
            };
            for (sex, n) in m {
                if !SEXES.contains(&sex.as_str()) {
                    return Err(crate::Error::invalid(
                        what,
                        format!("{key}.{sex}"),
                        "is not a sex (male, female, unknown)",
                    ));
                }
                let v = match n {
                    Json::Null => ScalarValue::Null,
                    n => ScalarValue::Int(n.as_i64().ok_or_else(|| wrong("whole numbers"))?),
                };
                if crate::edit::set_scalar(tx, &obj, sex, v)? {
                    log.push(format!("set {key} {sex}"));
                }
            }
            continue;
        }
        let v = match (f.shape, value) {
            (_, Json::Null) => ScalarValue::Null,
            (FieldShape::Count, v) => {
                ScalarValue::Int(v.as_i64().ok_or_else(|| wrong("a whole number"))?)
            }
            (FieldShape::Flag, v) => {
                ScalarValue::Boolean(v.as_bool().ok_or_else(|| wrong("true or false"))?)
            }
            (_, Json::String(s)) => ScalarValue::Str(s.as_str().into()),
            (_, _) => return Err(wrong("text")),
        };
        if crate::edit::set_scalar(tx, &ROOT, dk, v)? {
            log.push(format!("set {key}"));
        }
    }
    Ok(log)
}

/// The problems of an activity, for [`validate::change`]: a write is refused only for those
/// it adds, so a merge that left one never blocks other edits.
fn findings(c: &mut Collector, a: &Activity, clock: &Clock) {
    let latest = clock.latest_day();
    for f in spec(a.kind) {
        let v = a.fields.get(f.key);
        let empty = match v {
            None => true,
            Some(Json::String(s)) => s.trim().is_empty(),
            Some(_) => false,
        };
        if f.required && empty {
            c.push(f.key, "is required");
            continue;
        }
        let Some(v) = v else { continue };
        match f.shape {
            FieldShape::Date => match validate::parse_date(v.as_str().unwrap_or("")) {
                None => c.push(
                    f.key,
                    format!("`{}` is not a date (YYYY-MM-DD)", v.as_str().unwrap_or("")),
                ),
                Some(d) if d > latest => {
                    c.push(f.key, format!("{d} is in the future"));
                    c.code("in_future", &[("date", d.to_string())]);
                }
                Some(d) if d < validate::earliest_day() => {
                    c.push(f.key, format!("{d} is not a plausible date (before 1900)"))
                }
                Some(_) => {}
            },
            FieldShape::Line => validate::check_text(
                c,
                f.key,
                f.key,
                v.as_str().unwrap_or(""),
                validate::MAX_SHORT,
            ),
            FieldShape::Text => validate::check_text(
                c,
                f.key,
                f.key,
                v.as_str().unwrap_or(""),
                validate::MAX_TEXT,
            ),
            FieldShape::Term(terms) => {
                let t = v.as_str().unwrap_or("");
                if !terms.contains(&t) {
                    // Bounded: a refusal's message is logged by the endpoint.
                    let shown: String = t.chars().take(40).collect();
                    c.push(
                        f.key,
                        format!("`{shown}` is not one of: {}", terms.join(", ")),
                    );
                }
            }
            FieldShape::Count => count(c, f.key, v.as_i64().unwrap_or(-1)),
            FieldShape::Flag => {}
            FieldShape::BySex => {
                for (i, n) in a.by_sex(f.key).into_iter().enumerate() {
                    count(c, &format!("{}.{}", f.key, SEXES[i]), n);
                }
            }
        }
    }
    if a.team.trim().is_empty() {
        c.push("team", "is required");
    }
    validate::check_text(c, "team", "team", &a.team, validate::MAX_SHORT);
    validate::check_text(
        c,
        "created_by",
        "created_by",
        &a.created_by,
        validate::MAX_SHORT,
    );
    // Saturating: the counts are whatever a device sent until they are judged.
    let children = a
        .count("boys")
        .saturating_add(a.count("girls"))
        .saturating_add(a.count("sex_unknown"));
    if a.kind == ActivityKind::Release && children == 0 {
        c.push(
            "boys",
            "a release counts at least one child (boys, girls or sex unknown)",
        );
        c.code("release_no_child", &[]);
    }
}

fn count(c: &mut Collector, field: &str, n: i64) {
    if !(0..=validate::MAX_COUNT).contains(&n) {
        c.push(
            field.to_string(),
            format!("{n} is not a count (0 to {})", validate::MAX_COUNT),
        );
    }
}

/// Judge a write of an activity by what it writes (`before`: `None` for a new record).
/// Errors: [`crate::Error::Invalid`], naming each field and why.
pub fn change(before: Option<&Activity>, after: &Activity, clock: &Clock) -> crate::Result<()> {
    validate::change(
        after.kind.as_str(),
        before,
        after,
        clock.settling,
        |c, a| findings(c, a, clock),
    )
}

/// The tables as JSON, for the app's forms (`ui/src/lib/generated/activities.json`).
pub fn spec_json() -> Json {
    let kinds: serde_json::Map<String, Json> = ActivityKind::ALL
        .iter()
        .map(|k| (k.as_str().to_string(), serde_json::json!(spec(*k))))
        .collect();
    serde_json::json!({ "kinds": kinds, "sexes": SEXES })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The app's copy of the tables is the tables: run `make ui-details` after changing them.
    #[test]
    fn the_apps_copy_is_current() {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../ui/src/lib/generated/activities.json"
        );
        let want = serde_json::to_string_pretty(&spec_json()).unwrap() + "\n";
        if std::env::var_os("MRM_WRITE_UI_DETAILS").is_some() {
            std::fs::write(path, &want).unwrap();
        }
        let have = std::fs::read_to_string(path).unwrap_or_default();
        assert!(have == want, "{path} is stale: run `make ui-details`");
    }

    #[test]
    fn maps_are_the_by_sex_fields() {
        for k in ActivityKind::ALL {
            let by_sex: Vec<&str> = spec(k)
                .iter()
                .filter(|f| f.shape == FieldShape::BySex)
                .map(|f| doc_key(k, f.key))
                .collect();
            assert_eq!(maps(k), by_sex.as_slice(), "{k}");
        }
    }

    #[test]
    fn the_engagements_kind_has_its_own_document_key() {
        assert_eq!(doc_key(ActivityKind::Engagement, "kind"), "engagement_kind");
        assert_eq!(doc_key(ActivityKind::Release, "date"), "date");
        for k in ActivityKind::ALL {
            for f in spec(k) {
                assert!(!COMMON.contains(&doc_key(k, f.key)), "{k} {}", f.key);
            }
        }
    }
}
