//! The effect of a write on a record, judged against the [`crate::policy`]: an allow-list over
//! the whole record before and after, whatever software made the change.
//!
//! The same function judges a local commit (the store, before it persists anything) and a pushed
//! batch (the endpoint, before it stores anything), so a device never queues what the endpoint
//! would refuse.
//!
//! What is allowed, beyond the role and team rules of [`crate::policy::may_write`]:
//! - existing verification events and comments never change nor disappear (compared by their
//!   operations, so even a losing concurrent value written into one is refused);
//! - a new event's status and the rulings it replaces are the writer's to record
//!   ([`crate::policy::may_record_status`]; only reviewers replace rulings);
//! - review moves follow [`crate::policy::may_set_review_state`];
//! - a violation that carries a decision, or a source a decision cites, is never deleted, only
//!   withdrawn; only reviewers withdraw or restore a decided violation; a withdrawal, once
//!   written, keeps who made it and why;
//! - the record's id, kind and author never change;
//! - the values written pass the field checks ([`crate::validate::incident_change`]: problems a
//!   merge left behind do not count against the writer).

use std::collections::{BTreeMap, BTreeSet};

use automerge::{ObjId, ObjType, Prop, ReadDoc, Value, ROOT};

use crate::document::{self, RecordKind};
use crate::error::{Error, Result};
use crate::model::{Incident, ReviewState};
use crate::policy::{self, Denial, Writer};
use crate::validate::{self, Clock};

/// Judge the effect of a write on one record: `before` is the record as it was (`None`: new),
/// `after` as it would be. `kind` is the record's kind after the write; the caller checks it did
/// not change. Errors: [`Error::Denied`] for a policy refusal, [`Error::Invalid`] for values
/// that fail the field checks, [`Error::Bundle`] for a document that is not a well-formed record.
pub fn check<R: ReadDoc>(
    writer: &Writer,
    kind: RecordKind,
    before: Option<&R>,
    after: &R,
    clock: &Clock,
) -> Result<()> {
    rules(writer, kind, before, after)?;
    values(kind, before, after, clock)
}

/// The policy's rules on the effect of a write (everything but the field checks).
fn rules<R: ReadDoc>(
    writer: &Writer,
    kind: RecordKind,
    before: Option<&R>,
    after: &R,
) -> Result<()> {
    let team_before = before.map(document::team_of);
    let team_after = document::team_of(after);
    policy::may_write(writer, kind, team_before.as_deref(), &team_after)?;
    if let Some(path) = unknown_field(kind, before, after) {
        return Err(Error::Bundle(format!(
            "`{path}` is not a field of an MRM {} record",
            kind.as_str()
        )));
    }
    match kind {
        RecordKind::Incident => incident_rules(writer, before, after),
        RecordKind::Patrol => {
            // Both read strictly: a malformed patrol is refused before any rule.
            document::read_patrol(after)?;
            if let Some(b) = before {
                document::read_patrol(b)?;
                kept_as_written(b, after, "created_by", "author")?;
            }
            Ok(())
        }
        RecordKind::Config => document::read_config(after).map(drop),
        RecordKind::Registry => document::read_registry(after).map(drop),
        // Written once: the figures sent for a period never change (a later report shows what
        // changed since, against them).
        RecordKind::Period => {
            if before.is_some() {
                return Err(Denial::Immutable {
                    field: "closed period",
                }
                .into());
            }
            crate::period::read(after).map(drop)
        }
        RecordKind::Activity(a) => {
            // Both read strictly: a malformed record is refused before any rule.
            crate::activity::read(after, a)?;
            if let Some(b) = before {
                crate::activity::read(b, a)?;
                kept_as_written(b, after, "created_by", "author")?;
                kept_as_written(b, after, "created_at", "creation time")?;
                // A map of counts is never replaced: a replaced one would hide what was
                // written into the old one apart.
                for key in crate::activity::maps(a) {
                    let was = object(b, &ROOT, *key).map(|(_, id)| id);
                    let now = object(after, &ROOT, *key).map(|(_, id)| id);
                    if was.is_some() && was != now {
                        return Err(Denial::StructureReplaced {
                            path: key.to_string(),
                        }
                        .into());
                    }
                }
            }
            Ok(())
        }
    }
}

