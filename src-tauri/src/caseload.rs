//! The caseload as the table asks for it: the UI's query (strings, as the form holds them)
//! checked into the store's [`IncidentFilter`] and run by `mrm_store::caseload`, the one query
//! behind `mrm list` as well.

use mrm_crdt::model::{ReviewState, VerificationStatus, ViolationType};
use mrm_store::{IncidentFilter, Sort, SyncFilter};
use rusqlite::Connection;
use serde::Deserialize;

pub use mrm_store::{CaseloadPage, ChildCounts};

use crate::error::{AppError, CmdResult};

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
    /// Only incidents in this sync state (`to_send`, `held`, `waiting`, `conflict`,
    /// `unsynced`), or any when empty.
    #[serde(default)]
    pub sync: String,
    /// `occurred_on` (default), `reported_on`, `title`, `place`, `review_state`, `children`,
    /// `violations`, `conflicts`.
    pub sort: String,
    /// Ascending instead of the default descending.
    pub asc: bool,
    pub limit: usize,
    pub offset: usize,
}

impl CaseloadQuery {
    /// The store's filter for this query: every value checked, so a filter the UI sends wrong
    /// is refused in words, never silently ignored (a date typed as 15/11/2026 used to show
    /// every row).
    ///
    /// Errors: `invalid` naming the field.
    pub fn filter(&self) -> CmdResult<IncidentFilter> {
        fn invalid(field: &str, v: &str, what: &str) -> AppError {
            AppError::new("invalid", format!("{field}: `{v}` is not {what}"))
        }
        fn some(v: &str) -> Option<String> {
            (!v.is_empty()).then(|| v.to_string())
        }
        for (field, v) in [("from", &self.from), ("to", &self.to)] {
            if !v.is_empty() && chrono::NaiveDate::parse_from_str(v, "%Y-%m-%d").is_err() {
                return Err(invalid(field, v, "a date (YYYY-MM-DD)"));
            }
        }
        let kind = match self.kind.as_str() {
            "" => None,
            k => Some(
                k.parse::<ViolationType>()
                    .map_err(|_| invalid("type", k, "a violation type"))?,
            ),
        };
        let status = match self.status.as_str() {
            "" => None,
            s => Some(
                s.parse::<VerificationStatus>()
                    .map_err(|_| invalid("status", s, "a verification status"))?,
            ),
        };
        let review_state = match self.review_state.as_str() {
            "" => None,
            r => Some(
                r.parse::<ReviewState>()
                    .map_err(|_| invalid("review_state", r, "a review state"))?,
            ),
        };
        let sync = match self.sync.as_str() {
            "" => None,
            s => Some(SyncFilter::parse(s).ok_or_else(|| invalid("sync", s, "a sync state"))?),
        };
        // An unknown sort key sorts by date: the table's header only sends known ones.
        let sort = Sort::parse(&self.sort).unwrap_or_default();
        Ok(IncidentFilter {
            kind,
            status,
            from: some(&self.from),
            to: some(&self.to),
            admin1: some(&self.admin1),
            party: some(&self.party),
            text: some(&self.text),
            patrol_id: some(&self.patrol_id),
            conflicts: self.conflicts,
            needs_attention: self.needs_attention,
            review_state,
            ids: self.ids.clone(),
            sync,
            sort,
            asc: self.asc,
            limit: Some(self.limit.clamp(1, MAX_PAGE)),
            offset: self.offset,
        })
    }
}

/// Run a caseload query ([`mrm_store::caseload`]: the one query behind `mrm list` too).
pub fn query(conn: &Connection, q: &CaseloadQuery) -> CmdResult<CaseloadPage> {
    Ok(mrm_store::caseload(conn, &q.filter()?)?)
}

/// Incidents per month of occurrence (`YYYY-MM`, oldest first), for the dashboard.
pub fn incidents_by_month(conn: &Connection) -> CmdResult<Vec<(String, i64)>> {
    Ok(mrm_store::incidents_by_month(conn)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn demo() -> (tempfile::TempDir, mrm_store::Store) {
        let dir = tempfile::tempdir().unwrap();
        let pass = mrm_crdt::crypto::Passphrase::new("caseload test passphrase");
        let mut store =
            crate::open::init_store(dir.path(), &pass, "MONUSCO", "Test O.", "Goma").unwrap();
        mrm_store::demo::populate(&mut store, 120, 7).unwrap();
        (dir, store)
    }

    #[test]
    fn counts_cover_the_matching_violations_and_ids_select_records() {
        let (dir, store) = demo();
        let conn = crate::open::open_reader(dir.path(), store.key().unwrap()).unwrap();
        let q = CaseloadQuery {
            kind: "abduction".into(),
            limit: 4,
            offset: 1,
            ..Default::default()
        };
        let page = query(&conn, &q).unwrap();
        // Counts only the abductions, over every matching incident, not the page.
        let abductions = store.stats().unwrap().violations_by_type["abduction"];
        assert_eq!(page.violations, abductions);
        assert_eq!(page.items.len(), 4);
        assert!(page.total > 5, "demo data has abductions past the page");
        // The records behind a figure.
        let ids: Vec<String> = page.items.iter().take(3).map(|r| r.id.clone()).collect();
        let picked = query(
            &conn,
            &CaseloadQuery {
                ids: ids.clone(),
                limit: 50,
                ..Default::default()
            },
        )
        .unwrap();
        let mut got: Vec<String> = picked.items.into_iter().map(|r| r.id).collect();
        let mut want = ids;
        got.sort();
        want.sort();
        assert_eq!(got, want);
    }

    #[test]
    fn a_malformed_filter_is_refused_in_words() {
        let (dir, store) = demo();
        let conn = crate::open::open_reader(dir.path(), store.key().unwrap()).unwrap();
        for (q, field) in [
            (
                CaseloadQuery {
                    from: "15/11/2026".into(),
                    ..Default::default()
                },
                "from",
            ),
            (
                CaseloadQuery {
                    kind: "abducted".into(),
                    ..Default::default()
                },
                "type",
            ),
            (
                CaseloadQuery {
                    status: "VERIFIED!".into(),
                    ..Default::default()
                },
                "status",
            ),
            (
                CaseloadQuery {
                    review_state: "waiting".into(),
                    ..Default::default()
                },
                "review_state",
            ),
            (
                CaseloadQuery {
                    sync: "sent".into(),
                    ..Default::default()
                },
                "sync",
            ),
        ] {
            let e = query(&conn, &q).unwrap_err();
            assert_eq!(e.kind, "invalid", "{field}");
            assert!(e.message.starts_with(field), "{}", e.message);
        }
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
