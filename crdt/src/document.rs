//! The layout of a record inside its Automerge document, and the reading of a document back into
//! the domain types.
//!
//! Layout (all text is plain scalar strings, never `Text` objects: they cost memory and we do not
//! need character-level merging):
//!
//! ```text
//! { kind: "incident", id, title, occurred_on, date_precision, ended_on?|null, reported_on,
//!   narrative, patrol_id|null,
//!   team, created_by, created_at,
//!   location: { admin1, admin2, place, lat|null, lon|null },
//!   sources: { <uuid>: { kind, consent, notes } },
//!   violations: { <uuid>: { type, victims: { boys, girls, sex_unknown, coded: { <uuid>: { code, sex, age|null } } },
//!                           perpetrator: { party, category },
//!                           verification: [ { status, at, by, note, source_ids: [..] } ] } },
//!   review: { state, comments: [ { at, by, text } ] } }
//! ```
//!
//! Violations, sources and coded victims are maps keyed by UUID, not lists, so that two laptops that
//! add one each concurrently end up with both, and an edit of one never lands on another.
//! The verification trail and the comment thread are lists that are only ever appended to.

use automerge::{
    ObjId, ObjType, Prop, ReadDoc, ScalarValue, ScalarValueRef, Value, ValueRef, ROOT,
};
use serde_json::{Map, Value as Json};

use crate::error::{Error, Result};
use crate::model::*;

/// The kind of record a document holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RecordKind {
    Incident,
    Patrol,
    /// The mission configuration (one per mission, id [`CONFIG_ID`]).
    Config,
    /// The endpoint's device registry (one per mission, id [`REGISTRY_ID`]): who each actor id
    /// is, written only by the endpoint.
    Registry,
    /// A closed reporting period: figures frozen by a reviewer ([`crate::period`]).
    Period,
    /// A release of children, a training or an engagement with a party ([`crate::activity`]).
    Activity(crate::activity::ActivityKind),
}

/// The fixed id of the device registry document.
pub const REGISTRY_ID: &str = "00000000-0000-7000-8000-0000000de71c";

/// The fixed id of the mission configuration document: every device and the endpoint must agree
/// on it without talking to each other.
pub const CONFIG_ID: &str = "00000000-0000-7000-8000-00000000c0f1";

impl RecordKind {
    /// The name stored in the document and the store.
    pub fn as_str(self) -> &'static str {
        match self {
            RecordKind::Incident => "incident",
            RecordKind::Patrol => "patrol",
            RecordKind::Config => "config",
            RecordKind::Registry => "registry",
            RecordKind::Period => "period",
            RecordKind::Activity(k) => k.as_str(),
        }
    }

    /// Parse a stored kind name.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "incident" => Some(RecordKind::Incident),
            "patrol" => Some(RecordKind::Patrol),
            "config" => Some(RecordKind::Config),
            "registry" => Some(RecordKind::Registry),
            "period" => Some(RecordKind::Period),
            other => crate::activity::ActivityKind::parse(other).map(RecordKind::Activity),
        }
    }
}

/// A document's content as JSON (the winning value wherever fields conflict).
pub fn to_json<R: ReadDoc>(doc: &R) -> Json {
    map_json(doc, &ROOT, &mut None)
}

/// A field that holds concurrent values (Automerge's conflict flag), found while reading.
pub struct Flagged {
    pub obj: ObjId,
    pub prop: Prop,
    /// Dotted path into the record, as [`crate::conflicts::Conflict::path`].
    pub path: String,
}

/// [`to_json`] that also lists the fields holding concurrent values, so that an import reads a
/// record and finds its conflicts in one pass over the document.
pub fn to_json_flagged<R: ReadDoc>(doc: &R) -> (Json, Vec<Flagged>) {
    let mut walk = Some(Walk {
        path: String::new(),
        flagged: Vec::new(),
    });
    let j = map_json(doc, &ROOT, &mut walk);
    (j, walk.map(|w| w.flagged).unwrap_or_default())
}

/// The path to the object being read, and the flagged fields found so far.
struct Walk {
    path: String,
    flagged: Vec<Flagged>,
}