/// The field checks on what a write adds ([`validate::incident_change`]).
fn values<R: ReadDoc>(
    kind: RecordKind,
    before: Option<&R>,
    after: &R,
    clock: &Clock,
) -> Result<()> {
    match kind {
        RecordKind::Incident => {
            let b = before.map(document::read_incident).transpose()?;
            validate::incident_change(b.as_ref(), &document::read_incident(after)?, clock)
        }
        RecordKind::Patrol => {
            let b = before.map(document::read_patrol).transpose()?;
            validate::patrol_change(b.as_ref(), &document::read_patrol(after)?, clock)
        }
        RecordKind::Config | RecordKind::Registry => Ok(()),
        RecordKind::Activity(a) => {
            let b = before.map(|b| crate::activity::read(b, a)).transpose()?;
            crate::activity::change(b.as_ref(), &crate::activity::read(after, a)?, clock)
        }
        RecordKind::Period => {
            let p = crate::period::read(after)?;
            let latest = clock.latest_day();
            if p.from > latest {
                return Err(Error::invalid(
                    "period",
                    "from",
                    format!(
                        "{} is in the future: a period is closed once it has begun",
                        p.from
                    ),
                ));
            }
            Ok(())
        }
    }
}

// Every key of `crate::details::DETAILS`, held equal by a test below.
const DETAIL_KEYS: &[&str] = &[
    "weapon",
    "child_role",
    "recruitment_method",
    "form",
    "purpose",
    "child_status",
    "facility_type",
    "attack_type",
    "operational_before",
    "closed_after",
    "damage",
    "use_type",
    "duration_days",
    "method",
    "aid_affected",
    "reason",
];

/// The fields each object of a record may hold (crate::document's layout), `*` for the entries
/// of a map keyed by id.
fn allowed(kind: RecordKind, path: &[&str]) -> Option<&'static [&'static str]> {
    const INCIDENT: &[&str] = &[
        "kind",
        "id",
        "title",
        "occurred_on",
        "date_precision",
        "ended_on",
        "reported_on",
        "narrative",
        "patrol_id",
        "team",
        "created_by",
        "created_at",
        "location",
        "sources",
        "violations",
        "review",
        "split_from",
        "split_off",
    ];
    const PATROL: &[&str] = &[
        "kind",
        "id",
        "date",
        "team",
        "route",
        "participants",
        "notes",
        "ended_at",
        "created_by",
        "created_at",
    ];
    const WITHDRAWN: &[&str] = &["at", "by", "reason", "overrides"];
    Some(match (kind, path) {
        (RecordKind::Incident, []) => INCIDENT,
        (RecordKind::Incident, ["location"]) => &["admin1", "admin2", "place", "lat", "lon"],
        (RecordKind::Incident, ["sources", _]) => &["kind", "consent", "notes", "withdrawn"],
        (RecordKind::Incident, ["sources", _, "withdrawn"]) => WITHDRAWN,
        (RecordKind::Incident, ["violations", _]) => &[
            "type",
            "victims",
            "perpetrator",
            "details",
            "verification",
            "withdrawn",
        ],
        (RecordKind::Incident, ["violations", _, "withdrawn"]) => WITHDRAWN,
        (RecordKind::Incident, ["violations", _, "victims"]) => {
            &["boys", "girls", "sex_unknown", "coded"]
        }
        (RecordKind::Incident, ["violations", _, "victims", "coded", _]) => &["code", "sex", "age"],
        (RecordKind::Incident, ["violations", _, "perpetrator"]) => {
            &["party", "category", "party_id"]
        }
        (RecordKind::Incident, ["violations", _, "details"]) => DETAIL_KEYS,
        (RecordKind::Incident, ["violations", _, "verification", _]) => &[
            "status",
            "at",
            "by",
            "note",
            "source_ids",
            "supersedes",
            "verified",
            "level",
            "sources",
        ],
        (RecordKind::Incident, ["violations", _, "verification", _, "sources"]) => {
            &["primary", "secondary", "un_eyewitness"]
        }
        (RecordKind::Incident, ["violations", _, "verification", _, "verified"]) => &[
            "type",
            "boys",
            "girls",
            "sex_unknown",
            "party",
            "category",
            "occurred_on",
            "ended_on",
        ],
        (RecordKind::Incident, ["review"]) => &["state", "comments"],
        (RecordKind::Incident, ["split_from"] | ["split_off", _]) => &["record", "root"],
        (RecordKind::Incident, ["review", "comments", _]) => &["at", "by", "text"],
        (RecordKind::Patrol, []) => PATROL,
        _ => return None,
    })
}

