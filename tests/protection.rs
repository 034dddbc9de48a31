//! What protects the children's data against a device that writes what its role may not, and
//! against a lost device: role rules checked on the effect of each pushed change, revocation that
//! wipes the device, and the endpoint's audit log. Real `mrm serve` on loopback, real stores.

use automerge::transaction::{Transactable, Transaction};
use automerge::{ObjType, ReadDoc, Value as AmValue, ROOT};
use mrm_crdt::bundle;
use mrm_e2e::{Device, Server};
use serde_json::{json, Value};

fn push(server: &Server, cred: &str, changes: &[(String, Vec<u8>)]) -> (u16, Value) {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let body = bundle::encode_frames(&json!({}), changes).unwrap();
    let resp = reqwest::blocking::Client::new()
        .post(format!("{}/v1/push", server.url()))
        .header("Authorization", format!("Bearer {cred}"))
        .body(body)
        .send()
        .unwrap();
    let status = resp.status().as_u16();
    (status, resp.json().unwrap_or(Value::Null))
}

fn stats(server: &Server) -> Value {
    serde_json::from_str(&server.admin(&["stats", "--json"], None)).unwrap()
}

fn audit(server: &Server, extra: &[&str]) -> Vec<Value> {
    let mut args = vec!["audit", "--json"];
    args.extend_from_slice(extra);
    let v: Value = serde_json::from_str(&server.admin(&args, None)).unwrap();
    v.as_array().unwrap().clone()
}

fn device_id(d: &Device) -> String {
    d.store().sync_state().unwrap().unwrap().device_id
}

/// The first violation's id of an incident.
fn violation(d: &Device, incident: &str) -> String {
    let v: Value =
        serde_json::from_str(&d.mrm_ok(&["incident", "show", incident, "--json"], None)).unwrap();
    v["violations"][0]["id"].as_str().unwrap().to_string()
}

fn map_at(tx: &Transaction<'_>, obj: &automerge::ObjId, key: &str) -> automerge::ObjId {
    match tx.get(obj, key).unwrap() {
        Some((AmValue::Object(_), id)) => id,
        other => panic!("no object at {key}: {other:?}"),
    }
}

fn stderr(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).to_string()
}

