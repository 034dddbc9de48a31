//! The caseload as the table shows it: filtered, sorted by any column, one page at a time, with
//! counts of the whole match. Read from the store's projection tables (never from documents), so
//! it stays fast with tens of thousands of incidents.
//!
//! `mrm-crdt`'s `list_incidents` filters the same way but only sorts by date; this adds the sort
//! and the counts. It belongs in `store/src/query.rs` (issue 11: one caseload query for the CLI and the app).

use mrm_crdt::report::nfc;
use mrm_store::{incident_count, incident_row, text_condition, IncidentRow, INCIDENT_ROW_COLUMNS};
use rusqlite::types::Value as Sql;
use rusqlite::Connection;
use serde::{Deserialize, Serialize};

use crate::error::CmdResult;

/// Largest page the UI may ask for.
const MAX_PAGE: usize = 500;

/// Filters, sort and page of the caseload table. Empty strings mean "no filter".
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CaseloadQuery {
    #[serde(rename = "type")]
    pub kind: String,
    pub status: String,
    pub party: String,
    pub from: String,
    pub to: String,
    pub admin1: String,
    pub text: String,
    pub patrol_id: String,
    /// Only incidents holding conflicting values.
    pub conflicts: bool,
    /// Only incidents a merge left with something to settle (`IncidentRow::attention`).
    pub needs_attention: bool,
    /// Only incidents in this review state (`submitted`: a reviewer's queue; `returned`: an
    /// officer's records sent back), or any when empty.
    #[serde(default)]
    pub review_state: String,
    /// Only these incidents (the records behind a figure of a report), or any when empty.
    #[serde(default)]
    pub ids: Vec<String>,
    /// `occurred_on` (default), `reported_on`, `title`, `place`, `review_state`, `children`,
    /// `violations`, `conflicts`.
    pub sort: String,
    /// Ascending instead of the default descending.
    pub asc: bool,
    pub limit: usize,
    pub offset: usize,
}

/// Children by sex.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ChildCounts {
    pub boys: i64,
    pub girls: i64,
    pub sex_unknown: i64,
}

/// One page, with counts over everything that matched.
#[derive(Debug, Clone, Serialize)]
pub struct CaseloadPage {
    pub total: i64,
    /// Violations in the matching incidents (those matching the violation filters, if any).
    pub violations: i64,
    pub children: ChildCounts,
    pub items: Vec<IncidentRow>,
}

/// The ORDER BY terms for a sort key (unknown keys sort by date: no user text reaches the SQL).
fn sort_terms(key: &str) -> &'static [&'static str] {
    match key {
        "reported_on" => &["i.reported_on"],
        "title" => &["i.title COLLATE NOCASE"],
        "place" => &[
            "i.admin1 COLLATE NOCASE",
            "i.admin2 COLLATE NOCASE",
            "i.place COLLATE NOCASE",
        ],
        "review_state" => &["i.review_state"],
        "conflicts" => &["i.n_conflicts"],
        "children" => &[
            "(SELECT COALESCE(SUM(v.boys + v.girls + v.sex_unknown), 0) \
              FROM violations v WHERE v.incident_id = i.id)",
        ],
        "violations" => &["(SELECT COUNT(*) FROM violations v WHERE v.incident_id = i.id)"],
        _ => &["i.occurred_on"],
    }
}