impl Walk {
    /// Extend the path with `prop` (a field that is flagged or holds an object), note it if it
    /// is flagged, and return the length to cut the path back to once its value is read.
    fn enter(&mut self, obj: &ObjId, prop: Prop, conflict: bool) -> usize {
        let len = self.path.len();
        if !self.path.is_empty() {
            self.path.push('.');
        }
        match &prop {
            Prop::Map(k) => self.path.push_str(k),
            Prop::Seq(i) => self.path.push_str(&i.to_string()),
        }
        if conflict {
            self.flagged.push(Flagged {
                obj: obj.clone(),
                prop,
                path: self.path.clone(),
            });
        }
        len
    }
}

/// One field of `obj` as JSON (`child`: its object id when the value is an object). Only a field
/// that is flagged or holds an object extends the walk's path: most fields are plain values.
fn field_json<R: ReadDoc>(
    doc: &R,
    walk: &mut Option<Walk>,
    obj: &ObjId,
    prop: impl FnOnce() -> Prop,
    conflict: bool,
    value: ValueRef<'_>,
    child: Option<ObjId>,
) -> Json {
    let back = match walk {
        Some(w) if conflict || child.is_some() => Some(w.enter(obj, prop(), conflict)),
        _ => None,
    };
    let j = match (value, child) {
        (ValueRef::Object(t), Some(id)) => object_json(doc, t, &id, walk),
        (ValueRef::Scalar(s), _) => scalar_ref_json(&s),
        (ValueRef::Object(_), None) => Json::Null,
    };
    if let (Some(w), Some(len)) = (walk.as_mut(), back) {
        w.path.truncate(len);
    }
    j
}

/// A map's winning values, in one pass over the map (`map_range`), rather than a key lookup per
/// field: reading a record is on the path of every import.
fn map_json<R: ReadDoc>(doc: &R, obj: &ObjId, walk: &mut Option<Walk>) -> Json {
    let mut out = Map::new();
    for item in doc.map_range(obj, ..) {
        let child = matches!(item.value, ValueRef::Object(_)).then(|| item.id());
        let key = item.key.into_owned();
        let value = field_json(
            doc,
            walk,
            obj,
            || Prop::Map(key.clone()),
            item.conflict,
            item.value,
            child,
        );
        out.insert(key, value);
    }
    Json::Object(out)
}

fn object_json<R: ReadDoc>(doc: &R, t: ObjType, id: &ObjId, walk: &mut Option<Walk>) -> Json {
    match t {
        ObjType::Map | ObjType::Table => map_json(doc, id, walk),
        ObjType::List => Json::Array(
            doc.list_range(id, ..)
                .map(|item| {
                    let child = matches!(item.value, ValueRef::Object(_)).then(|| item.id());
                    let index = item.index;
                    field_json(
                        doc,
                        walk,
                        id,
                        || Prop::Seq(index),
                        item.conflict,
                        item.value,
                        child,
                    )
                })
                .collect(),
        ),
        ObjType::Text => Json::String(doc.text(id).unwrap_or_default()),
    }
}

/// One value of a document as JSON; objects are expanded.
pub fn value_json<R: ReadDoc>(doc: &R, v: Value<'_>, id: &ObjId) -> Json {
    match v {
        Value::Object(t) => object_json(doc, t, id, &mut None),
        Value::Scalar(s) => scalar_json(&s),
    }
}

/// A borrowed scalar (as range iterators yield them) as JSON, the same as [`scalar_json`].
fn scalar_ref_json(s: &ScalarValueRef<'_>) -> Json {
    match s {
        ScalarValueRef::Str(s) => Json::String(s.to_string()),
        ScalarValueRef::Int(i) => Json::from(*i),
        ScalarValueRef::Uint(u) => Json::from(*u),
        ScalarValueRef::F64(f) => serde_json::Number::from_f64(*f)
            .map(Json::Number)
            .unwrap_or(Json::Null),
        ScalarValueRef::Boolean(b) => Json::Bool(*b),
        // No field of a record is a counter: read as an object, which every field's reader
        // refuses. As a number, increments made apart (each judged in range in its own context)
        // would add up past every bound.
        ScalarValueRef::Counter(c) => serde_json::json!({ "counter": c }),
        ScalarValueRef::Timestamp(t) => Json::from(*t),
        ScalarValueRef::Null | ScalarValueRef::Bytes(_) | ScalarValueRef::Unknown { .. } => {
            Json::Null
        }
    }
}

