//! `mrm release|training|engagement` through the real binary (issue 19 §4): recorded from JSON,
//! shown and listed, edited, refused with the field and the reason, never as another kind.

mod common;

use common::{init, init_as, ok, refused};
use serde_json::{json, Value};

#[test]
fn releases_trainings_and_engagements_from_the_command_line() {
    let t = tempfile::tempdir().unwrap();
    let d = t.path().join("store");
    init(&d);
    let release = json!({"date": "2026-03-02", "place": "Bunia", "boys": 31, "girls": 6,
        "party": "Group Alpha", "instrument": "unilateral_declaration",
        "partner": "UNICEF transit centre"});
    let rid = ok(&d, &["release", "add", "--json", "-"], &release.to_string())
        .trim()
        .to_string();
    let training = json!({"date": "2026-04-10", "place": "Goma", "audience": "police",
        "participants": {"male": 130, "female": 22}, "topic": "Child protection in operations",
        "training_of_trainers": true});
    let tid = ok(
        &d,
        &["training", "add", "--json", "-"],
        &training.to_string(),
    )
    .trim()
    .to_string();
    let engagement = json!({"date": "2026-05-05", "party": "Group Alpha", "kind": "negotiation",
        "level": "commander", "subject": "An action plan on recruitment",
        "commitments": "To release the children in its ranks."});
    let eid = ok(
        &d,
        &["engagement", "add", "--json", "-"],
        &engagement.to_string(),
    )
    .trim()
    .to_string();

    // Shown whole in JSON, in words otherwise.
    let shown: Value =
        serde_json::from_str(&ok(&d, &["release", "show", &rid, "--json"], "")).unwrap();
    assert_eq!(shown["boys"], 31);
    assert_eq!(shown["instrument"], "unilateral_declaration");
    assert_eq!(shown["record"], "release");
    assert_eq!(shown["team"], "Goma");
    let words = ok(&d, &["training", "show", &tid], "");
    assert!(
        words.contains("participants: male 130, female 22, unknown 0"),
        "{words}"
    );
    let e: Value =
        serde_json::from_str(&ok(&d, &["engagement", "show", &eid, "--json"], "")).unwrap();
    assert_eq!(e["kind"], "negotiation");

    // Edited, a field cleared; listed.
    ok(
        &d,
        &["release", "edit", &rid, "--json", "-"],
        r#"{"girls": 7, "partner": null}"#,
    );
    let shown: Value =
        serde_json::from_str(&ok(&d, &["release", "show", &rid, "--json"], "")).unwrap();
    assert_eq!(shown["girls"], 7);
    assert!(shown.get("partner").is_none());
    let list: Value = serde_json::from_str(&ok(&d, &["release", "list", "--json"], "")).unwrap();
    assert_eq!(list.as_array().unwrap().len(), 1);
    assert!(ok(&d, &["engagement", "list"], "").contains("negotiation with Group Alpha"));

    // Refused, with the field and why, and nothing stored.
    for (kind, body, field) in [
        (
            "release",
            json!({"date": "2026-03-02", "place": "Bunia", "party": "X", "instrument": "action_plan"}),
            "boys",
        ),
        (
            "release",
            json!({"date": "2031-01-01", "place": "Bunia", "boys": 1, "party": "X", "instrument": "action_plan"}),
            "date",
        ),
        (
            "release",
            json!({"date": "2026-03-02", "place": "Bunia", "boys": 1, "party": "X", "instrument": "treaty"}),
            "instrument",
        ),
        (
            "training",
            json!({"date": "2026-04-10", "place": "Goma", "audience": "police", "topic": "x", "participants": {"male": -4}}),
            "participants.male",
        ),
        (
            "training",
            json!({"date": "2026-04-10", "place": "Goma", "audience": "police", "topic": "x", "child_name": "Maria"}),
            "child_name",
        ),
        (
            "engagement",
            json!({"date": "2026-05-05", "party": "Group Alpha", "kind": "threat", "subject": "x"}),
            "kind",
        ),
        (
            "engagement",
            json!({"date": "2026-05-05", "kind": "advocacy", "subject": "x"}),
            "party",
        ),
    ] {
        let err = refused(&d, &[kind, "add", "--json", "-"], &body.to_string());
        assert!(err.contains(field), "{kind} {body}: {err}");
    }
    for kind in ["release", "training", "engagement"] {
        let list: Value = serde_json::from_str(&ok(&d, &[kind, "list", "--json"], "")).unwrap();
        assert_eq!(list.as_array().unwrap().len(), 1, "{kind}");
    }
    // One kind's id is not another's.
    let err = refused(&d, &["training", "show", &rid], "");
    assert!(err.contains("is a release"), "{err}");
}