#[test]
fn only_reviewers_record_decisions_whatever_the_client_sends() {
    let tmp = tempfile::tempdir().unwrap();
    let server = Server::start(&tmp.path().join("endpoint.db"));
    server.set_config(r#"{"mission":"MONUSCO","teams":["A","B"]}"#);
    let url = server.url();
    let a1 = Device::enrolled(tmp.path(), "a1", "A", "officer", &server, &url);
    let rev = Device::enrolled(tmp.path(), "rev", "HQ", "reviewer", &server, &url);
    let i1 = a1.add_incident("Attack on Kiwanja", "killing");
    let v1 = violation(&a1, &i1);
    a1.sync();

    // The CLI does not offer an officer what the role cannot do; the field statuses are fine.
    let out = a1.mrm(&["verify", &i1, &v1, "--status", "verified"], None);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("only a reviewer"), "{}", stderr(&out));
    let out = a1.mrm(&["incident", "accept", &i1], None);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("only a reviewer"), "{}", stderr(&out));
    a1.mrm_ok(
        &["verify", &i1, &v1, "--status", "pending_verification"],
        None,
    );
    a1.mrm_ok(&["incident", "submit", &i1], None);
    let report = a1.sync();
    assert!(report["pushed"].as_u64().unwrap() >= 2, "{report}");
    let before = stats(&server);
    let cred = a1.credential();
    let a1_id = device_id(&a1);

    // A modified client writes a `verified` event straight into the record: refused whole,
    // nothing stored, and the audit log says why.
    let forged_verified = a1.forge(&i1, |tx| {
        let who = mrm_crdt::edit::Actor {
            officer: "a1".into(),
            now: chrono_now(),
            clock: Default::default(),
        };
        let event: mrm_crdt::input::EventInput =
            serde_json::from_value(json!({"status": "verified", "note": "forged"})).unwrap();
        mrm_crdt::edit::add_verification(tx, &v1, &event, &who, false).unwrap();
    });
    let (st, err) = push(&server, &cred, &[forged_verified]);
    assert_eq!(st, 403, "{err}");
    assert_eq!(err["code"], "forbidden");
    assert!(err["error"].as_str().unwrap().contains("verified"), "{err}");
    assert_eq!(stats(&server), before);
    let refused: Vec<Value> = audit(&server, &[])
        .into_iter()
        .filter(|e| e["action"] == "push_refused")
        .collect();
    assert_eq!(refused.len(), 1, "{refused:?}");
    assert_eq!(refused[0]["device_id"], a1_id.as_str());
    assert!(refused[0]["detail"]["reason"]
        .as_str()
        .unwrap()
        .contains("verified"));

    // Accepting its own record, or removing a verification event: refused too.
    let forged_accept = a1.forge(&i1, |tx| {
        let review = map_at(tx, &ROOT, "review");
        tx.put(&review, "state", "accepted").unwrap();
    });
    let (st, err) = push(&server, &cred, &[forged_accept]);
    assert_eq!(st, 403, "{err}");
    assert!(err["error"].as_str().unwrap().contains("accepted"), "{err}");
    let forged_delete = a1.forge(&i1, |tx| {
        let violations = map_at(tx, &ROOT, "violations");
        let v = map_at(tx, &violations, &v1);
        let list = map_at(tx, &v, "verification");
        assert!(matches!(
            tx.get(&list, 0).unwrap(),
            Some((AmValue::Object(ObjType::Map), _))
        ));
        tx.delete(&list, 0).unwrap();
    });
    let (st, err) = push(&server, &cred, &[forged_delete]);
    assert_eq!(st, 403, "{err}");
    assert!(
        err["error"].as_str().unwrap().contains("append-only"),
        "{err}"
    );
    assert_eq!(stats(&server), before);

    // The reviewer may decide and accept; the officer's device receives it.
    rev.sync();
    rev.mrm_ok(&["verify", &i1, &v1, "--status", "verified"], None);
    rev.mrm_ok(&["incident", "accept", &i1], None);
    let report = rev.sync();
    assert!(report["pushed"].as_u64().unwrap() >= 2, "{report}");
    a1.sync();
    let shown: Value =
        serde_json::from_str(&a1.mrm_ok(&["incident", "show", &i1, "--json"], None)).unwrap();
    assert_eq!(shown["review"]["state"], "accepted");

    // Against the reviewer's decision, now on the officer's laptop: rewriting it, deleting the
    // decided violation, negative counts, a clock years ahead. Each refused with its reason,
    // nothing stored, the endpoint still serving.
    let before = stats(&server);
    let event_of = |tx: &Transaction<'_>, i: usize| {
        let violations = map_at(tx, &ROOT, "violations");
        let v = map_at(tx, &violations, &v1);
        let list = map_at(tx, &v, "verification");
        match tx.get(&list, i).unwrap() {
            Some((AmValue::Object(_), id)) => id,
            other => panic!("no event {i}: {other:?}"),
        }
    };
    let rewrite = a1.forge(&i1, |tx| {
        let e = event_of(tx, 1);
        tx.put(&e, "status", "not_mrm").unwrap();
    });
    let (st, err) = push(&server, &cred, &[rewrite]);
    assert_eq!(
        (st, err["reason"].as_str()),
        (403, Some("event_changed")),
        "{err}"
    );
    let delete = a1.forge(&i1, |tx| {
        let violations = map_at(tx, &ROOT, "violations");
        tx.delete(&violations, v1.as_str()).unwrap();
    });
    let (st, err) = push(&server, &cred, &[delete]);
    assert_eq!(st, 403, "{err}");
    assert_eq!(err["reason"], "decided_violation_deleted", "{err}");
    let reopen = a1.forge(&i1, |tx| {
        let review = map_at(tx, &ROOT, "review");
        tx.put(&review, "state", "draft").unwrap();
    });
    let (st, err) = push(&server, &cred, &[reopen]);
    assert_eq!(st, 403, "{err}");
    assert_eq!(err["reason"], "accepted_reopened", "{err}");
    let negative = a1.forge(&i1, |tx| {
        let violations = map_at(tx, &ROOT, "violations");
        let v = map_at(tx, &violations, &v1);
        let victims = map_at(tx, &v, "victims");
        tx.put(&victims, "boys", -499i64).unwrap();
    });
    let (st, err) = push(&server, &cred, &[negative]);
    assert_eq!(st, 403, "{err}");
    assert_eq!(err["reason"], "decided_violation_changed", "{err}");
    let untitled = a1.forge(&i1, |tx| {
        tx.put(ROOT, "title", "").unwrap();
    });
    let (st, err) = push(&server, &cred, &[untitled]);
    assert_eq!(st, 400, "{err}");
    assert!(err["error"].as_str().unwrap().contains("title"), "{err}");
    let ahead = {
        let store = a1.store();
        let mut doc = automerge::Automerge::new();
        doc.apply_changes(
            store
                .changes_missing_from(None)
                .unwrap()
                .into_iter()
                .filter(|(id, _)| id == &i1)
                .map(|(_, b)| automerge::Change::from_bytes(b).unwrap()),
        )
        .unwrap();
        doc.set_actor(automerge::ActorId::try_from(store.device().actor.as_str()).unwrap());
        let mut tx = doc.transaction();
        tx.put(ROOT, "narrative", "from the future").unwrap();
        let far = chrono::Utc::now().timestamp() + 3 * 365 * 86_400;
        tx.commit_with(automerge::transaction::CommitOptions::default().with_time(far));
        let c = doc.get_last_local_change().unwrap();
        (i1.clone(), c.raw_bytes().to_vec())
    };
    let (st, err) = push(&server, &cred, &[ahead]);
    assert_eq!(st, 400, "{err}");
    assert!(err["error"].as_str().unwrap().contains("clock"), "{err}");
    assert_eq!(stats(&server), before);
    let refused = audit(&server, &[])
        .into_iter()
        .filter(|e| e["action"] == "push_refused")
        .count();
    assert!(refused >= 9, "{refused} refusals audited");

    // The stock CLI: the officer's `reported` after the decision is sent, and the mission still
    // counts the violation verified.
    a1.mrm_ok(&["verify", &i1, &v1, "--status", "reported"], None);
    a1.sync();
    rev.sync();
    let shown: Value =
        serde_json::from_str(&rev.mrm_ok(&["incident", "show", &i1, "--json"], None)).unwrap();
    assert_eq!(shown["status"][0]["status"], "verified", "{shown}");
    // reported, a1's pending_verification, the reviewer's verified, a1's reported.
    assert_eq!(
        shown["violations"][0]["verification"]
            .as_array()
            .unwrap()
            .len(),
        4
    );
    let out = a1.mrm(
        &[
            "incident",
            "resolve",
            &i1,
            "--field",
            "review.state",
            "--value",
            "\"draft\"",
        ],
        None,
    );
    assert!(
        !out.status.success(),
        "an officer reopened an accepted record"
    );
}

