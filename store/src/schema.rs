//! The store's SQLite schema and its migrations. `PRAGMA user_version` holds the version; the
//! pending migrations run in one transaction, so a crash mid-migration leaves the version found.

use rusqlite::Connection;

use mrm_crdt::error::{Error, Result};

/// Migrations in order; migration `i` takes the schema from version `i` to `i + 1`.
const MIGRATIONS: &[&str] = &[
    // 1: identity, change log, snapshots, projections.
    r#"
    CREATE TABLE device (
        singleton   INTEGER PRIMARY KEY CHECK (singleton = 1),
        device_id   TEXT NOT NULL,
        actor       TEXT NOT NULL,
        officer     TEXT NOT NULL,
        team        TEXT NOT NULL,
        mission     TEXT NOT NULL,
        created_at  TEXT NOT NULL
    );
    -- Append-only: rows are never updated or deleted.
    CREATE TABLE changes (
        seq         INTEGER PRIMARY KEY AUTOINCREMENT,
        doc_id      TEXT NOT NULL,
        hash        TEXT NOT NULL UNIQUE,
        actor       TEXT NOT NULL,
        local       INTEGER NOT NULL,
        bytes       BLOB NOT NULL,
        received_at TEXT NOT NULL
    );
    CREATE INDEX changes_by_doc ON changes (doc_id, seq);
    -- A compacted snapshot per document: a cache of the change log, rewritten with each change.
    CREATE TABLE docs (
        doc_id      TEXT PRIMARY KEY,
        kind        TEXT NOT NULL,
        snapshot    BLOB NOT NULL,
        heads       TEXT NOT NULL,
        updated_at  TEXT NOT NULL
    );
    CREATE TABLE incidents (
        id            TEXT PRIMARY KEY,
        title         TEXT NOT NULL,
        occurred_on   TEXT NOT NULL,
        reported_on   TEXT NOT NULL,
        admin1        TEXT NOT NULL,
        admin2        TEXT NOT NULL,
        place         TEXT NOT NULL,
        patrol_id     TEXT,
        team          TEXT NOT NULL,
        created_by    TEXT NOT NULL,
        review_state  TEXT NOT NULL,
        search        TEXT NOT NULL,
        n_conflicts   INTEGER NOT NULL
    );
    CREATE INDEX incidents_by_date ON incidents (occurred_on, id);
    CREATE INDEX incidents_by_admin1 ON incidents (admin1);
    CREATE INDEX incidents_by_patrol ON incidents (patrol_id);
    CREATE TABLE violations (
        id            TEXT PRIMARY KEY,
        incident_id   TEXT NOT NULL,
        ord           INTEGER NOT NULL,
        type          TEXT NOT NULL,
        boys          INTEGER NOT NULL,
        girls         INTEGER NOT NULL,
        sex_unknown   INTEGER NOT NULL,
        party         TEXT NOT NULL,
        category      TEXT NOT NULL,
        status        TEXT NOT NULL,
        status_at     TEXT,
        late          INTEGER NOT NULL
    );
    CREATE INDEX violations_by_incident ON violations (incident_id, ord);
    CREATE INDEX violations_by_type ON violations (type, status);
    CREATE INDEX violations_by_party ON violations (party);
    CREATE TABLE patrols (
        id            TEXT PRIMARY KEY,
        date          TEXT NOT NULL,
        team          TEXT NOT NULL,
        route         TEXT NOT NULL,
        participants  TEXT NOT NULL,
        ended_at      TEXT,
        created_by    TEXT NOT NULL
    );
    CREATE TABLE conflicts (
        doc_id      TEXT NOT NULL,
        path        TEXT NOT NULL,
        value_json  TEXT NOT NULL,
        PRIMARY KEY (doc_id, path)
    );
    "#,
    // 2: enrollment with a sync endpoint and the sync cursors.
    r#"
    CREATE TABLE sync_state (
        singleton     INTEGER PRIMARY KEY CHECK (singleton = 1),
        server_url    TEXT NOT NULL,
        device_id     TEXT NOT NULL,
        secret        TEXT NOT NULL,
        role          TEXT NOT NULL,
        -- The endpoint's log position up to which this store has pulled.
        pull_cursor   INTEGER NOT NULL DEFAULT 0,
        -- The local change-log position up to which the endpoint has acknowledged our pushes.
        push_seq      INTEGER NOT NULL DEFAULT 0,
        last_sync_at  TEXT,
        last_error    TEXT
    );
    "#,
    // 3: a violation's id is unique within its incident (the document's map key), not across the
    // store: key its projection row by both, so that an id reused in another incident (a script
    // feeding its own ids) cannot overwrite that incident's row and drop it from lists and figures.
    r#"
    CREATE TABLE violations_v3 (
        id            TEXT NOT NULL,
        incident_id   TEXT NOT NULL,
        ord           INTEGER NOT NULL,
        type          TEXT NOT NULL,
        boys          INTEGER NOT NULL,
        girls         INTEGER NOT NULL,
        sex_unknown   INTEGER NOT NULL,
        party         TEXT NOT NULL,
        category      TEXT NOT NULL,
        status        TEXT NOT NULL,
        status_at     TEXT,
        late          INTEGER NOT NULL,
        PRIMARY KEY (incident_id, id)
    );
    INSERT INTO violations_v3 (id, incident_id, ord, type, boys, girls, sex_unknown, party,
                               category, status, status_at, late)
        SELECT id, incident_id, ord, type, boys, girls, sex_unknown, party, category, status,
               status_at, late
        FROM violations;
    DROP TABLE violations;
    ALTER TABLE violations_v3 RENAME TO violations;
    CREATE INDEX violations_by_incident ON violations (incident_id, ord);
    CREATE INDEX violations_by_type ON violations (type, status);
    CREATE INDEX violations_by_party ON violations (party);
    "#,
    // 4: records whose local changes the endpoint refused (the role or team no longer allows
    // them, typically a record reassigned while this device was offline). Their changes stay in
    // this store, are not pushed again, and the officer is told why.
    r#"
    CREATE TABLE held_records (
        doc_id   TEXT PRIMARY KEY,
        reason   TEXT NOT NULL,
        held_at  TEXT NOT NULL
    );
    "#,
    // 5: the SHA-256 fingerprint of the endpoint's TLS certificate, pinned at enrollment.
    r#"
    ALTER TABLE sync_state ADD COLUMN tls_pin TEXT;
    "#,
    // 6: the caseload's first page from few pages. Every page SQLCipher reads is decrypted and
    // authenticated, so opening the caseload must touch few of them: incidents are stored in the
    // caseload's order (clustered by date and id), each row carrying its violations as compact
    // JSON; the search text, long and only scanned by text filters, lives in its own table; and
    // the incident count is kept rather than counted.
    r#"
    CREATE TABLE incidents_v6 (
        occurred_on     TEXT NOT NULL,
        id              TEXT NOT NULL,
        title           TEXT NOT NULL,
        reported_on     TEXT NOT NULL,
        admin1          TEXT NOT NULL,
        admin2          TEXT NOT NULL,
        place           TEXT NOT NULL,
        patrol_id       TEXT,
        team            TEXT NOT NULL,
        created_by      TEXT NOT NULL,
        review_state    TEXT NOT NULL,
        n_conflicts     INTEGER NOT NULL,
        -- [[id, type, boys, girls, sex_unknown, party, category, status, late], ...] in order.
        violations_json TEXT NOT NULL,
        PRIMARY KEY (occurred_on, id)
    ) WITHOUT ROWID;
    INSERT INTO incidents_v6
        SELECT i.occurred_on, i.id, i.title, i.reported_on, i.admin1, i.admin2, i.place,
               i.patrol_id, i.team, i.created_by, i.review_state, i.n_conflicts,
               (SELECT json_group_array(json_array(v.id, v.type, v.boys, v.girls, v.sex_unknown,
                           v.party, v.category, v.status,
                           CASE WHEN v.late THEN json('true') ELSE json('false') END)
                           ORDER BY v.ord)
                FROM violations v WHERE v.incident_id = i.id)
        FROM incidents i;
    CREATE TABLE incident_search (
        id      TEXT PRIMARY KEY,
        search  TEXT NOT NULL
    ) WITHOUT ROWID;
    INSERT INTO incident_search (id, search) SELECT id, search FROM incidents;
    DROP TABLE incidents;
    ALTER TABLE incidents_v6 RENAME TO incidents;
    CREATE UNIQUE INDEX incidents_by_id ON incidents (id);
    CREATE INDEX incidents_by_admin1 ON incidents (admin1);
    CREATE INDEX incidents_by_patrol ON incidents (patrol_id);
    -- Kept by triggers, in the transaction that adds or removes the row. Rows are written by
    -- upsert, never INSERT OR REPLACE, whose implicit delete would not fire the delete trigger.
    CREATE TABLE counts (
        name  TEXT PRIMARY KEY,
        n     INTEGER NOT NULL
    ) WITHOUT ROWID;
    INSERT INTO counts (name, n) SELECT 'incidents', COUNT(*) FROM incidents;
    CREATE TRIGGER incidents_count_insert AFTER INSERT ON incidents
        BEGIN UPDATE counts SET n = n + 1 WHERE name = 'incidents'; END;
    CREATE TRIGGER incidents_count_delete AFTER DELETE ON incidents
        BEGIN UPDATE counts SET n = n - 1 WHERE name = 'incidents'; END;
    "#,
    // 7: the key with which the endpoint proves a revocation (an unproven "revoked" wipes nothing).
    r#"
    ALTER TABLE sync_state ADD COLUMN revocation_key TEXT;
    "#,
    // 8: the caseload's "needs attention": how many problems a merge left in the incident (rules
    // across fields, concurrent decisions). Existing rows are computed from their documents in
    // the same transaction ([`REPROJECTED_AT`]).
    r#"
    ALTER TABLE incidents ADD COLUMN n_attention INT NOT NULL DEFAULT 0;
    "#,
    // 9: what the MRM's reports read (docs/reporting.md): a violation's coded victims (children
    // in several violations), what a report must flag beside its figures, and `late` by the
    // reporting rule (only a verified violation is late, against the quarter of the incident's
    // end date). Rows are computed again from their documents ([`REPROJECTED_AT`]); names,
    // places and parties are kept in Unicode NFC.
    //
    // The indexes on a violation's type and party go: filters look up an incident's violations
    // by incident (`violations_by_incident`), and with these indexes SQLite tested the party
    // or type against every violation of that party for each incident, which made the party
    // filter quadratic (2,000 demo incidents, counting the party's: 584 ms with the index,
    // 5.4 ms without).
    r#"
    ALTER TABLE violations ADD COLUMN victim_codes TEXT NOT NULL DEFAULT '[]';
    ALTER TABLE violations ADD COLUMN flags INT NOT NULL DEFAULT 0;
    DROP INDEX violations_by_type;
    DROP INDEX violations_by_party;
    "#,
    // 10: received changes a record could not take (they wait for changes nobody has sent yet,
    // or they are refused: another copy of a store reused its change numbers, a malformed or
    // oversized record). The rest of their bundle or pull page went in; these are tried again
    // whenever their record receives changes, and at every sync; read by record, in order `n`.
    //
    // And why a record's own changes are held: `reused_from` is NULL when the endpoint's rules
    // refused them; otherwise the endpoint found this store reusing its identity (a copy, or a
    // restored backup), and it is the log position of the first change of the record the
    // endpoint refused on its own (those before were taken), 0 until sync has found it.
    r#"
    -- Columns without types: the schema must fit the file's first page. `doc_id`, `reason`
    -- are text, `n` an integer, `bytes` a blob, `at` the first holding's time.
    CREATE TABLE inbound (doc_id, n, bytes, reason, at, PRIMARY KEY (doc_id, n)) WITHOUT ROWID;
    ALTER TABLE held_records ADD COLUMN reused_from;
    "#,
    // 11: the lineage of the endpoint's log this store synced with (`epoch`, text): an endpoint
    // restored from a backup has another, and the store then sends and reads everything again
    // (docs/sync-protocol.md, "An endpoint restored from a backup").
    r#"
    ALTER TABLE sync_state ADD COLUMN epoch;
    "#,
    // 12: a colleague's change that came by USB keeps its author's tag (`tag`, a blob) until it
    // is relayed to the endpoint (docs/sync-protocol.md, "Relays"); `counts` row `relay` says
    // how many wait, so a sync without relays reads nothing more. The count triggers take
    // shorter names: the schema must stay within the file's first page.
    r#"
    ALTER TABLE changes ADD COLUMN tag;
    INSERT INTO counts (name, n) VALUES ('relay', 0);
    DROP TRIGGER incidents_count_insert;
    DROP TRIGGER incidents_count_delete;
    CREATE TRIGGER count_in AFTER INSERT ON incidents
        BEGIN UPDATE counts SET n = n + 1 WHERE name = 'incidents'; END;
    CREATE TRIGGER count_out AFTER DELETE ON incidents
        BEGIN UPDATE counts SET n = n - 1 WHERE name = 'incidents'; END;
    "#,
    // 13: a pull page received in part (docs/sync-protocol.md, "Pages resumed by byte range"):
    // `part_at` is the page's address and name as text (`cursor limit etag`), `part` the bytes
    // received so far; a restarted device asks the endpoint for the rest only.
    r#"
    ALTER TABLE sync_state ADD COLUMN part_at;
    ALTER TABLE sync_state ADD COLUMN part;
    "#,
    // 14: a violation's details (crdt/src/details.rs) as a JSON object, NULL when none, for the
    // exports; reprojected, since a record synced from a newer device may already hold some.
    r#"
    ALTER TABLE violations ADD COLUMN details;
    "#,
    // 15: the party registry's id a violation's party was matched to (crdt/src/parties.rs), so
    // reports count a renamed party once; reprojected, as for 14.
    r#"
    ALTER TABLE violations ADD COLUMN party_id;
    "#,
    // 16: every caseload filter in tens of milliseconds at 100,000 incidents (issue 15). A scan
    // of the wide rows (titles, violations as JSON) costs some 60 ms there, one of the violation
    // rows 50 ms more, and a set of tens of thousands of ids as much, so the caseload reads
    // narrow indexes instead:
    // - each incident's live violations, children and `vmask` on its row (crate::facts), so that
    //   the match's counts, the sort by children and the violation filters read no violation row
    //   (filled by [`crate::facts::fill`]);
    // - `incidents_facts`, in the caseload's default order, covers every incident filter but the
    //   text, the counts and the page's keys: a page is chosen on it, then its 50 rows read;
    // - `violations_facts`: a violation filter's counts, and its check of one incident's rows;
    // - `changes_local`: the sync-state filter reads this device's changes, never their bytes;
    // - `party_names`: every party name a violation row has held, so a party filter knows
    //   whether its name's bit is its own (no row is read then);
    // - `incidents_by_admin1` goes: the province filter reads `incidents_facts`.
    //
    // The schema no longer fits the file's first page: an open reads one more page (measured in
    // docs/data-protection.md, "Cost").
    r#"
    -- Integers, always written by the projection; without types, to keep the schema short.
    ALTER TABLE incidents ADD COLUMN nv DEFAULT 0;
    ALTER TABLE incidents ADD COLUMN boys DEFAULT 0;
    ALTER TABLE incidents ADD COLUMN girls DEFAULT 0;
    ALTER TABLE incidents ADD COLUMN unk DEFAULT 0;
    ALTER TABLE incidents ADD COLUMN vmask DEFAULT 0;
    DROP INDEX incidents_by_admin1;
    CREATE INDEX incidents_facts ON incidents (occurred_on, id, admin1, review_state,
        n_conflicts, n_attention, nv, boys, girls, unk, vmask);
    CREATE INDEX violations_facts ON violations (incident_id, type, status, party, boys, girls,
        sex_unknown);
    CREATE INDEX changes_local ON changes (doc_id, seq) WHERE local = 1;
    CREATE TABLE party_names (name PRIMARY KEY) WITHOUT ROWID;
    "#,
    // 17: the last two filters well under 100 ms at 100,000 incidents (issue 15).
    // - The sync-state filter as one comparison on `incidents_facts`: `local_seq`, this
    //   device's latest own change to the incident (0 for none), written by the projection and
    //   filled from the log (as [`crate::facts::REFRESH_LOCAL_SEQ`] does). A record waits to be
    //   sent when it is beyond the endpoint's acknowledged position; before, each incident's
    //   changes were looked up, some 130 ms on a store that never synced.
    // - The text filter's matches carry their incident's date (`incident_search.occurred_on`),
    //   so that a few of them are looked up by key in `incidents_facts` rather than every
    //   incident tested against them; and its number (`n`, on both tables: the log position of
    //   its first change, never reused), so that testing every incident against many matches
    //   compares integers, not ids (measured: 0.17 µs an incident against 0.5 µs).
    r#"
    ALTER TABLE incident_search ADD COLUMN occurred_on;
    ALTER TABLE incident_search ADD COLUMN n;
    ALTER TABLE incidents ADD COLUMN local_seq DEFAULT 0;
    ALTER TABLE incidents ADD COLUMN n;
    -- Filled before the index is made again: the old index holds neither column, so no
    -- index entry is rewritten row by row.
    UPDATE incidents SET n = (SELECT MIN(c.seq) FROM changes c WHERE c.doc_id = incidents.id),
        local_seq = COALESCE((SELECT MAX(c.seq) FROM changes c INDEXED BY changes_local
            WHERE c.doc_id = incidents.id AND c.local = 1), 0);
    UPDATE incident_search SET (occurred_on, n) =
        (SELECT i.occurred_on, i.n FROM incidents i WHERE i.id = incident_search.id);
    DROP INDEX incidents_facts;
    CREATE INDEX incidents_facts ON incidents (occurred_on, id, admin1, review_state,
        n_conflicts, n_attention, nv, boys, girls, unk, vmask, local_seq, n);
    "#,
];