/// The first field `after` holds that the record's layout does not and `before` did not hold
/// (an unknown field is a channel for data nobody sees or bounds, such as a child's name); an
/// unknown field already held is left alone, so a merge with a newer version never blocks.
fn unknown_field<R: ReadDoc>(kind: RecordKind, before: Option<&R>, after: &R) -> Option<String> {
    fn walk(
        kind: RecordKind,
        j: &serde_json::Value,
        old: Option<&serde_json::Value>,
        path: &mut Vec<String>,
    ) -> Option<String> {
        let serde_json::Value::Object(map) = j else {
            if let serde_json::Value::Array(items) = j {
                for (i, item) in items.iter().enumerate() {
                    path.push(i.to_string());
                    let found = walk(kind, item, old.and_then(|o| o.get(i)), path);
                    path.pop();
                    if found.is_some() {
                        return found;
                    }
                }
            }
            return None;
        };
        let owned = path.clone();
        let p: Vec<&str> = owned.iter().map(String::as_str).collect();
        // Maps keyed by id: their keys are ids, their entries are checked one level down.
        let keyed = matches!(
            p.as_slice(),
            ["sources"] | ["violations"] | ["violations", _, "victims", "coded"]
        );
        let fields = if keyed { None } else { allowed(kind, &p) };
        for (k, v) in map {
            let was = old.and_then(|o| o.get(k));
            let permitted = match kind {
                RecordKind::Activity(a) if !keyed => {
                    Some(crate::activity::permits(a, &p, k.as_str()))
                }
                _ => fields.map(|f| f.contains(&k.as_str())),
            };
            if let Some(permitted) = permitted {
                if !permitted && was.is_none() {
                    return Some(if p.is_empty() {
                        k.clone()
                    } else {
                        format!("{}.{k}", p.join("."))
                    });
                }
            }
            path.push(k.clone());
            let found = walk(kind, v, was, path);
            path.pop();
            if found.is_some() {
                return found;
            }
        }
        None
    }
    if matches!(
        kind,
        RecordKind::Config | RecordKind::Registry | RecordKind::Period
    ) {
        // Their readers are strict, and a period takes no field after its creation.
        return None;
    }
    let old = before.map(document::to_json);
    walk(
        kind,
        &document::to_json(after),
        old.as_ref(),
        &mut Vec::new(),
    )
}

fn immutable(before: &str, after: &str, field: &'static str) -> Result<()> {
    if before != after {
        return Err(Denial::Immutable { field }.into());
    }
    Ok(())
}

/// A top-level field written once, at the record's creation, is never written over: every value
/// it held before is still held, by its operation. A record created twice apart (two officers'
/// templates carrying one id) holds two values, neither written over; that is shown as recorded
/// twice, for a reviewer to split ([`crate::split`]), not refused.
fn kept_as_written<R: ReadDoc>(
    before: &R,
    after: &R,
    key: &str,
    field: &'static str,
) -> Result<()> {
    let ops = |d: &R| -> BTreeSet<String> {
        d.get_all(ROOT, key)
            .unwrap_or_default()
            .into_iter()
            .map(|(_, id)| id.to_string())
            .collect()
    };
    let after_ops = ops(after);
    if ops(before).iter().all(|op| after_ops.contains(op)) {
        Ok(())
    } else {
        Err(Denial::Immutable { field }.into())
    }
}

