//! The endpoint refuses what it must, over real HTTP on loopback: missing, wrong and revoked
//! credentials, changes written as another device, writes outside an officer's team, reads outside
//! its scope, and malformed payloads; a refused batch stores nothing.

use std::collections::BTreeSet;

use mrm_crdt::bundle;
use mrm_crdt::document::CONFIG_ID;
use mrm_e2e::{Backend, Device, EndpointDb, Server};
use serde_json::{json, Value};

struct Http {
    client: reqwest::blocking::Client,
    base: String,
}

impl Http {
    fn new(base: &str) -> Http {
        let _ = rustls::crypto::ring::default_provider().install_default();
        Http {
            client: reqwest::blocking::Client::new(),
            base: base.to_string(),
        }
    }

    fn push(&self, cred: Option<&str>, body: Vec<u8>) -> (u16, Value) {
        let mut req = self
            .client
            .post(format!("{}/v1/push", self.base))
            .body(body);
        if let Some(c) = cred {
            req = req.header("Authorization", format!("Bearer {c}"));
        }
        let resp = req.send().unwrap();
        let status = resp.status().as_u16();
        (status, resp.json().unwrap_or(Value::Null))
    }

    fn pull(&self, cred: &str, cursor: i64) -> (u16, Vec<u8>) {
        let resp = self
            .client
            .get(format!("{}/v1/pull?cursor={cursor}", self.base))
            .header("Authorization", format!("Bearer {cred}"))
            .send()
            .unwrap();
        (resp.status().as_u16(), resp.bytes().unwrap().to_vec())
    }

    fn healthy(&self) -> bool {
        self.client
            .get(format!("{}/v1/health", self.base))
            .send()
            .map(|r| r.status().is_success())
            .unwrap_or(false)
    }
}

fn stats(server: &Server) -> Value {
    serde_json::from_str(&server.admin(&["stats", "--json"], None)).unwrap()
}

fn frames(changes: &[(String, Vec<u8>)]) -> Vec<u8> {
    bundle::encode_frames(&json!({}), changes).unwrap()
}

