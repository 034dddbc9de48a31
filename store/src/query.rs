//! Lists, filters and figures, served from the projection tables (never from documents).

use std::collections::BTreeMap;

use rusqlite::types::Value as Sql;
use serde::Serialize;

use mrm_crdt::error::Result;
use mrm_crdt::model::{VerificationStatus, ViolationType};

use super::Store;
use crate::RecordSync;

/// One violation in a caseload row.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ViolationRow {
    pub id: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub boys: i64,
    pub girls: i64,
    pub sex_unknown: i64,
    pub party: String,
    pub category: String,
    pub status: String,
    pub late: bool,
}

/// One incident in the caseload.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct IncidentRow {
    pub id: String,
    pub title: String,
    pub occurred_on: String,
    pub reported_on: String,
    pub admin1: String,
    pub admin2: String,
    pub place: String,
    pub patrol_id: Option<String>,
    pub team: String,
    pub created_by: String,
    pub review_state: String,
    pub conflicts: i64,
    /// Problems a merge left to settle: rules across fields the merged record breaks (the ones
    /// that do not depend on today's date) and violations with concurrent decisions.
    pub attention: i64,
    pub violations: Vec<ViolationRow>,
    /// Where the record stands with the endpoint.
    pub sync: RowSync,
}

/// A record's sync state as a caseload row and the detail view show it: the same rules as
/// [`Store::record_sync_state`], with the reason and the conflict flag of
/// [`Store::unsynced_records`].
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RowSync {
    pub state: RecordSync,
    /// Why it is held (the endpoint's refusal) or waiting (what its received changes wait for);
    /// `None` when synced or to send.
    pub reason: Option<String>,
    /// Whether two edits left values for a person to choose between.
    pub conflict: bool,
}

/// A page of results with the total that matched.
#[derive(Debug, Clone, Serialize)]
pub struct Page<T> {
    pub total: i64,
    pub items: Vec<T>,
}

/// One patrol in the patrol list.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PatrolRow {
    pub id: String,
    pub date: String,
    pub team: String,
    pub route: Vec<String>,
    pub participants: Vec<String>,
    pub ended_at: Option<String>,
    pub incidents: i64,
}

pub use mrm_crdt::report::Children;

/// The headline figures.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Stats {
    pub incidents: i64,
    pub patrols: i64,
    pub violations: i64,
    pub violations_by_type: BTreeMap<String, i64>,
    pub violations_by_status: BTreeMap<String, i64>,
    /// Children in every recorded violation.
    pub children: Children,
    pub verified_violations: i64,
    /// Children in verified violations only: the figures that go into the annual report.
    pub verified_children: Children,
    pub late_verifications: i64,
    pub incidents_with_conflicts: i64,
}

/// [`RowSync`] in SQL, over a row `i` whose record id is `i.id`: held, else waiting, else to send
/// (a local change after the endpoint's acknowledged position), else synced; the reason; the
/// conflict flag. Each is a lookup by record id: in a small table, or in `changes_by_doc` from
/// the acknowledged position on (the record's own later changes only), so a page of rows costs a
/// few reads per row and never a scan of the change log.
///
/// A macro, so that [`INCIDENT_ROW_COLUMNS`] can hold it as one constant.
macro_rules! sync_columns {
    () => {
        "CASE WHEN EXISTS (SELECT 1 FROM held_records h WHERE h.doc_id = i.id) THEN 'held' \
              WHEN EXISTS (SELECT 1 FROM inbound b WHERE b.doc_id = i.id) THEN 'waiting' \
              WHEN EXISTS (SELECT 1 FROM changes c WHERE c.doc_id = i.id AND c.local = 1 \
                           AND c.seq > (SELECT COALESCE(MAX(push_seq), 0) FROM sync_state)) \
                   THEN 'to_send' \
              ELSE 'synced' END, \
         COALESCE((SELECT h.reason FROM held_records h WHERE h.doc_id = i.id), \
                  (SELECT b.reason FROM inbound b WHERE b.doc_id = i.id ORDER BY b.n LIMIT 1)), \
         EXISTS (SELECT 1 FROM conflicts k WHERE k.doc_id = i.id)"
    };
}

/// The columns [`row_sync`] reads, over a row `i` with the record id in `i.id`.
pub(crate) const SYNC_COLUMNS: &str = sync_columns!();