/// The objects that hold a record's parts, by path, with their identity: the location, the
/// maps of sources and violations and each source and violation in them, a violation's
/// victims, coded victims, perpetrator and trail, and the review and its thread.
fn structure<R: ReadDoc>(doc: &R) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let mut keep = |path: String, id: &ObjId| {
        out.insert(path, id.to_string());
    };
    for key in ["location", "sources", "violations", "review"] {
        if let Some((_, o)) = object(doc, &ROOT, key) {
            keep(key.to_string(), &o);
        }
    }
    if let Some((_, vmap)) = object(doc, &ROOT, "violations") {
        for vid in doc.keys(&vmap) {
            if let Some((_, v)) = object(doc, &vmap, vid.as_str()) {
                keep(format!("violations.{vid}"), &v);
                for part in ["victims", "perpetrator", "details", "verification"] {
                    if let Some((_, o)) = object(doc, &v, part) {
                        keep(format!("violations.{vid}.{part}"), &o);
                        if part == "victims" {
                            if let Some((_, c)) = object(doc, &o, "coded") {
                                keep(format!("violations.{vid}.victims.coded"), &c);
                            }
                        }
                    }
                }
            }
        }
    }
    if let Some((_, smap)) = object(doc, &ROOT, "sources") {
        for sid in doc.keys(&smap) {
            if let Some((_, s)) = object(doc, &smap, sid.as_str()) {
                keep(format!("sources.{sid}"), &s);
            }
        }
    }
    if let Some((_, review)) = object(doc, &ROOT, "review") {
        if let Some((_, c)) = object(doc, &review, "comments") {
            keep("review.comments".to_string(), &c);
        }
    }
    out
}

/// The first part of the record `before` held that `after` lost: deleted, or replaced by a new
/// object (which would hide everything written into the old one, even concurrently, such as a
/// decision). The app never does either: it withdraws violations and sources, and writes into
/// the parts it finds.
fn structure_lost<R: ReadDoc>(before: &R, after: &R) -> Option<String> {
    let now = structure(after);
    structure(before)
        .into_iter()
        .find(|(path, id)| now.get(path) != Some(id))
        .map(|(path, _)| path)
}

/// What the rules compare by identity: each guarded object's operations, printed.
#[derive(Default)]
struct Guarded {
    /// event id -> (violation id, operations)
    events: BTreeMap<String, (String, String)>,
    /// comment id -> operations
    comments: BTreeMap<String, String>,
    /// violation or source id -> the operations of its withdrawal
    withdrawals: BTreeMap<String, String>,
    /// review state op ids -> value
    review_ops: BTreeMap<String, String>,
}

fn object<R: ReadDoc>(doc: &R, obj: &ObjId, prop: impl Into<Prop>) -> Option<(ObjType, ObjId)> {
    match doc.get(obj, prop) {
        Ok(Some((Value::Object(t), id))) => Some((t, id)),
        _ => None,
    }
}

/// Every operation under `obj`, with its op id, in a deterministic text: two prints are equal
/// only if nobody wrote into the object (even a value that lost to a concurrent one).
fn print<R: ReadDoc>(doc: &R, obj: &ObjId, out: &mut String) {
    use std::fmt::Write;
    let entry = |prop: Prop, out: &mut String| {
        for (v, id) in doc.get_all(obj, prop.clone()).unwrap_or_default() {
            let _ = write!(out, "{prop:?}@{id}=");
            match v {
                Value::Scalar(s) => {
                    let _ = write!(out, "{s:?};");
                }
                Value::Object(_) => {
                    out.push('{');
                    print(doc, &id, out);
                    out.push('}');
                }
            }
        }
    };
    match doc.object_type(obj) {
        Ok(ObjType::List | ObjType::Text) => {
            for i in 0..doc.length(obj) {
                entry(Prop::Seq(i), out);
            }
        }
        _ => {
            for k in doc.keys(obj) {
                entry(Prop::Map(k), out);
            }
        }
    }
}

