//! The MRM's counting rules: which violations a report counts, in which table, and how.
//!
//! Pure functions over [`Counted`] violations (what the store's projection holds of each live
//! violation); the store reads them in SQL (`mrm_store::Store::report`). The rules and their
//! sources are written down in docs/reporting.md; in short, for a period `[from, to]`:
//!
//! - **verified**: the current ruling is `verified`, the incident began in the period, and the
//!   verification is not late;
//! - **late verified**: the current ruling is `verified`, it is late (made after the end of the
//!   quarter in which the incident ended: [`crate::counting::is_late`]), and it was made in the
//!   period. So every verified violation is counted once over consecutive periods: with the
//!   period it occurred in when verified in time, else with the period it was verified in;
//! - **unverified**: `reported` or `pending_verification`, the incident began in the period;
//! - **not verified**: a reviewer found it could not be verified, the incident began in the
//!   period (shown apart, never added to the others);
//! - `did_not_occur` and `not_mrm` rulings and withdrawn violations are never counted.
//!
//! Killing, maiming, recruitment and use, sexual violence and abduction are counted in children
//! (boys, girls, sex unknown); attacks on and military use of schools and hospitals and denial
//! of humanitarian access in incidents.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use chrono::{Datelike, NaiveDate};
use serde::{Deserialize, Serialize};
use unicode_normalization::UnicodeNormalization;

use crate::model::{PerpetratorCategory, Sex, VerificationStatus, ViolationType};

/// Children by sex.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Children {
    pub boys: i64,
    pub girls: i64,
    pub sex_unknown: i64,
    pub total: i64,
}

/// `s` in Unicode NFC: text typed with combining accents compares equal to the same text typed
/// precomposed ("Béni" either way).
pub fn nfc(s: &str) -> String {
    s.nfc().collect()
}

/// A victim code in the form reports compare codes in: NFC, trimmed, upper case (`v-014` and
/// `V-014 ` are one child).
pub fn victim_key(code: &str) -> String {
    nfc(code.trim()).to_uppercase()
}

/// Bits of a violation's `flags` in the projection: what a report shows beside its figures.
pub mod flags {
    /// Concurrent rulings disagree; the report counts the one [`crate::model::Violation::status`]
    /// gives until a reviewer decides again.
    pub const CONTESTED: i64 = 1;
    /// The facts (type, children, perpetrator) changed since the decision in effect.
    pub const CHANGED_SINCE_DECISION: i64 = 2;
    /// Withdrawn apart from a decision that stands: counted until a reviewer settles it.
    pub const WITHDRAWAL_CONTESTED: i64 = 4;

    /// The names of the bits set in `f`, as reports list them.
    pub fn names(f: i64) -> Vec<&'static str> {
        [
            (CONTESTED, "contested_decision"),
            (CHANGED_SINCE_DECISION, "changed_since_decision"),
            (WITHDRAWAL_CONTESTED, "withdrawal_contested"),
        ]
        .into_iter()
        .filter(|(b, _)| f & b != 0)
        .map(|(_, n)| n)
        .collect()
    }
}

/// A reporting period, both days included.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Period {
    pub from: NaiveDate,
    pub to: NaiveDate,
}

impl Period {
    /// The period from `from` to `to` (YYYY-MM-DD, both included).
    ///
    /// Errors: [`crate::Error::Invalid`] on `from` or `to` when not a date written YYYY-MM-DD
    /// from 1900 to 9999, or when `to` is before `from`.
    pub fn new(from: &str, to: &str) -> crate::Result<Self> {
        let date = |field: &str, s: &str| {
            crate::validate::parse_date(s)
                .filter(|d| (1900..=9999).contains(&d.year()))
                .ok_or_else(|| {
                    crate::Error::invalid(
                        "report",
                        field,
                        format!("`{s}` is not a date from 1900 on (YYYY-MM-DD)"),
                    )
                })
        };
        let (from, to) = (date("from", from)?, date("to", to)?);
        if to < from {
            return Err(crate::Error::invalid(
                "report",
                "to",
                format!("{to} is before the period's start ({from})"),
            ));
        }
        Ok(Period { from, to })
    }

