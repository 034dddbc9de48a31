//! Writing user actions into a record's document, inside one Automerge transaction.
//!
//! Every function here returns short readable descriptions of what it changed ("set violation 2
//! boys"); the store joins them into the change's history message. They never contain field values,
//! so a history can be shown or logged without exposing what a record says.
//!
//! Scalars are only written when they differ from the current value or when the field holds
//! concurrent values: writing the same value again would create a needless change (and, merged
//! with a concurrent identical write, a conflict between two equal values), while writing over
//! concurrent values is exactly how a conflict is resolved.

use automerge::transaction::Transactable;
use automerge::{ObjId, ObjType, ReadDoc, ScalarValue, Value, ROOT};
use chrono::{DateTime, Utc};
use serde_json::Value as Json;

use crate::details::DetailValue;
use crate::document::RecordKind;
use crate::error::{Error, Result};
use crate::input::*;
use crate::model::{Incident, ReviewState, SplitLink, VerificationStatus, Withdrawal};
use crate::validate::is_uuid;

/// Who acts, and when, on which device clock.
#[derive(Debug, Clone)]
pub struct Actor {
    pub officer: String,
    pub now: DateTime<Utc>,
    pub clock: crate::validate::DeviceClock,
}

impl Actor {
    /// `now` as stored: in the writer's offset ([`crate::validate::DeviceClock::stamp`]).
    pub(crate) fn now_str(&self) -> String {
        self.clock.stamp(self.now)
    }
}

fn new_id() -> String {
    uuid::Uuid::now_v7().to_string()
}

/// Write `v` at `obj.key` unless it is already the one and only value there.
fn set<T: Transactable>(tx: &mut T, obj: &ObjId, key: &str, v: ScalarValue) -> Result<bool> {
    let all = tx.get_all(obj, key)?;
    if let [(Value::Scalar(cur), _)] = all.as_slice() {
        if cur.as_ref() == &v {
            return Ok(false);
        }
    }
    tx.put(obj, key, v)?;
    Ok(true)
}

fn str_val(s: &str) -> ScalarValue {
    ScalarValue::Str(s.into())
}

fn opt_val<T: Into<ScalarValue>>(v: Option<T>) -> ScalarValue {
    v.map(Into::into).unwrap_or(ScalarValue::Null)
}

/// [`set`] for the other record kinds' writers ([`crate::activity`]).
pub(crate) fn set_scalar<T: Transactable>(
    tx: &mut T,
    obj: &ObjId,
    key: &str,
    v: ScalarValue,
) -> Result<bool> {
    set(tx, obj, key, v)
}

/// [`child_map`] for the other record kinds' writers ([`crate::activity`]).
pub(crate) fn map_at<T: Transactable>(tx: &mut T, obj: &ObjId, key: &str) -> Result<ObjId> {
    child_map(tx, obj, key)
}

/// The map at `obj.key`, created if it is missing.
fn child_map<T: Transactable>(tx: &mut T, obj: &ObjId, key: &str) -> Result<ObjId> {
    match tx.get(obj, key)? {
        Some((Value::Object(ObjType::Map), id)) => Ok(id),
        _ => Ok(tx.put_object(obj, key, ObjType::Map)?),
    }
}

/// The existing map at `obj.key`, if any.
fn existing_map<T: Transactable>(tx: &T, obj: &ObjId, key: &str) -> Result<Option<ObjId>> {
    match tx.get(obj, key)? {
        Some((Value::Object(ObjType::Map), id)) => Ok(Some(id)),
        _ => Ok(None),
    }
}

/// The list at `obj.key`, created if it is missing.
fn child_list<T: Transactable>(tx: &mut T, obj: &ObjId, key: &str) -> Result<ObjId> {
    match tx.get(obj, key)? {
        Some((Value::Object(ObjType::List), id)) => Ok(id),
        _ => Ok(tx.put_object(obj, key, ObjType::List)?),
    }
}

/// Replace a list of strings when it differs (or holds concurrent values).
fn set_strings<T: Transactable>(
    tx: &mut T,
    obj: &ObjId,
    key: &str,
    values: &[String],
) -> Result<bool> {
    let all = tx.get_all(obj, key)?;
    if let [(Value::Object(ObjType::List), id)] = all.as_slice() {
        let cur: Vec<Json> = (0..tx.length(id))
            .filter_map(|i| tx.get(id, i).ok().flatten())
            .map(|(v, c)| crate::document::value_json(tx, v, &c))
            .collect();
        if cur.len() == values.len() && cur.iter().zip(values).all(|(a, b)| a == b) {
            return Ok(false);
        }
    }
    let list = tx.put_object(obj, key, ObjType::List)?;
    for (i, v) in values.iter().enumerate() {
        tx.insert(&list, i, str_val(v))?;
    }
    Ok(true)
}

fn check_id(id: &str, what: &str) -> Result<()> {
    if is_uuid(id) {
        Ok(())
    } else {
        Err(Error::invalid(
            "incident",
            format!("{what}.id"),
            format!("`{id}` is not a UUID"),
        ))
    }
}