fn printed<R: ReadDoc>(doc: &R, obj: &ObjId) -> String {
    let mut s = String::new();
    print(doc, obj, &mut s);
    s
}

fn guarded<R: ReadDoc>(doc: &R) -> Guarded {
    let mut g = Guarded::default();
    if let Some((_, vmap)) = object(doc, &ROOT, "violations") {
        for vid in doc.keys(&vmap) {
            let Some((_, v)) = object(doc, &vmap, vid.as_str()) else {
                continue;
            };
            if let Some((_, list)) = object(doc, &v, "verification") {
                for item in doc.list_range(&list, ..) {
                    let id = item.id();
                    g.events
                        .insert(id.to_string(), (vid.clone(), printed(doc, &id)));
                }
            }
            if let Some((_, w)) = object(doc, &v, "withdrawn") {
                g.withdrawals.insert(vid.clone(), printed(doc, &w));
            }
        }
    }
    if let Some((_, smap)) = object(doc, &ROOT, "sources") {
        for sid in doc.keys(&smap) {
            if let Some((_, s)) = object(doc, &smap, sid.as_str()) {
                if let Some((_, w)) = object(doc, &s, "withdrawn") {
                    g.withdrawals.insert(sid.clone(), printed(doc, &w));
                }
            }
        }
    }
    if let Some((_, review)) = object(doc, &ROOT, "review") {
        for (v, id) in doc.get_all(&review, "state").unwrap_or_default() {
            let value = match v {
                Value::Scalar(s) => s.as_str().unwrap_or("").to_string(),
                Value::Object(_) => String::new(),
            };
            g.review_ops.insert(id.to_string(), value);
        }
        if let Some((_, list)) = object(doc, &review, "comments") {
            for item in doc.list_range(&list, ..) {
                let id = item.id();
                g.comments.insert(id.to_string(), printed(doc, &id));
            }
        }
    }
    g
}

fn has_decision(inc: &Incident, violation_id: &str) -> bool {
    inc.violation(violation_id)
        .is_some_and(|v| v.verification.iter().any(|e| e.status.is_decision()))
}

