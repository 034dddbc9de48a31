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

use crate::facts;
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
            // The live violations' sums kept on the row (schema 16).
            Sort::Children => &["(i.boys + i.girls + i.unk)"],
            Sort::Violations => &["i.nv"],
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

    /// Its condition on `incidents i`, by the rules of [`RowSync`]. The held, waiting and
    /// conflicting records are small tables, each read once per query (an uncorrelated `IN`);
    /// a record waits to be sent when this device's latest own change to it (`local_seq`, on
    /// `incidents_facts`, schema 17) is beyond the endpoint's acknowledged position, one
    /// comparison per row whatever the size of the log.
    fn condition(self) -> String {
        // The `+`: tested as `incidents_facts` is read, never by looking each id up.
        const HELD: &str = "+i.id IN (SELECT doc_id FROM held_records)";
        const WAITING: &str = "+i.id IN (SELECT doc_id FROM inbound)";
        const UNSENT: &str = "i.local_seq > (SELECT COALESCE(MAX(push_seq), 0) FROM sync_state)";
        const CONFLICT: &str = "+i.id IN (SELECT doc_id FROM conflicts)";
        match self {
            SyncFilter::ToSend => format!("({UNSENT} AND NOT {HELD} AND NOT {WAITING})"),
            SyncFilter::Held => HELD.into(),
            SyncFilter::Waiting => format!("({WAITING} AND NOT {HELD})"),
            SyncFilter::Conflict => CONFLICT.into(),
            SyncFilter::Unsynced => format!("({HELD} OR {WAITING} OR {UNSENT} OR {CONFLICT})"),
        }
    }
}

/// The rows of a caseload query: every incident.
const ALL_INCIDENTS: &str = "incidents i";

/// The rows of a caseload query: the text filter's matches, each looked up by its key in
/// `incidents_facts`.
const TEXT_HITS: &str = "temp.caseload_text t CROSS JOIN incidents i INDEXED BY incidents_facts
     ON i.occurred_on = t.occurred_on AND i.id = t.id";

/// How a query reads the text filter's matches, kept in `temp.caseload_text`, a table of the
/// connection's own, by number (`n`). Measured at 100,000 incidents (2 cores, release build): a
/// match looked up by its key costs about 4 µs, an incident tested against the kept numbers as
/// `incidents_facts` is read about 0.2 µs (0.5 µs when they were ids).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum TextWay {
    /// The matches are kept, and each looked up by its key: when at most one incident in
    /// [`FEW_HITS`] matches.
    LookUp,
    /// The matches are kept, and every incident tested against them.
    In,
    /// The incidents that do not match are kept instead, and every incident tested against them:
    /// when most match (a word typed one letter at a time matches nearly everything first).
    NotIn,
}

/// The text filter's matches are looked up one by one when at most one incident in this many
/// matches (measured at 100,000 incidents: 14,566 matches looked up cost 73 ms, tested 48 ms;
/// 23 matches looked up 16 ms, tested 25 ms).
const FEW_HITS: i64 = 16;

/// How many search texts are tried first, to tell whether most incidents match.
const SAMPLE: i64 = 1_000;