/// The columns [`incident_row`] reads from `incidents i`: all of its row, which is stored in the
/// caseload's order, so that a page of the caseload is read from a few adjacent pages, then the
/// record's sync state ([`RowSync`]).
pub const INCIDENT_ROW_COLUMNS: &str = concat!(
    "i.id, i.title, i.occurred_on, i.reported_on, i.admin1, i.admin2, i.place, i.patrol_id, \
     i.team, i.created_by, i.review_state, i.n_conflicts, i.violations_json, i.n_attention, ",
    sync_columns!()
);

/// A [`RowSync`] from the three columns of [`SYNC_COLUMNS`] starting at `at`.
pub(crate) fn row_sync(r: &rusqlite::Row<'_>, at: usize) -> rusqlite::Result<RowSync> {
    let state: String = r.get(at)?;
    let state = match state.as_str() {
        "synced" => RecordSync::Synced,
        "to_send" => RecordSync::ToSend,
        "held" => RecordSync::Held,
        "waiting" => RecordSync::Waiting,
        _ => {
            return Err(rusqlite::Error::FromSqlConversionFailure(
                at,
                rusqlite::types::Type::Text,
                format!("unknown sync state {state:?}").into(),
            ))
        }
    };
    Ok(RowSync {
        state,
        reason: r.get(at + 1)?,
        conflict: r.get(at + 2)?,
    })
}

/// A violation as kept in `incidents.violations_json`: a JSON array in field order, so that the
/// rows the caseload reads stay small.
type StoredViolation = (String, String, i64, i64, i64, String, String, String, bool);

/// The `violations_json` of an incident's projection row.
pub(crate) fn violations_json(rows: &[ViolationRow]) -> Result<String> {
    let stored: Vec<StoredViolation> = rows
        .iter()
        .map(|v| {
            (
                v.id.clone(),
                v.kind.clone(),
                v.boys,
                v.girls,
                v.sex_unknown,
                v.party.clone(),
                v.category.clone(),
                v.status.clone(),
                v.late,
            )
        })
        .collect();
    Ok(serde_json::to_string(&stored)?)
}

/// A caseload row from a query selecting [`INCIDENT_ROW_COLUMNS`] `FROM incidents i`.
pub fn incident_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<IncidentRow> {
    let json: String = r.get(12)?;
    let stored: Vec<StoredViolation> = serde_json::from_str(&json).map_err(|e| {
        rusqlite::Error::FromSqlConversionFailure(12, rusqlite::types::Type::Text, e.into())
    })?;
    let violations = stored
        .into_iter()
        .map(
            |(id, kind, boys, girls, sex_unknown, party, category, status, late)| ViolationRow {
                id,
                kind,
                boys,
                girls,
                sex_unknown,
                party,
                category,
                status,
                late,
            },
        )
        .collect();
    Ok(IncidentRow {
        id: r.get(0)?,
        title: r.get(1)?,
        occurred_on: r.get(2)?,
        reported_on: r.get(3)?,
        admin1: r.get(4)?,
        admin2: r.get(5)?,
        place: r.get(6)?,
        patrol_id: r.get(7)?,
        team: r.get(8)?,
        created_by: r.get(9)?,
        review_state: r.get(10)?,
        conflicts: r.get(11)?,
        attention: r.get(13)?,
        violations,
        sync: row_sync(r, 14)?,
    })
}

/// The condition on `incident_search s` that every word is in an incident's title, narrative,
/// place or areas (case-insensitive), and its arguments; `None` without words.
pub fn text_condition(text: &str) -> Option<(String, Vec<Sql>)> {
    // The search text is kept in NFC ([`mrm_crdt::report::nfc`]): so are the words looked for.
    let text = mrm_crdt::report::nfc(text);
    let words: Vec<&str> = text.split_whitespace().collect();
    if words.is_empty() {
        return None;
    }
    Some((
        vec!["s.search LIKE ? ESCAPE '\\'"; words.len()].join(" AND "),
        words.iter().map(|w| Sql::Text(like(w))).collect(),
    ))
}