fn incident_rules<R: ReadDoc>(writer: &Writer, before: Option<&R>, after: &R) -> Result<()> {
    let after_inc = document::read_incident(after)?;
    let after_g = guarded(after);
    let (before_inc, before_g) = match before {
        Some(b) => (Some(document::read_incident(b)?), guarded(b)),
        None => (None, Guarded::default()),
    };
    if let (Some(b), Some(bdoc)) = (&before_inc, before) {
        immutable(&b.id, &after_inc.id, "id")?;
        kept_as_written(bdoc, after, "created_by", "author")?;
    }
    // A split hides a branch's values from the record: only a reviewer's to make.
    let (split_off_before, split_from_before) = before_inc
        .as_ref()
        .map(|b| (b.split_off.as_slice(), b.split_from.as_ref()))
        .unwrap_or((&[], None));
    if (split_off_before != after_inc.split_off.as_slice()
        || split_from_before != after_inc.split_from.as_ref())
        && !writer.decides()
    {
        return Err(Denial::SplitByNonReviewer.into());
    }
    let violation_ids: BTreeSet<&str> =
        after_inc.violations.iter().map(|v| v.id.as_str()).collect();

    // Existing events: untouched, unless their violation is gone (judged below).
    for (eid, (vid, ops)) in &before_g.events {
        if !violation_ids.contains(vid.as_str()) {
            continue;
        }
        if after_g.events.get(eid).map(|(_, o)| o) != Some(ops) {
            return Err(Denial::EventChanged.into());
        }
    }
    // New events: the writer's to record, replacing only events of their own violation.
    for v in &after_inc.violations {
        for e in &v.verification {
            if before_g.events.contains_key(&e.id) {
                continue;
            }
            policy::may_record_status(writer, e.status)?;
            // Every event this version writes lists the rulings it replaces; one without the
            // list would replace every ruling before it (the reading of events from before
            // the list existed), the task force's included.
            let Some(ids) = &e.supersedes else {
                return Err(Denial::SupersedesMissing.into());
            };
            if !ids.is_empty() && !writer.decides() {
                return Err(Denial::SupersedeByNonReviewer.into());
            }
            for id in ids {
                let replaced = v.verification.iter().find(|f| &f.id == id);
                match replaced {
                    Some(f) if id != &e.id => policy::may_supersede(e.tier(), f.tier())?,
                    _ => return Err(Denial::SupersedesUnknown.into()),
                }
            }
            if e.is_ruling() || e.level.is_some() {
                policy::may_decide_at(writer, e.tier())?;
            }
        }
    }
    if let Some(b) = &before_inc {
        // Deleted violations and sources: never one a decision rests on.
        for v in &b.violations {
            if !violation_ids.contains(v.id.as_str()) && has_decision(b, &v.id) {
                return Err(Denial::DecidedViolationDeleted.into());
            }
        }
        let cited: BTreeSet<&str> = b
            .violations
            .iter()
            .chain(&after_inc.violations)
            .flat_map(|v| &v.verification)
            .filter(|e| e.status.is_decision())
            .flat_map(|e| e.source_ids.iter().map(String::as_str))
            .collect();
        for s in &b.sources {
            let kept = after_inc.sources.iter().any(|a| a.id == s.id);
            if !kept && cited.contains(s.id.as_str()) {
                return Err(Denial::CitedSourceDeleted.into());
            }
        }
    }
    // Withdrawals: kept as written; a decided violation's only by reviewers.
    let ids: BTreeSet<&String> = before_g
        .withdrawals
        .keys()
        .chain(after_g.withdrawals.keys())
        .collect();
    for id in ids {
        let (was, is) = (before_g.withdrawals.get(id), after_g.withdrawals.get(id));
        if was == is {
            continue;
        }
        // A reviewer settles a contested withdrawal by writing it again.
        if was.is_some() && is.is_some() && !writer.decides() {
            return Err(Denial::WithdrawalChanged.into());
        }
        let decided = has_decision(&after_inc, id)
            || before_inc.as_ref().is_some_and(|b| has_decision(b, id));
        if decided && !writer.decides() {
            return Err(Denial::DecidedViolationWithdrawn.into());
        }
        // A decision stands at its tier: a focal point's reviewer does not withdraw what the
        // task force decided.
        let tier = before_inc
            .as_ref()
            .and_then(|b| b.violation(id))
            .and_then(|v| v.deciding_tier());
        if let Some(tier) = tier {
            policy::may_decide_at(writer, tier)?;
        }
        // A violation's new withdrawal lists the decisions it sets aside, and only decisions its
        // writer saw: a decision made apart then contests it, and stays counted.
        if let (Some(_), Some(v)) = (is, after_inc.violation(id)) {
            let seen = v.withdrawn.as_ref().and_then(|w| w.overrides.as_ref());
            let Some(seen) = seen else {
                return Err(Error::Bundle(format!(
                    "the withdrawal of violation {id} does not list the decisions it sets aside"
                )));
            };
            let decisions: BTreeSet<&str> = v
                .verification
                .iter()
                .filter(|e| e.status.is_decision())
                .map(|e| e.id.as_str())
                .collect();
            if seen.iter().any(|d| !decisions.contains(d.as_str())) {
                return Err(Error::Bundle(format!(
                    "the withdrawal of violation {id} sets aside a decision its writer did not see"
                )));
            }
        }
    }
    // Review: every new value of the state is a move the writer may make from the state before.
    let from = before_inc
        .as_ref()
        .map(|b| b.review.state)
        .unwrap_or(ReviewState::Draft);
    // The state as read (a review map deleted or replaced moves it too)...
    policy::may_set_review_state(writer, from, after_inc.review.state)?;
    // ...and every value written, even one that loses to a concurrent value.
    for (op, value) in &after_g.review_ops {
        if before_g.review_ops.contains_key(op) {
            continue;
        }
        let to: ReviewState = value
            .parse()
            .map_err(|_| Error::Bundle(format!("review state `{value}` is unknown")))?;
        policy::may_set_review_state(writer, from, to)?;
    }
    for (cid, ops) in &before_g.comments {
        if after_g.comments.get(cid) != Some(ops) {
            return Err(Denial::CommentChanged.into());
        }
    }
    // What a decision verified (type, children, perpetrator) is a reviewer's to change.
    // A reviewer's, and only at the tier of the decision in effect.
    if let Some(b) = &before_inc {
        for v in b.violations.iter().filter(|v| v.status().is_decision()) {
            if let Some(a) = after_inc.violation(&v.id) {
                if a.kind != v.kind || a.victims != v.victims || a.perpetrator != v.perpetrator {
                    if !writer.decides() {
                        return Err(Denial::DecidedViolationChanged.into());
                    }
                    if let Some(tier) = v.deciding_tier() {
                        policy::may_decide_at(writer, tier)?;
                    }
                }
            }
        }
    }
    // Last, so that a refusal names the rule a person knows (a decided violation deleted)
    // before the general one.
    if let Some(bdoc) = before {
        if let Some(path) = structure_lost(bdoc, after) {
            return Err(Denial::StructureReplaced { path }.into());
        }
    }
    Ok(())
}