/// Keep the text filter's matches (`likes` on `incident_search s`, with `words`), or the
/// incidents that do not match when a first sample says most do, in `temp.caseload_text`, and
/// say how the query reads them (`way`: as given). One pass over the search texts, about 20 ms
/// at 100,000 incidents.
fn text_matches(
    conn: &Connection,
    likes: &str,
    words: &[Sql],
    way: Option<TextWay>,
) -> Result<TextWay> {
    conn.execute_batch(
        "CREATE TEMP TABLE IF NOT EXISTS caseload_text (n INTEGER PRIMARY KEY, occurred_on, id);
         DELETE FROM temp.caseload_text;",
    )?;
    let args = || rusqlite::params_from_iter(words.iter());
    let most = match way {
        Some(w) => w == TextWay::NotIn,
        None => {
            let (hits, tried): (f64, i64) = conn.query_row(
                &format!(
                    "SELECT TOTAL({likes}), COUNT(*)
                     FROM (SELECT search FROM incident_search LIMIT {SAMPLE}) s"
                ),
                args(),
                |r| Ok((r.get(0)?, r.get(1)?)),
            )?;
            hits * 2.0 > tried as f64
        }
    };
    // `NOT`: the search text is never NULL, so an incident is exactly one of the two. Every
    // incident has a number (its record has a first change); a NULL one would stand for a new
    // number in the table, never for itself.
    let (which, chosen) = if most {
        (format!("NOT ({likes})"), TextWay::NotIn)
    } else {
        (likes.to_string(), TextWay::In)
    };
    let kept = conn.execute(
        &format!(
            "INSERT OR IGNORE INTO temp.caseload_text SELECT s.n, s.occurred_on, s.id
             FROM incident_search s WHERE s.n IS NOT NULL AND {which}"
        ),
        args(),
    )?;
    Ok(match way {
        Some(w) => w,
        None if chosen == TextWay::In
            && (kept as i64).saturating_mul(FEW_HITS) <= incident_count(conn, "", &[])? =>
        {
            TextWay::LookUp
        }
        None => chosen,
    })
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

/// The query; the counts of violations and children only when `counts`.
///
/// Three statements, each over narrow indexes (schema 16), so that no filter reads the wide rows
/// of every incident or violation: the match's counts (over `violations_facts` when a violation
/// filter is given, over `incidents_facts` otherwise); the page's keys, chosen on
/// `incidents_facts` in the asked order; then the page's rows by key. The text filter's matches
/// are read once per query (`temp.caseload_text`); the violation filters are the incident's
/// `vmask`, and its violation rows where the mask is not exact; the sync-state filter is the
/// incident's `local_seq` and three small sets of records. Without `counts` (the CLI's list,
/// whose page carries no counts), the violation counts of a violation filter are not read.
fn run(conn: &Connection, f: &IncidentFilter, counts: bool) -> Result<CaseloadPage> {
    if !conn.is_autocommit() {
        return run_with(conn, f, counts, None);
    }
    // One read transaction: the statements of one query see one state of the store, even when a
    // sync commits between them (a party's bit shared by a name that arrives meanwhile, counts
    // and page of different states).
    let tx = conn.unchecked_transaction()?;
    let page = run_with(&tx, f, counts, None)?;
    tx.commit()?;
    Ok(page)
}

/// [`run`] in the transaction (or the autocommit connection) `conn`; the text filter's way
/// chosen by its matches, or given (`way`), so that tests take each.
fn run_with(
    conn: &Connection,
    f: &IncidentFilter,
    counts: bool,
    way: Option<TextWay>,
) -> Result<CaseloadPage> {
    // Conditions on `incidents i`, each with its parameters in order.
    let mut conds: Vec<(String, Vec<Sql>)> = Vec::new();
    // The rows a query reads: every incident, or only the text filter's matches.
    let mut from = ALL_INCIDENTS;
    if let Some((likes, words)) = f.text.as_deref().and_then(text_condition) {
        match text_matches(conn, &likes, &words, way)? {
            TextWay::LookUp => from = TEXT_HITS,
            TextWay::In => {
                conds.push(("+i.n IN (SELECT n FROM temp.caseload_text)".into(), vec![]))
            }
            TextWay::NotIn => conds.push((
                "+i.n NOT IN (SELECT n FROM temp.caseload_text)".into(),
                vec![],
            )),
        }
    }
    let admin1 = f.admin1.as_deref().map(nfc);
    // `+`: not by the area's or the date's own index, whose rows lead to the wide table, but
    // on `incidents_facts`, which holds both.
    for (cond, v) in [
        ("+i.occurred_on >= ?", &f.from),
        ("+i.occurred_on <= ?", &f.to),
        ("+i.admin1 = ?", &admin1),
        ("i.patrol_id = ?", &f.patrol_id),
    ] {
        if let Some(v) = v.as_deref().filter(|v| !v.is_empty()) {
            conds.push((cond.into(), vec![Sql::Text(v.to_string())]));
        }
    }
    if !f.ids.is_empty() {
        // One JSON parameter, however many ids a figure has.
        conds.push((
            "i.id IN (SELECT value FROM json_each(?))".into(),
            vec![Sql::Text(serde_json::to_string(&f.ids)?)],
        ));
    }
    if f.conflicts {
        conds.push(("i.n_conflicts > 0".into(), vec![]));
    }
    if f.needs_attention {
        conds.push(("i.n_attention > 0".into(), vec![]));
    }
    if let Some(r) = f.review_state {
        conds.push((
            "i.review_state = ?".into(),
            vec![Sql::Text(r.as_str().into())],
        ));
    }
    if let Some(s) = f.sync {
        conds.push((s.condition(), vec![]));
    }
    // Conditions on one and the same violation `v`, and the bits they need in the incident's
    // `vmask` (crate::facts).
    let mut vconds: Vec<(&str, Sql)> = Vec::new();
    let mut need = 0i64;
    if let Some(k) = f.kind {
        vconds.push(("v.type = ?", Sql::Text(k.as_str().into())));
        need |= facts::type_bit(k.as_str());
    }
    if let Some(s) = f.status {
        vconds.push(("v.status = ?", Sql::Text(s.as_str().into())));
        need |= facts::status_bit(s.as_str());
    }
    let party = f.party.as_deref().filter(|p| !p.is_empty()).map(nfc);
    if let Some(p) = &party {
        need |= facts::party_bit(p);
        vconds.push(("v.party = ?", Sql::Text(p.clone())));
    }
    let vwhere = vconds
        .iter()
        .map(|(c, _)| *c)
        .collect::<Vec<_>>()
        .join(" AND ");
    let vargs: Vec<Sql> = vconds.iter().map(|(_, a)| a.clone()).collect();

    // The incident conditions alone (for the counts of a violation filter), then with the
    // violation filter: the mask, exact for a type, a status or a party whose bit is its own
    // alone; otherwise also the check of the incident's own violation rows, made only where the
    // mask allows a match.
    let mut all = conds.clone();
    if !vconds.is_empty() {
        all.push((
            "(i.vmask & ?) = ?".into(),
            vec![Sql::Integer(need), Sql::Integer(need)],
        ));
        let exact = match &party {
            Some(p) => vconds.len() == 1 && facts::party_bit_is_exact(conn, p)?,
            None => vconds.len() == 1,
        };
        if !exact {
            all.push((
                format!(
                    "EXISTS (SELECT 1 FROM violations v INDEXED BY violations_facts \
                     WHERE v.incident_id = i.id AND {vwhere})"
                ),
                vargs.clone(),
            ));
        }
    }
    let (wher, args) = conjunction(&all);

    let (total, violations, children) = if vconds.is_empty() {
        if !counts && wher.is_empty() && from == ALL_INCIDENTS {
            (incident_count(conn, "", &[])?, 0, ChildCounts::default())
        } else {
            // The incident rows carry their live violations' sums.
            sums(
                conn,
                &format!(
                    "SELECT COUNT(*), TOTAL(i.nv), TOTAL(i.boys), TOTAL(i.girls), TOTAL(i.unk)
                     FROM {from} {wher}"
                ),
                &args,
            )?
        }
    } else {
        let total = sums(
            conn,
            &format!("SELECT COUNT(*), 0, 0, 0, 0 FROM {from} {wher}"),
            &args,
        )?
        .0;
        let (violations, children) = if !counts {
            (0, ChildCounts::default())
        } else if conds.is_empty() && from == ALL_INCIDENTS {
            // Every matching violation, from the covering index.
            let (n, _, children) = sums(
                conn,
                &format!(
                    "SELECT COUNT(*), 0, TOTAL(v.boys), TOTAL(v.girls), TOTAL(v.sex_unknown)
                     FROM violations v INDEXED BY violations_facts WHERE {vwhere}"
                ),
                &vargs,
            )?;
            (n, children)
        } else {
            // The matching incidents' matching violations: each incident the mask allows, then
            // its own violation rows.
            let mut c = conds.clone();
            c.push((
                "(i.vmask & ?) = ?".into(),
                vec![Sql::Integer(need), Sql::Integer(need)],
            ));
            c.push((vwhere.clone(), vargs));
            let (w, a) = conjunction(&c);
            let (n, _, children) = sums(
                conn,
                &format!(
                    "SELECT COUNT(*), 0, TOTAL(v.boys), TOTAL(v.girls), TOTAL(v.sex_unknown)
                     FROM {from} CROSS JOIN violations v INDEXED BY violations_facts
                         ON v.incident_id = i.id
                     {w}"
                ),
                &a,
            )?;
            (n, children)
        };
        (total, violations, children)
    };

    let dir = if f.asc { "ASC" } else { "DESC" };
    let order = f
        .sort
        .terms()
        .iter()
        .map(|c| format!("{c} {dir}"))
        .chain(std::iter::once(format!("i.id {dir}")))
        .collect::<Vec<_>>()
        .join(", ");
    let items = if total == 0 || i64::try_from(f.offset).map_or(true, |o| o >= total) {
        Vec::new()
    } else if let Some(limit) = f.limit {
        // The page's keys first, on the narrow index, then only its rows.
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        rows(
            conn,
            &format!(
                "SELECT {INCIDENT_ROW_COLUMNS} FROM incidents i
                 WHERE (i.occurred_on, i.id) IN (SELECT i.occurred_on, i.id FROM {from}
                     {wher} ORDER BY {order} LIMIT {limit} OFFSET {})
                 ORDER BY {order}",
                f.offset
            ),
            &args,
        )?
    } else {
        rows(
            conn,
            &format!(
                "SELECT {INCIDENT_ROW_COLUMNS} FROM {from} {wher} ORDER BY {order} \
                 LIMIT -1 OFFSET {}",
                f.offset
            ),
            &args,
        )?
    };
    Ok(CaseloadPage {
        total,
        violations,
        children,
        items,
    })
}

/// `WHERE` and the conditions joined by `AND`, with their parameters in order; empty when none.
fn conjunction(conds: &[(String, Vec<Sql>)]) -> (String, Vec<Sql>) {
    if conds.is_empty() {
        return (String::new(), Vec::new());
    }
    let text = conds
        .iter()
        .map(|(c, _)| c.as_str())
        .collect::<Vec<_>>()
        .join(" AND ");
    let args = conds.iter().flat_map(|(_, a)| a.iter().cloned()).collect();
    (format!("WHERE {text}"), args)
}

/// The one row of a counting statement: incidents, violations, children by sex. The sums are
/// SQL `TOTAL`s (floating point, never an overflow error, where `SUM` fails the whole query on
/// one hostile record's counts), brought back to integers, saturating.
fn sums(conn: &Connection, sql: &str, args: &[Sql]) -> Result<(i64, i64, ChildCounts)> {
    let n = |r: &rusqlite::Row<'_>, i: usize| -> rusqlite::Result<i64> {
        Ok(match r.get_ref(i)? {
            rusqlite::types::ValueRef::Real(x) => x as i64,
            _ => r.get(i)?,
        })
    };
    Ok(
        conn.query_row(sql, rusqlite::params_from_iter(args.iter()), |r| {
            Ok((
                n(r, 0)?,
                n(r, 1)?,
                ChildCounts {
                    boys: n(r, 2)?,
                    girls: n(r, 3)?,
                    sex_unknown: n(r, 4)?,
                },
            ))
        })?,
    )
}