fn the_endpoint_refuses_what_it_must(backend: Backend) {
    let tmp = tempfile::tempdir().unwrap();
    let endpoint = EndpointDb::new(backend, tmp.path());
    let server = endpoint.serve();
    server.set_config(r#"{"mission":"MONUSCO","teams":["A","B"]}"#);
    let url = server.url();
    let http = Http::new(&url);
    let a1 = Device::enrolled(tmp.path(), "a1", "A", "officer", &server, &url);
    let b1 = Device::enrolled(tmp.path(), "b1", "B", "officer", &server, &url);
    let a2 = Device::enrolled(tmp.path(), "a2", "A", "officer", &server, &url);
    let i1 = a1.add_incident("Attack on Kiwanja", "killing");
    let j1 = b1.add_incident("Recruitment in Fizi", "recruitment_use");
    let a1_changes = a1.store().changes_missing_from(None).unwrap();
    a1.sync();
    b1.sync();
    let before = stats(&server);

    // Credentials: none, wrong, malformed.
    let body = frames(&a1_changes);
    let (st, err) = http.push(None, body.clone());
    assert_eq!(st, 401);
    assert!(err["error"].as_str().unwrap().contains("credential"));
    let a1_cred = a1.credential();
    let (dev, _) = a1_cred.split_once(':').unwrap();
    let (st, _) = http.push(Some(&format!("{dev}:{}", "0".repeat(64))), body.clone());
    assert_eq!(st, 401);
    let (st, _) = http.push(Some("garbage"), body.clone());
    assert_eq!(st, 401);

    // A change written by a1's actor, pushed with b1's credential: refused, nothing stored.
    let b1_cred = b1.credential();
    let fresh = a1.add_incident("Not yet synced", "maiming");
    let forged: Vec<_> = a1
        .store()
        .changes_missing_from(None)
        .unwrap()
        .into_iter()
        .filter(|(id, _)| id == &fresh)
        .collect();
    let (st, err) = http.push(Some(&b1_cred), frames(&forged));
    assert_eq!(st, 403);
    // Not a relay either: no authorship tag vouches for it.
    assert_eq!(err["code"], "unvouched");
    assert!(err["error"].as_str().unwrap().contains("another device"));
    assert_eq!(stats(&server), before);

    // An officer of team B changing team A's incident (received by USB): refused whole.
    let bundle_file = tmp.path().join("usb.mrmb");
    a1.mrm_ok(
        &["bundle", "export", "--out", bundle_file.to_str().unwrap()],
        None,
    );
    b1.mrm_ok(&["bundle", "import", bundle_file.to_str().unwrap()], None);
    // The CLI does not offer it...
    let out = b1.mrm(
        &["incident", "edit", &i1, "--json", "-"],
        Some(r#"{"narrative":"changed by team B"}"#),
    );
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("team A"));
    // ...and the endpoint refuses a modified client's change all the same.
    let edit = b1.forge(&i1, |tx| {
        use automerge::transaction::Transactable;
        tx.put(automerge::ROOT, "narrative", "changed by team B")
            .unwrap();
    });
    let (st, err) = http.push(Some(&b1_cred), frames(&[edit]));
    assert_eq!(st, 403, "{err}");
    let msg = err["error"].as_str().unwrap();
    assert!(msg.contains("team A"), "{msg}");
    assert_eq!(stats(&server), before);

    // Scope: what a team-A device may pull holds only team A's records and the configuration.
    let (st, page) = http.pull(&a2.credential(), 0);
    assert_eq!(st, 200);
    let (_h, changes): (Value, Vec<(String, Vec<u8>)>) = bundle::decode_frames(&page).unwrap();
    let ids: BTreeSet<String> = changes.iter().map(|(id, _)| id.clone()).collect();
    assert!(ids.contains(&i1) && ids.contains(CONFIG_ID));
    // a1 is not sent back the changes it pushed itself.
    let (_, page) = http.pull(&a1_cred, 0);
    let (_h, own): (Value, Vec<(String, Vec<u8>)>) = bundle::decode_frames(&page).unwrap();
    assert!(own.iter().all(|(id, _)| id != &i1) && own.iter().any(|(id, _)| id == CONFIG_ID));
    assert!(
        !ids.contains(&j1),
        "team A must never receive team B's record"
    );
    let (_, page) = http.pull(&b1_cred, 0);
    let (_h, changes): (Value, Vec<(String, Vec<u8>)>) = bundle::decode_frames(&page).unwrap();
    assert!(changes.iter().all(|(id, _)| id != &i1));

    // Malformed payloads: a clear 400, the endpoint keeps serving, nothing stored.
    let good = frames(&forged);
    let mut bad_change = forged.clone();
    bad_change[0].1 = vec![0x85, 0x6f, 0x4a, 0x83, 1, 2, 3, 4, 5];
    let absurd = {
        use std::io::Write;
        let mut raw = b"MRMB\x01".to_vec();
        let h = br#"{"count":1}"#;
        raw.extend_from_slice(&(h.len() as u32).to_le_bytes());
        raw.extend_from_slice(h);
        raw.extend_from_slice(&[0u8; 16]);
        raw.extend_from_slice(&u32::MAX.to_le_bytes());
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        enc.write_all(&raw).unwrap();
        enc.finish().unwrap()
    };
    let cases: Vec<(&str, Vec<u8>)> = vec![
        (
            "random bytes",
            (0..4096u32)
                .map(|i| (i.wrapping_mul(2654435761) >> 13) as u8)
                .collect(),
        ),
        ("empty body", Vec::new()),
        ("truncated batch", good[..good.len() / 2].to_vec()),
        ("absurd length", absurd),
        ("invalid Automerge change", frames(&bad_change)),
        (
            "change filed under another record",
            frames(&[(uuid_like(), forged[0].1.clone())]),
        ),
    ];
    for (what, body) in cases {
        let (st, err) = http.push(Some(&a1_cred), body);
        assert_eq!(st, 400, "{what}: {err}");
        assert!(
            !err["error"].as_str().unwrap_or("").is_empty(),
            "{what} needs a message"
        );
        assert!(http.healthy(), "the endpoint stops serving after {what}");
        assert_eq!(stats(&server), before, "{what} stored something");
    }

    // The same batch pushed twice is stored once.
    let (st, r) = http.push(Some(&a1_cred), good.clone());
    assert_eq!(
        (st, r["accepted"].as_u64()),
        (200, Some(forged.len() as u64))
    );
    let once = stats(&server);
    let (st, r) = http.push(Some(&a1_cred), good);
    assert_eq!(
        (st, r["accepted"].as_u64(), r["duplicates"].as_u64()),
        (200, Some(0), Some(forged.len() as u64))
    );
    assert_eq!(stats(&server), once);

    // Enrollment tokens work once, and only for their team.
    let token = server.token("c1", "A", "officer");
    let c1 = tmp.path().join("c1");
    let c1s = c1.to_str().unwrap();
    mrm_e2e::mrm_ok(
        &[
            "--data",
            c1s,
            "init",
            "--mission",
            "MONUSCO",
            "--officer",
            "c1",
            "--team",
            "B",
        ],
        None,
    );
    let out = mrm_e2e::mrm(
        &["--data", c1s, "enroll", "--server", &url, "--token", &token],
        None,
    );
    assert!(
        !out.status.success(),
        "a token for team A must not enroll a team B store"
    );
    let d1 = tmp.path().join("d1");
    let d1s = d1.to_str().unwrap();
    mrm_e2e::mrm_ok(
        &[
            "--data",
            d1s,
            "init",
            "--mission",
            "MONUSCO",
            "--officer",
            "d1",
            "--team",
            "A",
        ],
        None,
    );
    mrm_e2e::mrm_ok(
        &["--data", d1s, "enroll", "--server", &url, "--token", &token],
        None,
    );
    let out = mrm_e2e::mrm(
        &["--data", c1s, "enroll", "--server", &url, "--token", &token],
        None,
    );
    assert!(!out.status.success(), "a used token must be refused");

    // A revoked device is refused on its next request.
    let devices: Value =
        serde_json::from_str(&server.admin(&["device", "list", "--json"], None)).unwrap();
    let a1_id = devices
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["officer"] == "a1")
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    server.admin(&["device", "revoke", &a1_id], None);
    let (st, err) = http.push(Some(&a1_cred), frames(&a1_changes));
    assert_eq!(st, 403);
    assert_eq!(err["code"], "revoked");
    let out = a1.mrm(&["sync", "--attempts", "1"], None);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("revoked"));
}

