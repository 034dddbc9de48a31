//! Merges through the real binaries and a real endpoint: laptops in opposite time zones, a laptop
//! whose clock is wrong, and removals made apart from decisions. After every merge each record
//! stays editable by whoever may, and no decision is lost.

use mrm_e2e::*;
use serde_json::{json, Value};

fn show(d: &Device, id: &str) -> Value {
    serde_json::from_str(&d.mrm_ok(&["incident", "show", id, "--json"], None)).unwrap()
}

fn edit(d: &Device, id: &str, patch: Value) {
    d.mrm_ok(
        &["incident", "edit", id, "--json", "-"],
        Some(&patch.to_string()),
    );
}

/// Every action a role allows, on `id`: an edit, a verification (a decision for a reviewer, a
/// field event for an officer) and a comment.
fn still_editable(d: &Device, id: &str, status: &str) {
    edit(
        d,
        id,
        json!({"narrative": format!("Edited by {} after the merge.", d.name)}),
    );
    let v = show(d, id)["violations"][0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    d.mrm_ok(&["verify", id, &v, "--status", status], None);
    d.mrm_ok(&["incident", "comment", id, "still editable"], None);
}

fn incident(title: &str, occurred: &str) -> String {
    json!({
        "title": title,
        "occurred_on": occurred,
        "reported_on": occurred,
        "location": {"admin1": "North Kivu", "admin2": "Rutshuru", "place": "Kiwanja"},
        "narrative": "Fictional narrative.",
        "sources": [{"kind": "eyewitness", "consent": true}],
        "violations": [{"type": "abduction", "victims": {"boys": 1, "girls": 0, "sex_unknown": 0},
                        "perpetrator": {"party": "Group Alpha", "category": "armed_group"}}]
    })
    .to_string()
}

#[test]
fn an_incident_dated_today_at_utc_plus_14_is_edited_and_verified_at_utc_minus_12() {
    let tmp = tempfile::tempdir().unwrap();
    let server = Server::start(&tmp.path().join("endpoint.db"));
    let url = server.url();
    let mut officer = Device::enrolled(tmp.path(), "kiribati", "A", "officer", &server, &url);
    let mut reviewer = Device::enrolled(tmp.path(), "baker", "HQ", "reviewer", &server, &url);
    // POSIX zone names count the other way: Etc/GMT-14 is UTC+14. Their calendars are always
    // one or two days apart.
    officer.set_env("TZ", "Etc/GMT-14");
    reviewer.set_env("TZ", "Etc/GMT+12");
    let their_today = (chrono::Utc::now() + chrono::Duration::hours(14))
        .format("%Y-%m-%d")
        .to_string();
    let id = officer
        .mrm_ok(
            &["incident", "add", "--json", "-"],
            Some(&incident("Recorded just after midnight", &their_today)),
        )
        .trim()
        .to_string();
    officer.sync();
    reviewer.sync();
    still_editable(&reviewer, &id, "verified");
    let v = show(&reviewer, &id);
    let trail = v["violations"][0]["verification"].as_array().unwrap();
    let at = trail.iter().find(|e| e["status"] == "verified").unwrap()["at"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        at.ends_with("-12:00"),
        "stamped in the writer's offset: {at}"
    );
    reviewer.sync();
    officer.sync();
    let seen = show(&officer, &id);
    assert_eq!(seen["status"][0]["status"], "verified", "{seen}");
    assert_eq!(seen["attention"], json!([]), "{seen}");
    still_editable(&officer, &id, "pending_verification");
    // The reviewer's decision stands: an officer's later field event never undoes it.
    assert_eq!(show(&officer, &id)["status"][0]["status"], "verified");
    // Shown in the reader's zone: the -12:00 stamp reads 26 hours later at UTC+14.
    let text = officer.mrm_ok(&["incident", "show", &id], None);
    let local = chrono::DateTime::parse_from_rfc3339(&at)
        .unwrap()
        .with_timezone(&chrono::FixedOffset::east_opt(14 * 3600).unwrap())
        .format("%Y-%m-%d %H:%M")
        .to_string();
    assert!(text.contains(&local), "{local} not in {text}");
    officer.sync();
}

#[test]
fn a_source_withdrawn_while_a_decision_cites_it_keeps_both_and_stays_editable() {
    let tmp = tempfile::tempdir().unwrap();
    let server = Server::start(&tmp.path().join("endpoint.db"));
    let url = server.url();
    let officer = Device::enrolled(tmp.path(), "omar", "A", "officer", &server, &url);
    let reviewer = Device::enrolled(tmp.path(), "rose", "HQ", "reviewer", &server, &url);
    let id = officer.add_incident("A source removed apart", "abduction");
    officer.sync();
    reviewer.sync();
    let inc = show(&officer, &id);
    let (vid, sid) = (
        inc["violations"][0]["id"].as_str().unwrap().to_string(),
        inc["sources"][0]["id"].as_str().unwrap().to_string(),
    );
    // Apart: the officer removes the source; the reviewer verifies citing it.
    edit(
        &officer,
        &id,
        json!({"remove": [sid], "remove_reason": "the witness withdrew consent"}),
    );
    reviewer.mrm_ok(
        &[
            "verify", &id, &vid, "--status", "verified", "--source", &sid,
        ],
        None,
    );
    for report in [officer.sync(), reviewer.sync(), officer.sync()] {
        assert_eq!(report["held"], json!([]), "{report}");
    }
    for d in [&officer, &reviewer] {
        let v = show(d, &id);
        let source = &v["sources"][0];
        assert_eq!(
            source["withdrawn"]["reason"],
            "the witness withdrew consent"
        );
        let trail = v["violations"][0]["verification"].as_array().unwrap();
        let event = trail.iter().find(|e| e["status"] == "verified").unwrap();
        assert_eq!(
            event["source_ids"],
            json!([sid]),
            "the decision keeps its source"
        );
        assert_eq!(v["status"][0]["status"], "verified");
        // A decision that rests on a withdrawn source is for a reviewer to look at again.
        assert!(
            v["attention"]
                .to_string()
                .contains("cites_withdrawn_source"),
            "{v}"
        );
    }
    still_editable(&reviewer, &id, "verified");
    still_editable(&officer, &id, "pending_verification");
    for report in [reviewer.sync(), officer.sync()] {
        assert_eq!(report["held"], json!([]), "{report}");
    }
}

#[test]
fn a_violation_withdrawn_while_it_is_verified_keeps_the_decision_and_shows_the_conflict() {
    let tmp = tempfile::tempdir().unwrap();
    let server = Server::start(&tmp.path().join("endpoint.db"));
    let url = server.url();
    let officer = Device::enrolled(tmp.path(), "omar", "A", "officer", &server, &url);
    let reviewer = Device::enrolled(tmp.path(), "rose", "HQ", "reviewer", &server, &url);
    let id = officer.add_incident("A violation removed apart", "abduction");
    officer.sync();
    reviewer.sync();
    let vid = show(&officer, &id)["violations"][0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    edit(
        &officer,
        &id,
        json!({"remove": [vid], "remove_reason": "recorded twice"}),
    );
    reviewer.mrm_ok(&["verify", &id, &vid, "--status", "verified"], None);
    for report in [officer.sync(), reviewer.sync(), officer.sync()] {
        assert_eq!(report["held"], json!([]), "{report}");
    }
    for d in [&officer, &reviewer] {
        let v = show(d, &id);
        assert_eq!(v["status"][0]["status"], "verified", "{v}");
        assert_eq!(v["status"][0]["withdrawal_contested"], true, "{v}");
        assert!(
            v["attention"].to_string().contains("withdrawn by omar"),
            "{v}"
        );
        let stats: Value = serde_json::from_str(&d.mrm_ok(&["stats", "--json"], None)).unwrap();
        assert_eq!(
            stats["verified_violations"], 1,
            "the figures kept the decision"
        );
        let listed = d.mrm_ok(&["incident", "list", "--needs-attention"], None);
        assert!(
            listed.contains(&id) && listed.contains("NEEDS ATTENTION"),
            "{listed}"
        );
        let text = d.mrm_ok(&["incident", "show", &id], None);
        assert!(text.contains("NEEDS ATTENTION"), "{text}");
    }
    still_editable(&officer, &id, "pending_verification");
    // The reviewer settles it: withdrawn again, knowing the decision.
    edit(
        &reviewer,
        &id,
        json!({"remove": [vid], "remove_reason": "recorded twice, confirmed"}),
    );
    reviewer.sync();
    officer.sync();
    let v = show(&officer, &id);
    assert_eq!(v["status"][0]["withdrawn"], true, "{v}");
    assert_eq!(v["attention"], json!([]), "{v}");
    let listed = officer.mrm_ok(&["incident", "list", "--needs-attention"], None);
    assert!(!listed.contains(&id), "{listed}");
}

#[test]
fn a_laptop_whose_clock_is_days_ahead_is_told_at_sync_and_its_work_waits_for_the_fix() {
    let tmp = tempfile::tempdir().unwrap();
    let server = Server::start(&tmp.path().join("endpoint.db"));
    let url = server.url();
    let mut officer = Device::enrolled(tmp.path(), "omar", "A", "officer", &server, &url);
    let colleague = Device::enrolled(tmp.path(), "ali", "A", "officer", &server, &url);
    officer.set_env("MRM_CLOCK_ERROR_SECS", &(3 * 86_400).to_string());
    let id = officer.add_incident("Recorded on a laptop three days ahead", "maiming");
    let report = officer.sync();
    assert_eq!(
        report["clock_ahead_secs"].as_i64().map(|s| s / 86_400),
        Some(3)
    );
    let warnings = report["warnings"].to_string();
    assert!(
        warnings.contains("3 days ahead") && warnings.contains("this laptop's date"),
        "{report}"
    );
    // Refused and held, not lost: named with its reason, and kept on the laptop.
    assert_eq!(report["held"][0]["doc_id"], id.as_str(), "{report}");
    let text = officer.mrm(&["sync"], None);
    let said =
        String::from_utf8_lossy(&text.stdout).to_string() + &String::from_utf8_lossy(&text.stderr);
    assert!(said.contains("3 days ahead"), "{said}");
    // A colleague's work still arrives on the laptop whose clock is wrong, though it is
    // stamped days "before" that laptop's now.
    let other = colleague.add_incident("Recorded on a laptop whose clock is right", "killing");
    colleague.sync();
    officer.sync();
    assert!(show(&officer, &other)["title"].is_string());
    // Once the clock is set right, the warning goes and new work goes up; what was stamped
    // ahead stays held on the laptop (named, with its reason) until the endpoint's clock
    // reaches its stamps, and is tried at every sync.
    officer.set_env("MRM_CLOCK_ERROR_SECS", "0");
    let fixed = officer.sync();
    assert_eq!(fixed["clock_ahead_secs"], Value::Null, "{fixed}");
    assert_eq!(fixed["warnings"], json!([]), "{fixed}");
    assert_eq!(fixed["held"][0]["doc_id"], id.as_str(), "{fixed}");
    assert!(
        fixed["held"][0]["reason"]
            .as_str()
            .unwrap()
            .contains("stamped more than a day"),
        "{fixed}"
    );
    let later = officer.add_incident("Recorded after the clock was set", "maiming");
    officer.sync();
    colleague.sync();
    assert!(show(&colleague, &later)["title"].is_string());
    assert!(show(&officer, &id)["title"].is_string());
}

#[test]
fn two_incidents_recorded_under_one_id_are_split_by_a_reviewer_through_the_endpoint() {
    let tmp = tempfile::tempdir().unwrap();
    let server = Server::start(&tmp.path().join("endpoint.db"));
    let url = server.url();
    let amina = Device::enrolled(tmp.path(), "amina", "A", "officer", &server, &url);
    let bruno = Device::enrolled(tmp.path(), "bruno", "A", "officer", &server, &url);
    let rose = Device::enrolled(tmp.path(), "rose", "HQ", "reviewer", &server, &url);
    // Both templates carried the same id.
    let id = "01a22b00-0000-7000-8000-0000000000aa";
    for (d, title, place) in [
        (&amina, "School attacked", "Kiwanja"),
        (&bruno, "Two boys abducted", "Rubare"),
    ] {
        let mut j: Value = serde_json::from_str(&incident(title, "2026-10-01")).unwrap();
        j["id"] = json!(id);
        j["location"]["place"] = json!(place);
        d.mrm_ok(&["incident", "add", "--json", "-"], Some(&j.to_string()));
    }
    for report in [amina.sync(), bruno.sync(), rose.sync()] {
        assert_eq!(report["held"], json!([]), "{report}");
    }
    let merged = show(&rose, id);
    assert!(
        merged["attention"].to_string().contains("recorded twice"),
        "{merged}"
    );
    let listed = rose.mrm_ok(&["incident", "list", "--needs-attention"], None);
    assert!(listed.contains(id), "{listed}");
    // An officer may not split; a reviewer does.
    let refused = amina.mrm(&["incident", "split", id], None);
    assert!(!refused.status.success());
    let new_id = rose
        .mrm_ok(&["incident", "split", id], None)
        .trim()
        .to_string();
    for report in [rose.sync(), amina.sync(), bruno.sync()] {
        assert_eq!(report["held"], json!([]), "{report}");
    }
    for d in [&amina, &bruno, &rose] {
        let (kept, moved) = (show(d, id), show(d, &new_id));
        let mut titles = vec![
            kept["title"].as_str().unwrap().to_string(),
            moved["title"].as_str().unwrap().to_string(),
        ];
        titles.sort();
        assert_eq!(titles, ["School attacked", "Two boys abducted"]);
        for v in [&kept, &moved] {
            assert_eq!(v["conflicts"], json!([]), "{v}");
            assert_eq!(v["attention"], json!([]), "{v}");
        }
        assert_eq!(moved["split_from"]["record"], id);
    }
    // Each officer edits their own incident, without retyping anything.
    still_editable(&amina, id, "pending_verification");
    still_editable(&bruno, &new_id, "pending_verification");
    for report in [amina.sync(), bruno.sync()] {
        assert_eq!(report["held"], json!([]), "{report}");
    }
}

#[test]
fn writes_made_apart_are_never_refused_for_meeting_and_their_merge_is_shown() {
    let tmp = tempfile::tempdir().unwrap();
    let server = Server::start(&tmp.path().join("endpoint.db"));
    let url = server.url();
    let omar = Device::enrolled(tmp.path(), "omar", "A", "officer", &server, &url);
    let ali = Device::enrolled(tmp.path(), "ali", "A", "officer", &server, &url);
    let rose = Device::enrolled(tmp.path(), "rose", "HQ", "reviewer", &server, &url);
    let i1 = omar.add_incident("Withdrawn twice apart", "abduction");
    let i2 = omar.add_incident("Counted again while verified", "maiming");
    let i3 = omar.add_incident("Submitted while accepted", "killing");
    for d in [&omar, &ali, &rose] {
        d.sync();
    }
    let first_violation = |d: &Device, id: &str| {
        show(d, id)["violations"][0]["id"]
            .as_str()
            .unwrap()
            .to_string()
    };
    let held_none = |report: Value| assert_eq!(report["held"], json!([]), "{report}");

    // Two officers withdraw the same violation apart.
    let v1 = first_violation(&omar, &i1);
    edit(
        &omar,
        &i1,
        json!({"remove": [v1], "remove_reason": "duplicate"}),
    );
    edit(
        &ali,
        &i1,
        json!({"remove": [v1], "remove_reason": "not an MRM case"}),
    );
    // An officer corrects the count while a reviewer verifies.
    let v2 = first_violation(&rose, &i2);
    rose.mrm_ok(&["verify", &i2, &v2, "--status", "verified"], None);
    held_none(rose.sync());
    edit(
        &omar,
        &i2,
        json!({"violations": [{"id": v2, "victims": {"boys": 3}}]}),
    );
    // An officer submits while a reviewer accepts a colleague's submission.
    omar.mrm_ok(&["incident", "submit", &i3], None);
    held_none(omar.sync());
    rose.sync();
    rose.mrm_ok(&["incident", "accept", &i3], None);
    held_none(rose.sync());
    ali.mrm_ok(&["incident", "submit", &i3], None);
    held_none(ali.sync());
    held_none(omar.sync());
    rose.sync();

    // All merged; what needs a person is shown, nothing was lost.
    let s2 = show(&rose, &i2);
    assert_eq!(s2["status"][0]["status"], "verified", "{s2}");
    assert!(
        s2["attention"]
            .to_string()
            .contains("changed_since_decision"),
        "{s2}"
    );
    let s1 = show(&rose, &i1);
    assert_eq!(s1["status"][0]["withdrawn"], true, "{s1}");
    let s3 = show(&rose, &i3);
    assert_eq!(s3["review"]["state"], "accepted", "{s3}");
    // And every record stays editable by whoever may.
    for id in [&i1, &i2, &i3] {
        still_editable(&rose, id, "verified");
    }
    held_none(rose.sync());
}