/// The caseload's rows a statement selects.
fn rows(conn: &Connection, sql: &str, args: &[Sql]) -> Result<Vec<IncidentRow>> {
    let mut stmt = conn.prepare(sql)?;
    let rows = stmt.query_map(rusqlite::params_from_iter(args.iter()), incident_row)?;
    Ok(rows.collect::<Result<Vec<_>, _>>()?)
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::RecordSync;

    /// Each sync-state filter selects exactly the incidents whose own sync state
    /// ([`Store::row_sync`], read per record from the change log) is that state: after local
    /// edits, an endpoint's acknowledgement of part of them, a record held, changes waiting, a
    /// conflict, and after the change log moved under the rows (`local` handed to another
    /// identity, as `mrm recover` does).
    #[test]
    fn the_sync_state_filter_matches_each_records_own_state() {
        let dir = tempfile::tempdir().unwrap();
        let pass = mrm_crdt::crypto::Passphrase::new("test store passphrase");
        let mut store = Store::init(dir.path(), &pass, "M", "Rose R.", "Goma").unwrap();
        let ids = crate::demo::populate(&mut store, 8, 3).unwrap();
        let conn = store.conn();
        // The first three acknowledged by an endpoint, as a sync would leave them.
        let seq: i64 = conn
            .query_row(
                "SELECT MAX(seq) FROM changes WHERE doc_id = ?1",
                [&ids[2]],
                |r| r.get(0),
            )
            .unwrap();
        conn.execute(
            "INSERT INTO sync_state (singleton, server_url, device_id, secret, role, push_seq)
             VALUES (1, 'https://127.0.0.1:1', 'd', 's', 'officer', ?1)",
            [seq],
        )
        .unwrap();
        conn.execute(
            "INSERT INTO held_records (doc_id, reason, held_at) VALUES (?1, 'r', 't')",
            [&ids[4]],
        )
        .unwrap();
        conn.execute(
            "INSERT INTO inbound (doc_id, n, bytes, reason, at) VALUES (?1, 1, x'00', 'r', 't')",
            [&ids[5]],
        )
        .unwrap();
        conn.execute(
            "INSERT INTO conflicts (doc_id, path, value_json) VALUES (?1, 'title', '[]')",
            [&ids[1]],
        )
        .unwrap();
        let check = |store: &Store, when: &str| {
            let mut seen = 0;
            for sync in SyncFilter::ALL {
                let f = IncidentFilter {
                    sync: Some(sync),
                    ..Default::default()
                };
                let mut got: Vec<String> = store
                    .caseload(&f)
                    .unwrap()
                    .items
                    .into_iter()
                    .map(|r| r.id)
                    .collect();
                got.sort();
                let mut want: Vec<String> = ids
                    .iter()
                    .filter(|id| {
                        let s = store.row_sync(id).unwrap();
                        match sync {
                            SyncFilter::ToSend => s.state == RecordSync::ToSend,
                            SyncFilter::Held => s.state == RecordSync::Held,
                            SyncFilter::Waiting => s.state == RecordSync::Waiting,
                            SyncFilter::Conflict => s.conflict,
                            SyncFilter::Unsynced => s.state != RecordSync::Synced || s.conflict,
                        }
                    })
                    .cloned()
                    .collect();
                want.sort();
                assert_eq!(got, want, "{sync:?} {when}");
                seen += got.len();
            }
            assert!(seen > 0, "the states select some incidents ({when})");
        };
        check(&store, "after a sync");
        // A later edit of an acknowledged record makes it one to send again.
        store
            .edit_incident(
                &ids[0],
                &mrm_crdt::input::IncidentPatch {
                    title: Some("Later words".into()),
                    ..Default::default()
                },
            )
            .unwrap();
        check(&store, "after an edit");
        // The change log moves under the rows: the others' changes become another device's.
        store
            .conn()
            .execute("UPDATE changes SET local = 0 WHERE doc_id <> ?1", [&ids[6]])
            .unwrap();
        store
            .conn()
            .execute(crate::facts::REFRESH_LOCAL_SEQ, [])
            .unwrap();
        check(&store, "after the log moved");
    }

    /// The text filter's three ways (its matches looked up by key, every incident tested
    /// against its matches, or against the incidents that do not match) give the same page and
    /// counts, alone and with every other kind of filter, sort and page.
    #[test]
    fn both_ways_of_the_text_filter_agree() {
        let dir = tempfile::tempdir().unwrap();
        let pass = mrm_crdt::crypto::Passphrase::new("test store passphrase");
        let mut store = Store::init(dir.path(), &pass, "M", "Rose R.", "Goma").unwrap();
        crate::demo::populate(&mut store, 40, 9).unwrap();
        let (word, admin1, kind, party): (String, String, String, String) = store
            .conn()
            .query_row(
                "SELECT i.title, i.admin1, v.type, v.party FROM incidents i
                 JOIN violations v ON v.incident_id = i.id LIMIT 1",
                [],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
            )
            .unwrap();
        let word = word.split_whitespace().last().unwrap().to_string();
        let text = |more: IncidentFilter| IncidentFilter {
            text: Some(word.clone()),
            ..more
        };
        let filters = [
            text(IncidentFilter::default()),
            text(IncidentFilter {
                limit: Some(3),
                offset: 2,
                ..Default::default()
            }),
            text(IncidentFilter {
                kind: Some(kind.parse().unwrap()),
                ..Default::default()
            }),
            text(IncidentFilter {
                party: Some(party),
                admin1: Some(admin1.clone()),
                limit: Some(5),
                ..Default::default()
            }),
            text(IncidentFilter {
                admin1: Some(admin1),
                sort: Sort::Children,
                asc: true,
                ..Default::default()
            }),
            text(IncidentFilter {
                sync: Some(SyncFilter::Unsynced),
                limit: Some(4),
                ..Default::default()
            }),
            IncidentFilter {
                text: Some("no such words anywhere".into()),
                ..Default::default()
            },
            // In every demo title: most match, so the others are kept.
            IncidentFilter {
                text: Some("REPORTED near".into()),
                limit: Some(7),
                offset: 1,
                ..Default::default()
            },
        ];
        let mut seen = 0;
        for f in &filters {
            let chosen = run_with(store.conn(), f, true, None).unwrap();
            for way in [TextWay::LookUp, TextWay::In, TextWay::NotIn] {
                let got = run_with(store.conn(), f, true, Some(way)).unwrap();
                assert_eq!(got, chosen, "{way:?} {f:?}");
                let listed = run_with(store.conn(), f, false, Some(way)).unwrap();
                assert_eq!(listed.items, chosen.items, "{way:?} {f:?}");
            }
            seen += chosen.total;
        }
        assert!(seen > 0, "the word is found");
    }

    /// Counts no record could hold (a hostile peer's, past validation) never fail the caseload:
    /// its sums saturate.
    #[test]
    fn sums_beyond_any_integer_saturate() {
        let dir = tempfile::tempdir().unwrap();
        let pass = mrm_crdt::crypto::Passphrase::new("test store passphrase");
        let mut store = Store::init(dir.path(), &pass, "M", "Rose R.", "Goma").unwrap();
        crate::demo::populate(&mut store, 3, 5).unwrap();
        store
            .conn()
            .execute_batch(
                "UPDATE incidents SET boys = 9223372036854775807;
                 UPDATE violations SET girls = 9223372036854775807;",
            )
            .unwrap();
        let all = store.caseload(&IncidentFilter::default()).unwrap();
        assert_eq!((all.total, all.children.boys), (3, i64::MAX));
        // A violation filter with an incident filter, and one alone: both ways of counting.
        let (kind, admin1): (String, String) = store
            .conn()
            .query_row(
                "SELECT v.type, i.admin1 FROM violations v JOIN incidents i
                 ON i.id = v.incident_id LIMIT 1",
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .unwrap();
        let kind: ViolationType = kind.parse().unwrap();
        for admin1 in [Some(admin1), None] {
            let page = store
                .caseload(&IncidentFilter {
                    kind: Some(kind),
                    admin1,
                    ..Default::default()
                })
                .unwrap();
            assert!(page.violations > 0);
            assert_eq!(page.children.girls, i64::MAX);
        }
    }
}
