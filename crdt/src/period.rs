//! Closed reporting periods: a report's figures frozen when they were sent (a GHN quarter, a
//! year), as an immutable record synced with the mission, and what changed since.
//!
//! A period record is one Automerge document written once, by the reviewer who closes it:
//!
//! ```text
//! { kind: "period", id, team: "", name, from, to, closed_by, closed_at,
//!   report: "<the Report as JSON>", members: "<[[incident, violation, section, type, boys, girls, sex_unknown], ...]>" }
//! ```
//!
//! The figures and the list of counted violations are kept as JSON text (scalar strings): they
//! are never edited, so they need no character-level merging, and a whole quarter stays a few
//! bytes per violation. `crate::effect` refuses any change to a period after its creation.

use std::collections::BTreeMap;

use automerge::{ReadDoc, ScalarValue, Value, ROOT};
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::document::RecordKind;
use crate::error::{Error, Result};
use crate::model::ViolationType;
use crate::report::Children;
use crate::report::{Period, Report, Section};

/// The longest period name (`2025-Q1`, `GHN Q1 2025`, ...).
pub const MAX_NAME: usize = 100;

/// A violation a report counted, in the table it was counted in, with its children.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Member {
    pub incident_id: String,
    pub violation_id: String,
    pub section: Section,
    #[serde(rename = "type")]
    pub kind: ViolationType,
    pub boys: i64,
    pub girls: i64,
    pub sex_unknown: i64,
}

/// [`Member`] as stored: a JSON array in field order, a few bytes each.
type StoredMember = (String, String, Section, ViolationType, i64, i64, i64);

/// A closed period as its record holds it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FrozenPeriod {
    pub id: String,
    pub name: String,
    pub from: NaiveDate,
    pub to: NaiveDate,
    /// The officer (reviewer) who closed it, as the endpoint's registry names the device that
    /// wrote the record (what the record says of itself when the registry does not know it),
    /// and when (RFC 3339, their offset).
    pub closed_by: String,
    pub closed_at: String,
    /// What the record said of its author when the registry names it otherwise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub closed_by_declared: Option<String>,
    /// The figures as they stood when it was closed.
    pub report: Report,
    #[serde(skip)]
    pub members: Vec<Member>,
}

impl FrozenPeriod {
    /// The period it covers.
    pub fn period(&self) -> Period {
        Period {
            from: self.from,
            to: self.to,
        }
    }
}

/// Check a name for a period.
///
/// Errors: [`Error::Invalid`] on `name` when empty, over [`MAX_NAME`] characters, or holding a
/// control character.
pub fn check_name(name: &str) -> Result<()> {
    let n = name.trim();
    if n.is_empty() {
        return Err(Error::invalid("period", "name", "is required"));
    }
    if n.chars().count() > MAX_NAME || n.chars().any(|c| c.is_control() || is_invisible(c)) {
        return Err(Error::invalid(
            "period",
            "name",
            format!(
                "is at most {MAX_NAME} characters, without control or invisible characters \
                 (zero-width spaces, direction overrides)"
            ),
        ));
    }
    Ok(())
}

/// Invisible formatting characters (Unicode's format category, Cf, as names use them): two
/// names that differ only by one look alike.
fn is_invisible(c: char) -> bool {
    matches!(c, '\u{ad}' | '\u{61c}' | '\u{180e}' | '\u{200b}'..='\u{200f}' | '\u{202a}'..='\u{202e}'
        | '\u{2060}'..='\u{206f}' | '\u{feff}' | '\u{fff9}'..='\u{fffb}')
}

/// How period names compare: NFC, trimmed, case-folded, runs of spaces (any kind) as one, and
/// dashes of any kind as `-` (`2025-q1` and `2025‑Q1` name the period `2025-Q1` names).
pub fn name_key(name: &str) -> String {
    let folded = crate::report::nfc(name.trim()).to_lowercase();
    let mut out = String::new();
    let mut space = false;
    for c in folded.chars() {
        if c.is_whitespace() {
            space = true;
            continue;
        }
        if space && !out.is_empty() {
            out.push(' ');
        }
        space = false;
        out.push(match c {
            '\u{2010}'..='\u{2015}' | '\u{2212}' => '-',
            c => c,
        });
    }
    out
}

/// `members` as the record stores them.
fn stored(members: &[Member]) -> Vec<StoredMember> {
    members
        .iter()
        .map(|m| {
            (
                m.incident_id.clone(),
                m.violation_id.clone(),
                m.section,
                m.kind,
                m.boys,
                m.girls,
                m.sex_unknown,
            )
        })
        .collect()
}

/// About how many bytes a period record of `report` and `members` holds (its two texts).
///
/// Errors: none in practice (serialising plain data).
pub fn encoded_len(report: &Report, members: &[Member]) -> Result<usize> {
    Ok(serde_json::to_string(report)?.len() + serde_json::to_string(&stored(members))?.len())
}

/// Lay out a new period record (`who` closes it now).
pub fn init<T: automerge::transaction::Transactable>(
    tx: &mut T,
    id: &str,
    name: &str,
    report: &Report,
    members: &[Member],
    who: &crate::edit::Actor,
) -> Result<Vec<String>> {
    check_name(name)?;
    let stored = stored(members);
    for (key, value) in [
        ("kind", RecordKind::Period.as_str().to_string()),
        ("id", id.to_string()),
        ("team", String::new()),
        ("name", crate::report::nfc(name.trim())),
        ("from", report.from.to_string()),
        ("to", report.to.to_string()),
        ("closed_by", who.officer.clone()),
        ("closed_at", who.now_str()),
        ("report", serde_json::to_string(report)?),
        ("members", serde_json::to_string(&stored)?),
    ] {
        tx.put(ROOT, key, value)?;
    }
    Ok(vec![format!("closed period {}", name.trim())])
}