#[test]
fn a_revoked_device_pushes_nothing_and_wipes_its_store() {
    let tmp = tempfile::tempdir().unwrap();
    let server = Server::start(&tmp.path().join("endpoint.db"));
    let url = server.url();
    let a1 = Device::enrolled(tmp.path(), "a1", "A", "officer", &server, &url);
    a1.add_incident("Synced before the loss", "abduction");
    a1.sync();
    let secret_words = "Narrative that must not survive the wipe";
    let i2 = a1.add_incident("Recorded after the loss", "maiming");
    a1.mrm_ok(
        &["incident", "edit", &i2, "--json", "-"],
        Some(&json!({ "narrative": secret_words }).to_string()),
    );
    let id = device_id(&a1);
    server.admin(&["device", "revoke", &id], None);
    // (The revocation itself is a change: the registry marks the device revoked.)
    let before = stats(&server);

    let out = a1.mrm(&["sync", "--attempts", "1"], None);
    assert!(!out.status.success());
    let msg = stderr(&out);
    assert!(msg.contains("revoked") && msg.contains("wiped"), "{msg}");
    assert_eq!(stats(&server), before, "a revoked device pushed something");

    // Nothing of the store is left in the data folder.
    for entry in std::fs::read_dir(&a1.dir).unwrap() {
        let path = entry.unwrap().path();
        let bytes = std::fs::read(&path).unwrap_or_default();
        assert!(
            !String::from_utf8_lossy(&bytes).contains(secret_words),
            "{} still holds the narrative",
            path.display()
        );
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        assert!(!name.starts_with("mrm.sqlite"), "{name} survived the wipe");
    }
    let out = a1.mrm(&["incident", "list"], None);
    assert!(!out.status.success());

    // The audit log holds the revocation and the refused contact.
    let log = audit(&server, &[]);
    let of_device = |action: &str| {
        log.iter()
            .any(|e| e["action"] == action && e["device_id"] == id.as_str())
    };
    for action in [
        "enrollment_issued",
        "enrolled",
        "sync_push",
        "sync_pull",
        "revoked",
    ] {
        assert!(of_device(action), "no `{action}` entry in {log:#?}");
    }
    assert!(
        log.iter().any(|e| e["action"] == "auth_refused"
            && e["device_id"] == id.as_str()
            && e["detail"]["reason"]
                .as_str()
                .unwrap_or("")
                .contains("revoked")),
        "{log:#?}"
    );
}