/// Lay out a new incident document with its fixed structure.
pub fn init_incident<T: Transactable>(tx: &mut T, id: &str, team: &str, who: &Actor) -> Result<()> {
    tx.put(ROOT, "kind", RecordKind::Incident.as_str())?;
    tx.put(ROOT, "id", id)?;
    tx.put(ROOT, "created_by", who.officer.as_str())?;
    tx.put(ROOT, "created_at", who.now_str())?;
    tx.put(ROOT, "team", team)?;
    for key in ["title", "occurred_on", "reported_on", "narrative"] {
        tx.put(ROOT, key, "")?;
    }
    tx.put(ROOT, "date_precision", "day")?;
    tx.put(ROOT, "patrol_id", ScalarValue::Null)?;
    let loc = tx.put_object(ROOT, "location", ObjType::Map)?;
    for key in ["admin1", "admin2", "place"] {
        tx.put(&loc, key, "")?;
    }
    tx.put_object(ROOT, "sources", ObjType::Map)?;
    tx.put_object(ROOT, "violations", ObjType::Map)?;
    let review = tx.put_object(ROOT, "review", ObjType::Map)?;
    tx.put(&review, "state", ReviewState::Draft.as_str())?;
    tx.put_object(&review, "comments", ObjType::List)?;
    Ok(())
}

/// Ordinal (1-based) of a key in an id-keyed map, for messages: ids are UUIDv7, so this is the
/// order in which the items were added.
fn ordinal<T: ReadDoc>(tx: &T, map: &ObjId, id: &str) -> usize {
    tx.keys(map)
        .position(|k| k == id)
        .map(|p| p + 1)
        .unwrap_or(0)
}

/// Apply a partial incident. `creating` allows verification events on new violations.
pub fn apply_incident_patch<T: Transactable>(
    tx: &mut T,
    p: &IncidentPatch,
    who: &Actor,
) -> Result<Vec<String>> {
    let mut log = Vec::new();
    let mut field = |tx: &mut T, key: &str, v: Option<ScalarValue>| -> Result<()> {
        if let Some(v) = v {
            if set(tx, &ROOT, key, v)? {
                log.push(format!("set {key}"));
            }
        }
        Ok(())
    };
    field(tx, "title", p.title.as_deref().map(str_val))?;
    field(tx, "occurred_on", p.occurred_on.as_deref().map(str_val))?;
    field(
        tx,
        "date_precision",
        p.date_precision.map(|d| str_val(d.as_str())),
    )?;
    field(
        tx,
        "ended_on",
        p.ended_on.as_ref().map(|o| opt_val(o.as_deref())),
    )?;
    field(tx, "reported_on", p.reported_on.as_deref().map(str_val))?;
    field(tx, "narrative", p.narrative.as_deref().map(str_val))?;
    field(tx, "team", p.team.as_deref().map(str_val))?;
    field(
        tx,
        "patrol_id",
        p.patrol_id.as_ref().map(|o| opt_val(o.as_deref())),
    )?;

    if let Some(lp) = &p.location {
        let loc = child_map(tx, &ROOT, "location")?;
        let pairs: [(&str, Option<ScalarValue>); 5] = [
            ("admin1", lp.admin1.as_deref().map(str_val)),
            ("admin2", lp.admin2.as_deref().map(str_val)),
            ("place", lp.place.as_deref().map(str_val)),
            ("lat", lp.lat.map(opt_val)),
            ("lon", lp.lon.map(opt_val)),
        ];
        for (key, v) in pairs {
            if let Some(v) = v {
                if set(tx, &loc, key, v)? {
                    log.push(format!("set location {key}"));
                }
            }
        }
    }

    if let Some(sources) = &p.sources {
        let smap = child_map(tx, &ROOT, "sources")?;
        for sp in sources {
            apply_source(tx, &smap, sp, &mut log)?;
        }
    }

    if let Some(violations) = &p.violations {
        let vmap = child_map(tx, &ROOT, "violations")?;
        for vp in violations {
            apply_violation(tx, &vmap, vp, who, &mut log)?;
        }
    }

    for id in &p.restore {
        let done = restore(tx, id)?;
        if !done.is_empty() {
            log.push(done);
        }
    }
    for id in &p.remove {
        log.push(remove(tx, id, &p.remove_reason, who)?);
    }
    Ok(log)
}

fn apply_source<T: Transactable>(
    tx: &mut T,
    smap: &ObjId,
    sp: &SourcePatch,
    log: &mut Vec<String>,
) -> Result<()> {
    let id = sp.id.clone().unwrap_or_else(new_id);
    check_id(&id, "sources[]")?;
    let (obj, new) = match existing_map(tx, smap, &id)? {
        Some(o) => (o, false),
        None => {
            let kind = sp.kind.ok_or_else(|| {
                Error::invalid("incident", "sources[].kind", "is required for a new source")
            })?;
            let o = tx.put_object(smap, id.as_str(), ObjType::Map)?;
            tx.put(&o, "kind", kind.as_str())?;
            tx.put(&o, "consent", sp.consent.unwrap_or(false))?;
            tx.put(&o, "notes", sp.notes.as_deref().unwrap_or(""))?;
            (o, true)
        }
    };
    let n = ordinal(tx, smap, &id);
    if new {
        log.push(format!("added source {n}"));
        return Ok(());
    }
    let pairs: [(&str, Option<ScalarValue>); 3] = [
        ("kind", sp.kind.map(|k| str_val(k.as_str()))),
        ("consent", sp.consent.map(ScalarValue::Boolean)),
        ("notes", sp.notes.as_deref().map(str_val)),
    ];
    for (key, v) in pairs {
        if let Some(v) = v {
            if set(tx, &obj, key, v)? {
                log.push(format!("set source {n} {key}"));
            }
        }
    }
    Ok(())
}