    /// The calendar year `year`.
    ///
    /// Errors: [`crate::Error::Invalid`] on `year` outside 1900–9999.
    pub fn year(year: i32) -> crate::Result<Self> {
        let d = |m, day| NaiveDate::from_ymd_opt(year, m, day);
        match (d(1, 1), d(12, 31)) {
            (Some(from), Some(to)) if (1900..=9999).contains(&year) => Ok(Period { from, to }),
            _ => Err(crate::Error::invalid(
                "report",
                "year",
                format!("{year} is not a year this report covers (1900–9999)"),
            )),
        }
    }

    /// The four quarters of `year`, named `YYYY-Qn`.
    pub fn quarters(year: i32) -> Vec<(String, Period)> {
        (0..4)
            .filter_map(|q| {
                let from = NaiveDate::from_ymd_opt(year, q * 3 + 1, 1)?;
                let to = crate::validate::quarter_end(from);
                Some((format!("{year}-Q{}", q + 1), Period { from, to }))
            })
            .collect()
    }

    /// Whether `d` is in the period.
    pub fn contains(&self, d: NaiveDate) -> bool {
        self.from <= d && d <= self.to
    }
}

/// One live violation as a report reads it.
#[derive(Debug, Clone, PartialEq)]
pub struct Counted {
    pub incident_id: String,
    pub violation_id: String,
    /// The day the incident began.
    pub occurred_on: NaiveDate,
    /// In NFC.
    pub admin1: String,
    pub kind: ViolationType,
    pub boys: i64,
    pub girls: i64,
    pub sex_unknown: i64,
    /// In NFC.
    pub party: String,
    pub category: PerpetratorCategory,
    pub status: VerificationStatus,
    /// The day of the current ruling on its writer's calendar (`None`: no event).
    pub decided_on: Option<NaiveDate>,
    /// [`crate::counting::is_late`].
    pub late: bool,
    /// Coded victims, by [`victim_key`], with their sex.
    pub codes: Vec<(String, Sex)>,
    /// [`flags`].
    pub flags: i64,
    /// The violation's details ([`crate::details`]): its rows of a table by detail.
    pub details: crate::details::ViolationDetails,
    /// The party registry's id its party was matched to ([`crate::parties`]).
    pub party_id: Option<String>,
}

/// The tables of a report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Section {
    Verified,
    LateVerified,
    Unverified,
    NotVerified,
}

impl Section {
    /// Every table, in the order reports show them.
    pub const ALL: [Section; 4] = [
        Section::Verified,
        Section::LateVerified,
        Section::Unverified,
        Section::NotVerified,
    ];

    /// The name used in JSON and on the CLI.
    pub fn as_str(self) -> &'static str {
        match self {
            Section::Verified => "verified",
            Section::LateVerified => "late_verified",
            Section::Unverified => "unverified",
            Section::NotVerified => "not_verified",
        }
    }
}

impl std::str::FromStr for Section {
    type Err = crate::Error;
    fn from_str(s: &str) -> crate::Result<Self> {
        Section::ALL
            .into_iter()
            .find(|x| x.as_str() == s)
            .ok_or_else(|| crate::Error::UnknownValue {
                what: "Section",
                value: s.to_string(),
                expected: "verified, late_verified, unverified, not_verified".into(),
            })
    }
}

/// The table a violation counts in for `period`, if any (the module's rules).
pub fn section(v: &Counted, period: &Period) -> Option<Section> {
    let occurred = period.contains(v.occurred_on);
    match v.status {
        VerificationStatus::Verified if v.late => v
            .decided_on
            .is_some_and(|d| period.contains(d))
            .then_some(Section::LateVerified),
        VerificationStatus::Verified => occurred.then_some(Section::Verified),
        VerificationStatus::Reported | VerificationStatus::PendingVerification => {
            occurred.then_some(Section::Unverified)
        }
        VerificationStatus::NotVerified => occurred.then_some(Section::NotVerified),
        VerificationStatus::DidNotOccur | VerificationStatus::NotMrm => None,
    }
}

/// Whether a type is counted in children (else in incidents: attacks on and military use of
/// schools and hospitals, denial of humanitarian access).
pub fn counted_in_children(kind: ViolationType) -> bool {
    kind.has_child_victims()
}