/// How many incidents a `WHERE` clause over `incidents i` matches; without one, the kept count
/// (no scan).
pub fn incident_count(conn: &rusqlite::Connection, wher: &str, args: &[Sql]) -> Result<i64> {
    Ok(if wher.is_empty() {
        conn.query_row("SELECT n FROM counts WHERE name = 'incidents'", [], |r| {
            r.get(0)
        })?
    } else {
        conn.query_row(
            &format!("SELECT COUNT(*) FROM incidents i {wher}"),
            rusqlite::params_from_iter(args.iter()),
            |r| r.get(0),
        )?
    })
}

/// A text cell a spreadsheet opens as text: a cell starting with `=`, `+`, `-`, `@`, a tab or a
/// carriage return is a formula to Excel and LibreOffice (a title such as `=HYPERLINK(...)` would
/// run), so it gets a leading apostrophe, as OWASP's "CSV Injection" page advises. Anything
/// else is kept exactly.
///
/// A spreadsheet set to `;` as its list separator (French and other locales) splits a cell at
/// each `;` whatever the quotes, so a formula character after a `;` gets the apostrophe too.
pub fn spreadsheet_safe(s: &str) -> String {
    const TRIGGERS: [char; 6] = ['=', '+', '-', '@', '\t', '\r'];
    let mut out = String::with_capacity(s.len() + 1);
    if s.starts_with(TRIGGERS) {
        out.push('\'');
    }
    let mut after_separator = false;
    for c in s.chars() {
        if after_separator && TRIGGERS.contains(&c) {
            out.push('\'');
        }
        // Spaces after the separator do not protect: spreadsheets trim them.
        after_separator = c == ';' || (after_separator && c == ' ');
        out.push(c);
    }
    out
}

fn like(s: &str) -> String {
    let escaped = s
        .to_lowercase()
        .replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_");
    format!("%{escaped}%")
}

impl Store {
    /// Every patrol, newest first, with the number of incidents it produced.
    pub fn list_patrols(&self) -> Result<Vec<PatrolRow>> {
        let mut stmt = self.conn().prepare(
            "SELECT p.id, p.date, p.team, p.route, p.participants, p.ended_at,
                    (SELECT COUNT(*) FROM incidents i WHERE i.patrol_id = p.id)
             FROM patrols p ORDER BY p.date DESC, p.id DESC",
        )?;
        let rows = stmt.query_map([], |r| {
            Ok((
                PatrolRow {
                    id: r.get(0)?,
                    date: r.get(1)?,
                    team: r.get(2)?,
                    route: Vec::new(),
                    participants: Vec::new(),
                    ended_at: r.get(5)?,
                    incidents: r.get(6)?,
                },
                r.get::<_, String>(3)?,
                r.get::<_, String>(4)?,
            ))
        })?;
        let mut out = Vec::new();
        for row in rows {
            let (mut p, route, participants) = row?;
            p.route = serde_json::from_str(&route)?;
            p.participants = serde_json::from_str(&participants)?;
            out.push(p);
        }
        Ok(out)
    }