fn apply_violation<T: Transactable>(
    tx: &mut T,
    vmap: &ObjId,
    vp: &ViolationPatch,
    who: &Actor,
    log: &mut Vec<String>,
) -> Result<()> {
    let id = vp.id.clone().unwrap_or_else(new_id);
    check_id(&id, "violations[]")?;
    let (obj, new) = match existing_map(tx, vmap, &id)? {
        Some(o) => (o, false),
        None => {
            let kind = vp.kind.ok_or_else(|| {
                Error::invalid(
                    "incident",
                    "violations[].type",
                    "is required for a new violation",
                )
            })?;
            let o = tx.put_object(vmap, id.as_str(), ObjType::Map)?;
            tx.put(&o, "type", kind.as_str())?;
            let vic = tx.put_object(&o, "victims", ObjType::Map)?;
            for key in ["boys", "girls", "sex_unknown"] {
                tx.put(&vic, key, 0i64)?;
            }
            tx.put_object(&vic, "coded", ObjType::Map)?;
            let per = tx.put_object(&o, "perpetrator", ObjType::Map)?;
            tx.put(&per, "party", "")?;
            tx.put(&per, "category", "unknown")?;
            // Made with the violation, so two officers adding details apart write into one map.
            tx.put_object(&o, "details", ObjType::Map)?;
            tx.put_object(&o, "verification", ObjType::List)?;
            (o, true)
        }
    };
    let n = ordinal(tx, vmap, &id);
    if new {
        let kind = vp.kind.map(|k| k.as_str()).unwrap_or("");
        log.push(format!("added violation {n} ({kind})"));
    } else if let Some(k) = vp.kind {
        if set(tx, &obj, "type", str_val(k.as_str()))? {
            log.push(format!("set violation {n} type to {k}"));
            clear_details_not_of(tx, &obj, k, vp, n, log)?;
        }
    }
    let mut quiet = Vec::new();
    let sub_log = if new { &mut quiet } else { &mut *log };
    if let Some(vic) = &vp.victims {
        let vo = child_map(tx, &obj, "victims")?;
        for (key, v) in [
            ("boys", vic.boys),
            ("girls", vic.girls),
            ("sex_unknown", vic.sex_unknown),
        ] {
            if let Some(v) = v {
                if set(tx, &vo, key, ScalarValue::Int(v))? {
                    sub_log.push(format!("set violation {n} {key}"));
                }
            }
        }
        if let Some(coded) = &vic.coded {
            let cmap = child_map(tx, &vo, "coded")?;
            for cp in coded {
                apply_coded(tx, &cmap, cp, n, sub_log)?;
            }
        }
    }
    if let Some(pp) = &vp.perpetrator {
        let po = child_map(tx, &obj, "perpetrator")?;
        let pairs: [(&str, Option<ScalarValue>); 3] = [
            ("party", pp.party.as_deref().map(str_val)),
            ("category", pp.category.map(|c| str_val(c.as_str()))),
            (
                "party_id",
                pp.party_id.as_ref().map(|p| opt_val(p.as_deref())),
            ),
        ];
        for (key, v) in pairs {
            if let Some(v) = v {
                if set(tx, &po, key, v)? {
                    sub_log.push(format!("set violation {n} perpetrator {key}"));
                }
            }
        }
    }
    if let Some(details) = &vp.details {
        // A key no type takes is refused here, with the validation's words, rather than by
        // the layout check as a malformed record.
        let known = crate::details::all_keys();
        if let Some(key) = details.keys().find(|k| !known.contains(&k.as_str())) {
            return Err(Error::Invalid {
                what: "incident",
                errors: crate::error::FieldErrors(vec![crate::error::FieldError {
                    field: format!("violations[{n}].details.{key}"),
                    message: format!(
                        "`{key}` is not a violation detail (they are: {})",
                        known.join(", ")
                    ),
                    code: Some("detail_unknown"),
                    params: [("key", key.clone())].into_iter().collect(),
                }]),
            });
        }
        let dmap = child_map(tx, &obj, "details")?;
        for (key, value) in details {
            let v = match value {
                None => ScalarValue::Null,
                Some(DetailValue::Flag(b)) => ScalarValue::Boolean(*b),
                Some(DetailValue::Number(d)) => ScalarValue::Int(*d),
                Some(DetailValue::Term(t)) => str_val(t),
            };
            let had = tx.get(&dmap, key.as_str())?.is_some();
            // Clearing a detail never set writes nothing.
            if (had || value.is_some()) && set(tx, &dmap, key, v)? {
                sub_log.push(match value {
                    Some(_) => format!("set violation {n} {key}"),
                    None => format!("cleared violation {n} {key}"),
                });
            }
        }
    }
    match (&vp.verification, new) {
        (Some(events), true) => {
            // A trail given whole (a record imported with its history): each ruling replaces
            // the rulings of its tier and below before it, as the trail reads.
            let mut rulings: Vec<(String, crate::model::DecisionLevel)> = Vec::new();
            for e in events {
                let tier = e.level.unwrap_or(crate::model::DecisionLevel::FocalPoint);
                let supersedes: Vec<String> = if e.status.is_decision() {
                    let (gone, kept) = std::mem::take(&mut rulings)
                        .into_iter()
                        .partition(|(_, t)| *t <= tier);
                    rulings = kept;
                    gone.into_iter().map(|(id, _)| id).collect()
                } else {
                    Vec::new()
                };
                let id = append_event(tx, &obj, e, who, &supersedes, None)?;
                if e.status.is_decision() {
                    rulings.push((id, tier));
                }
            }
        }
        (Some(_), false) => {
            return Err(Error::invalid(
                "incident",
                format!("violations[{n}].verification"),
                "is append-only: add events with `mrm verify`",
            ))
        }
        (None, true) => {
            let first = EventInput {
                status: VerificationStatus::Reported,
                at: None,
                by: None,
                note: String::new(),
                source_ids: Vec::new(),
                level: None,
                sources: None,
            };
            append_event(tx, &obj, &first, who, &[], None)?;
        }
        (None, false) => {}
    }
    Ok(())
}

