//! Sync scenarios against a real `mrm serve` process: several devices, offline edits, syncs in
//! several orders, scope, conflicts, cuts and crashes.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use mrm_crdt::document::{RecordKind, CONFIG_ID, REGISTRY_ID};
use mrm_e2e::{Backend, Device, EndpointDb, Fault, Proxy, Server};
use serde_json::{json, Value};

const CONFIG: &str = r#"{"mission":"MONUSCO","teams":["A","B"],"parties":["Group Alpha","National Army"],
  "admin_areas":{"North Kivu":["Rutshuru","Masisi"],"South Kivu":["Fizi"]}}"#;

/// Every record a device holds, as JSON that must match across devices: content, derived
/// statuses, conflicts and heads.
fn records(d: &Device) -> BTreeMap<String, Value> {
    let s = d.store();
    let mut out = BTreeMap::new();
    for (id, kind) in s.record_ids().unwrap() {
        let v = match kind {
            RecordKind::Incident => serde_json::to_value(s.incident_view(&id).unwrap()).unwrap(),
            RecordKind::Patrol => serde_json::to_value(s.patrol(&id).unwrap()).unwrap(),
            RecordKind::Config => serde_json::to_value(s.mission_config().unwrap()).unwrap(),
            RecordKind::Registry => serde_json::to_value(s.registry().unwrap()).unwrap(),
            RecordKind::Activity(_) => s.activity(&id).unwrap().to_json(),
            RecordKind::Period => serde_json::to_value(
                s.periods()
                    .unwrap()
                    .into_iter()
                    .find(|p| p.id == id)
                    .unwrap(),
            )
            .unwrap(),
        };
        out.insert(id, v);
    }
    out
}

fn team_of(v: &Value) -> Option<&str> {
    v.get("team").and_then(Value::as_str)
}

fn server_stats(server: &Server) -> Value {
    serde_json::from_str(&server.admin(&["stats", "--json"], None)).unwrap()
}

fn edit(d: &Device, id: &str, patch: Value) {
    d.mrm_ok(
        &["incident", "edit", id, "--json", "-"],
        Some(&patch.to_string()),
    );
}