    /// The headline figures of the whole store.
    pub fn stats(&self) -> Result<Stats> {
        let c = self.conn();
        let mut s = Stats {
            incidents: incident_count(c, "", &[])?,
            patrols: c.query_row("SELECT COUNT(*) FROM patrols", [], |r| r.get(0))?,
            violations: c.query_row("SELECT COUNT(*) FROM violations", [], |r| r.get(0))?,
            incidents_with_conflicts: c.query_row(
                "SELECT COUNT(*) FROM incidents WHERE n_conflicts > 0",
                [],
                |r| r.get(0),
            )?,
            late_verifications: c.query_row(
                "SELECT COUNT(*) FROM violations WHERE late",
                [],
                |r| r.get(0),
            )?,
            ..Stats::default()
        };
        for t in ViolationType::ALL {
            s.violations_by_type.insert(t.as_str().into(), 0);
        }
        for t in VerificationStatus::ALL {
            s.violations_by_status.insert(t.as_str().into(), 0);
        }
        for (col, map) in [
            ("type", &mut s.violations_by_type),
            ("status", &mut s.violations_by_status),
        ] {
            let mut stmt = c.prepare(&format!(
                "SELECT {col}, COUNT(*) FROM violations GROUP BY {col}"
            ))?;
            let rows = stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)))?;
            for row in rows {
                let (k, n) = row?;
                map.insert(k, n);
            }
        }
        let children = |wher: &str| -> Result<Children> {
            Ok(c.query_row(
                &format!(
                    "SELECT COALESCE(SUM(boys),0), COALESCE(SUM(girls),0), COALESCE(SUM(sex_unknown),0)
                     FROM violations {wher}"
                ),
                [],
                |r| {
                    let (b, g, u): (i64, i64, i64) = (r.get(0)?, r.get(1)?, r.get(2)?);
                    Ok(Children { boys: b, girls: g, sex_unknown: u, total: b + g + u })
                },
            )?)
        };
        s.children = children("")?;
        s.verified_children = children("WHERE status = 'verified'")?;
        s.verified_violations = s.violations_by_status.get("verified").copied().unwrap_or(0);
        Ok(s)
    }

    /// Write the caseload as CSV, one row per violation: UTF-8 with a byte-order mark (so
    /// Excel reads accents right), every text cell that a spreadsheet would take for a formula
    /// neutralised ([`spreadsheet_safe`]).
    ///
    /// Errors: [`mrm_crdt::Error::Refused`] when `out` cannot be written.
    pub fn export_csv<W: std::io::Write>(&self, out: W) -> Result<usize> {
        let (head, rows) = self.table_of(None, &Default::default())?;
        write_csv(&head, &rows, out)
    }

    /// [`Store::export_csv`] of the incidents a caseload filter matches (its page and sort
    /// aside: every match, in date order): what the app's caseload shows, as a file. With a
    /// violation filter (type, status, party), only the violations it matches, as the
    /// caseload counts them.
    ///
    /// Errors: as [`Store::export_csv`].
    pub fn export_csv_matching<W: std::io::Write>(
        &self,
        filter: &crate::IncidentFilter,
        out: W,
    ) -> Result<usize> {
        let (head, rows) = self.caseload_table(filter)?;
        write_csv(&head, &rows, out)
    }

    /// The table [`Store::export_csv_matching`] writes: its column names and one row of cells
    /// per violation, as text, not yet made spreadsheet-safe (the XLSX export writes every cell
    /// as a string, never a formula). The numeric columns are [`CASELOAD_NUMBERS`].
    ///
    /// Errors: `Error::Database` when the store cannot be read.
    pub fn caseload_table(
        &self,
        filter: &crate::IncidentFilter,
    ) -> Result<(Vec<&'static str>, Vec<Vec<String>>)> {
        let all = crate::IncidentFilter {
            limit: None,
            offset: 0,
            ..filter.clone()
        };
        let ids: Vec<String> = crate::caseload(self.conn(), &all)?
            .items
            .into_iter()
            .map(|r| r.id)
            .collect();
        self.table_of(Some(&ids), filter)
    }

    /// The table of the incidents `ids` (all when `None`), of their violations that `only`'s
    /// violation filters match (type, status, party; the rest of `only` is not read).
    fn table_of(
        &self,
        ids: Option<&[String]>,
        only: &crate::IncidentFilter,
    ) -> Result<(Vec<&'static str>, Vec<Vec<String>>)> {
        let detail_keys = mrm_crdt::details::all_keys();
        let mut head: Vec<&'static str> = CASELOAD_COLUMNS.to_vec();
        // One column per detail key (crdt/src/details.rs), empty where the type takes none.
        head.extend(detail_keys.iter().copied());
        let mut stmt = self.conn().prepare(
            "SELECT i.id, i.title, i.occurred_on, i.reported_on, i.admin1, i.admin2, i.place, i.team,
                    i.review_state, v.id, v.type, v.boys, v.girls, v.sex_unknown, v.party, v.category,
                    v.status, COALESCE(v.status_at, ''), v.late, v.details
             FROM violations v JOIN incidents i ON i.id = v.incident_id
             WHERE (?1 IS NULL OR i.id IN (SELECT value FROM json_each(?1)))
                 AND (?2 IS NULL OR v.type = ?2) AND (?3 IS NULL OR v.status = ?3)
                 AND (?4 IS NULL OR v.party = ?4)
             ORDER BY i.occurred_on, i.id, v.ord",
        )?;
        let ids = ids.map(serde_json::to_string).transpose()?;
        // Parties compared in NFC, as the projection keeps them and the caseload reads them.
        let party = only
            .party
            .as_deref()
            .filter(|p| !p.is_empty())
            .map(mrm_crdt::report::nfc);
        let mut rows = stmt.query(rusqlite::params![
            ids,
            only.kind.map(|k| k.as_str()),
            only.status.map(|s| s.as_str()),
            party
        ])?;
        let mut out = Vec::new();
        while let Some(r) = rows.next()? {
            let text = |i: usize| -> rusqlite::Result<String> { r.get::<_, String>(i) };
            let num = |i: usize| -> rusqlite::Result<i64> { r.get(i) };
            let (b, g, u) = (num(11)?, num(12)?, num(13)?);
            let late: bool = r.get(18)?;
            let details: mrm_crdt::details::ViolationDetails = r
                .get::<_, Option<String>>(19)?
                .and_then(|j| serde_json::from_str(&j).ok())
                .unwrap_or_default();
            let mut row = Vec::with_capacity(head.len());
            for i in 0..=10 {
                row.push(text(i)?);
            }
            row.extend([b, g, u, b.saturating_add(g).saturating_add(u)].map(|n| n.to_string()));
            for i in 14..=17 {
                row.push(text(i)?);
            }
            row.push(if late { "yes".into() } else { "no".into() });
            row.extend(
                detail_keys
                    .iter()
                    .map(|k| details.get(*k).map(|d| d.to_string()).unwrap_or_default()),
            );
            out.push(row);
        }
        Ok((head, out))
    }
}