/// `sql` without comments and without the whitespace that only lays it out. SQLite keeps each
/// `CREATE` statement's text in `sqlite_schema` and reads all of it on every open; laid out, our
/// schema took three pages, compact it fits in the first page of the file, and in an encrypted
/// store every page read at open is decrypted and authenticated.
fn compact(sql: &str) -> String {
    let mut out = String::with_capacity(sql.len());
    let mut chars = sql.chars().peekable();
    let mut space = false;
    while let Some(c) = chars.next() {
        match c {
            '\'' | '"' => {
                // A quoted string or name is kept as written, up to its closing quote.
                if space && !out.is_empty() && !out.ends_with(['(', ',']) {
                    out.push(' ');
                }
                space = false;
                out.push(c);
                for d in chars.by_ref() {
                    out.push(d);
                    if d == c {
                        break;
                    }
                }
            }
            '-' if chars.peek() == Some(&'-') => {
                for d in chars.by_ref() {
                    if d == '\n' {
                        break;
                    }
                }
                space = true;
            }
            c if c.is_whitespace() => space = true,
            '(' | ')' | ',' | ';' => {
                space = false;
                out.push(c);
            }
            c => {
                if space && !out.is_empty() && !out.ends_with(['(', ',', ';']) {
                    out.push(' ');
                }
                space = false;
                out.push(c);
            }
        }
    }
    out
}