/// Run a caseload query.
pub fn query(conn: &Connection, q: &CaseloadQuery) -> CmdResult<CaseloadPage> {
    // Compared as text in SQL: anything but YYYY-MM-DD would filter wrongly without a word.
    for (field, v) in [("from", &q.from), ("to", &q.to)] {
        if !v.is_empty() && chrono::NaiveDate::parse_from_str(v, "%Y-%m-%d").is_err() {
            return Err(crate::error::AppError::new(
                "invalid",
                format!("{field}: `{v}` is not a date (YYYY-MM-DD)"),
            ));
        }
    }
    let mut conds: Vec<String> = Vec::new();
    let mut args: Vec<Sql> = Vec::new();
    // The text condition first: SQLite tests it first, and it rejects most rows cheaply.
    if let Some((cond, words)) = text_condition(&q.text) {
        conds.push(cond);
        args.extend(words);
    }
    let mut vconds: Vec<&str> = Vec::new();
    let mut vargs: Vec<Sql> = Vec::new();
    // Names are kept in NFC in the projection: "Béni" matches however it was typed.
    let (party, admin1) = (nfc(&q.party), nfc(&q.admin1));
    for (cond, v) in [
        ("v.type = ?", &q.kind),
        ("v.status = ?", &q.status),
        ("v.party = ?", &party),
    ] {
        if !v.is_empty() {
            vconds.push(cond);
            vargs.push(Sql::Text(v.clone()));
        }
    }
    let vwhere = vconds.join(" AND ");
    if !vconds.is_empty() {
        conds.push(format!(
            "EXISTS (SELECT 1 FROM violations v WHERE v.incident_id = i.id AND {vwhere})"
        ));
        args.extend(vargs.iter().cloned());
    }
    for (cond, v) in [
        ("i.occurred_on >= ?", &q.from),
        ("i.occurred_on <= ?", &q.to),
        ("i.admin1 = ?", &admin1),
        ("i.patrol_id = ?", &q.patrol_id),
    ] {
        if !v.is_empty() {
            conds.push(cond.into());
            args.push(Sql::Text(v.clone()));
        }
    }
    if !q.ids.is_empty() {
        // One JSON parameter, however many ids a figure has.
        conds.push("i.id IN (SELECT value FROM json_each(?))".into());
        args.push(Sql::Text(serde_json::to_string(&q.ids)?));
    }
    if q.conflicts {
        conds.push("i.n_conflicts > 0".into());
    }
    if q.needs_attention {
        conds.push("i.n_attention > 0".into());
    }
    if !q.review_state.is_empty() {
        let state: mrm_crdt::model::ReviewState = q
            .review_state
            .parse()
            .map_err(|e: mrm_crdt::Error| crate::error::AppError::new("invalid", e.to_string()))?;
        conds.push("i.review_state = ?".into());
        args.push(Sql::Text(state.as_str().to_string()));
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
    let (violations, children) = conn.query_row(
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
    )?;

    let limit = q.limit.clamp(1, MAX_PAGE);
    let dir = if q.asc { "ASC" } else { "DESC" };
    let order = sort_terms(&q.sort)
        .iter()
        .map(|c| format!("{c} {dir}"))
        .collect::<Vec<_>>()
        .join(", ");
    let sql = format!(
        "SELECT {INCIDENT_ROW_COLUMNS}
         FROM incidents i {wher} ORDER BY {order}, i.id {dir} LIMIT {limit} OFFSET {}",
        q.offset
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
pub fn incidents_by_month(conn: &Connection) -> CmdResult<Vec<(String, i64)>> {
    let mut stmt = conn.prepare(
        "SELECT substr(occurred_on, 1, 7) AS m, COUNT(*) FROM incidents
         WHERE length(occurred_on) >= 7 GROUP BY m ORDER BY m",
    )?;
    let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
    Ok(rows.collect::<Result<_, _>>()?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use mrm_store::IncidentFilter;

    fn demo() -> (tempfile::TempDir, mrm_store::Store) {
        let dir = tempfile::tempdir().unwrap();
        let pass = mrm_crdt::crypto::Passphrase::new("caseload test passphrase");
        let mut store =
            crate::open::init_store(dir.path(), &pass, "MONUSCO", "Test O.", "Goma").unwrap();
        mrm_store::demo::populate(&mut store, 120, 7).unwrap();
        (dir, store)
    }

    #[test]
    fn default_order_and_filters_match_the_core_query() {
        let (dir, store) = demo();
        let conn = crate::open::open_reader(dir.path(), store.key().unwrap()).unwrap();
        let q = CaseloadQuery {
            kind: "abduction".into(),
            limit: 20,
            offset: 5,
            ..Default::default()
        };
        let ours = query(&conn, &q).unwrap();
        let core = store
            .list_incidents(&IncidentFilter {
                kind: Some(mrm_crdt::model::ViolationType::Abduction),
                limit: Some(20),
                offset: 5,
                ..Default::default()
            })
            .unwrap();
        assert_eq!(ours.total, core.total);
        assert_eq!(ours.items, core.items);
        // Counts only the abductions.
        let abductions = store.stats().unwrap().violations_by_type["abduction"];
        assert_eq!(ours.violations, abductions);
    }

    #[test]
    fn sorts_by_any_column_and_survives_odd_input() {
        let (dir, store) = demo();
        let conn = crate::open::open_reader(dir.path(), store.key().unwrap()).unwrap();
        for sort in [
            "title",
            "children",
            "violations",
            "place",
            "nonsense'; DROP",
        ] {
            for asc in [true, false] {
                let page = query(
                    &conn,
                    &CaseloadQuery {
                        sort: sort.into(),
                        asc,
                        limit: 10,
                        text: "100%_\\".into(),
                        ..Default::default()
                    },
                )
                .unwrap();
                assert!(page.items.len() <= 10);
            }
        }
        let all = query(
            &conn,
            &CaseloadQuery {
                sort: "title".into(),
                asc: true,
                limit: 500,
                ..Default::default()
            },
        )
        .unwrap();
        let titles: Vec<String> = all.items.iter().map(|r| r.title.to_lowercase()).collect();
        let mut sorted = titles.clone();
        sorted.sort();
        assert_eq!(titles, sorted);
        let conflicted = query(
            &conn,
            &CaseloadQuery {
                conflicts: true,
                limit: 10,
                ..Default::default()
            },
        )
        .unwrap();
        assert_eq!(conflicted.total, 0, "demo data has no conflicts");
        let months: i64 = incidents_by_month(&conn).unwrap().iter().map(|m| m.1).sum();
        assert_eq!(months, all.total);
    }
}