/// The caseload table's first columns ([`Store::caseload_table`]); one per detail key follows.
pub const CASELOAD_COLUMNS: [&str; 20] = [
    "incident_id",
    "title",
    "occurred_on",
    "reported_on",
    "admin1",
    "admin2",
    "place",
    "team",
    "review_state",
    "violation_id",
    "type",
    "boys",
    "girls",
    "sex_unknown",
    "children",
    "party",
    "category",
    "status",
    "status_at",
    "late_verification",
];

/// The caseload table's columns that hold numbers (children by sex, and their total).
pub const CASELOAD_NUMBERS: [&str; 4] = ["boys", "girls", "sex_unknown", "children"];

/// `head` and `rows` as CSV: UTF-8 with a byte-order mark (so Excel reads accents right), every
/// text cell quoted and made spreadsheet-safe ([`spreadsheet_safe`]). Returns the rows written.
///
/// Errors: [`mrm_crdt::Error::Refused`] when `out` cannot be written.
pub fn write_csv<W: std::io::Write>(
    head: &[&str],
    rows: &[Vec<String>],
    mut out: W,
) -> Result<usize> {
    out.write_all("\u{feff}".as_bytes())
        .map_err(mrm_crdt::Error::io("cannot write CSV"))?;
    // Every text cell quoted, so that a separator inside one never splits it.
    let mut w = csv::WriterBuilder::new()
        .quote_style(csv::QuoteStyle::NonNumeric)
        .from_writer(out);
    let csv_err = |e: csv::Error| mrm_crdt::Error::Refused(format!("cannot write CSV: {e}"));
    w.write_record(head).map_err(csv_err)?;
    for row in rows {
        w.write_record(row.iter().map(|c| spreadsheet_safe(c)))
            .map_err(csv_err)?;
    }
    w.flush().map_err(mrm_crdt::Error::io("cannot write CSV"))?;
    Ok(rows.len())
}

#[cfg(test)]
mod tests {
    use super::spreadsheet_safe;

    #[test]
    fn formula_cells_are_neutralised_and_others_kept_exactly() {
        for (given, safe) in [
            ("=HYPERLINK(\"x\")", "'=HYPERLINK(\"x\")"),
            ("+1", "'+1"),
            ("-2", "'-2"),
            ("@SUM(A1)", "'@SUM(A1)"),
            ("\tTab", "'\tTab"),
            ("\rReturn", "'\rReturn"),
            ("a;=1+1", "a;'=1+1"),
            ("a; -1", "a; '-1"),
            ("Béni, 3 children - boys", "Béni, 3 children - boys"),
            ("a;b", "a;b"),
            ("", ""),
        ] {
            assert_eq!(spreadsheet_safe(given), safe, "{given:?}");
        }
    }
}