/// A scalar as JSON.
pub fn scalar_json(s: &ScalarValue) -> Json {
    match s {
        ScalarValue::Str(s) => Json::String(s.to_string()),
        ScalarValue::Int(i) => Json::from(*i),
        ScalarValue::Uint(u) => Json::from(*u),
        ScalarValue::F64(f) => serde_json::Number::from_f64(*f)
            .map(Json::Number)
            .unwrap_or(Json::Null),
        ScalarValue::Boolean(b) => Json::Bool(*b),
        ScalarValue::Counter(c) => serde_json::json!({ "counter": i64::from(c) }),
        ScalarValue::Timestamp(t) => Json::from(*t),
        ScalarValue::Null | ScalarValue::Bytes(_) | ScalarValue::Unknown { .. } => Json::Null,
    }
}

/// The kind of record in a document, if it is one of ours.
pub fn kind_of<R: ReadDoc>(doc: &R) -> Option<RecordKind> {
    match doc.get(ROOT, "kind").ok().flatten() {
        Some((Value::Scalar(s), _)) => match s.as_ref() {
            ScalarValue::Str(k) => RecordKind::parse(k),
            _ => None,
        },
        _ => None,
    }
}

/// Reads fields out of a document's JSON, strictly: a field of the wrong type makes the record
/// malformed, so a garbage document from a peer is refused instead of half-read.
struct Reader<'a> {
    record: &'a str,
}

/// The id a record's content gives itself (`?` if none), to name it in errors.
fn id_of(j: &Json) -> String {
    j.get("id")
        .and_then(Json::as_str)
        .unwrap_or("?")
        .to_string()
}

