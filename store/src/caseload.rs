//! The caseload: incidents filtered, sorted by any column, one page at a time, with counts of the
//! whole match (violations and children of the matching violations). Read from the projection
//! tables, never from documents, so it stays fast with tens of thousands of incidents. The one
//! query behind `mrm list` and the app's table.

use rusqlite::types::Value as Sql;
use rusqlite::Connection;
use serde::Serialize;

use mrm_crdt::error::Result;
use mrm_crdt::model::{ReviewState, VerificationStatus, ViolationType};
use mrm_crdt::report::nfc;

use crate::query::{
    incident_count, incident_row, row_sync, text_condition, IncidentRow, RowSync, SYNC_COLUMNS,
};
use crate::{Store, INCIDENT_ROW_COLUMNS};

/// What the caseload can be sorted by. Each is a fixed SQL term: no user text reaches the SQL.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Sort {
    /// When the incident began (the default: newest first).
    #[default]
    OccurredOn,
    ReportedOn,
    /// Case-insensitive.
    Title,
    /// First-level area, second-level area, place, each case-insensitive.
    Place,
    ReviewState,
    /// Children in all the incident's violations.
    Children,
    Violations,
    /// Fields holding concurrent values.
    Conflicts,
}

impl Sort {
    /// The sort named `s` (`occurred_on`, `reported_on`, `title`, `place`, `review_state`,
    /// `children`, `violations`, `conflicts`); `None` for anything else.
    pub fn parse(s: &str) -> Option<Sort> {
        Some(match s {
            "occurred_on" => Sort::OccurredOn,
            "reported_on" => Sort::ReportedOn,
            "title" => Sort::Title,
            "place" => Sort::Place,
            "review_state" => Sort::ReviewState,
            "children" => Sort::Children,
            "violations" => Sort::Violations,
            "conflicts" => Sort::Conflicts,
            _ => return None,
        })
    }

    fn terms(self) -> &'static [&'static str] {
        match self {
            Sort::OccurredOn => &["i.occurred_on"],
            Sort::ReportedOn => &["i.reported_on"],
            Sort::Title => &["i.title COLLATE NOCASE"],
            Sort::Place => &[
                "i.admin1 COLLATE NOCASE",
                "i.admin2 COLLATE NOCASE",
                "i.place COLLATE NOCASE",
            ],
            Sort::ReviewState => &["i.review_state"],
            Sort::Conflicts => &["i.n_conflicts"],
            Sort::Children => &[
                "(SELECT COALESCE(SUM(v.boys + v.girls + v.sex_unknown), 0) \
                  FROM violations v WHERE v.incident_id = i.id)",
            ],
            Sort::Violations => &["(SELECT COUNT(*) FROM violations v WHERE v.incident_id = i.id)"],
        }
    }
}

/// Which records the caseload keeps by where they stand with the endpoint: the states of
/// [`RowSync`] (a record is in one state; a conflict comes on top of any).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SyncFilter {
    /// Local changes wait for the next sync (neither held nor waiting).
    ToSend,
    /// The endpoint refused this device's changes to it.
    Held,
    /// Changes received for it wait here, not applied yet (and it is not held).
    Waiting,
    /// It holds values two edits left for a person to choose between.
    Conflict,
    /// Any of the four: not simply synced.
    Unsynced,
}

impl SyncFilter {
    /// Every filter, in the order the app offers them.
    pub const ALL: [SyncFilter; 5] = [
        SyncFilter::Unsynced,
        SyncFilter::ToSend,
        SyncFilter::Held,
        SyncFilter::Waiting,
        SyncFilter::Conflict,
    ];

    /// The filter named `s` (`to_send`, `held`, `waiting`, `conflict`, `unsynced`); `None` for
    /// anything else.
    pub fn parse(s: &str) -> Option<SyncFilter> {
        Self::ALL.into_iter().find(|f| f.as_str() == s)
    }

