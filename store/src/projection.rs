//! Projection rows: what lists, filters and figures read, so that they never load documents.
//! Always rewritten from the document in the same transaction as the change that altered it.

use automerge::Automerge;
use rusqlite::{params, Connection};

use mrm_crdt::conflicts::{self, Conflict};
pub use mrm_crdt::counting::{is_late, status_at, violation_flags};
use mrm_crdt::document::{self, RecordKind};
use mrm_crdt::error::Result;
use mrm_crdt::model::{Incident, Patrol, Violation};
use mrm_crdt::report::nfc;

use super::query::{violations_json, ViolationRow};
use super::{heads_hex, now_str};

/// The coded victims of a violation as reports read them: `[[code, sex], ...]`, each code in
/// its comparable form ([`mrm_crdt::report::victim_key`]).
fn victim_codes(v: &Violation) -> Result<String> {
    let codes: Vec<(String, &str)> = v
        .victims
        .coded
        .iter()
        .map(|c| (mrm_crdt::report::victim_key(&c.code), c.sex.as_str()))
        .filter(|(k, _)| !k.is_empty())
        .collect();
    Ok(serde_json::to_string(&codes)?)
}

/// A record read once from its document: the check that it is well formed and the projection
/// rows both come from this one reading.
pub enum Record {
    Incident(Box<Incident>),
    Patrol(Patrol),
    /// The mission configuration or the device registry: read when needed, no rows of its own.
    Unprojected,
}

/// Everything stored for a document, computed from the document alone, so that an import can
/// compute it on another thread than the one writing to the database.
pub struct Prepared {
    pub kind: RecordKind,
    pub record: Record,
    pub conflicts: Vec<Conflict>,
    pub snapshot: Vec<u8>,
    /// The heads as stored (a JSON list of hex hashes).
    pub heads: String,
    /// Created more than once apart, not yet split ([`mrm_crdt::split::recorded_twice`]).
    pub twice: bool,
    /// Changes made on a split-off incident without seeing the split ([`mrm_crdt::split::late_changes`]).
    pub late_split: usize,
}

impl Prepared {
    /// Read `doc` strictly as a record of `kind` (a malformed document is refused), walk it for
    /// conflicts and save it.
    pub fn from_doc(doc: &Automerge, kind: RecordKind) -> Result<Self> {
        // One pass over the document gives both the record and where its conflicts are.
        let (j, flagged) = document::to_json_flagged(doc);
        let record = match kind {
            RecordKind::Incident => Record::Incident(Box::new(document::incident_from(doc, &j)?)),
            RecordKind::Patrol => Record::Patrol(document::patrol_from(doc, &j)?),
            RecordKind::Config => document::config_from(doc, &j).map(|_| Record::Unprojected)?,
            // Read when shown (history and views name authors from it); nothing to project.
            RecordKind::Registry => document::read_registry(doc).map(|_| Record::Unprojected)?,
            // Read when shown; a period's figures are in its record.
            RecordKind::Period => mrm_crdt::period::read(doc).map(|_| Record::Unprojected)?,
            // Few: listed from their documents (store/src/activities.rs).
            RecordKind::Activity(a) => {
                mrm_crdt::activity::from_json(&j, a).map(|_| Record::Unprojected)?
            }
        };
        Ok(Prepared {
            kind,
            record,
            conflicts: conflicts::from_flagged(doc, flagged),
            snapshot: mrm_crdt::changes::snapshot(doc),
            heads: serde_json::to_string(&heads_hex(&doc.get_heads()))?,
            twice: kind == RecordKind::Incident && mrm_crdt::split::recorded_twice(doc),
            late_split: match kind {
                RecordKind::Incident => mrm_crdt::split::late_changes(doc),
                _ => 0,
            },
        })
    }
}