impl Reader<'_> {
    fn expect_kind<R: ReadDoc>(&self, doc: &R, kind: RecordKind) -> Result<()> {
        if kind_of(doc) == Some(kind) {
            return Ok(());
        }
        Err(self.bad("kind", &format!("is not `{}`", kind.as_str())))
    }

    fn bad(&self, field: &str, why: &str) -> Error {
        Error::Bundle(format!(
            "record {} is malformed: {field} {why}",
            self.record
        ))
    }

    fn str(&self, obj: &Json, field: &str) -> Result<String> {
        match obj.get(field) {
            None | Some(Json::Null) => Ok(String::new()),
            Some(Json::String(s)) => Ok(s.clone()),
            Some(_) => Err(self.bad(field, "is not text")),
        }
    }

    fn opt_str(&self, obj: &Json, field: &str) -> Result<Option<String>> {
        match obj.get(field) {
            None | Some(Json::Null) => Ok(None),
            Some(Json::String(s)) => Ok(Some(s.clone())),
            Some(_) => Err(self.bad(field, "is not text")),
        }
    }

    fn int(&self, obj: &Json, field: &str) -> Result<i64> {
        match obj.get(field) {
            None | Some(Json::Null) => Ok(0),
            Some(v) => v.as_i64().ok_or_else(|| self.bad(field, "is not a number")),
        }
    }

    fn opt_int(&self, obj: &Json, field: &str) -> Result<Option<i64>> {
        match obj.get(field) {
            None | Some(Json::Null) => Ok(None),
            Some(v) => v
                .as_i64()
                .map(Some)
                .ok_or_else(|| self.bad(field, "is not a number")),
        }
    }

    fn opt_f64(&self, obj: &Json, field: &str) -> Result<Option<f64>> {
        match obj.get(field) {
            None | Some(Json::Null) => Ok(None),
            Some(v) => v
                .as_f64()
                .map(Some)
                .ok_or_else(|| self.bad(field, "is not a number")),
        }
    }

    fn bool(&self, obj: &Json, field: &str) -> Result<bool> {
        match obj.get(field) {
            None | Some(Json::Null) => Ok(false),
            Some(Json::Bool(b)) => Ok(*b),
            Some(_) => Err(self.bad(field, "is not true or false")),
        }
    }

    fn parse<T: std::str::FromStr>(&self, obj: &Json, field: &str, default: T) -> Result<T> {
        match obj.get(field) {
            None | Some(Json::Null) => Ok(default),
            Some(Json::String(s)) => s
                .parse()
                .map_err(|_| self.bad(field, &format!("has an unknown value `{s}`"))),
            Some(_) => Err(self.bad(field, "is not text")),
        }
    }

    fn strings(&self, obj: &Json, field: &str) -> Result<Vec<String>> {
        match obj.get(field) {
            None | Some(Json::Null) => Ok(Vec::new()),
            Some(Json::Array(a)) => a
                .iter()
                .map(|v| {
                    v.as_str()
                        .map(str::to_string)
                        .ok_or_else(|| self.bad(field, "holds something that is not text"))
                })
                .collect(),
            Some(_) => Err(self.bad(field, "is not a list")),
        }
    }

    /// Entries of a map keyed by id, sorted by id (UUIDv7 sorts by creation time).
    fn entries<'j>(&self, obj: &'j Json, field: &str) -> Result<Vec<(String, &'j Json)>> {
        match obj.get(field) {
            None | Some(Json::Null) => Ok(Vec::new()),
            Some(Json::Object(m)) => {
                let mut v: Vec<_> = m.iter().map(|(k, v)| (k.clone(), v)).collect();
                v.sort_by(|a, b| a.0.cmp(&b.0));
                for (k, item) in &v {
                    if !item.is_object() {
                        return Err(self.bad(&format!("{field}.{k}"), "is not an object"));
                    }
                }
                Ok(v)
            }
            Some(_) => Err(self.bad(field, "is not a map")),
        }
    }

    /// A violation's details (`details: {key: value}`): terms, flags and numbers as written.
    /// Read as they are, so a term a newer version added is kept; whether a value fits its
    /// violation's type is the validation's to say ([`crate::details::problem`]).
    fn details(&self, obj: &Json) -> Result<crate::details::ViolationDetails> {
        use crate::details::DetailValue;
        let mut out = crate::details::ViolationDetails::new();
        match obj.get("details") {
            None | Some(Json::Null) => {}
            Some(Json::Object(m)) => {
                for (k, v) in m {
                    let value = match v {
                        Json::Null => continue,
                        Json::Bool(b) => DetailValue::Flag(*b),
                        Json::String(s) => DetailValue::Term(s.clone()),
                        Json::Number(n) => DetailValue::Number(n.as_i64().ok_or_else(|| {
                            self.bad(&format!("details.{k}"), "is not a whole number")
                        })?),
                        _ => {
                            return Err(self
                                .bad(&format!("details.{k}"), "is not a term, a flag or a number"))
                        }
                    };
                    out.insert(k.clone(), value);
                }
            }
            Some(_) => return Err(self.bad("details", "is not a map")),
        }
        Ok(out)
    }

    /// A split link (`{record, root}`).
    fn split_link(&self, obj: &Json) -> Result<SplitLink> {
        if !obj.is_object() {
            return Err(self.bad("split", "is not an object"));
        }
        Ok(SplitLink {
            record: self.str(obj, "record")?,
            root: self.str(obj, "root")?,
        })
    }

    /// A withdrawal (`withdrawn: {at, by, reason}`), absent or null when there is none.
    fn withdrawal(&self, obj: &Json) -> Result<Option<Withdrawal>> {
        match obj.get("withdrawn") {
            None | Some(Json::Null) => Ok(None),
            Some(w @ Json::Object(_)) => Ok(Some(Withdrawal {
                at: self.str(w, "at")?,
                by: self.str(w, "by")?,
                reason: self.str(w, "reason")?,
                overrides: match w.get("overrides") {
                    None | Some(Json::Null) => None,
                    Some(_) => Some(self.strings(w, "overrides")?),
                },
            })),
            Some(_) => Err(self.bad("withdrawn", "is not an object")),
        }
    }

    fn items<'j>(&self, obj: &'j Json, field: &str) -> Result<Vec<&'j Json>> {
        match obj.get(field) {
            None | Some(Json::Null) => Ok(Vec::new()),
            Some(Json::Array(a)) => {
                if a.iter().any(|x| !x.is_object()) {
                    return Err(self.bad(field, "holds something that is not an object"));
                }
                Ok(a.iter().collect())
            }
            Some(_) => Err(self.bad(field, "is not a list")),
        }
    }
}

/// Read an incident document.
pub fn read_incident<R: ReadDoc>(doc: &R) -> Result<Incident> {
    incident_from(doc, &to_json(doc))
}