#[test]
fn the_audit_log_covers_configuration_and_filters_by_date() {
    let tmp = tempfile::tempdir().unwrap();
    let server = Server::start(&tmp.path().join("endpoint.db"));
    server.set_config(r#"{"mission":"MONUSCO","teams":["A"]}"#);
    let log = audit(&server, &[]);
    let config = log.iter().find(|e| e["action"] == "config_set").unwrap();
    assert_eq!(config["detail"]["mission"], "MONUSCO");
    assert_eq!(config["detail"]["teams"], 1);

    let today = chrono_now().date_naive().to_string();
    assert_eq!(audit(&server, &["--since", &today]).len(), log.len());
    assert!(audit(&server, &["--since", "2999-01-01"]).is_empty());
    let text = server.admin(&["audit"], None);
    assert!(text.contains("config_set"), "{text}");
    let out = mrm_e2e::mrm(
        &[
            "admin",
            "--db",
            server.db.to_str().unwrap(),
            "--db-key-file",
            mrm_e2e::key_file(&server.db).to_str().unwrap(),
            "audit",
            "--since",
            "yesterday",
        ],
        None,
    );
    assert!(!out.status.success());
    assert!(stderr(&out).contains("--since"), "{}", stderr(&out));
}

fn chrono_now() -> chrono::DateTime<chrono::Utc> {
    chrono::Utc::now()
}

#[test]
fn the_cli_keeps_the_store_and_its_bundles_unreadable_without_the_passphrase() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("field");
    let d = dir.to_str().unwrap();
    let pass_file = tmp.path().join("pass.txt");
    std::fs::write(&pass_file, "passphrase from a file\n").unwrap();
    let pf = pass_file.to_str().unwrap();
    let marker = "Marker narrative kv-5521 by the school gate";
    let run = |args: &[&str], stdin: Option<&str>| {
        let mut all = vec!["--data", d, "--passphrase-file", pf];
        all.extend_from_slice(args);
        mrm_e2e::mrm(&all, stdin)
    };
    let ok = |args: &[&str], stdin: Option<&str>| {
        let out = run(args, stdin);
        assert!(out.status.success(), "{args:?}: {}", stderr(&out));
        String::from_utf8_lossy(&out.stdout).to_string()
    };
    ok(
        &[
            "init",
            "--mission",
            "MONUSCO",
            "--officer",
            "o1",
            "--team",
            "A",
        ],
        None,
    );
    let id = ok(
        &["incident", "add", "--json", "-"],
        Some(
            &json!({"title": "Marker", "occurred_on": "2026-10-01", "reported_on": "2026-10-02",
                    "location": {"admin1": "North Kivu"}, "narrative": marker,
                    "violations": [{"type": "abduction", "victims": {"girls": 1}}]})
            .to_string(),
        ),
    )
    .trim()
    .to_string();

    // Nothing in the folder shows the narrative; the bundle neither.
    let stick = tmp.path().join("stick.mrmb");
    ok(
        &["bundle", "export", "--out", stick.to_str().unwrap()],
        None,
    );
    let mut files: Vec<std::path::PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.push(stick.clone());
    for f in files {
        let bytes = std::fs::read(&f).unwrap();
        assert!(
            !bytes.windows(marker.len()).any(|w| w == marker.as_bytes()),
            "{} holds the narrative in clear",
            f.display()
        );
    }

    // The wrong passphrase: a clear error, nothing touched. No passphrase at all: told how.
    let wrong = |args: &[&str]| {
        let mut all = vec!["--data", d];
        all.extend_from_slice(args);
        let mut cmd = std::process::Command::new(mrm_e2e::mrm_bin());
        cmd.args(&all)
            .env("MRM_PASSPHRASE", "not the passphrase")
            .stdin(std::process::Stdio::null());
        cmd.output().unwrap()
    };
    let out = wrong(&["incident", "show", &id]);
    assert!(!out.status.success());
    assert_eq!(stderr(&out).trim(), "mrm: error: wrong passphrase");
    let out = std::process::Command::new(mrm_e2e::mrm_bin())
        .args(["--data", d, "incident", "list"])
        .env_remove("MRM_PASSPHRASE")
        .stdin(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(stderr(&out).contains("MRM_PASSPHRASE"), "{}", stderr(&out));

    // A clear CSV only when asked for explicitly.
    let csv = tmp.path().join("caseload.csv");
    let out = run(&["export", "csv", "--out", csv.to_str().unwrap()], None);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("--clear"), "{}", stderr(&out));
    assert!(!csv.exists());
    ok(
        &["export", "csv", "--clear", "--out", csv.to_str().unwrap()],
        None,
    );
    assert!(std::fs::read_to_string(&csv).unwrap().contains("abduction"));

    // Passphrase change: the old one fails, the new one opens the same data.
    let new_file = tmp.path().join("new.txt");
    std::fs::write(&new_file, "the new passphrase").unwrap();
    ok(
        &[
            "passphrase",
            "change",
            "--new-passphrase-file",
            new_file.to_str().unwrap(),
        ],
        None,
    );
    let out = run(&["incident", "show", &id], None);
    assert_eq!(stderr(&out).trim(), "mrm: error: wrong passphrase");
    let out = mrm_e2e::mrm(
        &[
            "--data",
            d,
            "--passphrase-file",
            new_file.to_str().unwrap(),
            "incident",
            "show",
            &id,
            "--json",
        ],
        None,
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(String::from_utf8_lossy(&out.stdout).contains(marker));

    // The bundle opens in another store with the bundle passphrase only.
    let other = tmp.path().join("other");
    let o = other.to_str().unwrap();
    mrm_e2e::mrm_ok(
        &[
            "--data",
            o,
            "init",
            "--mission",
            "MONUSCO",
            "--officer",
            "o2",
            "--team",
            "A",
        ],
        None,
    );
    let out = std::process::Command::new(mrm_e2e::mrm_bin())
        .args(["--data", o, "bundle", "import", stick.to_str().unwrap()])
        .env("MRM_PASSPHRASE", mrm_e2e::PASSPHRASE)
        .env("MRM_BUNDLE_PASSPHRASE", "wrong bundle passphrase")
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("wrong passphrase"),
        "{}",
        stderr(&out)
    );
    mrm_e2e::mrm_ok(
        &["--data", o, "bundle", "import", stick.to_str().unwrap()],
        None,
    );
    let shown = mrm_e2e::mrm_ok(&["--data", o, "incident", "show", &id, "--json"], None);
    assert!(shown.contains(marker));
}