/// Judge received changes: the policy's rules on their whole effect on the record as the judge
/// holds it (`before` to `merged`), and the field checks on each change in the context its writer
/// saw (the record at the change's own dependencies, before and after it).
///
/// Why two contexts: a change names its dependencies itself, so a modified client could claim
/// an old one to delete a decision it had already received; the rules (what may be changed or
/// removed, by whom) are therefore judged against everything the judge holds. The field checks
/// only ask whether the values a change writes are sound, and a merge of two sound writes made
/// apart must never be refused because of each other (a date edited on one laptop, a decision
/// stamped on another), so they are judged where each change was made.
///
/// Every change must also number its operations exactly as Automerge does (its first operation
/// right after the largest of its dependencies'): a forged counter would win every conflict, or
/// push a record's counters to where every later edit panics.
///
/// `before`: the record as the judge held it (`None`: new); `merged`: it with every change of
/// `new_changes` applied; `new_changes`: in causal order (as [`crate::changes::added_since`]
/// returns them). Errors: as [`check`], or [`Error::Bundle`] for a change that does not apply
/// where it was made or numbers its operations otherwise.
pub fn check_changes(
    writer: &Writer,
    kind: RecordKind,
    before: Option<&automerge::Automerge>,
    merged: &automerge::Automerge,
    new_changes: &[automerge::Change],
    clock: &Clock,
) -> Result<()> {
    use automerge::Automerge;
    // Access is judged on the record as the endpoint holds it now: a team's write to a record
    // another team holds now waits (held on the device), however it was made.
    let team_before = before.map(document::team_of);
    policy::may_write(
        writer,
        kind,
        team_before.as_deref(),
        &document::team_of(merged),
    )?;
    // The common case is a line of changes on the judge's heads: each context is the previous
    // one plus the change, and history is replayed only for a change made concurrently.
    let mut line: Automerge = before.cloned().unwrap_or_default();
    // A run of changes each on the previous one's heads (one device's own sequence, the common
    // push) is judged by the rules once, by its net effect from where it started: judging each
    // change of a long run halved the endpoint's push rate.
    let mut run_start: Option<Automerge> = None;
    let judge_run = |start: &Automerge, end: &Automerge| {
        rules(writer, kind, document::kind_of(start).map(|_| start), end)
    };
    for change in new_changes {
        let mut first_op = 1u64;
        for dep in change.deps() {
            let d = merged
                .get_change_by_hash(dep)
                .ok_or_else(|| Error::Bundle("a change's dependency is missing".into()))?;
            first_op = first_op.max(d.start_op().get().saturating_add(d.len() as u64));
        }
        if change.start_op().get() != first_op {
            return Err(Error::Bundle(format!(
                "a change numbers its operations from {} where they continue from {first_op}",
                change.start_op()
            )));
        }
        let on_line = change.deps() == line.get_heads().as_slice();
        if on_line {
            if run_start.is_none() {
                run_start = Some(line.clone());
            }
        } else if let Some(start) = run_start.take() {
            judge_run(&start, &line)?;
        }
        let context = if on_line {
            None
        } else {
            Some(
                merged
                    .fork_at(change.deps())
                    .map_err(|e| Error::Bundle(format!("a change's dependencies: {e}")))?,
            )
        };
        let context_ref = context.as_ref().unwrap_or(&line);
        let mut after = context_ref.clone();
        after.apply_changes([change.clone()]).map_err(|e| {
            Error::Bundle(format!("a change does not apply where it was made: {e}"))
        })?;
        if !after.get_missing_deps(&[]).is_empty() || after.get_heads() == context_ref.get_heads() {
            return Err(Error::Bundle(
                "a change does not apply where it was made".into(),
            ));
        }
        let before_ctx = document::kind_of(context_ref).map(|_| context_ref);
        // The effect in the context its writer saw: two valid writes made apart are never
        // refused for meeting (their merge is shown as data), and a change can only touch what
        // its writer saw (parts are never replaced, so nothing written apart is hidden).
        if !on_line {
            rules(writer, kind, before_ctx, &after)?;
        }
        values(kind, before_ctx, &after, clock)?;
        if on_line {
            line = after;
        } else {
            line.apply_changes([change.clone()])
                .map_err(|e| Error::Bundle(format!("a change does not apply: {e}")))?;
        }
    }
    if let Some(start) = run_start.take() {
        judge_run(&start, &line)?;
    }
    let new: BTreeSet<automerge::ChangeHash> = new_changes.iter().map(|c| c.hash()).collect();
    if let Some(path) = reused_id(merged, &new) {
        return Err(Error::Bundle(format!(
            "`{path}` already exists: a change made without seeing it wrote a new one under its \
             id, which would hide it"
        )));
    }
    Ok(())
}