/// After a violation's type changed to `kind`: clear the details the new type does not take (a
/// weapon once a killing is a denial of access), unless the same write sets them (and is then
/// refused by the validation, saying why).
fn clear_details_not_of<T: Transactable>(
    tx: &mut T,
    obj: &ObjId,
    kind: crate::model::ViolationType,
    vp: &ViolationPatch,
    n: usize,
    log: &mut Vec<String>,
) -> Result<()> {
    let Some(dmap) = existing_map(tx, obj, "details")? else {
        return Ok(());
    };
    let keys: Vec<String> = tx.keys(&dmap).collect();
    for key in keys {
        let given = vp.details.as_ref().is_some_and(|d| d.contains_key(&key));
        let held = match tx.get(&dmap, key.as_str())? {
            Some((Value::Scalar(v), _)) => !matches!(v.as_ref(), ScalarValue::Null),
            Some(_) => true,
            None => false,
        };
        if !given && held && crate::details::spec(kind, &key).is_none() {
            tx.put(&dmap, key.as_str(), ScalarValue::Null)?;
            log.push(format!(
                "cleared violation {n} {key} (not a detail of {kind})"
            ));
        }
    }
    Ok(())
}

fn apply_coded<T: Transactable>(
    tx: &mut T,
    cmap: &ObjId,
    cp: &CodedVictimPatch,
    n: usize,
    log: &mut Vec<String>,
) -> Result<()> {
    let id = cp.id.clone().unwrap_or_else(new_id);
    check_id(&id, "victims.coded[]")?;
    let obj = match existing_map(tx, cmap, &id)? {
        Some(o) => o,
        None => {
            let (Some(code), Some(sex)) = (&cp.code, cp.sex) else {
                return Err(Error::invalid(
                    "incident",
                    "victims.coded[]",
                    "a new coded victim needs a code and a sex",
                ));
            };
            let o = tx.put_object(cmap, id.as_str(), ObjType::Map)?;
            tx.put(&o, "code", code.as_str())?;
            tx.put(&o, "sex", sex.as_str())?;
            tx.put(&o, "age", opt_val(cp.age.flatten()))?;
            log.push(format!("added a coded victim to violation {n}"));
            return Ok(());
        }
    };
    let pairs: [(&str, Option<ScalarValue>); 3] = [
        ("code", cp.code.as_deref().map(str_val)),
        ("sex", cp.sex.map(|s| str_val(s.as_str()))),
        ("age", cp.age.map(opt_val)),
    ];
    for (key, v) in pairs {
        if let Some(v) = v {
            if set(tx, &obj, key, v)? {
                log.push(format!("set a coded victim's {key} in violation {n}"));
            }
        }
    }
    Ok(())
}

/// Append an event; returns its id. `supersedes`: the rulings it replaces (always written, so an
/// event that replaces nothing is told apart from one written before the field existed).
fn append_event<T: Transactable>(
    tx: &mut T,
    violation: &ObjId,
    e: &EventInput,
    who: &Actor,
    supersedes: &[String],
    verified: Option<&crate::model::VerifiedFacts>,
) -> Result<String> {
    let list = child_list(tx, violation, "verification")?;
    let at = tx.length(&list);
    let ev = tx.insert_object(&list, at, ObjType::Map)?;
    tx.put(&ev, "status", e.status.as_str())?;
    tx.put(&ev, "at", e.at.clone().unwrap_or_else(|| who.now_str()))?;
    tx.put(
        &ev,
        "by",
        e.by.clone().unwrap_or_else(|| who.officer.clone()),
    )?;
    tx.put(&ev, "note", e.note.as_str())?;
    let ids = tx.put_object(&ev, "source_ids", ObjType::List)?;
    for (i, s) in e.source_ids.iter().enumerate() {
        tx.insert(&ids, i, s.as_str())?;
    }
    let sup = tx.put_object(&ev, "supersedes", ObjType::List)?;
    for (i, s) in supersedes.iter().enumerate() {
        tx.insert(&sup, i, s.as_str())?;
    }
    if let Some(level) = e.level {
        tx.put(&ev, "level", level.as_str())?;
    }
    if let Some(c) = &e.sources {
        let m = tx.put_object(&ev, "sources", ObjType::Map)?;
        tx.put(&m, "primary", c.primary)?;
        tx.put(&m, "secondary", c.secondary)?;
        tx.put(&m, "un_eyewitness", c.un_eyewitness)?;
    }
    if let Some(f) = verified {
        let m = tx.put_object(&ev, "verified", ObjType::Map)?;
        tx.put(&m, "type", f.kind.as_str())?;
        tx.put(&m, "boys", f.boys)?;
        tx.put(&m, "girls", f.girls)?;
        tx.put(&m, "sex_unknown", f.sex_unknown)?;
        tx.put(&m, "party", f.party.as_str())?;
        tx.put(&m, "category", f.category.as_str())?;
        if let Some(o) = &f.occurred_on {
            tx.put(&m, "occurred_on", o.as_str())?;
            tx.put(&m, "ended_on", f.ended_on.as_deref().unwrap_or(""))?;
        }
    }
    Ok(ev.to_string())
}