/// The schema version this build writes.
pub const VERSION: i64 = MIGRATIONS.len() as i64;

/// The migrations after which every incident's projection row is computed again from its
/// document (what SQL alone cannot do).
const REPROJECTED_AT: &[usize] = &[8, 9, 15];

/// The migration after which [`crate::facts::fill`] sums every incident's violation rows.
const FACTS_FILLED_AT: usize = 16;

/// Bring the database up to [`VERSION`]: every pending migration in one transaction, so that a
/// crash leaves the version found, and the projection is computed again once, at the end, by
/// this build's code (which writes the newest schema's columns).
pub fn migrate(conn: &mut Connection) -> Result<()> {
    let found: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    if found > VERSION {
        return Err(Error::SchemaTooNew {
            found,
            supported: VERSION,
        });
    }
    if found == VERSION {
        return Ok(());
    }
    let tx = conn.transaction()?;
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(found as usize) {
        tx.execute_batch(&compact(sql))?;
        if i + 1 == FACTS_FILLED_AT {
            crate::facts::fill(&tx)?;
        }
    }
    if REPROJECTED_AT.iter().any(|&r| r as i64 > found) {
        reproject_incidents(&tx)?;
    }
    tx.pragma_update(None, "user_version", VERSION)?;
    tx.commit()?;
    Ok(())
}

