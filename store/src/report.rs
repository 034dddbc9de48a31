//! The MRM's reports read from the projection tables in SQL ([`mrm_crdt::report`] holds the rules).

use std::collections::{BTreeMap, BTreeSet};

use rusqlite::params;

use mrm_crdt::error::Result;
use mrm_crdt::model::Sex;
use mrm_crdt::report::{self, CellFilter, Counted, FlaggedRecord, Period, Report, Section};
use mrm_crdt::validate::{parse_date, parse_time};

use super::Store;

/// The columns [`counted`] reads, over `violations v JOIN incidents i`.
const COLUMNS: &str = "v.incident_id, v.id, i.occurred_on, i.admin1, v.type, v.boys, v.girls, \
     v.sex_unknown, v.party, v.category, v.status, v.status_at, v.late, v.victim_codes, v.flags, v.details, v.party_id";

/// A row selecting [`COLUMNS`]; `None` for a row no report can read (a value outside the
/// vocabulary, which a well-formed store never holds), so one bad row never stops a report.
fn counted(r: &rusqlite::Row<'_>) -> rusqlite::Result<Option<Counted>> {
    let text = |i| r.get::<_, String>(i);
    let (Some(occurred_on), Ok(kind), Ok(category), Ok(status)) = (
        parse_date(&text(2)?),
        text(4)?.parse(),
        text(9)?.parse(),
        text(10)?.parse(),
    ) else {
        return Ok(None);
    };
    let codes: Vec<(String, String)> = serde_json::from_str(&text(13)?).unwrap_or_default();
    Ok(Some(Counted {
        incident_id: text(0)?,
        violation_id: text(1)?,
        occurred_on,
        admin1: text(3)?,
        kind,
        boys: r.get(5)?,
        girls: r.get(6)?,
        sex_unknown: r.get(7)?,
        party: text(8)?,
        category,
        status,
        decided_on: r
            .get::<_, Option<String>>(11)?
            .and_then(|at| parse_time(&at))
            .map(|t| t.date_naive()),
        late: r.get(12)?,
        codes: codes
            .into_iter()
            .map(|(c, s)| (c, s.parse().unwrap_or(Sex::Unknown)))
            .collect(),
        flags: r.get(14)?,
        details: r
            .get::<_, Option<String>>(15)?
            .and_then(|j| serde_json::from_str(&j).ok())
            .unwrap_or_default(),
        party_id: r.get(16)?,
    }))
}

impl Store {
    /// Every live violation a report over `period` may count: those of incidents that began in
    /// the period, and the late verifications of earlier incidents (made in it or not: the rule
    /// in [`report::section`] decides).
    pub(crate) fn counted_in(&self, period: &Period) -> Result<Vec<Counted>> {
        let (from, to) = (period.from.to_string(), period.to.to_string());
        let mut out = Vec::new();
        // Incidents are clustered by date: the period's rows are a range of the table.
        let mut stmt = self.conn().prepare_cached(&format!(
            "SELECT {COLUMNS} FROM incidents i JOIN violations v ON v.incident_id = i.id
             WHERE i.occurred_on BETWEEN ?1 AND ?2"
        ))?;
        for row in stmt.query_map(params![from, to], counted)? {
            out.extend(row?);
        }
        // A late verification is made after its incident's quarter, so on or after the day
        // after the incident began: only incidents before the period can add one.
        // CROSS JOIN keeps this order: one pass over the violations, the few late ones then
        // looked up by id. Left to itself, SQLite walked every earlier incident and looked up
        // its violations (100,000 incidents: most of a report's time).
        let mut stmt = self.conn().prepare_cached(&format!(
            "SELECT {COLUMNS} FROM violations v CROSS JOIN incidents i ON i.id = v.incident_id
             WHERE v.late AND v.status_at >= ?2 AND i.occurred_on < ?1"
        ))?;
        // `status_at` is RFC 3339 in its writer's offset, so its first ten characters are the
        // writer's day: a string comparison with the day before the period keeps every
        // candidate, and the rule checks the day exactly.
        let before = period.from.pred_opt().unwrap_or(period.from).to_string();
        for row in stmt.query_map(params![from, before], counted)? {
            out.extend(row?);
        }
        self.canonical_parties(&mut out)?;
        Ok(out)
    }

    /// The GHN tables for `period` (`kind` `ghn`), or an annual report (`kind` `annual`: the
    /// same tables over a calendar year, with its quarters and its patrols), computed from the
    /// projection tables by the rules of [`mrm_crdt::report`] (docs/reporting.md).
    ///
    /// Errors: [`mrm_crdt::Error::Database`] when the store cannot be read.
    pub fn report(&self, kind: &str, period: &Period) -> Result<Report> {
        let rows = self.counted_in(period)?;
        let mut out = report::tally(kind, period, &rows);
        out.flagged = self.flagged(period, &rows)?;
        if kind == "annual" {
            out.patrols = Some(self.patrols_in(period)?);
        }
        out.activities =
            Some(self.activity_figures(&period.from.to_string(), &period.to.to_string())?);
        Ok(out)
    }