/// Figures of one cell: violations, distinct incidents, and children (for the types counted in
/// children; `None` for those counted in incidents, and in totals that mix none of them).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Figures {
    pub violations: i64,
    pub incidents: i64,
    pub children: Option<Children>,
}

/// One row of a table by violation type.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TypeRow {
    #[serde(rename = "type")]
    pub kind: ViolationType,
    /// `children` or `incidents`: what the MRM counts for this type.
    pub counted_in: String,
    #[serde(flatten)]
    pub figures: Figures,
}

/// One row of a table by perpetrator.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PerpetratorRow {
    pub party: String,
    pub category: PerpetratorCategory,
    #[serde(rename = "type")]
    pub kind: ViolationType,
    #[serde(flatten)]
    pub figures: Figures,
}

/// One row of a table by first-level admin area.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AreaRow {
    pub admin1: String,
    #[serde(rename = "type")]
    pub kind: ViolationType,
    #[serde(flatten)]
    pub figures: Figures,
}

/// One row of a table by detail: the violations of one type with one value of one detail
/// ([`crate::details`]), such as killings by weapon.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DetailRow {
    #[serde(rename = "type")]
    pub kind: ViolationType,
    pub key: String,
    /// The value as text: a term, `yes`/`no`, or a number of days.
    pub value: String,
    #[serde(flatten)]
    pub figures: Figures,
}

/// One table: by type (every type, zeros included), its totals (of the grave violations only,
/// [`ViolationType::is_grave`]), and breakdowns by perpetrator, by area and by detail (cells
/// that count something).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Table {
    pub by_type: Vec<TypeRow>,
    /// Violations and incidents of every type; children of the types counted in children.
    pub total: Figures,
    pub by_perpetrator: Vec<PerpetratorRow>,
    pub by_area: Vec<AreaRow>,
    /// Details of the type they belong to only; a violation without a detail is in no row of
    /// it. Missing from periods closed before details existed.
    #[serde(default)]
    pub by_detail: Vec<DetailRow>,
}

/// Children affected by two or more verified violations counted in the report (verified and
/// late verified), found through their codes.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct MultipleViolations {
    pub children: Children,
}

/// An incident counted in the report whose counted fields are unsettled: the figures count one
/// of the values, and a reviewer should settle it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FlaggedRecord {
    pub incident_id: String,
    pub title: String,
    /// Counted fields holding concurrent values (`violations.<id>.victims.boys`, ...).
    pub conflicts: Vec<String>,
    /// `contested_decision`, `changed_since_decision`, `withdrawal_contested` ([`flags`]).
    pub decisions: Vec<String>,
}

/// Verified and late-verified totals of one quarter of an annual report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct QuarterFigures {
    /// `YYYY-Qn`.
    pub quarter: String,
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub verified: Figures,
    pub late_verified: Figures,
}

/// A report over a period: GHN (any period, usually a quarter) or annual (a calendar year, with
/// its quarters and patrols).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Report {
    /// `ghn` or `annual`.
    pub kind: String,
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub verified: Table,
    pub late_verified: Table,
    pub unverified: Table,
    pub not_verified: Table,
    pub multiple_violations: MultipleViolations,
    /// Records counted here with unsettled counted fields.
    pub flagged: Vec<FlaggedRecord>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quarters: Option<Vec<QuarterFigures>>,
    /// Patrols dated in the period (annual reports).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub patrols: Option<i64>,
    /// The section's work dated in the period: releases, trainings, engagements (absent from
    /// periods closed before they were counted).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub activities: Option<crate::activity_figures::ActivityFigures>,
}

impl Report {
    /// The table of a section.
    pub fn table(&self, s: Section) -> &Table {
        match s {
            Section::Verified => &self.verified,
            Section::LateVerified => &self.late_verified,
            Section::Unverified => &self.unverified,
            Section::NotVerified => &self.not_verified,
        }
    }
}

/// Accumulates one cell.
#[derive(Default)]
struct Cell<'a> {
    violations: i64,
    incidents: BTreeSet<&'a str>,
    children: Children,
    any_child_type: bool,
}