fn four_devices_converge_within_their_scopes(backend: Backend) {
    let tmp = tempfile::tempdir().unwrap();
    let endpoint = EndpointDb::new(backend, tmp.path());
    let server = endpoint.serve();
    server.set_config(CONFIG);
    let url = server.url();
    let a1 = Device::enrolled(tmp.path(), "a1", "A", "officer", &server, &url);
    let a2 = Device::enrolled(tmp.path(), "a2", "A", "officer", &server, &url);
    let b1 = Device::enrolled(tmp.path(), "b1", "B", "officer", &server, &url);
    let rv = Device::enrolled(tmp.path(), "rv", "HQ", "reviewer", &server, &url);

    let i1 = a1.add_incident("Attack on Kiwanja", "killing");
    let i2 = a1.add_incident("Abduction near Rutshuru", "abduction");
    let j1 = b1.add_incident("Recruitment in Fizi", "recruitment_use");
    for d in [&a1, &b1, &a2, &rv] {
        let r = d.sync();
        // A device is never sent its own changes back (a1 pushed two incidents here).
        assert_eq!(
            r["pull_duplicates"], 0,
            "{} was sent changes it has",
            d.name
        );
    }
    let v1 = a1.store().incident(&i1).unwrap().violations[0].id.clone();

    // Offline, concurrently: both team-A officers change the same count, one adds a violation,
    // the reviewer retitles and verifies, team B edits its own incident.
    edit(
        &a1,
        &i1,
        json!({"violations": [{"id": v1, "victims": {"boys": 2}}]}),
    );
    edit(
        &a2,
        &i1,
        json!({"violations": [{"id": v1, "victims": {"boys": 3}},
        {"type": "maiming", "victims": {"boys": 0, "girls": 1, "sex_unknown": 0},
         "perpetrator": {"party": "Group Alpha", "category": "armed_group"}}]}),
    );
    edit(&rv, &i1, json!({"title": "Attack on Kiwanja market"}));
    rv.mrm_ok(
        &[
            "verify",
            &i1,
            &v1,
            "--status",
            "verified",
            "--note",
            "two sources",
        ],
        None,
    );
    edit(
        &b1,
        &j1,
        json!({"narrative": "Updated fictional narrative."}),
    );
    edit(&a2, &i2, json!({"narrative": "Second officer's account."}));

    for order in [
        [&a2, &rv, &b1, &a1],
        [&a1, &b1, &rv, &a2],
        [&rv, &a2, &a1, &b1],
    ] {
        for d in order {
            d.sync();
        }
    }

    let (ra1, ra2, rb1, rrv) = (records(&a1), records(&a2), records(&b1), records(&rv));
    // Scope: officers hold exactly their team's records and the configuration.
    let team_ids = |team: &str| -> BTreeSet<String> {
        rrv.iter()
            .filter(|(id, v)| {
                team_of(v) == Some(team) || id.as_str() == CONFIG_ID || id.as_str() == REGISTRY_ID
            })
            .map(|(id, _)| id.clone())
            .collect()
    };
    assert_eq!(ra1.keys().cloned().collect::<BTreeSet<_>>(), team_ids("A"));
    assert_eq!(ra2.keys().cloned().collect::<BTreeSet<_>>(), team_ids("A"));
    assert_eq!(rb1.keys().cloned().collect::<BTreeSet<_>>(), team_ids("B"));
    assert!(rrv.contains_key(&j1) && rrv.contains_key(&i1) && rrv.contains_key(CONFIG_ID));
    // Identical content, statuses, conflicts and heads wherever a record is held.
    for (id, v) in &ra1 {
        assert_eq!(Some(v), ra2.get(id), "a1 and a2 differ on {id}");
        assert_eq!(Some(v), rrv.get(id), "a1 and the reviewer differ on {id}");
    }
    for (id, v) in &rb1 {
        assert_eq!(Some(v), rrv.get(id), "b1 and the reviewer differ on {id}");
    }
    // The concurrent counts are a conflict, shown alike everywhere, with both authors.
    let conflicts = &ra1[&i1]["conflicts"];
    let path = format!("violations.{v1}.victims.boys");
    let c = conflicts
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["path"] == path)
        .expect("conflict on boys");
    let values: BTreeSet<i64> = c["values"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["value"].as_i64().unwrap())
        .collect();
    assert_eq!(values, BTreeSet::from([2, 3]));
    let authors: BTreeSet<&str> = c["values"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["by"].as_str().unwrap())
        .collect();
    assert_eq!(authors, BTreeSet::from(["a1", "a2"]));
    // Nothing lost: every edit is there.
    let inc = &ra1[&i1];
    assert_eq!(inc["title"], "Attack on Kiwanja market");
    assert_eq!(inc["violations"].as_array().unwrap().len(), 2);
    assert!(inc["status"]
        .as_array()
        .unwrap()
        .iter()
        .any(|s| s["status"] == "verified"));
    assert_eq!(ra1[&i2]["narrative"], "Second officer's account.");
    assert_eq!(rrv[&j1]["narrative"], "Updated fictional narrative.");
    let hashes = |d: &Device| -> BTreeSet<String> {
        d.store().change_hashes().unwrap().into_iter().collect()
    };
    let all_rv = hashes(&rv);
    for d in [&a1, &a2, &b1] {
        assert!(
            hashes(d).is_subset(&all_rv),
            "{} has changes the reviewer lacks",
            d.name
        );
    }
    let stats = server_stats(&server);
    assert_eq!(stats["changes"], stats["distinct_hashes"]);
    assert_eq!(stats["changes"].as_u64().unwrap() as usize, all_rv.len());

    // Resolving the conflict on one device clears it everywhere after the next syncs. The
    // violation is verified, so its children are the reviewer's to settle (which value won the
    // merge depends on the devices' random actor ids: an officer could only keep the winner).
    rv.mrm_ok(
        &["incident", "resolve", &i1, "--field", &path, "--value", "3"],
        None,
    );
    for d in [&rv, &a1, &a2] {
        d.sync();
    }
    for d in [&a1, &a2, &rv] {
        let view = d.store().incident_view(&i1).unwrap();
        assert!(
            view.conflicts.is_empty(),
            "{} still shows a conflict",
            d.name
        );
        assert_eq!(view.incident.violations[0].victims.boys, 3);
    }

    // A record reassigned to team A enters a1's scope with its whole history.
    edit(&rv, &j1, json!({"team": "A"}));
    rv.sync();
    a1.sync();
    let h_a1 = a1.store().history(&j1).unwrap();
    let h_rv = rv.store().history(&j1).unwrap();
    assert_eq!(h_a1, h_rv, "a1 must get j1's whole history");
    assert!(h_a1.iter().any(|h| h.by == "b1"));
}