/// [`read_incident`] from the document's content already read (`j`, from [`to_json`]).
pub fn incident_from<R: ReadDoc>(doc: &R, j: &Json) -> Result<Incident> {
    let id = id_of(j);
    let r = Reader { record: &id };
    r.expect_kind(doc, RecordKind::Incident)?;
    let empty = Json::Object(Map::new());
    let loc = j.get("location").unwrap_or(&empty);
    let mut sources = Vec::new();
    for (sid, s) in r.entries(j, "sources")? {
        sources.push(Source {
            id: sid,
            kind: r.parse(s, "kind", SourceKind::Secondary)?,
            consent: r.bool(s, "consent")?,
            notes: r.str(s, "notes")?,
            withdrawn: r.withdrawal(s)?,
        });
    }
    let mut violations = Vec::new();
    for (vid, v) in r.entries(j, "violations")? {
        let kind: Option<ViolationType> = match v.get("type") {
            Some(Json::String(s)) => Some(
                s.parse()
                    .map_err(|_| r.bad("violation type", &format!("`{s}` is unknown")))?,
            ),
            _ => None,
        };
        let kind = kind.ok_or_else(|| r.bad("violation type", "is missing"))?;
        let vic = v.get("victims").unwrap_or(&empty);
        let mut coded = Vec::new();
        for (cid, c) in r.entries(vic, "coded")? {
            coded.push(CodedVictim {
                id: cid,
                code: r.str(c, "code")?,
                sex: r.parse(c, "sex", Sex::Unknown)?,
                age: r.opt_int(c, "age")?,
            });
        }
        let per = v.get("perpetrator").unwrap_or(&empty);
        let mut verification = Vec::new();
        let items = r.items(v, "verification")?;
        let mut ids = event_ids(doc, &vid).into_iter();
        for e in items {
            verification.push(VerificationEvent {
                id: ids.next().unwrap_or_default(),
                status: r.parse(e, "status", VerificationStatus::Reported)?,
                at: r.str(e, "at")?,
                by: r.str(e, "by")?,
                note: r.str(e, "note")?,
                source_ids: r.strings(e, "source_ids")?,
                level: match e.get("level") {
                    None | Some(Json::Null) => None,
                    Some(_) => Some(r.parse(e, "level", DecisionLevel::FocalPoint)?),
                },
                sources: match e.get("sources") {
                    None | Some(Json::Null) => None,
                    Some(c @ Json::Object(_)) => Some(SourceCounts {
                        primary: r.int(c, "primary")?,
                        secondary: r.int(c, "secondary")?,
                        un_eyewitness: r.bool(c, "un_eyewitness")?,
                    }),
                    Some(_) => return Err(r.bad("sources", "is not a map")),
                },
                supersedes: match e.get("supersedes") {
                    None => None,
                    Some(_) => Some(r.strings(e, "supersedes")?),
                },
                verified: match e.get("verified") {
                    None | Some(Json::Null) => None,
                    Some(f) => Some(VerifiedFacts {
                        kind: r.parse(f, "type", ViolationType::Killing)?,
                        boys: r.int(f, "boys")?,
                        girls: r.int(f, "girls")?,
                        sex_unknown: r.int(f, "sex_unknown")?,
                        party: r.str(f, "party")?,
                        category: r.parse(f, "category", PerpetratorCategory::Unknown)?,
                        occurred_on: r.opt_str(f, "occurred_on")?,
                        ended_on: r.opt_str(f, "ended_on")?,
                    }),
                },
                declared_by: None,
            });
        }
        violations.push(Violation {
            id: vid,
            kind,
            victims: Victims {
                boys: r.int(vic, "boys")?,
                girls: r.int(vic, "girls")?,
                sex_unknown: r.int(vic, "sex_unknown")?,
                coded,
            },
            perpetrator: Perpetrator {
                party: r.str(per, "party")?,
                category: r.parse(per, "category", PerpetratorCategory::Unknown)?,
                party_id: r.opt_str(per, "party_id")?,
            },
            details: r.details(v)?,
            verification,
            withdrawn: r.withdrawal(v)?,
        });
    }
    let rev = j.get("review").unwrap_or(&empty);
    let mut comments = Vec::new();
    for c in r.items(rev, "comments")? {
        comments.push(Comment {
            at: r.str(c, "at")?,
            by: r.str(c, "by")?,
            text: r.str(c, "text")?,
            declared_by: None,
        });
    }
    Ok(Incident {
        id: id.clone(),
        title: r.str(j, "title")?,
        occurred_on: r.str(j, "occurred_on")?,
        date_precision: r.parse(j, "date_precision", DatePrecision::Day)?,
        ended_on: r.opt_str(j, "ended_on")?,
        reported_on: r.str(j, "reported_on")?,
        location: Location {
            admin1: r.str(loc, "admin1")?,
            admin2: r.str(loc, "admin2")?,
            place: r.str(loc, "place")?,
            lat: r.opt_f64(loc, "lat")?,
            lon: r.opt_f64(loc, "lon")?,
        },
        narrative: r.str(j, "narrative")?,
        patrol_id: r.opt_str(j, "patrol_id")?,
        sources,
        violations,
        review: Review {
            state: match concurrent_review_state(doc) {
                Some(s) => s,
                None => r.parse(rev, "state", ReviewState::Draft)?,
            },
            comments,
        },
        created_by: r.str(j, "created_by")?,
        team: r.str(j, "team")?,
        split_from: match j.get("split_from") {
            None | Some(Json::Null) => None,
            Some(s) => Some(r.split_link(s)?),
        },
        split_off: r
            .items(j, "split_off")?
            .into_iter()
            .map(|s| r.split_link(s))
            .collect::<Result<_>>()?,
    })
}