/// Rewrite every incident's projection rows from its document. One unreadable record must not
/// keep the store shut: its rows keep their old values.
fn reproject_incidents(tx: &Connection) -> Result<()> {
    let ids: Vec<String> = tx
        .prepare("SELECT doc_id FROM docs WHERE kind = 'incident'")?
        .query_map([], |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    for id in ids {
        if let Some((kind, doc)) = super::Store::load(tx, &id)? {
            if let Ok(p) = super::projection::Prepared::from_doc(&doc, kind) {
                super::projection::save_prepared(tx, &id, &p)?;
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use rusqlite::Connection;

    use super::{compact, MIGRATIONS};

    /// Every object of a database as SQLite understands it: tables' columns (type, default, key,
    /// not null), indexes' columns, triggers, and the rows the migrations inserted.
    fn described(conn: &Connection) -> Vec<String> {
        let objects: Vec<(String, String)> = conn
            .prepare("SELECT type, name FROM sqlite_schema ORDER BY name")
            .unwrap()
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .unwrap()
            .map(|r| r.unwrap())
            .collect();
        let mut out = Vec::new();
        for (kind, name) in objects {
            out.push(format!("{kind} {name}"));
            let pragma = match kind.as_str() {
                "table" => "table_xinfo",
                "index" => "index_xinfo",
                _ => continue,
            };
            let mut stmt = conn
                .prepare(&format!("SELECT * FROM pragma_{pragma}(?1)"))
                .unwrap();
            let n = stmt.column_count();
            let rows = stmt
                .query_map([&name], |r| {
                    (0..n)
                        .map(|i| {
                            r.get::<_, rusqlite::types::Value>(i)
                                .map(|v| format!("{v:?}"))
                        })
                        .collect::<rusqlite::Result<Vec<_>>>()
                })
                .unwrap();
            for row in rows {
                out.push(format!("  {}", row.unwrap().join(" ")));
            }
        }
        let counts: i64 = conn
            .query_row("SELECT COUNT(*) FROM counts", [], |r| r.get(0))
            .unwrap();
        out.push(format!("counts rows {counts}"));
        out
    }

    /// A database at schema `version`, holding two incidents `a` (2026-01-01) and `b`
    /// (2026-01-02) and nothing else.
    fn store_at(version: usize) -> Connection {
        let conn = Connection::open_in_memory().unwrap();
        for sql in &MIGRATIONS[..version] {
            conn.execute_batch(&compact(sql)).unwrap();
        }
        conn.pragma_update(None, "user_version", version as i64)
            .unwrap();
        conn.execute_batch(
            "INSERT INTO incidents (occurred_on, id, title, reported_on, admin1, admin2, place,
                 team, created_by, review_state, n_conflicts, violations_json)
             VALUES ('2026-01-01', 'a', 't', '2026-01-01', 'x', 'y', 'p', 'T', 'c', 'draft', 0,
                 '[]'),
                    ('2026-01-02', 'b', 't', '2026-01-02', 'x', 'y', 'p', 'T', 'c', 'draft', 0,
                 '[]');",
        )
        .unwrap();
        conn
    }

    /// A store made before schema 16 gets each incident's sums and mask from its violation rows.
    #[test]
    fn schema_16_fills_the_caseload_facts_from_the_violation_rows() {
        let mut conn = store_at(15);
        conn.execute_batch(
            "INSERT INTO violations (id, incident_id, ord, type, boys, girls, sex_unknown, party,
                 category, status, late)
             VALUES ('v1', 'a', 1, 'killing', 1, 2, 0, 'Group Alpha', 'armed_group', 'verified', 0),
                    ('v2', 'a', 2, 'abduction', 0, 1, 3, '', 'armed_group', 'reported', 0);",
        )
        .unwrap();
        super::migrate(&mut conn).unwrap();
        let facts = |id: &str| -> (i64, i64, i64, i64, i64) {
            conn.query_row(
                "SELECT nv, boys, girls, unk, vmask FROM incidents WHERE id = ?1",
                [id],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)),
            )
            .unwrap()
        };
        let mask = crate::facts::violation_mask("killing", "verified", "Group Alpha")
            | crate::facts::violation_mask("abduction", "reported", "");
        assert_eq!(facts("a"), (2, 1, 3, 3, mask));
        assert_eq!(facts("b"), (0, 0, 0, 0, 0));
        let names: Vec<String> = conn
            .prepare("SELECT name FROM party_names")
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .map(|r| r.unwrap())
            .collect();
        assert_eq!(names, ["Group Alpha"]);
    }

    /// A store made before schema 17 gets each incident's latest own change and its number
    /// from its log, and its search text the incident's date and number.
    #[test]
    fn schema_17_fills_the_latest_own_change_and_the_search_dates() {
        let mut conn = store_at(16);
        conn.execute_batch(
            "INSERT INTO incident_search (id, search) VALUES ('a', 'x'), ('b', 'y');
             INSERT INTO changes (seq, doc_id, hash, actor, local, bytes, received_at)
             VALUES (1, 'a', 'h1', 'me', 1, x'00', 't'), (2, 'a', 'h2', 'me', 1, x'00', 't'),
                    (3, 'a', 'h3', 'other', 0, x'00', 't'), (4, 'b', 'h4', 'other', 0, x'00', 't');",
        )
        .unwrap();
        super::migrate(&mut conn).unwrap();
        let read = |sql: &str| -> Vec<(String, i64)> {
            conn.prepare(sql)
                .unwrap()
                .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
                .unwrap()
                .map(|r| r.unwrap())
                .collect()
        };
        assert_eq!(
            read("SELECT id, local_seq FROM incidents ORDER BY id"),
            [("a".to_string(), 2), ("b".to_string(), 0)]
        );
        // Each incident's number: its first change's log position, on both tables.
        for table in ["incidents", "incident_search"] {
            assert_eq!(
                read(&format!("SELECT id, n FROM {table} ORDER BY id")),
                [("a".to_string(), 1), ("b".to_string(), 4)]
            );
        }
        let dates: Vec<(String, String)> = conn
            .prepare("SELECT id, occurred_on FROM incident_search ORDER BY id")
            .unwrap()
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .unwrap()
            .map(|r| r.unwrap())
            .collect();
        assert_eq!(
            dates,
            [
                ("a".to_string(), "2026-01-01".to_string()),
                ("b".to_string(), "2026-01-02".to_string())
            ]
        );
    }

    #[test]
    fn compact_migrations_build_the_same_schema() {
        let laid_out = Connection::open_in_memory().unwrap();
        let compacted = Connection::open_in_memory().unwrap();
        for sql in MIGRATIONS {
            laid_out.execute_batch(sql).unwrap();
            let c = compact(sql);
            assert!(
                !c.contains("--") && !c.contains("  ") && !c.contains('\n'),
                "{c}"
            );
            compacted.execute_batch(&c).unwrap();
        }
        assert_eq!(described(&laid_out), described(&compacted));
        // Triggers still fire (their bodies were compacted too).
        for conn in [&laid_out, &compacted] {
            conn.execute_batch(
                "INSERT INTO incidents (occurred_on, id, title, reported_on, admin1, admin2, place,
                     team, created_by, review_state, n_conflicts, violations_json)
                 VALUES ('2026-01-01', 'x', 't', '2026-01-01', 'a', 'b', 'p', 'T', 'c', 'draft',
                     0, '[]')",
            )
            .unwrap();
            let n: i64 = conn
                .query_row("SELECT n FROM counts WHERE name = 'incidents'", [], |r| {
                    r.get(0)
                })
                .unwrap();
            assert_eq!(n, 1);
        }
        // What an open reads first: the whole schema, which fitted in the file's first page (4
        // KiB, less the file header and SQLCipher's per-page IV and MAC) until schema 16's
        // covering indexes for the caseload; now it takes the first page and part of a second,
        // and must stay there (an open reads each of its pages, decrypted and authenticated).
        let schema_bytes: i64 = compacted
            .query_row(
                "SELECT SUM(LENGTH(type) + LENGTH(name) + LENGTH(tbl_name) + COALESCE(LENGTH(sql), 0) + 8)
                 FROM sqlite_schema",
                [],
                |r| r.get(0),
            )
            .unwrap();
        let objects: Vec<String> = compacted
            .prepare("SELECT name, LENGTH(sql) FROM sqlite_schema ORDER BY LENGTH(sql) DESC")
            .unwrap()
            .query_map([], |r| {
                Ok(format!(
                    "{} {:?}",
                    r.get::<_, String>(0)?,
                    r.get::<_, Option<i64>>(1)?
                ))
            })
            .unwrap()
            .map(|r| r.unwrap())
            .collect();
        assert!(
            schema_bytes < 4600,
            "the schema takes {schema_bytes} bytes: {objects:?}"
        );
    }

    #[test]
    fn quoted_text_and_operators_survive_compaction() {
        assert_eq!(
            compact("SELECT  'a  -- b' , \"x  y\"  -- note\n FROM t WHERE n = n - 1 ;"),
            "SELECT 'a  -- b',\"x  y\" FROM t WHERE n = n - 1;"
        );
    }
}
