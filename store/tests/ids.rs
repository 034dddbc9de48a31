//! Ids given by the user: a violation id is unique within its incident, and reusing one in another
//! incident (a script feeding ids from another system) must not make either vanish from lists,
//! figures or the CSV.

mod common;

use common::*;
use mrm_store::IncidentFilter;
use serde_json::json;

const VID: &str = "01890000-0000-7000-8000-000000000001";

#[test]
fn a_violation_id_reused_in_another_incident_keeps_both() {
    let tmp = tempfile::tempdir().unwrap();
    let mut s = new_store(tmp.path(), "Awa D.");
    let mut j = incident_json("One");
    j["violations"][0]["id"] = json!(VID);
    let a = s.add_incident(&patch(j.clone())).unwrap();
    j["title"] = json!("Two");
    j["violations"][0]["victims"]["boys"] = json!(4);
    let b = s.add_incident(&patch(j)).unwrap();

    let rows = s.list_incidents(&IncidentFilter::default()).unwrap().items;
    for r in &rows {
        assert_eq!(
            r.violations.len(),
            1,
            "incident {} lost its violation",
            r.title
        );
    }
    let stats = s.stats().unwrap();
    assert_eq!(stats.violations, 2);
    assert_eq!(stats.children.boys, 5);
    let mut csv = Vec::new();
    assert_eq!(s.export_csv(&mut csv).unwrap(), 2);

    // Editing or verifying one leaves the other as it was.
    s.edit_incident(
        &a,
        &patch(json!({"violations": [{"id": VID, "victims": {"boys": 2}}]})),
    )
    .unwrap();
    assert_eq!(s.incident(&b).unwrap().violations[0].victims.boys, 4);
    assert_eq!(s.stats().unwrap().children.boys, 6);
    check_projections(&s);
}

#[test]
fn a_store_of_schema_2_is_migrated_with_its_rows() {
    let tmp = tempfile::tempdir().unwrap();
    let mut s = new_store(tmp.path(), "Awa D.");
    s.add_incident(&patch(incident_json("One"))).unwrap();
    s.add_incident(&patch(incident_json("Two"))).unwrap();
    let before = snapshot(&s);
    drop(s);
    // Put the violations table back as schema 2 had it, without what later schemas added.
    let conn = rusqlite::Connection::open(tmp.path().join(mrm_store::DB_FILE)).unwrap();
    let key = mrm_store::unlock(tmp.path(), &pass()).unwrap();
    conn.pragma_update(None, "key", &*key.sqlcipher_literal())
        .unwrap();
    conn.execute_batch(key.page_hmac().sqlcipher_pragmas())
        .unwrap();
    conn.execute_batch(
        "CREATE TABLE v2 (id TEXT PRIMARY KEY, incident_id TEXT NOT NULL, ord INTEGER NOT NULL,
             type TEXT NOT NULL, boys INTEGER NOT NULL, girls INTEGER NOT NULL,
             sex_unknown INTEGER NOT NULL, party TEXT NOT NULL, category TEXT NOT NULL,
             status TEXT NOT NULL, status_at TEXT, late INTEGER NOT NULL);
         INSERT INTO v2 SELECT id, incident_id, ord, type, boys, girls, sex_unknown, party,
             category, status, status_at, late FROM violations;
         DROP TABLE violations;
         ALTER TABLE v2 RENAME TO violations;
         DROP TRIGGER count_in;
         DROP TRIGGER count_out;
         DROP TABLE counts;
         CREATE TABLE i2 (id TEXT PRIMARY KEY, title TEXT NOT NULL, occurred_on TEXT NOT NULL,
             reported_on TEXT NOT NULL, admin1 TEXT NOT NULL, admin2 TEXT NOT NULL,
             place TEXT NOT NULL, patrol_id TEXT, team TEXT NOT NULL, created_by TEXT NOT NULL,
             review_state TEXT NOT NULL, search TEXT NOT NULL, n_conflicts INTEGER NOT NULL);
         INSERT INTO i2 SELECT i.id, i.title, i.occurred_on, i.reported_on, i.admin1, i.admin2,
             i.place, i.patrol_id, i.team, i.created_by, i.review_state, s.search, i.n_conflicts
             FROM incidents i JOIN incident_search s ON s.id = i.id;
         DROP TABLE incidents;
         DROP TABLE incident_search;
         ALTER TABLE i2 RENAME TO incidents;
         CREATE INDEX incidents_by_date ON incidents (occurred_on, id);
         CREATE INDEX incidents_by_admin1 ON incidents (admin1);
         CREATE INDEX incidents_by_patrol ON incidents (patrol_id);
         DROP TABLE held_records;
         DROP TABLE inbound;
         ALTER TABLE sync_state DROP COLUMN revocation_key;
         ALTER TABLE sync_state DROP COLUMN tls_pin;
         ALTER TABLE sync_state DROP COLUMN epoch;
         ALTER TABLE sync_state DROP COLUMN part_at;
         ALTER TABLE sync_state DROP COLUMN part;
         ALTER TABLE changes DROP COLUMN tag;
         DROP INDEX changes_local;
         DROP TABLE party_names;
         PRAGMA user_version = 2;",
    )
    .unwrap();
    drop(conn);
    let s = mrm_store::Store::open(tmp.path(), &pass()).unwrap();
    assert_eq!(snapshot(&s), before);
    check_projections(&s);
}