fn sync_resumes_after_cuts_and_a_server_crash(backend: Backend) {
    let tmp = tempfile::tempdir().unwrap();
    let endpoint = EndpointDb::new(backend, tmp.path());
    let mut server = endpoint.serve();
    let proxy = Proxy::start(&server.addr);
    let url = proxy.url();
    let a1 = Device::enrolled(tmp.path(), "a1", "A", "officer", &server, &url);
    let b1 = Device::enrolled(tmp.path(), "b1", "B", "officer", &server, &url);
    let rv = Device::enrolled(tmp.path(), "rv", "HQ", "reviewer", &server, &url);
    a1.mrm_ok(&["demo", "--incidents", "300"], None);
    let a1_changes = a1.store().change_count().unwrap();

    // The endpoint's own changes so far: the device registry, one per enrollment.
    let registry = server_stats(&server)["changes"].as_i64().unwrap();

    // The link drops in the middle of the push: the endpoint stores nothing of the cut batch.
    proxy.set(Fault::CutUpstreamAfter(20_000));
    let out = a1.mrm(&["sync", "--attempts", "1"], None);
    assert!(!out.status.success(), "a cut push must fail");
    assert!(String::from_utf8_lossy(&out.stderr).contains("sync endpoint"));
    assert_eq!(server_stats(&server)["changes"], registry);
    // Each record says it waits to be sent, through the cut.
    let status: serde_json::Value =
        serde_json::from_str(&a1.mrm_ok(&["status", "--json"], None)).unwrap();
    let waiting = status["records"].as_array().unwrap();
    let incidents = a1.store().stats().unwrap().incidents as usize;
    assert!(
        waiting.len() >= incidents && waiting.iter().all(|r| r["state"] == "to_send"),
        "{}",
        status["sync"]
    );
    assert_eq!(
        status["sync"]["to_send"].as_u64().unwrap() as usize,
        waiting.len()
    );
    proxy.set(Fault::None);
    let r = a1.sync();
    assert_eq!(r["pushed"].as_i64().unwrap(), a1_changes);
    let status: serde_json::Value =
        serde_json::from_str(&a1.mrm_ok(&["status", "--json"], None)).unwrap();
    assert_eq!(
        status["records"].as_array().unwrap().len(),
        0,
        "{}",
        status["sync"]
    );
    assert_eq!(status["sync"]["to_send"], 0);
    let stats = server_stats(&server);
    assert_eq!(stats["changes"].as_i64().unwrap(), a1_changes + registry);
    let a1_changes = a1_changes + registry;

    // The link drops in the middle of a pull: the pages that arrived stay, the rest comes next
    // time, without duplicates on the endpoint.
    proxy.set(Fault::CutDownstreamAfter(60_000));
    let out = rv.mrm(&["sync", "--attempts", "1", "--page", "40"], None);
    assert!(!out.status.success(), "a cut pull must fail");
    let partial = rv.store().change_count().unwrap();
    assert!(
        partial > 0 && partial < a1_changes,
        "pages before the cut are kept ({partial})"
    );
    proxy.set(Fault::None);
    let r = rv.sync();
    assert_eq!(r["pulled"].as_i64().unwrap(), a1_changes - partial);
    assert_eq!(rv.store().change_count().unwrap(), a1_changes);

    // The endpoint crashes (SIGKILL) in the middle of a sync and comes back.
    // Requests are small (sized to the link) and the endpoint restarts in a moment, so a crash
    // can fall between two of them and go unseen: rounds with new work until two syncs were
    // cut (or eight rounds).
    let mut b1_changes = 0;
    let mut cut = 0;
    for (round, after_bytes) in [1usize, 50_000, 20_000, 100_000, 1, 50_000, 20_000, 1]
        .into_iter()
        .enumerate()
    {
        if cut >= 2 {
            break;
        }
        let before = b1.store().change_count().unwrap();
        let seed = (9 + round).to_string();
        b1.mrm_ok(&["demo", "--incidents", "150", "--seed", &seed], None);
        b1_changes += b1.store().change_count().unwrap() - before;
        let mut child = b1.spawn(&["sync", "--attempts", "1", "--page", "50"]);
        // The crash comes once the sync has moved this many bytes (not after a delay: the
        // process spends its first half second deriving the store's key).
        let from = proxy.relayed.load(std::sync::atomic::Ordering::Relaxed);
        while proxy.relayed.load(std::sync::atomic::Ordering::Relaxed) < from + after_bytes
            && child.try_wait().unwrap().is_none()
        {
            std::thread::sleep(Duration::from_millis(2));
        }
        server.restart();
        let out = child.wait_with_output().unwrap();
        if !out.status.success() {
            let err = String::from_utf8_lossy(&out.stderr);
            eprintln!("cut after {after_bytes} bytes: {err}");
            assert!(err.contains("sync endpoint"), "{err}");
            cut += 1;
        }
    }
    assert!(cut > 0, "the endpoint never died under a sync");
    b1.sync();
    rv.sync();
    let stats = server_stats(&server);
    assert_eq!(
        stats["changes"], stats["distinct_hashes"],
        "no duplicate change on the endpoint"
    );
    assert_eq!(stats["changes"].as_i64().unwrap(), a1_changes + b1_changes);
    assert_eq!(rv.store().change_count().unwrap(), a1_changes + b1_changes);
    let reviewer = records(&rv);
    for (id, v) in records(&b1) {
        assert_eq!(Some(&v), reviewer.get(&id));
    }
    assert!(proxy.cuts.load(std::sync::atomic::Ordering::Relaxed) >= 2);
}