    /// Its name, as [`SyncFilter::parse`] reads it.
    pub fn as_str(self) -> &'static str {
        match self {
            SyncFilter::ToSend => "to_send",
            SyncFilter::Held => "held",
            SyncFilter::Waiting => "waiting",
            SyncFilter::Conflict => "conflict",
            SyncFilter::Unsynced => "unsynced",
        }
    }

    /// Its condition on `incidents i`, by the rules of [`RowSync`]. Each set of ids is read once
    /// per query (an uncorrelated `IN`): the changes after the endpoint's acknowledged position
    /// are one range of the change log, read only when this filter is asked for.
    fn condition(self) -> String {
        const HELD: &str = "i.id IN (SELECT doc_id FROM held_records)";
        const WAITING: &str = "i.id IN (SELECT doc_id FROM inbound)";
        const UNSENT: &str = "i.id IN (SELECT doc_id FROM changes WHERE local = 1 \
             AND seq > (SELECT COALESCE(MAX(push_seq), 0) FROM sync_state))";
        const CONFLICT: &str = "i.id IN (SELECT doc_id FROM conflicts)";
        match self {
            SyncFilter::ToSend => format!("({UNSENT} AND NOT {HELD} AND NOT {WAITING})"),
            SyncFilter::Held => HELD.into(),
            SyncFilter::Waiting => format!("({WAITING} AND NOT {HELD})"),
            SyncFilter::Conflict => CONFLICT.into(),
            SyncFilter::Unsynced => format!("({HELD} OR {WAITING} OR {UNSENT} OR {CONFLICT})"),
        }
    }
}

/// Filters, sort and page of the caseload; every given filter must match. Violation filters
/// (type, status, party) must match one and the same violation. Names (area, party) are compared
/// in Unicode NFC, as the projection keeps them.
#[derive(Debug, Clone, Default)]
pub struct IncidentFilter {
    pub kind: Option<ViolationType>,
    pub status: Option<VerificationStatus>,
    /// `occurred_on` on or after (YYYY-MM-DD).
    pub from: Option<String>,
    /// `occurred_on` on or before (YYYY-MM-DD).
    pub to: Option<String>,
    pub admin1: Option<String>,
    pub party: Option<String>,
    /// Words to find in title, narrative or place (case-insensitive).
    pub text: Option<String>,
    pub patrol_id: Option<String>,
    /// Only incidents holding concurrent values.
    pub conflicts: bool,
    /// Only incidents a merge left with something to settle ([`IncidentRow::attention`] > 0).
    pub needs_attention: bool,
    /// Only incidents in this review state (a reviewer's queue: `submitted`; an officer's
    /// records sent back: `returned`).
    pub review_state: Option<ReviewState>,
    /// Only these incidents (the records behind a figure of a report); any when empty.
    pub ids: Vec<String>,
    /// Only incidents in this sync state (an officer's "what has not reached the mission yet").
    pub sync: Option<SyncFilter>,
    pub sort: Sort,
    /// Ascending instead of the default descending.
    pub asc: bool,
    /// At most this many rows (all when `None`).
    pub limit: Option<usize>,
    pub offset: usize,
}

/// Children by sex.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ChildCounts {
    pub boys: i64,
    pub girls: i64,
    pub sex_unknown: i64,
}

/// One page of the caseload, with counts over everything that matched.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CaseloadPage {
    /// Incidents matching.
    pub total: i64,
    /// Violations in the matching incidents (those matching the violation filters, if any).
    pub violations: i64,
    pub children: ChildCounts,
    pub items: Vec<IncidentRow>,
}

/// Run a caseload query on a connection to a store's database (the store's own, or a reader's).
///
/// Errors: `Error::Database` when the store cannot be read.
pub fn caseload(conn: &Connection, f: &IncidentFilter) -> Result<CaseloadPage> {
    run(conn, f, true)
}