/// Mark a violation or source withdrawn (who, when, why), keeping it and its history.
/// `overrides`: of a violation, the decisions in effect that the withdrawal sets aside, and
/// `contested`: whether its present withdrawal was made apart from a decision (then it is written
/// again, over the decision; the policy lets only a reviewer do that).
fn withdraw<T: Transactable>(
    tx: &mut T,
    obj: &ObjId,
    reason: &str,
    who: &Actor,
    overrides: Option<Vec<String>>,
    contested: bool,
) -> Result<bool> {
    if existing_map(tx, obj, "withdrawn")?.is_some() && !contested {
        return Ok(false);
    }
    let w = Withdrawal {
        at: who.now_str(),
        by: who.officer.clone(),
        reason: reason.to_string(),
        overrides,
    };
    put_withdrawal(tx, obj, &w)?;
    Ok(true)
}

/// Restore a withdrawn violation or source (the withdrawal is deleted; its trail was kept).
fn restore<T: Transactable>(tx: &mut T, id: &str) -> Result<String> {
    for (map, what) in [("sources", "source"), ("violations", "violation")] {
        if let Some(m) = existing_map(tx, &ROOT, map)? {
            if let Some(obj) = existing_map(tx, &m, id)? {
                let n = ordinal(tx, &m, id);
                if existing_map(tx, &obj, "withdrawn")?.is_none() {
                    return Ok(String::new());
                }
                tx.delete(&obj, "withdrawn")?;
                return Ok(format!("restored {what} {n}"));
            }
        }
    }
    Err(Error::NotFound {
        kind: "violation or source",
        id: id.to_string(),
    })
}

/// Remove a violation, source or coded victim by id. A violation or a source is withdrawn, not
/// deleted: it keeps its verification trail, and the decisions that cite it keep their source,
/// whatever a concurrent edit did. A coded victim carries no decision and is deleted.
fn remove<T: Transactable>(tx: &mut T, id: &str, reason: &str, who: &Actor) -> Result<String> {
    if let Some(smap) = existing_map(tx, &ROOT, "sources")? {
        if let Some(src) = existing_map(tx, &smap, id)? {
            let n = ordinal(tx, &smap, id);
            withdraw(tx, &src, reason, who, None, false)?;
            return Ok(format!("withdrew source {n}"));
        }
    }
    if let Some(vmap) = existing_map(tx, &ROOT, "violations")? {
        if let Some(v) = existing_map(tx, &vmap, id)? {
            let n = ordinal(tx, &vmap, id);
            let inc = crate::document::read_incident(&*tx)?;
            let current = inc.violations.iter().find(|x| x.id == id);
            let overrides: Vec<String> = current
                .map(|x| {
                    x.ruling_heads()
                        .into_iter()
                        .map(|i| &x.verification[i])
                        .filter(|e| e.status.is_decision())
                        .map(|e| e.id.clone())
                        .collect()
                })
                .unwrap_or_default();
            let contested = current.is_some_and(|x| x.withdrawal_contested());
            withdraw(tx, &v, reason, who, Some(overrides), contested)?;
            return Ok(format!("withdrew violation {n}"));
        }
        let vids: Vec<String> = tx.keys(&vmap).collect();
        for vid in vids {
            let Some(v) = existing_map(tx, &vmap, &vid)? else {
                continue;
            };
            let Some(vic) = existing_map(tx, &v, "victims")? else {
                continue;
            };
            let Some(cmap) = existing_map(tx, &vic, "coded")? else {
                continue;
            };
            if existing_map(tx, &cmap, id)?.is_some() {
                tx.delete(&cmap, id)?;
                let n = ordinal(tx, &vmap, &vid);
                return Ok(format!("removed a coded victim from violation {n}"));
            }
        }
    }
    Err(Error::NotFound {
        kind: "violation, source or coded victim",
        id: id.to_string(),
    })
}

/// Append a verification event to a violation.
///
/// `rule`: whether the event replaces the violation's current rulings (a reviewer's event, or
/// any decision); an officer's field event replaces nothing, so it never undoes a decision.
pub fn add_verification<T: Transactable>(
    tx: &mut T,
    violation_id: &str,
    e: &EventInput,
    who: &Actor,
    rule: bool,
) -> Result<String> {
    let vmap = existing_map(tx, &ROOT, "violations")?;
    let v = match &vmap {
        Some(m) => existing_map(tx, m, violation_id)?,
        None => None,
    };
    let (Some(vmap), Some(v)) = (vmap, v) else {
        return Err(Error::NotFound {
            kind: "violation",
            id: violation_id.to_string(),
        });
    };
    let current = crate::document::read_incident(&*tx)?;
    let viol = current.violation(violation_id);
    // A ruling replaces the current rulings of its tier and below: a focal point's decision
    // never replaces the task force's (`policy::may_supersede`).
    let tier = e.level.unwrap_or(crate::model::DecisionLevel::FocalPoint);
    let supersedes: Vec<String> = match viol {
        Some(viol) if rule => viol
            .ruling_heads()
            .into_iter()
            .filter(|&i| viol.verification[i].tier() <= tier)
            .map(|i| viol.verification[i].id.clone())
            .collect(),
        _ => Vec::new(),
    };
    // A decision keeps what it verified, so a change to those facts shows as needing another.
    let facts = viol
        .filter(|_| e.status.is_decision())
        .map(|viol| crate::model::VerifiedFacts::of(&current, viol));
    append_event(tx, &v, e, who, &supersedes, facts.as_ref())?;
    let n = ordinal(tx, &vmap, violation_id);
    Ok(format!("set violation {n} status to {}", e.status))
}