impl<'a> Cell<'a> {
    fn add(&mut self, v: &'a Counted) {
        self.violations += 1;
        self.incidents.insert(&v.incident_id);
        if counted_in_children(v.kind) {
            self.any_child_type = true;
            self.children.boys += v.boys;
            self.children.girls += v.girls;
            self.children.sex_unknown += v.sex_unknown;
            self.children.total += v.boys + v.girls + v.sex_unknown;
        }
    }

    fn figures(&self, counts_children: bool) -> Figures {
        Figures {
            violations: self.violations,
            incidents: self.incidents.len() as i64,
            children: counts_children.then(|| self.children.clone()),
        }
    }
}

/// The table of the violations `rows` (all of one section).
pub fn table(rows: &[&Counted]) -> Table {
    let mut by_type: BTreeMap<ViolationType, Cell> = BTreeMap::new();
    let mut by_perp: BTreeMap<(&str, PerpetratorCategory, ViolationType), Cell> = BTreeMap::new();
    let mut by_area: BTreeMap<(&str, ViolationType), Cell> = BTreeMap::new();
    let mut by_detail: BTreeMap<(ViolationType, &str, String), Cell> = BTreeMap::new();
    let mut total = Cell::default();
    for v in rows {
        for (key, value) in &v.details {
            // A detail a merge left on a type that does not take it is not counted as one.
            if crate::details::problem(v.kind, key, value).is_none() {
                by_detail
                    .entry((v.kind, key, value.to_string()))
                    .or_default()
                    .add(v);
            }
        }
        by_type.entry(v.kind).or_default().add(v);
        by_perp
            .entry((&v.party, v.category, v.kind))
            .or_default()
            .add(v);
        by_area.entry((&v.admin1, v.kind)).or_default().add(v);
        if v.kind.is_grave() {
            total.add(v);
        }
    }
    let empty = Cell::default();
    Table {
        by_type: ViolationType::ALL
            .iter()
            .map(|&k| TypeRow {
                kind: k,
                counted_in: if counted_in_children(k) {
                    "children"
                } else {
                    "incidents"
                }
                .into(),
                figures: by_type
                    .get(&k)
                    .unwrap_or(&empty)
                    .figures(counted_in_children(k)),
            })
            .collect(),
        total: total.figures(true),
        by_perpetrator: by_perp
            .iter()
            .map(|((party, category, kind), c)| PerpetratorRow {
                party: party.to_string(),
                category: *category,
                kind: *kind,
                figures: c.figures(counted_in_children(*kind)),
            })
            .collect(),
        by_area: by_area
            .iter()
            .map(|((admin1, kind), c)| AreaRow {
                admin1: admin1.to_string(),
                kind: *kind,
                figures: c.figures(counted_in_children(*kind)),
            })
            .collect(),
        by_detail: by_detail
            .iter()
            .map(|((kind, key, value), c)| DetailRow {
                kind: *kind,
                key: key.to_string(),
                value: value.clone(),
                figures: c.figures(counted_in_children(*kind)),
            })
            .collect(),
    }
}

/// Children whose code appears in two or more of the violations `verified` (distinct violations,
/// in any incident), by sex: a child recorded with different sexes is counted as sex unknown.
pub fn multiple_violations(verified: &[&Counted]) -> MultipleViolations {
    let mut seen: HashMap<&str, (usize, Option<Sex>, bool)> = HashMap::new();
    for v in verified.iter().filter(|v| v.kind.is_grave()) {
        // A code listed twice in one violation is still one violation.
        let mut here: BTreeSet<&str> = BTreeSet::new();
        for (code, sex) in &v.codes {
            if !here.insert(code) {
                continue;
            }
            let e = seen.entry(code).or_insert((0, Some(*sex), false));
            e.0 += 1;
            if e.1 != Some(*sex) {
                e.2 = true;
            }
        }
    }
    let mut c = Children::default();
    for (n, sex, mixed) in seen.values() {
        if *n < 2 {
            continue;
        }
        match (sex, mixed) {
            (Some(Sex::Boy), false) => c.boys += 1,
            (Some(Sex::Girl), false) => c.girls += 1,
            _ => c.sex_unknown += 1,
        }
        c.total += 1;
    }
    MultipleViolations { children: c }
}