/// The query; the counts of violations and children (a pass over every matching violation) only
/// when `counts`.
fn run(conn: &Connection, f: &IncidentFilter, counts: bool) -> Result<CaseloadPage> {
    let mut conds: Vec<String> = Vec::new();
    let mut args: Vec<Sql> = Vec::new();
    // The text condition first: SQLite tests it first, and it rejects most rows cheaply.
    if let Some((cond, words)) = f.text.as_deref().and_then(text_condition) {
        conds.push(cond);
        args.extend(words);
    }
    let mut vconds: Vec<&str> = Vec::new();
    let mut vargs: Vec<Sql> = Vec::new();
    if let Some(k) = f.kind {
        vconds.push("v.type = ?");
        vargs.push(Sql::Text(k.as_str().into()));
    }
    if let Some(s) = f.status {
        vconds.push("v.status = ?");
        vargs.push(Sql::Text(s.as_str().into()));
    }
    if let Some(p) = f.party.as_deref().filter(|p| !p.is_empty()) {
        vconds.push("v.party = ?");
        vargs.push(Sql::Text(nfc(p)));
    }
    let vwhere = vconds.join(" AND ");
    if !vconds.is_empty() {
        conds.push(format!(
            "EXISTS (SELECT 1 FROM violations v WHERE v.incident_id = i.id AND {vwhere})"
        ));
        args.extend(vargs.iter().cloned());
    }
    let admin1 = f.admin1.as_deref().map(nfc);
    for (cond, v) in [
        ("i.occurred_on >= ?", &f.from),
        ("i.occurred_on <= ?", &f.to),
        ("i.admin1 = ?", &admin1),
        ("i.patrol_id = ?", &f.patrol_id),
    ] {
        if let Some(v) = v.as_deref().filter(|v| !v.is_empty()) {
            conds.push(cond.into());
            args.push(Sql::Text(v.to_string()));
        }
    }
    if !f.ids.is_empty() {
        // One JSON parameter, however many ids a figure has.
        conds.push("i.id IN (SELECT value FROM json_each(?))".into());
        args.push(Sql::Text(serde_json::to_string(&f.ids)?));
    }
    if f.conflicts {
        conds.push("i.n_conflicts > 0".into());
    }
    if f.needs_attention {
        conds.push("i.n_attention > 0".into());
    }
    if let Some(r) = f.review_state {
        conds.push("i.review_state = ?".into());
        args.push(Sql::Text(r.as_str().to_string()));
    }
    if let Some(s) = f.sync {
        conds.push(s.condition());
    }
    let wher = if conds.is_empty() {
        String::new()
    } else {
        format!("WHERE {}", conds.join(" AND "))
    };

    let total = incident_count(conn, &wher, &args)?;
    // Counts over the violations that match within the matching incidents.
    let vmatch = if vconds.is_empty() {
        String::new()
    } else {
        format!("AND {vwhere}")
    };
    let mut count_args = args.clone();
    count_args.extend(vargs);
    let (violations, children) = if !counts {
        (0, ChildCounts::default())
    } else {
        conn.query_row(
            &format!(
                "SELECT COUNT(*), COALESCE(SUM(v.boys), 0), COALESCE(SUM(v.girls), 0),
                    COALESCE(SUM(v.sex_unknown), 0)
             FROM violations v
             WHERE v.incident_id IN (SELECT i.id FROM incidents i {wher}) {vmatch}"
            ),
            rusqlite::params_from_iter(count_args.iter()),
            |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    ChildCounts {
                        boys: r.get(1)?,
                        girls: r.get(2)?,
                        sex_unknown: r.get(3)?,
                    },
                ))
            },
        )?
    };

    let limit = f
        .limit
        .map(|l| i64::try_from(l).unwrap_or(i64::MAX))
        .unwrap_or(-1);
    let dir = if f.asc { "ASC" } else { "DESC" };
    let order = f
        .sort
        .terms()
        .iter()
        .map(|c| format!("{c} {dir}"))
        .collect::<Vec<_>>()
        .join(", ");
    let sql = format!(
        "SELECT {INCIDENT_ROW_COLUMNS}
         FROM incidents i {wher} ORDER BY {order}, i.id {dir} LIMIT {limit} OFFSET {}",
        f.offset
    );
    let mut stmt = conn.prepare(&sql)?;
    let rows = stmt.query_map(rusqlite::params_from_iter(args.iter()), incident_row)?;
    let items = rows.collect::<Result<Vec<_>, _>>()?;
    Ok(CaseloadPage {
        total,
        violations,
        children,
        items,
    })
}

/// Incidents per month of occurrence (`YYYY-MM`, oldest first), for the dashboard.
///
/// Errors: `Error::Database` when the store cannot be read.
pub fn incidents_by_month(conn: &Connection) -> Result<Vec<(String, i64)>> {
    let mut stmt = conn.prepare(
        "SELECT substr(occurred_on, 1, 7) AS m, COUNT(*) FROM incidents
         WHERE length(occurred_on) >= 7 GROUP BY m ORDER BY m",
    )?;
    let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
    Ok(rows.collect::<Result<_, _>>()?)
}

impl Store {
    /// The caseload ([`caseload`]) on this store's connection.
    pub fn caseload(&self, f: &IncidentFilter) -> Result<CaseloadPage> {
        caseload(self.conn(), f)
    }

    /// One record's sync state, reason and conflict flag, as its caseload row shows them (any
    /// record kind; [`RecordSync::Synced`](crate::RecordSync::Synced) for an id this store does
    /// not hold).
    ///
    /// Errors: `Error::Database` when the store cannot be read.
    pub fn row_sync(&self, id: &str) -> Result<RowSync> {
        Ok(self.conn().query_row(
            &format!("SELECT {SYNC_COLUMNS} FROM (SELECT ?1 AS id) i"),
            [id],
            |r| row_sync(r, 0),
        )?)
    }

    /// The caseload's page of rows and its total ([`caseload`] without its counts of violations
    /// and children, which cost a pass over every matching violation).
    pub fn list_incidents(&self, f: &IncidentFilter) -> Result<crate::Page<IncidentRow>> {
        let page = run(self.conn(), f, false)?;
        Ok(crate::Page {
            total: page.total,
            items: page.items,
        })
    }
}