/// [`save_doc`] for a document already prepared.
pub fn save_prepared(conn: &Connection, doc_id: &str, p: &Prepared) -> Result<()> {
    conn.prepare_cached(
        "INSERT INTO docs (doc_id, kind, snapshot, heads, updated_at) VALUES (?1, ?2, ?3, ?4, ?5)
         ON CONFLICT (doc_id) DO UPDATE SET snapshot = excluded.snapshot, heads = excluded.heads,
             updated_at = excluded.updated_at",
    )?
    .execute(params![
        doc_id,
        p.kind.as_str(),
        p.snapshot,
        p.heads,
        now_str()
    ])?;
    conn.prepare_cached("DELETE FROM conflicts WHERE doc_id = ?1")?
        .execute([doc_id])?;
    if !p.conflicts.is_empty() {
        let mut insert = conn.prepare_cached(
            "INSERT INTO conflicts (doc_id, path, value_json) VALUES (?1, ?2, ?3)",
        )?;
        for c in &p.conflicts {
            insert.execute(params![doc_id, c.path, serde_json::to_string(&c.values)?])?;
        }
    }
    match &p.record {
        Record::Incident(inc) => {
            let split = i64::from(p.twice) + i64::from(p.late_split > 0);
            project_incident(conn, inc, p.conflicts.len(), attention(inc) + split)
        }
        Record::Unprojected => Ok(()),
        Record::Patrol(p) => {
            conn.prepare_cached(
                "INSERT OR REPLACE INTO patrols (id, date, team, route, participants, ended_at, created_by)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            )?
            .execute(params![
                p.id,
                p.date,
                p.team,
                serde_json::to_string(&p.route)?,
                serde_json::to_string(&p.participants)?,
                p.ended_at,
                p.created_by
            ])?;
            Ok(())
        }
    }
}

/// How many problems a merge left in `inc` for a person to settle: rules across fields that do
/// not depend on today's date (the row is not rewritten as days pass) and contested statuses.
pub fn attention(inc: &Incident) -> i64 {
    let findings =
        mrm_crdt::validate::incident_attention(inc, &mrm_crdt::validate::Clock::timeless());
    let contested = inc
        .violations
        .iter()
        .filter(|v| v.is_live() && !v.contested().is_empty())
        .count();
    (findings.len() + contested) as i64
}

fn project_incident(
    conn: &Connection,
    inc: &Incident,
    n_conflicts: usize,
    n_attention: i64,
) -> Result<()> {
    // Compared in Unicode NFC: "Béni" typed with a combining accent is the same word as "Béni"
    // typed precomposed. Filters normalise what they are given the same way.
    let search = nfc(&[
        inc.title.as_str(),
        inc.narrative.as_str(),
        inc.location.place.as_str(),
        inc.location.admin1.as_str(),
        inc.location.admin2.as_str(),
    ]
    .join("\n")
    .to_lowercase());
    let (admin1, admin2) = (nfc(&inc.location.admin1), nfc(&inc.location.admin2));
    // A withdrawn violation stays in its record, not in lists or figures.
    let live: Vec<&Violation> = inc.violations.iter().filter(|v| v.is_live()).collect();
    let rows: Vec<ViolationRow> = live
        .iter()
        .map(|v| ViolationRow {
            id: v.id.clone(),
            kind: v.kind.as_str().into(),
            boys: v.victims.boys,
            girls: v.victims.girls,
            sex_unknown: v.victims.sex_unknown,
            party: nfc(&v.perpetrator.party),
            category: v.perpetrator.category.as_str().into(),
            status: v.status().as_str().into(),
            late: is_late(inc, v),
        })
        .collect();
    // The live violations' sums the caseload counts and sorts by (schema 16).
    let sum = |f: fn(&ViolationRow) -> i64| rows.iter().map(f).fold(0i64, i64::saturating_add);
    let (boys, girls, unknown) = (sum(|r| r.boys), sum(|r| r.girls), sum(|r| r.sex_unknown));
    let vmask = rows.iter().fold(0, |m, r| {
        m | crate::facts::violation_mask(&r.kind, &r.status, &r.party)
    });
    // An upsert, not INSERT OR REPLACE: the kept incident count counts inserts (schema 6).
    // `local_seq` is this device's latest own change to the record (schema 17), read from
    // `changes_local`: the writes append the change before they project it. `n`, the log
    // position of its first change, is the record's number for the text filter's sets.
    let n: Option<i64> = conn
        .prepare_cached("SELECT MIN(seq) FROM changes WHERE doc_id = ?1")?
        .query_row([&inc.id], |r| r.get(0))?;
    conn.prepare_cached(
        "INSERT INTO incidents (occurred_on, id, title, reported_on, admin1, admin2, place,
             patrol_id, team, created_by, review_state, n_conflicts, violations_json, n_attention,
             nv, boys, girls, unk, vmask, local_seq, n)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18,
             ?19, (SELECT COALESCE(MAX(seq), 0) FROM changes INDEXED BY changes_local
                   WHERE doc_id = ?2 AND local = 1), ?20)
         ON CONFLICT (id) DO UPDATE SET occurred_on = excluded.occurred_on,
             title = excluded.title, reported_on = excluded.reported_on,
             admin1 = excluded.admin1, admin2 = excluded.admin2, place = excluded.place,
             patrol_id = excluded.patrol_id, team = excluded.team,
             created_by = excluded.created_by, review_state = excluded.review_state,
             n_conflicts = excluded.n_conflicts, violations_json = excluded.violations_json,
             n_attention = excluded.n_attention, nv = excluded.nv, boys = excluded.boys,
             girls = excluded.girls, unk = excluded.unk, vmask = excluded.vmask,
             local_seq = excluded.local_seq, n = excluded.n
         WHERE occurred_on IS NOT excluded.occurred_on OR title IS NOT excluded.title
             OR reported_on IS NOT excluded.reported_on OR admin1 IS NOT excluded.admin1
             OR admin2 IS NOT excluded.admin2 OR place IS NOT excluded.place
             OR patrol_id IS NOT excluded.patrol_id OR team IS NOT excluded.team
             OR created_by IS NOT excluded.created_by OR review_state IS NOT excluded.review_state
             OR n_conflicts IS NOT excluded.n_conflicts
             OR violations_json IS NOT excluded.violations_json
             OR n_attention IS NOT excluded.n_attention OR nv IS NOT excluded.nv
             OR boys IS NOT excluded.boys OR girls IS NOT excluded.girls
             OR unk IS NOT excluded.unk OR vmask IS NOT excluded.vmask
             OR local_seq IS NOT excluded.local_seq OR n IS NOT excluded.n",
    )?
    .execute(params![
        inc.occurred_on,
        inc.id,
        inc.title,
        inc.reported_on,
        admin1,
        admin2,
        inc.location.place,
        inc.patrol_id,
        inc.team,
        inc.created_by,
        inc.review.state.as_str(),
        n_conflicts as i64,
        violations_json(&rows)?,
        n_attention,
        rows.len() as i64,
        boys,
        girls,
        unknown,
        vmask,
        n
    ])?;
    conn.prepare_cached(
        "INSERT INTO incident_search (id, search, occurred_on, n) VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT (id) DO UPDATE SET search = excluded.search,
             occurred_on = excluded.occurred_on, n = excluded.n
         WHERE search IS NOT excluded.search OR occurred_on IS NOT excluded.occurred_on
             OR n IS NOT excluded.n",
    )?
    .execute(params![inc.id, search, inc.occurred_on, n])?;
    // What changed is rewritten, not the rest: a row written again dirties its page and the
    // pages of its indexes, and every dirty page is encrypted, authenticated and synced at
    // commit. A narrative edit touches none of these rows.
    let wanted: Vec<StoredViolation> = live
        .iter()
        .zip(&rows)
        .enumerate()
        .map(|(i, (v, row))| -> Result<StoredViolation> {
            Ok(StoredViolation {
                id: row.id.clone(),
                ord: i as i64 + 1,
                kind: row.kind.clone(),
                boys: row.boys,
                girls: row.girls,
                sex_unknown: row.sex_unknown,
                party: row.party.clone(),
                category: row.category.clone(),
                status: row.status.clone(),
                status_at: status_at(v),
                late: row.late,
                victim_codes: victim_codes(v)?,
                flags: violation_flags(inc, v),
                details: violation_details(v)?,
                party_id: v.perpetrator.party_id.clone(),
            })
        })
        .collect::<Result<_>>()?;
    if stored_violations(conn, &inc.id)? == wanted {
        return Ok(());
    }
    conn.prepare_cached("DELETE FROM violations WHERE incident_id = ?1")?
        .execute([&inc.id])?;
    let mut insert = conn.prepare_cached(
        "INSERT OR REPLACE INTO violations (id, incident_id, ord, type, boys, girls, sex_unknown,
                 party, category, status, status_at, late, victim_codes, flags, details, party_id)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16)",
    )?;
    for v in &wanted {
        crate::facts::note_party(conn, &v.party)?;
        insert.execute(params![
            v.id,
            inc.id,
            v.ord,
            v.kind,
            v.boys,
            v.girls,
            v.sex_unknown,
            v.party,
            v.category,
            v.status,
            v.status_at,
            v.late,
            v.victim_codes,
            v.flags,
            v.details,
            v.party_id
        ])?;
    }
    Ok(())
}