fn uuid_like() -> String {
    "01a22198-0000-7000-8000-000000000abc".to_string()
}

/// Every byte of the endpoint database's files, joined (the database, its WAL).
fn files_of(db: &std::path::Path) -> Vec<u8> {
    let mut all = Vec::new();
    for suffix in ["", "-wal"] {
        let mut p = db.as_os_str().to_owned();
        p.push(suffix);
        all.extend(std::fs::read(std::path::PathBuf::from(p)).unwrap_or_default());
    }
    all
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

#[test]
fn the_endpoint_database_is_encrypted_at_rest_and_a_clear_one_is_migrated() {
    let tmp = tempfile::tempdir().unwrap();
    let db = tmp.path().join("endpoint.db");
    let mut server = Server::start(&db);
    let url = server.url();
    let officer = Device::enrolled(tmp.path(), "Awa Diallo", "A", "officer", &server, &url);
    officer.add_incident("Attack on the Kiwanja market", "killing");
    officer.sync();
    let before = stats(&server);
    assert!(before["changes"].as_u64().unwrap() > 0, "{before}");
    server.kill();

    // A copied disk shows neither the file type, nor a title, nor an officer's name.
    let bytes = files_of(&db);
    assert!(!contains(&bytes, b"SQLite format 3"));
    assert!(!contains(&bytes, b"Kiwanja"));
    assert!(!contains(&bytes, b"Awa Diallo"));

    // Without the key, or with another, the database is refused in plain words.
    let admin = |extra: &[(&str, &str)], args: &[&str]| {
        let mut all = vec!["admin", "--db", db.to_str().unwrap()];
        all.extend_from_slice(args);
        let env: Vec<(String, String)> = extra
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        mrm_e2e::mrm_env(&all, None, &env)
    };
    let out = admin(&[], &["stats"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("--db-key-file"));
    let other = "0123456789abcdef".repeat(4);
    let out = admin(&[("MRM_DB_KEY", &other)], &["stats"]);
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("does not open with this key"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = admin(&[("MRM_DB_KEY", "too short")], &["stats"]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("at least 32"));

    // A database in clear, as an earlier version wrote it (made here by decrypting this one).
    let secret = std::fs::read_to_string(mrm_e2e::key_file(&db)).unwrap();
    let key = mrm_crdt::crypto::Key::from_secret(&secret).unwrap();
    let clear = tmp.path().join("clear.db");
    {
        let conn = rusqlite::Connection::open(&db).unwrap();
        mrm_store::key_connection(&conn, &key).unwrap();
        conn.execute(
            "ATTACH DATABASE ?1 AS clear KEY ''",
            [clear.to_str().unwrap()],
        )
        .unwrap();
        conn.query_row("SELECT sqlcipher_export('clear')", [], |_| Ok(()))
            .unwrap();
    }
    for suffix in ["", "-wal", "-shm"] {
        let mut p = db.as_os_str().to_owned();
        p.push(suffix);
        let _ = std::fs::remove_file(std::path::PathBuf::from(p));
    }
    std::fs::remove_file(mrm_e2e::key_file(&db)).unwrap();
    std::fs::rename(&clear, &db).unwrap();
    assert!(contains(&files_of(&db), b"SQLite format 3"));

    // The endpoint refuses to serve it in clear and names the way out ...
    let out = admin(
        &[],
        &[
            "--db-key-file",
            mrm_e2e::key_file(&db).to_str().unwrap(),
            "stats",
        ],
    );
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("admin --db"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // ... which rewrites it encrypted under a new key file, keeping everything.
    server.admin(&["encrypt"], None);
    let bytes = files_of(&db);
    assert!(!contains(&bytes, b"SQLite format 3"));
    assert!(!contains(&bytes, b"Kiwanja"));
    assert_eq!(stats(&server), before);
    server.restart();
    officer.add_incident("Abduction near Bunia", "abduction");
    let report = officer.sync();
    assert!(report["pushed"].as_u64().unwrap() > 0, "{report}");
    assert!(stats(&server)["changes"].as_u64().unwrap() > before["changes"].as_u64().unwrap());
}

fn an_insider_cannot_claim_a_colleagues_actor_id(backend: Backend) {
    let tmp = tempfile::tempdir().unwrap();
    let endpoint = EndpointDb::new(backend, tmp.path());
    let server = endpoint.serve();
    let url = server.url();
    let _ = rustls::crypto::ring::default_provider().install_default();
    let client = reqwest::blocking::Client::new();
    let enroll = |body: Value| {
        let r = client
            .post(format!("{url}/v1/enroll"))
            .json(&body)
            .send()
            .unwrap();
        (
            r.status().as_u16(),
            r.json::<Value>().unwrap_or(Value::Null),
        )
    };
    // A colleague's store, not enrolled yet: its actor id is in every change it ever gave away.
    let colleague = Device::new(tmp.path(), "Awa D.", "A");
    let actor = colleague.store().device().actor.clone();
    let token = server.token("Insider", "A", "officer");
    let claim = |proof: Option<String>| {
        let mut body = json!({"token": token, "team": "A", "mission": "MONUSCO", "actor": actor});
        if let Some(p) = proof {
            body["actor_proof"] = json!(p);
        }
        enroll(body)
    };
    for proof in [
        None,
        Some("ab".repeat(32)),
        Some("not hex".into()),
        Some(actor.clone()),
    ] {
        let (status, body) = claim(proof.clone());
        assert_eq!(status, 403, "{proof:?}: {body}");
        assert_eq!(body["code"], "forbidden", "{body}");
    }
    // The colleague enrolls as if nothing happened, and syncs.
    let token = server.token("Awa D.", "A", "officer");
    colleague.mrm_ok(&["enroll", "--server", &url, "--token", &token], None);
    colleague.add_incident("Attack on Kiwanja", "killing");
    assert!(colleague.sync()["pushed"].as_u64().unwrap() > 0);
    let audit: Value = serde_json::from_str(&server.admin(&["audit", "--json"], None)).unwrap();
    let enrolled: Vec<&Value> = audit
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["action"] == "enrolled")
        .collect();
    assert_eq!(enrolled.len(), 1, "{audit:#}");
    assert_eq!(enrolled[0]["detail"]["actor_proven"], true);
    // The refusals name the device the insider's token was issued for.
    let insider_refusals = audit
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["action"] == "enroll_refused" && e["device_id"].is_string())
        .count();
    assert!(insider_refusals >= 4, "{audit:#}");

    // A store made before actors had seeds enrolls only with a token the admin issued for it,
    // and never under an actor another device holds.
    let legacy = |actor: &str| {
        let out = server.admin(
            &[
                "device",
                "enroll",
                "--officer",
                "Old laptop",
                "--team",
                "A",
                "--role",
                "officer",
                "--legacy-store",
            ],
            None,
        );
        enroll(json!({"token": out.trim(), "team": "A", "mission": "MONUSCO", "actor": actor}))
    };
    assert_eq!(legacy(&actor).0, 403, "a legacy claim on an enrolled actor");
    let fresh = uuid_like().replace('-', "");
    let (status, body) = legacy(&fresh);
    assert_eq!(status, 200, "{body}");
    let plain = server.token("Other", "A", "officer");
    let (status, _) = enroll(
        json!({"token": plain, "team": "A", "mission": "MONUSCO", "actor": "cd".repeat(16)}),
    );
    assert_eq!(status, 403, "an ordinary token enrolls no unproven store");
}

fn authors_are_named_by_the_endpoints_registry(backend: Backend) {
    let tmp = tempfile::tempdir().unwrap();
    let endpoint = EndpointDb::new(backend, tmp.path());
    let server = endpoint.serve();
    let url = server.url();
    // A store initialised under a reviewer's name, enrolled with a token issued for an officer.
    let pretender = Device::new(tmp.path(), "Reviewer R.", "A");
    let token = server.token("Awa D.", "A", "officer");
    pretender.mrm_ok(&["enroll", "--server", &url, "--token", &token], None);
    let id = pretender.add_incident("Attack on Kiwanja", "killing");
    pretender.mrm_ok(&["incident", "comment", &id, "Two witnesses met"], None);
    pretender.sync();
    let reviewer = Device::enrolled(tmp.path(), "Rose R.", "A", "reviewer", &server, &url);
    reviewer.sync();
    for d in [&reviewer, &pretender] {
        d.sync();
        let history: Value =
            serde_json::from_str(&d.mrm_ok(&["incident", "history", &id, "--json"], None)).unwrap();
        for e in history.as_array().unwrap() {
            assert_eq!(e["by"], "Awa D.", "{e}");
            assert_eq!(e["declared_by"], "Reviewer R.", "{e}");
            assert_eq!(e["registered"], true, "{e}");
        }
        let text = d.mrm_ok(&["incident", "history", &id], None);
        assert!(
            text.contains("Awa D.") && text.contains("wrote as \"Reviewer R.\""),
            "{text}"
        );
        let shown: Value =
            serde_json::from_str(&d.mrm_ok(&["incident", "show", &id, "--json"], None)).unwrap();
        assert_eq!(shown["created_by"], "Awa D.", "{shown}");
        assert_eq!(shown["created_by_declared"], "Reviewer R.", "{shown}");
        let comment = &shown["review"]["comments"][0];
        assert_eq!(comment["by"], "Awa D.", "{shown}");
        assert_eq!(comment["declared_by"], "Reviewer R.", "{shown}");
    }
    // The reviewer's own work carries no note.
    let vid = {
        let shown: Value =
            serde_json::from_str(&reviewer.mrm_ok(&["incident", "show", &id, "--json"], None))
                .unwrap();
        shown["violations"][0]["id"].as_str().unwrap().to_string()
    };
    reviewer.mrm_ok(&["verify", &id, &vid, "--status", "verified"], None);
    let shown: Value =
        serde_json::from_str(&reviewer.mrm_ok(&["incident", "show", &id, "--json"], None)).unwrap();
    let events = shown["violations"][0]["verification"].as_array().unwrap();
    let last = events.last().unwrap();
    assert_eq!(last["by"], "Rose R.");
    assert!(last.get("declared_by").is_none(), "{last}");

    // A registry change carried by a USB bundle (here: written under the pretender's actor to
    // rename themselves) is never believed: only the endpoint's copy counts.
    let actor = pretender.store().device().actor.clone();
    let forged = pretender.forge(mrm_crdt::document::REGISTRY_ID, |tx| {
        use automerge::transaction::Transactable;
        use automerge::ReadDoc;
        let devices = match tx.get(automerge::ROOT, "devices").unwrap() {
            Some((_, o)) => o,
            None => panic!("no devices map"),
        };
        let entry = match tx.get(&devices, actor.as_str()).unwrap() {
            Some((_, o)) => o,
            None => panic!("the pretender is not registered"),
        };
        tx.put(&entry, "officer", "Reviewer R.").unwrap();
    });
    let mut store = reviewer.store();
    store.import(vec![forged]).unwrap();
    assert_eq!(
        store.registry().unwrap().author(&actor).unwrap().officer,
        "Awa D."
    );
}

mrm_e2e::on_both_backends!(
    the_endpoint_refuses_what_it_must,
    an_insider_cannot_claim_a_colleagues_actor_id,
    authors_are_named_by_the_endpoints_registry,
);