fn show(d: &std::path::Path, kind: &str, id: &str) -> Value {
    serde_json::from_str(&ok(d, &[kind, "show", id, "--json"], "")).unwrap()
}

/// Send everything `from` holds that `to` lacks through a USB bundle; the import's report.
fn by_usb(from: &std::path::Path, to: &std::path::Path, file: &std::path::Path) -> Value {
    let (f, t) = (file.to_str().unwrap(), to.to_str().unwrap());
    ok(from, &["bundle", "export", "--out", f, "--for", t], "");
    serde_json::from_str(&ok(to, &["bundle", "import", f, "--json"], "")).unwrap()
}

#[test]
fn activities_travel_by_usb_and_show_their_conflicts_until_settled() {
    let t = tempfile::tempdir().unwrap();
    let (a, b) = (t.path().join("a"), t.path().join("b"));
    let usb = t.path().join("usb.mrmb");
    init(&a);
    init_as(&b, "Awa D.");
    let mut ids = Vec::new();
    for (kind, body) in [
        (
            "release",
            json!({"date": "2026-03-02", "place": "Bunia", "boys": 31, "girls": 6,
                "party": "Group Alpha", "instrument": "unilateral_declaration"}),
        ),
        (
            "training",
            json!({"date": "2026-04-10", "place": "Goma", "audience": "police",
                "participants": {"male": 130, "female": 22}, "topic": "Child protection"}),
        ),
        (
            "engagement",
            json!({"date": "2026-05-05", "party": "Group Alpha", "kind": "advocacy",
                "subject": "Access to detention centres"}),
        ),
    ] {
        let id = ok(&a, &[kind, "add", "--json", "-"], &body.to_string());
        ids.push((kind, id.trim().to_string()));
    }
    let report = by_usb(&a, &b, &usb);
    assert_eq!(report["records_new"], 3, "{report}");
    for (kind, id) in &ids {
        assert_eq!(
            show(&a, kind, id),
            show(&b, kind, id),
            "{kind} arrived whole"
        );
    }
    // A second import adds nothing.
    let again: Value = serde_json::from_str(&ok(
        &b,
        &["bundle", "import", usb.to_str().unwrap(), "--json"],
        "",
    ))
    .unwrap();
    assert_eq!(again["new_changes"], 0, "{again}");

    // Both correct the girls released while apart: neither value is lost, both laptops show
    // the same conflict with who wrote each value.
    let rid = &ids[0].1;
    ok(
        &a,
        &["release", "edit", rid, "--json", "-"],
        r#"{"girls": 7}"#,
    );
    ok(
        &b,
        &["release", "edit", rid, "--json", "-"],
        r#"{"girls": 8}"#,
    );
    let b_to_a = t.path().join("b-to-a.mrmb");
    by_usb(&b, &a, &b_to_a);
    by_usb(&a, &b, &usb);
    let (ca, cb) = (show(&a, "release", rid), show(&b, "release", rid));
    assert_eq!(ca["conflicts"], cb["conflicts"]);
    let conflict = &ca["conflicts"][0];
    assert_eq!(conflict["path"], "girls", "{ca}");
    let mut values: Vec<i64> = conflict["values"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["value"].as_i64().unwrap())
        .collect();
    values.sort();
    assert_eq!(values, [7, 8]);
    let words = ok(&a, &["release", "show", rid], "");
    assert!(words.contains("CONFLICT girls: "), "{words}");
    assert!(
        words.contains("(Rose R.)") && words.contains("(Awa D.)"),
        "{words}"
    );

    // A new value settles it, on both laptops once exchanged.
    ok(
        &a,
        &["release", "edit", rid, "--json", "-"],
        r#"{"girls": 8}"#,
    );
    by_usb(&a, &b, &usb);
    for d in [&a, &b] {
        let r = show(d, "release", rid);
        assert_eq!(r["girls"], 8);
        assert!(
            r["conflicts"].as_array().is_none_or(|c| c.is_empty()),
            "{r}"
        );
    }
}