/// Run `mrm` under a pseudo-terminal (util-linux `script`), typing `lines` at its prompts.
fn on_terminal(args: &str, lines: &[&str]) -> std::process::Output {
    use std::io::Write;
    let mut child = std::process::Command::new("script")
        .args([
            "-qec",
            &format!("{} {args}", mrm_e2e::mrm_bin().display()),
            "/dev/null",
        ])
        .env_remove("MRM_PASSPHRASE")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    for line in lines {
        // The prompt reads from the terminal after it is shown; give it the time to appear.
        std::thread::sleep(std::time::Duration::from_millis(400));
        writeln!(stdin, "{line}").unwrap();
    }
    drop(stdin);
    child.wait_with_output().unwrap()
}

#[test]
fn init_asks_for_the_passphrase_twice_on_a_terminal() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("field");
    let d = dir.display().to_string();
    let init = format!("--data {d} init --mission MONUSCO --officer o1 --team A");
    let out = on_terminal(&init, &["typed passphrase", "another passphrase"]);
    let all = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(!out.status.success(), "{all}");
    assert!(all.contains("differ"), "{all}");
    assert!(!dir.join("mrm.sqlite").exists());

    let out = on_terminal(&init, &["typed passphrase", "typed passphrase"]);
    let all = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(out.status.success(), "{all}");
    assert!(
        !all.contains("typed passphrase"),
        "the passphrase was echoed: {all}"
    );
    let out = on_terminal(&format!("--data {d} status"), &["typed passphrase"]);
    let all = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(out.status.success() && all.contains("team A"), "{all}");
}

