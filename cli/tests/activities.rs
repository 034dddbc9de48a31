//! `mrm release|training|engagement` through the real binary (issue 19 §4): recorded from JSON,
//! shown and listed, edited, refused with the field and the reason, never as another kind.

mod common;

use common::{init, ok, refused};
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