/// A violation row as the `violations` table holds it.
#[derive(Debug, PartialEq)]
struct StoredViolation {
    id: String,
    ord: i64,
    kind: String,
    boys: i64,
    girls: i64,
    sex_unknown: i64,
    party: String,
    category: String,
    status: String,
    status_at: Option<String>,
    late: bool,
    victim_codes: String,
    flags: i64,
    /// The violation's details as a JSON object (`None`: none recorded), for exports.
    details: Option<String>,
    /// The party registry's id its party was matched to.
    party_id: Option<String>,
}

/// A violation's details as the `details` column holds them: a JSON object, NULL when empty.
fn violation_details(v: &mrm_crdt::model::Violation) -> Result<Option<String>> {
    if v.details.is_empty() {
        return Ok(None);
    }
    Ok(Some(serde_json::to_string(&v.details).map_err(|e| {
        mrm_crdt::Error::Refused(format!("cannot write a violation's details: {e}"))
    })?))
}

fn stored_violations(conn: &Connection, incident_id: &str) -> Result<Vec<StoredViolation>> {
    let mut stmt = conn.prepare_cached(
        "SELECT id, ord, type, boys, girls, sex_unknown, party, category, status, status_at, late,
                victim_codes, flags, details, party_id
         FROM violations WHERE incident_id = ?1 ORDER BY ord",
    )?;
    let rows = stmt.query_map([incident_id], |r| {
        Ok(StoredViolation {
            id: r.get(0)?,
            ord: r.get(1)?,
            kind: r.get(2)?,
            boys: r.get(3)?,
            girls: r.get(4)?,
            sex_unknown: r.get(5)?,
            party: r.get(6)?,
            category: r.get(7)?,
            status: r.get(8)?,
            status_at: r.get(9)?,
            late: r.get(10)?,
            victim_codes: r.get(11)?,
            flags: r.get(12)?,
            details: r.get(13)?,
            party_id: r.get(14)?,
        })
    })?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}