/// The report of `rows` for `period`: each table, the children in several violations, and the
/// quarters when `kind` is `annual`. `flagged` and `patrols` are filled by the store.
pub fn tally(kind: &str, period: &Period, rows: &[Counted]) -> Report {
    let mut sections: BTreeMap<Section, Vec<&Counted>> = BTreeMap::new();
    for v in rows {
        if let Some(s) = section(v, period) {
            sections.entry(s).or_default().push(v);
        }
    }
    let of = |s: Section| sections.get(&s).map(Vec::as_slice).unwrap_or(&[]);
    let counted_verified: Vec<&Counted> = of(Section::Verified)
        .iter()
        .chain(of(Section::LateVerified))
        .copied()
        .collect();
    let quarters = (kind == "annual").then(|| {
        Period::quarters(period.from.year())
            .into_iter()
            .map(|(name, q)| {
                let total = |s: Section| {
                    let mut c = Cell::default();
                    for v in rows.iter().filter(|v| section(v, &q) == Some(s)) {
                        c.add(v);
                    }
                    c.figures(true)
                };
                QuarterFigures {
                    quarter: name,
                    from: q.from,
                    to: q.to,
                    verified: total(Section::Verified),
                    late_verified: total(Section::LateVerified),
                }
            })
            .collect()
    });
    Report {
        kind: kind.to_string(),
        from: period.from,
        to: period.to,
        verified: table(of(Section::Verified)),
        late_verified: table(of(Section::LateVerified)),
        unverified: table(of(Section::Unverified)),
        not_verified: table(of(Section::NotVerified)),
        multiple_violations: multiple_violations(&counted_verified),
        flagged: Vec::new(),
        quarters,
        patrols: None,
        activities: None,
    }
}

/// Which violations of a section one cell of a report holds: every given field must match.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CellFilter {
    #[serde(rename = "type")]
    pub kind: Option<ViolationType>,
    pub party: Option<String>,
    pub category: Option<PerpetratorCategory>,
    pub admin1: Option<String>,
    /// With `value`: the violations whose detail `detail` holds `value` (a row by detail).
    pub detail: Option<String>,
    /// A detail's value as a [`DetailRow`] shows it.
    pub value: Option<String>,
}

impl CellFilter {
    /// Whether `v` is in the cell.
    pub fn matches(&self, v: &Counted) -> bool {
        self.kind.is_none_or(|k| k == v.kind)
            && self.party.as_ref().is_none_or(|p| nfc(p) == v.party)
            && self.category.is_none_or(|c| c == v.category)
            && self.admin1.as_ref().is_none_or(|a| nfc(a) == v.admin1)
            && self.detail.as_ref().is_none_or(|k| {
                v.details.get(k).is_some_and(|d| {
                    crate::details::problem(v.kind, k, d).is_none()
                        && self
                            .value
                            .as_ref()
                            .is_none_or(|want| *want == d.to_string())
                })
            })
    }
}

/// The paths of a record whose values a report counts: the incident's dates and first-level
/// area, and each violation's type, children, coded victims, perpetrator and withdrawal.
pub fn is_counted_path(path: &str) -> bool {
    if matches!(path, "occurred_on" | "ended_on" | "location.admin1") {
        return true;
    }
    let Some(rest) = path.strip_prefix("violations.") else {
        return false;
    };
    let field = rest.split_once('.').map(|(_, f)| f).unwrap_or("");
    ["type", "victims", "perpetrator", "details", "withdrawn"]
        .iter()
        .any(|f| field == *f || field.starts_with(&format!("{f}.")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counted_paths() {
        for p in [
            "occurred_on",
            "location.admin1",
            "violations.abc.type",
            "violations.abc.victims.boys",
            "violations.abc.perpetrator.party",
            "violations.abc.victims.coded.x.sex",
            "violations.abc.details.weapon",
        ] {
            assert!(is_counted_path(p), "{p}");
        }
        for p in [
            "title",
            "narrative",
            "location.place",
            "violations.abc.typed",
            "violations",
        ] {
            assert!(!is_counted_path(p), "{p}");
        }
    }

    #[test]
    fn nfc_makes_one_word_of_two_spellings() {
        assert_eq!(nfc("Be\u{301}ni"), nfc("B\u{e9}ni"));
        assert_eq!(victim_key(" v-014 "), "V-014");
    }
}