/// A step of the review workflow.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReviewAction {
    /// The field sends the record for review.
    Submit,
    /// A reviewer sends it back to the field, with a comment saying why.
    Return,
    /// A reviewer accepts it.
    Accept,
    /// Only a comment on the thread.
    Comment,
}

/// Move the review state and/or add a comment.
pub fn review<T: Transactable>(
    tx: &mut T,
    action: ReviewAction,
    comment: Option<&str>,
    violations: usize,
    who: &Actor,
) -> Result<String> {
    let rmap = child_map(tx, &ROOT, "review")?;
    let state: ReviewState = match tx.get(&rmap, "state")? {
        Some((Value::Scalar(s), _)) => s.as_str().and_then(|s| s.parse().ok()),
        _ => None,
    }
    .unwrap_or(ReviewState::Draft);
    let comment = comment.map(str::trim).filter(|c| !c.is_empty());
    let (next, msg) = match action {
        ReviewAction::Submit => {
            if !matches!(state, ReviewState::Draft | ReviewState::Returned) {
                return Err(Error::Refused(format!(
                    "a {state} incident cannot be submitted"
                )));
            }
            if violations == 0 {
                return Err(Error::invalid(
                    "incident",
                    "violations",
                    "an incident needs at least one violation before it is submitted",
                ));
            }
            (Some(ReviewState::Submitted), "submitted for review")
        }
        ReviewAction::Return => {
            if !matches!(state, ReviewState::Submitted | ReviewState::Accepted) {
                return Err(Error::Refused(format!(
                    "a {state} incident cannot be returned to the field"
                )));
            }
            if comment.is_none() {
                return Err(Error::invalid(
                    "incident",
                    "review.comment",
                    "say why the record goes back to the field",
                ));
            }
            (Some(ReviewState::Returned), "returned to the field")
        }
        ReviewAction::Accept => {
            if state != ReviewState::Submitted {
                return Err(Error::Refused(format!(
                    "only a submitted incident can be accepted (this one is {state})"
                )));
            }
            (Some(ReviewState::Accepted), "accepted")
        }
        ReviewAction::Comment => {
            if comment.is_none() {
                return Err(Error::invalid("incident", "review.comment", "is empty"));
            }
            (None, "commented")
        }
    };
    if let Some(next) = next {
        set(tx, &rmap, "state", str_val(next.as_str()))?;
    }
    if let Some(text) = comment {
        let list = child_list(tx, &rmap, "comments")?;
        let at = tx.length(&list);
        let c = tx.insert_object(&list, at, ObjType::Map)?;
        tx.put(&c, "at", who.now_str())?;
        tx.put(&c, "by", who.officer.as_str())?;
        tx.put(&c, "text", text)?;
    }
    Ok(msg.to_string())
}

/// Write the chosen value of a conflicting review state (bypasses the workflow on purpose: both
/// values were legitimate moves on two devices).
pub fn resolve_review_state<T: Transactable>(tx: &mut T, state: ReviewState) -> Result<bool> {
    let rmap = child_map(tx, &ROOT, "review")?;
    set(tx, &rmap, "state", str_val(state.as_str()))
}

/// Lay out a new patrol document.
pub fn init_patrol<T: Transactable>(tx: &mut T, id: &str, team: &str, who: &Actor) -> Result<()> {
    tx.put(ROOT, "kind", RecordKind::Patrol.as_str())?;
    tx.put(ROOT, "id", id)?;
    tx.put(ROOT, "created_by", who.officer.as_str())?;
    tx.put(ROOT, "created_at", who.now_str())?;
    tx.put(ROOT, "team", team)?;
    tx.put(ROOT, "date", "")?;
    tx.put(ROOT, "notes", "")?;
    tx.put(ROOT, "ended_at", ScalarValue::Null)?;
    tx.put_object(ROOT, "route", ObjType::List)?;
    tx.put_object(ROOT, "participants", ObjType::List)?;
    Ok(())
}

/// Apply a partial patrol.
pub fn apply_patrol_patch<T: Transactable>(tx: &mut T, p: &PatrolPatch) -> Result<Vec<String>> {
    let mut log = Vec::new();
    let pairs: [(&str, Option<ScalarValue>); 4] = [
        ("date", p.date.as_deref().map(str_val)),
        ("team", p.team.as_deref().map(str_val)),
        ("notes", p.notes.as_deref().map(str_val)),
        (
            "ended_at",
            p.ended_at.as_ref().map(|e| opt_val(e.as_deref())),
        ),
    ];
    for (key, v) in pairs {
        if let Some(v) = v {
            if set(tx, &ROOT, key, v)? {
                log.push(format!("set {key}"));
            }
        }
    }
    for (key, v) in [("route", &p.route), ("participants", &p.participants)] {
        if let Some(v) = v {
            if set_strings(tx, &ROOT, key, v)? {
                log.push(format!("set {key}"));
            }
        }
    }
    Ok(log)
}