fn a_record_reassigned_while_offline_is_held_and_does_not_block_the_others(backend: Backend) {
    let tmp = tempfile::tempdir().unwrap();
    let endpoint = EndpointDb::new(backend, tmp.path());
    let server = endpoint.serve();
    let url = server.url();
    let a1 = Device::enrolled(tmp.path(), "a1", "A", "officer", &server, &url);
    let rv = Device::enrolled(tmp.path(), "rv", "HQ", "reviewer", &server, &url);
    let i1 = a1.add_incident("Reassigned while the patrol was out", "abduction");
    a1.sync();
    rv.sync();

    // Offline, a1 keeps editing i1 and records i2; meanwhile the reviewer gives i1 to team B.
    edit(
        &a1,
        &i1,
        json!({"narrative": "written on patrol, before the reassignment"}),
    );
    let i2 = a1.add_incident("Recorded on the same patrol", "maiming");
    edit(&rv, &i1, json!({"team": "B"}));
    rv.sync();

    let report = a1.sync();
    let warnings = report["warnings"].to_string();
    assert!(
        warnings.contains(&i1) && warnings.contains("team B"),
        "{report}"
    );
    assert_eq!(report["held"][0]["doc_id"], i1.as_str());
    // i2 went up all the same.
    rv.sync();
    assert!(
        records(&rv).contains_key(&i2),
        "the other record was blocked"
    );
    // The edit stays on a1 (nothing deleted); each sync tries it again and still names it.
    let status = a1.mrm_ok(&["status"], None);
    assert!(status.contains("held") && status.contains(&i1), "{status}");
    let again = a1.sync();
    assert_eq!(again["pushed"], 0, "{again}");
    assert_eq!(again["held"][0]["doc_id"], i1.as_str(), "{again}");
    assert!(again["warnings"].as_array().unwrap().is_empty(), "{again}");
    let shown = a1.mrm_ok(&["incident", "show", &i1, "--json"], None);
    assert!(shown.contains("written on patrol"), "{shown}");
}

fn a_refused_record_is_held_retried_and_does_not_block_the_others(backend: Backend) {
    let tmp = tempfile::tempdir().unwrap();
    let endpoint = EndpointDb::new(backend, tmp.path());
    let server = endpoint.serve();
    let url = server.url();
    // A store used before it is enrolled records a decision, then enrolls as an officer: the
    // endpoint refuses that record, and only that record.
    let a1 = Device::new(tmp.path(), "a1", "A");
    let i1 = a1.add_incident("Decided before enrollment", "abduction");
    let v1: Value =
        serde_json::from_str(&a1.mrm_ok(&["incident", "show", &i1, "--json"], None)).unwrap();
    let v1 = v1["violations"][0]["id"].as_str().unwrap().to_string();
    a1.mrm_ok(&["verify", &i1, &v1, "--status", "verified"], None);
    let token = server.token("a1", "A", "officer");
    a1.mrm_ok(&["enroll", "--server", &url, "--token", &token], None);
    let i2 = a1.add_incident("Recorded after enrollment", "maiming");
    let rv = Device::enrolled(tmp.path(), "rv", "HQ", "reviewer", &server, &url);

    let report = a1.sync();
    assert_eq!(report["held"][0]["doc_id"], i1.as_str(), "{report}");
    assert!(
        report["held"][0]["reason"]
            .as_str()
            .unwrap()
            .contains("only a reviewer"),
        "{report}"
    );
    // i2 went up all the same.
    rv.sync();
    assert!(
        records(&rv).contains_key(&i2),
        "the other record was blocked"
    );
    assert!(!records(&rv).contains_key(&i1));
    // The record stays on a1 (nothing deleted), is named by `status`, and is tried again at
    // every sync, never silently dropped.
    let status = a1.mrm_ok(&["status"], None);
    assert!(status.contains("held") && status.contains(&i1), "{status}");
    let again = a1.sync();
    assert_eq!(again["held"][0]["doc_id"], i1.as_str(), "{again}");
    assert_eq!(again["pushed"], 0, "{again}");
    let shown = a1.mrm_ok(&["incident", "show", &i1, "--json"], None);
    assert!(shown.contains("Decided before enrollment"), "{shown}");
}