    /// How many patrols are dated in `period`.
    ///
    /// Errors: [`mrm_crdt::Error::Database`] when the store cannot be read.
    pub fn patrols_in(&self, period: &Period) -> Result<i64> {
        Ok(self.conn().query_row(
            "SELECT COUNT(*) FROM patrols WHERE substr(date, 1, 10) BETWEEN ?1 AND ?2",
            params![period.from.to_string(), period.to.to_string()],
            |r| r.get(0),
        )?)
    }

    /// The incidents behind one cell of a report: the ids of the incidents whose violations in
    /// `section` match `cell`, in caseload order (newest first).
    ///
    /// Errors: [`mrm_crdt::Error::Database`] when the store cannot be read.
    pub fn report_records(
        &self,
        period: &Period,
        section: Section,
        cell: &CellFilter,
    ) -> Result<Vec<String>> {
        let rows = self.counted_in(period)?;
        let mut ids: Vec<(chrono::NaiveDate, &str)> = rows
            .iter()
            .filter(|v| report::section(v, period) == Some(section) && cell.matches(v))
            .map(|v| (v.occurred_on, v.incident_id.as_str()))
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        ids.reverse();
        Ok(ids.into_iter().map(|(_, id)| id.to_string()).collect())
    }

    /// Every violation the report of `period` counts, with its table and its incident's title,
    /// second-level area and place, sorted by incident date then id: the list behind the
    /// tables, for an export.
    ///
    /// Errors: [`mrm_crdt::Error::Database`] when the store cannot be read.
    pub fn report_violations(&self, period: &Period) -> Result<Vec<ReportViolation>> {
        let counted: Vec<(Section, Counted)> = self
            .counted_in(period)?
            .into_iter()
            .filter_map(|v| report::section(&v, period).map(|s| (s, v)))
            .collect();
        // The incidents' texts in one query, not one per violation.
        let ids: BTreeSet<&str> = counted
            .iter()
            .map(|(_, v)| v.incident_id.as_str())
            .collect();
        let mut texts: BTreeMap<String, (String, String, String)> = BTreeMap::new();
        let mut stmt = self.conn().prepare_cached(
            "SELECT id, title, admin2, place FROM incidents
             WHERE id IN (SELECT value FROM json_each(?1))",
        )?;
        let rows = stmt.query_map([serde_json::to_string(&ids)?], |r| {
            Ok((r.get(0)?, (r.get(1)?, r.get(2)?, r.get(3)?)))
        })?;
        for row in rows {
            let (id, t) = row?;
            texts.insert(id, t);
        }
        let mut out: Vec<ReportViolation> = counted
            .into_iter()
            .map(|(section, v)| {
                let (title, admin2, place) = texts.get(&v.incident_id).cloned().unwrap_or_default();
                ReportViolation {
                    section,
                    title,
                    admin2,
                    place,
                    violation: v,
                }
            })
            .collect();
        out.sort_by(|a, b| {
            (
                a.violation.occurred_on,
                &a.violation.incident_id,
                &a.violation.violation_id,
            )
                .cmp(&(
                    b.violation.occurred_on,
                    &b.violation.incident_id,
                    &b.violation.violation_id,
                ))
        });
        Ok(out)
    }

    /// The incidents counted in some table of the report whose counted fields hold concurrent
    /// values or whose decisions are unsettled.
    fn flagged(&self, period: &Period, rows: &[Counted]) -> Result<Vec<FlaggedRecord>> {
        let mut by_incident: BTreeMap<&str, i64> = BTreeMap::new();
        for v in rows {
            if report::section(v, period).is_some() {
                *by_incident.entry(&v.incident_id).or_default() |= v.flags;
            }
        }
        // Few records hold conflicts: read them all once rather than look up each incident.
        let mut conflicts: BTreeMap<String, Vec<String>> = BTreeMap::new();
        let mut stmt = self
            .conn()
            .prepare_cached("SELECT doc_id, path FROM conflicts ORDER BY doc_id, path")?;
        for row in stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get(1)?)))? {
            let (id, path): (String, String) = row?;
            if report::is_counted_path(&path) && by_incident.contains_key(id.as_str()) {
                conflicts.entry(id).or_default().push(path);
            }
        }
        let mut title = self
            .conn()
            .prepare_cached("SELECT title FROM incidents WHERE id = ?1")?;
        let mut out = Vec::new();
        for (id, flags) in by_incident {
            let paths = conflicts.remove(id).unwrap_or_default();
            if paths.is_empty() && flags == 0 {
                continue;
            }
            out.push(FlaggedRecord {
                incident_id: id.to_string(),
                title: title.query_row([id], |r| r.get(0))?,
                conflicts: paths,
                decisions: report::flags::names(flags)
                    .into_iter()
                    .map(String::from)
                    .collect(),
            });
        }
        Ok(out)
    }
}

/// A violation a report counts, with what an export lists of its incident.
#[derive(Debug, Clone, PartialEq)]
pub struct ReportViolation {
    pub section: Section,
    pub title: String,
    pub admin2: String,
    pub place: String,
    pub violation: Counted,
}