/// Of review states written apart (a conflict, shown as one), the one the record is in until a
/// reviewer settles it: a reviewer's decision (accepted, then returned) over a state the field
/// moved to, whatever the merge's own pick. `None` when the state holds one value.
fn concurrent_review_state<R: ReadDoc>(doc: &R) -> Option<ReviewState> {
    let review = match doc.get(ROOT, "review") {
        Ok(Some((Value::Object(_), id))) => id,
        _ => return None,
    };
    let all = doc.get_all(&review, "state").ok()?;
    if all.len() < 2 {
        return None;
    }
    let rank = |s: ReviewState| match s {
        ReviewState::Accepted => 3,
        ReviewState::Returned => 2,
        ReviewState::Submitted => 1,
        ReviewState::Draft => 0,
    };
    all.into_iter()
        .filter_map(|(v, _)| match v {
            Value::Scalar(s) => s.as_str().and_then(|t| t.parse::<ReviewState>().ok()),
            _ => None,
        })
        .max_by_key(|s| rank(*s))
}

/// The object ids of a violation's verification events, in trail order: an event's identity,
/// the same on every replica.
pub fn event_ids<R: ReadDoc>(doc: &R, violation_id: &str) -> Vec<String> {
    let obj = |o: &ObjId, p: Prop| match doc.get(o, p) {
        Ok(Some((Value::Object(_), id))) => Some(id),
        _ => None,
    };
    let Some(list) = obj(&ROOT, "violations".into())
        .and_then(|m| obj(&m, violation_id.into()))
        .and_then(|v| obj(&v, "verification".into()))
    else {
        return Vec::new();
    };
    doc.list_range(&list, ..)
        .map(|item| item.id().to_string())
        .collect()
}

/// Read a patrol document.
pub fn read_patrol<R: ReadDoc>(doc: &R) -> Result<Patrol> {
    patrol_from(doc, &to_json(doc))
}

/// [`read_patrol`] from the document's content already read (`j`, from [`to_json`]).
pub fn patrol_from<R: ReadDoc>(doc: &R, j: &Json) -> Result<Patrol> {
    let id = id_of(j);
    let r = Reader { record: &id };
    r.expect_kind(doc, RecordKind::Patrol)?;
    Ok(Patrol {
        id: id.clone(),
        date: r.str(j, "date")?,
        team: r.str(j, "team")?,
        route: r.strings(j, "route")?,
        participants: r.strings(j, "participants")?,
        notes: r.str(j, "notes")?,
        ended_at: r.opt_str(j, "ended_at")?,
        created_by: r.str(j, "created_by")?,
    })
}

/// Read the mission configuration document.
pub fn read_config<R: ReadDoc>(doc: &R) -> Result<MissionConfig> {
    config_from(doc, &to_json(doc))
}