fn a_push_whose_answer_was_lost_is_reported_as_on_the_endpoint(backend: Backend) {
    let tmp = tempfile::tempdir().unwrap();
    let endpoint = EndpointDb::new(backend, tmp.path());
    let server = endpoint.serve();
    let url = server.url();
    let a1 = Device::enrolled(tmp.path(), "a1", "A", "officer", &server, &url);
    a1.add_incident("Attack on Kiwanja", "killing");
    a1.add_incident("Abduction near Bunia", "abduction");
    // The push reaches the endpoint and is stored, but its answer never comes back: the device
    // still counts those changes as unsent.
    let unpushed: Vec<(String, Vec<u8>)> = a1
        .store()
        .unpushed(1000, 1 << 30)
        .unwrap()
        .into_iter()
        .map(|u| (u.doc_id, u.bytes))
        .collect();
    let n = unpushed.len();
    let body = mrm_crdt::bundle::encode_frames(&json!({}), &unpushed).unwrap();
    let _ = rustls::crypto::ring::default_provider().install_default();
    let resp = reqwest::blocking::Client::new()
        .post(format!("{url}/v1/push"))
        .header("Authorization", format!("Bearer {}", a1.credential()))
        .body(body)
        .send()
        .unwrap();
    assert!(resp.status().is_success());
    // The retry says they are on the endpoint, not "pushed 0".
    let out = a1.mrm_ok(&["sync"], None);
    assert!(
        out.contains(&format!(
            "sent {n} ({n} of them already on the endpoint: an earlier answer was lost)"
        )),
        "{out}"
    );
    let report = a1.sync();
    assert_eq!(report["pushed"], 0, "nothing left to send: {report}");
}

fn a_closed_period_reaches_the_reviewers_not_the_officers_of_other_teams(backend: Backend) {
    let tmp = tempfile::tempdir().unwrap();
    let endpoint = EndpointDb::new(backend, tmp.path());
    let server = endpoint.serve();
    let url = server.url();
    let officer = Device::enrolled(tmp.path(), "o1", "Goma", "officer", &server, &url);
    let reviewer = Device::enrolled(tmp.path(), "r1", "HQ", "reviewer", &server, &url);
    let other_reviewer = Device::enrolled(tmp.path(), "r2", "Bunia", "reviewer", &server, &url);
    officer.add_incident("Attack on Kiwanja", "killing");
    officer.sync();
    reviewer.sync();
    let year = chrono::Local::now().format("%Y").to_string();
    let (from, to) = (format!("{year}-01-01"), format!("{year}-12-31"));
    reviewer.mrm_ok(
        &[
            "period",
            "close",
            "Year so far",
            "--from",
            &from,
            "--to",
            &to,
        ],
        None,
    );
    let frozen: Value = serde_json::from_str(&reviewer.mrm_ok(
        &["report", "ghn", "--period", "Year so far", "--json"],
        None,
    ))
    .unwrap();
    assert_eq!(frozen["report"]["unverified"]["total"]["violations"], 1);
    reviewer.sync();
    // Another reviewer receives the mission's closed period with the same figures, named by
    // the endpoint's registry.
    other_reviewer.sync();
    let elsewhere: Value = serde_json::from_str(&other_reviewer.mrm_ok(
        &["report", "ghn", "--period", "Year so far", "--json"],
        None,
    ))
    .unwrap();
    assert_eq!(elsewhere["report"], frozen["report"]);
    assert_eq!(elsewhere["closed_by"], "r1");
    // An officer does not: the period names every team's records.
    officer.sync();
    let out = officer.mrm(&["report", "ghn", "--period", "Year so far"], None);
    assert!(!out.status.success());
    // An officer's laptop is not allowed to close one.
    let out = officer.mrm(
        &["period", "close", "Mine", "--from", &from, "--to", &to],
        None,
    );
    assert!(!out.status.success());
}

mrm_e2e::on_both_backends!(
    four_devices_converge_within_their_scopes,
    sync_resumes_after_cuts_and_a_server_crash,
    a_record_reassigned_while_offline_is_held_and_does_not_block_the_others,
    a_refused_record_is_held_retried_and_does_not_block_the_others,
    a_push_whose_answer_was_lost_is_reported_as_on_the_endpoint,
    a_closed_period_reaches_the_reviewers_not_the_officers_of_other_teams,
);
