//! Releases, trainings and engagements through the endpoint (issue 19 §4), over real HTTP on
//! loopback: within the team's scope like incidents (another team's officer never receives
//! them, the mission's advisers do), edited by an adviser and back on the officer's laptop.

use mrm_e2e::{Device, Server};
use serde_json::{json, Value};

fn list(d: &Device, kind: &str) -> Vec<Value> {
    let v: Value = serde_json::from_str(&d.mrm_ok(&[kind, "list", "--json"], None)).unwrap();
    v.as_array().unwrap().clone()
}

#[test]
fn activities_sync_within_their_teams_scope() {
    let tmp = tempfile::tempdir().unwrap();
    let server = Server::start(&tmp.path().join("server.sqlite"));
    let url = server.url();
    let goma = Device::enrolled(tmp.path(), "Awa D.", "Goma", "officer", &server, &url);
    let bunia = Device::enrolled(tmp.path(), "Jean K.", "Bunia", "officer", &server, &url);
    let adviser = Device::enrolled(tmp.path(), "Rose R.", "HQ", "reviewer", &server, &url);
    let release = json!({"date": "2026-03-02", "place": "Bunia", "boys": 31, "girls": 6,
        "party": "Group Alpha", "instrument": "unilateral_declaration"});
    let rid = goma
        .mrm_ok(
            &["release", "add", "--json", "-"],
            Some(&release.to_string()),
        )
        .trim()
        .to_string();
    let engagement = json!({"date": "2026-05-05", "party": "Group Alpha", "kind": "advocacy",
        "subject": "Access to detention centres"});
    goma.mrm_ok(
        &["engagement", "add", "--json", "-"],
        Some(&engagement.to_string()),
    );
    let report = goma.sync();
    assert_eq!(report["held"], json!([]), "{report}");
    bunia.sync();
    adviser.sync();
    assert!(
        list(&bunia, "release").is_empty(),
        "another team's release reached Bunia"
    );
    assert!(list(&bunia, "engagement").is_empty());
    assert_eq!(list(&adviser, "release").len(), 1);
    assert_eq!(list(&adviser, "engagement").len(), 1);

    // The adviser corrects the count; the officer gets it at the next sync.
    adviser.mrm_ok(
        &["release", "edit", &rid, "--json", "-"],
        Some(r#"{"girls": 7}"#),
    );
    adviser.sync();
    goma.sync();
    let shown: Value =
        serde_json::from_str(&goma.mrm_ok(&["release", "show", &rid, "--json"], None)).unwrap();
    assert_eq!(shown["girls"], 7);
}