/// [`read_config`] from the document's content already read (`j`, from [`to_json`]).
pub fn config_from<R: ReadDoc>(doc: &R, j: &Json) -> Result<MissionConfig> {
    let r = Reader { record: CONFIG_ID };
    r.expect_kind(doc, RecordKind::Config)?;
    let mut admin_areas = std::collections::BTreeMap::new();
    match j.get("admin_areas") {
        None | Some(Json::Null) => {}
        Some(Json::Object(m)) => {
            for (k, v) in m {
                let wrapped = serde_json::json!({ "v": v });
                admin_areas.insert(k.clone(), r.strings(&wrapped, "v")?);
            }
        }
        Some(_) => return Err(r.bad("admin_areas", "is not a map")),
    }
    // Read leniently (crate::bounds::read_lenient); the write refuses what is no extent
    // (`apply_config`).
    let area_bounds = match r.opt_str(j, "area_bounds") {
        Ok(Some(text)) => crate::bounds::read_lenient(&text, &admin_areas),
        _ => Default::default(),
    };
    Ok(MissionConfig {
        area_bounds,
        mission: r.str(j, "mission")?,
        teams: r.strings(j, "teams")?,
        parties: r.strings(j, "parties")?,
        admin_areas,
        party_registry: match r.opt_str(j, "party_registry")? {
            None => Vec::new(),
            Some(text) => {
                let registry: Vec<crate::parties::Party> =
                    serde_json::from_str(&text).map_err(|e| {
                        r.bad("party_registry", &format!("is not a party registry: {e}"))
                    })?;
                // Whoever wrote it: a registry that breaks the rules is no registry.
                crate::parties::check(&registry)
                    .map_err(|e| r.bad("party_registry", &e.to_string()))?;
                registry
            }
        },
    })
}

/// Read whichever record a document holds, to check it is well formed.
pub fn check_readable<R: ReadDoc>(doc: &R, kind: RecordKind) -> Result<()> {
    match kind {
        RecordKind::Incident => read_incident(doc).map(drop),
        RecordKind::Patrol => read_patrol(doc).map(drop),
        RecordKind::Config => read_config(doc).map(drop),
        RecordKind::Registry => read_registry(doc).map(drop),
        RecordKind::Period => crate::period::read(doc).map(drop),
        RecordKind::Activity(k) => crate::activity::read(doc, k).map(drop),
    }
}

/// The actor (hex) that wrote each comment of an incident's review thread, in the thread's order.
pub fn comment_authors<R: ReadDoc>(doc: &R) -> Vec<String> {
    let list = match doc.get(ROOT, "review").ok().flatten() {
        Some((Value::Object(_), review)) => match doc.get(&review, "comments").ok().flatten() {
            Some((Value::Object(_), list)) => list,
            _ => return Vec::new(),
        },
        _ => return Vec::new(),
    };
    (0..doc.length(&list))
        .map(|i| match doc.get(&list, i).ok().flatten() {
            Some((_, automerge::ObjId::Id(_, actor, _))) => actor.to_hex_string(),
            _ => String::new(),
        })
        .collect()
}

/// Read the device registry document: `devices` maps each actor id (32 hex digits) to who it
/// is. An entry that is not a well-formed device is an error (the endpoint alone writes them).
pub fn read_registry<R: ReadDoc>(doc: &R) -> Result<Registry> {
    let r = Reader {
        record: REGISTRY_ID,
    };
    r.expect_kind(doc, RecordKind::Registry)?;
    let j = to_json(doc);
    let mut devices = std::collections::BTreeMap::new();
    match j.get("devices") {
        None | Some(Json::Null) => {}
        Some(Json::Object(m)) => {
            for (actor, v) in m {
                devices.insert(
                    actor.clone(),
                    RegisteredDevice {
                        device_id: r.str(v, "device_id")?,
                        officer: r.str(v, "officer")?,
                        team: r.str(v, "team")?,
                        role: r.str(v, "role")?,
                        revoked_at: r.opt_str(v, "revoked_at")?,
                    },
                );
            }
        }
        Some(_) => return Err(r.bad("devices", "is not a map")),
    }
    Ok(Registry { devices })
}

/// The team a record belongs to (empty for the mission configuration).
pub fn team_of<R: ReadDoc>(doc: &R) -> String {
    match doc.get(ROOT, "team").ok().flatten() {
        Some((Value::Scalar(s), _)) => s.as_str().unwrap_or("").to_string(),
        _ => String::new(),
    }
}