/// The first violation, source or coded victim that holds several objects under one id, one of
/// them written by `new`: ids are made unique by whoever adds the part, so two objects under one
/// id mean a change that wrote over a part it could not see (and would hide what was written
/// into it, a decision included).
fn reused_id(doc: &automerge::Automerge, new: &BTreeSet<automerge::ChangeHash>) -> Option<String> {
    let clash = |map: &ObjId, key: &str| {
        let all = doc.get_all(map, key).unwrap_or_default();
        all.len() > 1
            && all
                .iter()
                .any(|(_, id)| doc.hash_for_opid(id).is_some_and(|h| new.contains(&h)))
    };
    for part in ["sources", "violations"] {
        let Some((_, map)) = object(doc, &ROOT, part) else {
            continue;
        };
        for key in doc.keys(&map) {
            if clash(&map, &key) {
                return Some(format!("{part}.{key}"));
            }
            if part != "violations" {
                continue;
            }
            let coded = object(doc, &map, key.as_str())
                .and_then(|(_, v)| object(doc, &v, "victims"))
                .and_then(|(_, vic)| object(doc, &vic, "coded"));
            if let Some((_, cmap)) = coded {
                for cid in doc.keys(&cmap) {
                    if clash(&cmap, &cid) {
                        return Some(format!("{part}.{key}.victims.coded.{cid}"));
                    }
                }
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    #[test]
    fn detail_keys_are_the_tables() {
        assert_eq!(super::DETAIL_KEYS, crate::details::all_keys().as_slice());
    }
}
