//! The party registry through the endpoint (issue 19 §3), over real HTTP on loopback: the
//! administrators set it with the mission configuration, devices receive it, a name typed on a
//! laptop is matched to its party, a name it does not know waits for a reviewer, and the GHN
//! counts a renamed party once.

use mrm_e2e::{Device, Server};
use serde_json::{json, Value};

fn add(d: &Device, title: &str, party: &str) -> String {
    let j = json!({"title": title, "occurred_on": "2026-10-01", "reported_on": "2026-10-02",
        "location": {"admin1": "North Kivu", "place": "Kiwanja"},
        "violations": [{"type": "killing", "victims": {"boys": 1},
                        "perpetrator": {"party": party, "category": "unknown"}}]});
    d.mrm_ok(&["incident", "add", "--json", "-"], Some(&j.to_string()))
        .trim()
        .to_string()
}

#[test]
fn the_registry_reaches_devices_and_a_renamed_party_counts_once() {
    let tmp = tempfile::tempdir().unwrap();
    let server = Server::start(&tmp.path().join("server.sqlite"));
    let url = server.url();
    // A registry that would make one name two parties is refused, and changes nothing.
    let bad = json!({"mission": "MONUSCO", "party_registry": [
        {"id": "a", "name": "Alpha", "category": "non_state_armed_group"},
        {"id": "b", "name": "Beta", "category": "other", "aliases": ["alpha"]}]});
    let out = server.admin_out(&["config", "set", "--json", "-"], Some(&bad.to_string()));
    assert!(
        !out.status.success(),
        "a registry naming one name twice was accepted"
    );
    server.set_config(
        &json!({"mission": "MONUSCO", "party_registry": [
            {"id": "alpha", "name": "Alpha Front", "category": "non_state_armed_group",
             "aliases": ["Group Alpha"], "listed_for": ["recruitment_use"],
             "action_plan": {"signed_on": "2024-05-01", "status": "in_progress"}}]})
        .to_string(),
    );
    let officer = Device::enrolled(tmp.path(), "Awa D.", "Goma", "officer", &server, &url);
    let adviser = Device::enrolled(tmp.path(), "Rose R.", "HQ", "reviewer", &server, &url);
    officer.sync();
    let reg: Value =
        serde_json::from_str(&officer.mrm_ok(&["party", "list", "--json"], None)).unwrap();
    assert_eq!(reg[0]["action_plan"]["status"], "in_progress");
    add(&officer, "Under the former name", "Group Alpha");
    add(&officer, "Under the new name", "Alpha Front");
    let unknown = add(&officer, "Unknown group", "Grp Alfa");
    officer.sync();
    adviser.sync();
    let unmatched: Value =
        serde_json::from_str(&adviser.mrm_ok(&["party", "unmatched", "--json"], None)).unwrap();
    assert_eq!(
        unmatched,
        json!([{"name": "Grp Alfa", "violations": 1, "incidents": 1}])
    );
    // The officer's laptop may not match it; the adviser's matches every record naming it.
    let refused = officer.mrm(&["party", "match", "Grp Alfa", "--party", "alpha"], None);
    assert!(!refused.status.success());
    assert!(
        String::from_utf8_lossy(&refused.stderr).contains("only a reviewer may match"),
        "{}",
        String::from_utf8_lossy(&refused.stderr)
    );
    let matched: Value = serde_json::from_str(&adviser.mrm_ok(
        &["party", "match", "Grp Alfa", "--party", "alpha", "--json"],
        None,
    ))
    .unwrap();
    assert_eq!(matched["violations"], 1, "{matched}");
    assert_eq!(matched["incidents"], json!([unknown]));
    adviser.sync();
    officer.sync();
    let r: Value = serde_json::from_str(&officer.mrm_ok(
        &[
            "report",
            "ghn",
            "--from",
            "2026-10-01",
            "--to",
            "2026-12-31",
            "--json",
        ],
        None,
    ))
    .unwrap();
    let rows = r["unverified"]["by_perpetrator"].as_array().unwrap();
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert_eq!(rows[0]["party"], "Alpha Front");
    assert_eq!(rows[0]["violations"], 3);
}