/// An impostor at the endpoint's address (or anyone on the base's network) answering `revoked`
/// to every request: it cannot prove the revocation, so the laptop keeps its store.
#[test]
fn an_impostor_answering_revoked_wipes_nothing() {
    use std::io::{Read, Write};
    let tmp = tempfile::tempdir().unwrap();
    let mut server = Server::start(&tmp.path().join("endpoint.db"));
    let url = server.url();
    let a1 = Device::enrolled(tmp.path(), "a1", "A", "officer", &server, &url);
    a1.sync();
    let unsynced = a1.add_incident("Recorded after the last sync", "abduction");
    let addr = server.addr.clone();
    server.kill();
    let listener = (0..50)
        .find_map(|_| {
            std::net::TcpListener::bind(&addr)
                .map_err(|_| std::thread::sleep(std::time::Duration::from_millis(100)))
                .ok()
        })
        .expect("bind the endpoint's address");
    std::thread::spawn(move || {
        for conn in listener.incoming() {
            let Ok(mut conn) = conn else { continue };
            let mut buf = [0u8; 65536];
            let _ = conn.read(&mut buf);
            let body = r#"{"error":"this device has been revoked","code":"revoked","proof":"00"}"#;
            let _ = write!(
                conn,
                "HTTP/1.1 403 Forbidden\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    let out = a1.mrm(&["sync", "--attempts", "1"], None);
    assert!(!out.status.success());
    let msg = stderr(&out);
    assert!(msg.contains("could not prove"), "{msg}");
    // The store is intact, unsynced work included.
    let shown = a1.mrm_ok(&["incident", "show", &unsynced, "--json"], None);
    assert!(shown.contains("Recorded after the last sync"), "{shown}");
}