/// Read a period record strictly (a malformed one from a peer is refused).
///
/// Errors: [`Error::Bundle`] naming the field that is missing or malformed.
pub fn read<R: ReadDoc>(doc: &R) -> Result<FrozenPeriod> {
    let text = |key: &str| -> Result<String> {
        match doc.get(ROOT, key) {
            Ok(Some((Value::Scalar(s), _))) => match s.as_ref() {
                ScalarValue::Str(t) => Ok(t.to_string()),
                _ => Err(bad(key, "is not text")),
            },
            _ => Err(bad(key, "is missing")),
        }
    };
    if text("kind")? != RecordKind::Period.as_str() {
        return Err(bad("kind", "is not `period`"));
    }
    let date = |key: &str| -> Result<NaiveDate> {
        crate::validate::parse_date(&text(key)?).ok_or_else(|| bad(key, "is not a date"))
    };
    let report: Report =
        serde_json::from_str(&text("report")?).map_err(|_| bad("report", "is not a report"))?;
    let stored: Vec<StoredMember> = serde_json::from_str(&text("members")?)
        .map_err(|_| bad("members", "is not a list of counted violations"))?;
    let name = text("name")?;
    check_name(&name).map_err(|_| bad("name", "is not a period name"))?;
    let (from, to) = (date("from")?, date("to")?);
    if to < from || report.from != from || report.to != to {
        return Err(bad("to", "does not close the period its figures cover"));
    }
    Ok(FrozenPeriod {
        id: text("id")?,
        name,
        from,
        to,
        closed_by: text("closed_by")?,
        closed_at: text("closed_at")?,
        closed_by_declared: None,
        report,
        members: stored
            .into_iter()
            .map(
                |(incident_id, violation_id, section, kind, boys, girls, sex_unknown)| Member {
                    incident_id,
                    violation_id,
                    section,
                    kind,
                    boys,
                    girls,
                    sex_unknown,
                },
            )
            .collect(),
    })
}

fn bad(field: &str, why: &str) -> Error {
    Error::Bundle(format!("a period record is malformed: {field} {why}"))
}

/// What happened to one violation since the period was closed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Changed {
    pub incident_id: String,
    pub violation_id: String,
    #[serde(rename = "type")]
    pub kind: ViolationType,
    /// `added`, `removed`, `moved` (to another table) or `children` (the same table, other
    /// children or another type).
    pub change: String,
    /// The table it was counted in when the period closed, and its children then.
    pub was: Option<(Section, Children)>,
    /// The table it counts in now for this period, and its children now.
    pub now: Option<(Section, Children)>,
    /// Its current status (`None`: withdrawn, or its record is gone from this device's scope).
    pub status_now: Option<String>,
    /// A late verification made after the period: the day it was made (it counts in the late
    /// table of the period containing that day).
    pub verified_late_on: Option<NaiveDate>,
}

/// What a violation is now, for [`diff`]: its status, and the day of a late verification.
#[derive(Debug, Clone, PartialEq)]
pub struct Now {
    pub status: String,
    pub late_on: Option<NaiveDate>,
}

fn children(m: &Member) -> Children {
    Children {
        boys: m.boys,
        girls: m.girls,
        sex_unknown: m.sex_unknown,
        total: m.boys + m.girls + m.sex_unknown,
    }
}

/// The violations whose counting changed since the period closed: `frozen` (the period's
/// members), `current` (the members the same report counts now) and `now` (what each frozen
/// violation is now, by (incident, violation); absent: withdrawn or gone). Sorted by incident.
pub fn diff(
    frozen: &[Member],
    current: &[Member],
    now: &BTreeMap<(String, String), Now>,
) -> Vec<Changed> {
    let key = |m: &Member| (m.incident_id.clone(), m.violation_id.clone());
    let was: BTreeMap<(String, String), &Member> = frozen.iter().map(|m| (key(m), m)).collect();
    let is: BTreeMap<(String, String), &Member> = current.iter().map(|m| (key(m), m)).collect();
    let mut keys: Vec<&(String, String)> = was.keys().chain(is.keys()).collect();
    keys.sort();
    keys.dedup();
    let mut out = Vec::new();
    for k in keys {
        let (w, n) = (was.get(k).copied(), is.get(k).copied());
        let change = match (w, n) {
            (Some(a), Some(b)) if a == b => continue,
            (Some(a), Some(b)) if a.section == b.section => "children",
            (Some(_), Some(_)) => "moved",
            (Some(_), None) => "removed",
            (None, Some(_)) => "added",
            (None, None) => continue,
        };
        let state = now.get(k);
        out.push(Changed {
            incident_id: k.0.clone(),
            violation_id: k.1.clone(),
            kind: n.or(w).map(|m| m.kind).unwrap_or(ViolationType::Killing),
            change: change.into(),
            was: w.map(|m| (m.section, children(m))),
            now: n.map(|m| (m.section, children(m))),
            status_now: state.map(|s| s.status.clone()),
            verified_late_on: state.and_then(|s| s.late_on),
        });
    }
    out
}