/// Lay out the device registry document if it is new, and set the entry of `actor` (hex).
/// Written by the endpoint alone, at enrollment and revocation.
pub fn put_registered<T: Transactable>(
    tx: &mut T,
    actor: &str,
    d: &crate::model::RegisteredDevice,
) -> Result<()> {
    if tx.get(&ROOT, "kind")?.is_none() {
        tx.put(ROOT, "kind", RecordKind::Registry.as_str())?;
        tx.put(ROOT, "id", crate::document::REGISTRY_ID)?;
    }
    let devices = child_map(tx, &ROOT, "devices")?;
    let e = child_map(tx, &devices, actor)?;
    for (k, v) in [
        ("device_id", &d.device_id),
        ("officer", &d.officer),
        ("team", &d.team),
        ("role", &d.role),
    ] {
        set(tx, &e, k, str_val(v))?;
    }
    set(tx, &e, "revoked_at", opt_val(d.revoked_at.clone()))?;
    Ok(())
}

/// Lay out or update the mission configuration document.
pub fn apply_config<T: Transactable>(
    tx: &mut T,
    cfg: &crate::model::MissionConfig,
) -> Result<Vec<String>> {
    let mut log = Vec::new();
    if tx.get(&ROOT, "kind")?.is_none() {
        tx.put(ROOT, "kind", RecordKind::Config.as_str())?;
        tx.put(ROOT, "id", crate::document::CONFIG_ID)?;
    }
    if set(tx, &ROOT, "mission", str_val(&cfg.mission))? {
        log.push("set mission".to_string());
    }
    for (key, v) in [("teams", &cfg.teams), ("parties", &cfg.parties)] {
        if set_strings(tx, &ROOT, key, v)? {
            log.push(format!("set {key}"));
        }
    }
    // One value: the registry is the administrators' alone, and read strictly.
    crate::parties::check(&cfg.party_registry)?;
    let registry = if cfg.party_registry.is_empty() {
        ScalarValue::Null
    } else {
        str_val(
            &serde_json::to_string(&cfg.party_registry)
                .map_err(|e| Error::invalid("party registry", "party_registry", e.to_string()))?,
        )
    };
    let had = tx.get(&ROOT, "party_registry")?.is_some();
    if (had || !cfg.party_registry.is_empty()) && set(tx, &ROOT, "party_registry", registry)? {
        log.push("set the party registry".to_string());
    }
    // One value, as the registry: extents are set whole, by an administrator.
    crate::bounds::check_all(&cfg.area_bounds, &cfg.admin_areas)?;
    let bounds =
        if cfg.area_bounds.is_empty() {
            ScalarValue::Null
        } else {
            str_val(&serde_json::to_string(&cfg.area_bounds).map_err(|e| {
                Error::invalid("mission configuration", "area_bounds", e.to_string())
            })?)
        };
    let had = tx.get(&ROOT, "area_bounds")?.is_some();
    if (had || !cfg.area_bounds.is_empty()) && set(tx, &ROOT, "area_bounds", bounds)? {
        log.push("set the provinces' extents".to_string());
    }
    let areas = child_map(tx, &ROOT, "admin_areas")?;
    let old: Vec<String> = tx.keys(&areas).collect();
    for k in old {
        if !cfg.admin_areas.contains_key(&k) {
            tx.delete(&areas, k.as_str())?;
            log.push("removed an admin area".to_string());
        }
    }
    for (k, v) in &cfg.admin_areas {
        if set_strings(tx, &areas, k, v)? {
            log.push(format!("set admin area {k}"));
        }
    }
    Ok(log)
}

/// Lay out, in a new document, the incident `inc` as read from another record's branch (a split,
/// [`crate::split`]): its fields, sources, violations, verification trails (each event with its
/// time and author, the rulings it replaced mapped to the copies), withdrawals, review state and
/// thread, and `split_from`. `created_at` is the original creation's, so two reviewers who split
/// the same record apart write the same values.
pub fn copy_incident<T: Transactable>(
    tx: &mut T,
    inc: &Incident,
    new_id: &str,
    created_at: &str,
    link: &SplitLink,
    who: &Actor,
) -> Result<()> {
    init_incident(tx, new_id, &inc.team, who)?;
    tx.put(ROOT, "created_by", inc.created_by.as_str())?;
    tx.put(ROOT, "created_at", created_at)?;
    let l = &inc.location;
    let patch = IncidentPatch {
        title: Some(inc.title.clone()),
        occurred_on: Some(inc.occurred_on.clone()),
        date_precision: Some(inc.date_precision),
        ended_on: inc.ended_on.clone().map(Some),
        reported_on: Some(inc.reported_on.clone()),
        location: Some(LocationPatch {
            admin1: Some(l.admin1.clone()),
            admin2: Some(l.admin2.clone()),
            place: Some(l.place.clone()),
            lat: Some(l.lat),
            lon: Some(l.lon),
        }),
        narrative: Some(inc.narrative.clone()),
        patrol_id: Some(inc.patrol_id.clone()),
        sources: Some(
            inc.sources
                .iter()
                .map(|s| SourcePatch {
                    id: Some(s.id.clone()),
                    kind: Some(s.kind),
                    consent: Some(s.consent),
                    notes: Some(s.notes.clone()),
                })
                .collect(),
        ),
        violations: Some(
            inc.violations
                .iter()
                .map(|v| ViolationPatch {
                    id: Some(v.id.clone()),
                    kind: Some(v.kind),
                    victims: Some(VictimsPatch {
                        boys: Some(v.victims.boys),
                        girls: Some(v.victims.girls),
                        sex_unknown: Some(v.victims.sex_unknown),
                        coded: Some(
                            v.victims
                                .coded
                                .iter()
                                .map(|c| CodedVictimPatch {
                                    id: Some(c.id.clone()),
                                    code: Some(c.code.clone()),
                                    sex: Some(c.sex),
                                    age: Some(c.age),
                                })
                                .collect(),
                        ),
                    }),
                    perpetrator: Some(PerpetratorPatch {
                        party: Some(v.perpetrator.party.clone()),
                        category: Some(v.perpetrator.category),
                        party_id: v.perpetrator.party_id.clone().map(Some),
                    }),
                    details: Some(
                        v.details
                            .iter()
                            .map(|(k, d)| (k.clone(), Some(d.clone())))
                            .collect(),
                    ),
                    // The trail is copied below, event by event; an empty one here keeps the
                    // "reported" event a new violation would get.
                    verification: Some(Vec::new()),
                })
                .collect(),
        ),
        ..IncidentPatch::default()
    };
    apply_incident_patch(tx, &patch, who)?;

    let vmap = child_map(tx, &ROOT, "violations")?;
    let smap = child_map(tx, &ROOT, "sources")?;
    for v in &inc.violations {
        let obj = child_map(tx, &vmap, &v.id)?;
        let mut copied: std::collections::HashMap<&str, String> = Default::default();
        let mut rulings: Vec<String> = Vec::new();
        for e in &v.verification {
            let supersedes: Vec<String> = match &e.supersedes {
                Some(ids) => ids
                    .iter()
                    .filter_map(|i| copied.get(i.as_str()).cloned())
                    .collect(),
                // Written before `supersedes` existed: it replaced every ruling before it.
                None if e.is_ruling() => rulings.clone(),
                None => Vec::new(),
            };
            let input = EventInput {
                status: e.status,
                at: Some(e.at.clone()),
                by: Some(e.by.clone()),
                note: e.note.clone(),
                source_ids: e.source_ids.clone(),
                level: e.level,
                sources: e.sources,
            };
            let new = append_event(tx, &obj, &input, who, &supersedes, e.verified.as_ref())?;
            if e.is_ruling() {
                rulings.push(new.clone());
            }
            copied.insert(e.id.as_str(), new);
        }
        if let Some(w) = &v.withdrawn {
            // A withdrawal from before `overrides` existed set aside every decision it followed.
            let overrides: Vec<String> = match &w.overrides {
                Some(ids) => ids
                    .iter()
                    .filter_map(|i| copied.get(i.as_str()).cloned())
                    .collect(),
                None => v
                    .verification
                    .iter()
                    .filter(|e| e.status.is_decision())
                    .filter_map(|e| copied.get(e.id.as_str()).cloned())
                    .collect(),
            };
            let w = Withdrawal {
                overrides: Some(overrides),
                ..w.clone()
            };
            put_withdrawal(tx, &obj, &w)?;
        }
    }
    for s in &inc.sources {
        if let Some(w) = &s.withdrawn {
            let obj = child_map(tx, &smap, &s.id)?;
            put_withdrawal(tx, &obj, w)?;
        }
    }
    let review = child_map(tx, &ROOT, "review")?;
    tx.put(&review, "state", inc.review.state.as_str())?;
    let comments = child_list(tx, &review, "comments")?;
    for (i, c) in inc.review.comments.iter().enumerate() {
        let m = tx.insert_object(&comments, i, ObjType::Map)?;
        tx.put(&m, "at", c.at.as_str())?;
        tx.put(&m, "by", c.by.as_str())?;
        tx.put(&m, "text", c.text.as_str())?;
    }
    let from = tx.put_object(ROOT, "split_from", ObjType::Map)?;
    put_link(tx, &from, link)?;
    Ok(())
}

/// Write `w` as the `withdrawn` map of `obj` (a new withdrawal, or one copied by a split).
fn put_withdrawal<T: Transactable>(tx: &mut T, obj: &ObjId, w: &Withdrawal) -> Result<()> {
    let m = tx.put_object(obj, "withdrawn", ObjType::Map)?;
    tx.put(&m, "at", w.at.as_str())?;
    tx.put(&m, "by", w.by.as_str())?;
    tx.put(&m, "reason", w.reason.as_str())?;
    if let Some(ids) = &w.overrides {
        let list = tx.put_object(&m, "overrides", ObjType::List)?;
        for (i, id) in ids.iter().enumerate() {
            tx.insert(&list, i, id.as_str())?;
        }
    }
    Ok(())
}

fn put_link<T: Transactable>(tx: &mut T, obj: &ObjId, link: &SplitLink) -> Result<()> {
    tx.put(obj, "record", link.record.as_str())?;
    tx.put(obj, "root", link.root.as_str())?;
    Ok(())
}

/// In the record split from: list the split (`split_off`) and write `repairs`, the top-level
/// values the kept record wrote where the split-off branch's won ([`crate::split::repairs`]), so
/// the record reads as its own officer recorded it.
pub fn record_split<T: Transactable>(
    tx: &mut T,
    link: &SplitLink,
    repairs: &[(String, ScalarValue)],
) -> Result<()> {
    let list = child_list(tx, &ROOT, "split_off")?;
    let at = tx.length(&list);
    let m = tx.insert_object(&list, at, ObjType::Map)?;
    put_link(tx, &m, link)?;
    for (key, v) in repairs {
        tx.put(ROOT, key.as_str(), v.clone())?;
    }
    Ok(())
}
