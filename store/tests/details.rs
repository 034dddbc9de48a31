//! Violation details by type (issue 19 §1): recorded, validated against the violation's type,
//! cleared when the type changes, kept through merges and shown (never blocking) when a merge
//! leaves one the type does not take; deprivation of liberty as its own type.

mod common;

use common::*;
use mrm_crdt::details::{keys_of, DetailValue, DETAILS};
use mrm_crdt::model::ViolationType;
use mrm_crdt::Error;
use serde_json::json;

fn with_violation(violation: serde_json::Value) -> serde_json::Value {
    let mut j = incident_json("Details");
    j["violations"] = json!([violation]);
    j
}

/// The field errors of a refused write, as `(field, code)`.
fn refusal(e: Error) -> Vec<(String, String)> {
    match e {
        Error::Invalid { errors, .. } => errors
            .0
            .into_iter()
            .map(|f| (f.field, f.code.unwrap_or_default().to_string()))
            .collect(),
        other => panic!("expected a validation error, got {other}"),
    }
}

#[test]
fn every_type_records_its_details_and_reads_them_back() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = new_store(dir.path(), "Rose R.");
    for kind in ViolationType::ALL {
        let mut details = serde_json::Map::new();
        for spec in DETAILS.iter().filter(|d| d.types.contains(kind)) {
            let v = match spec.shape {
                mrm_crdt::details::DetailShape::Term(t) => json!(t[t.len() - 1]),
                mrm_crdt::details::DetailShape::Flag => json!(true),
                mrm_crdt::details::DetailShape::Days => json!(45),
            };
            details.insert(spec.key.to_string(), v);
        }
        let kids = if kind.has_child_victims() { 2 } else { 0 };
        let id = s
            .add_incident(&patch(with_violation(json!({
                "type": kind.as_str(),
                "victims": {"boys": kids},
                "details": details,
            }))))
            .unwrap_or_else(|e| panic!("{kind}: {e}"));
        let inc = s.incident(&id).unwrap();
        let got = serde_json::to_value(&inc.violations[0].details).unwrap();
        assert_eq!(got, serde_json::Value::Object(details), "{kind}");
        assert_eq!(
            inc.violations[0].details.len(),
            keys_of(*kind).count(),
            "{kind}"
        );
    }
}

#[test]
fn a_detail_of_another_type_or_an_unknown_value_is_refused_and_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = new_store(dir.path(), "Rose R.");
    let denial = json!({"type": "denial_humanitarian_access", "details": {"weapon": "landmine"}});
    let e = s.add_incident(&patch(with_violation(denial))).unwrap_err();
    assert_eq!(
        refusal(e),
        vec![(
            "violations[1].details.weapon".to_string(),
            "detail_not_of_type".to_string()
        )]
    );
    assert!(incident_ids(&s).is_empty());

    let id = s.add_incident(&patch(incident_json("Killing"))).unwrap();
    let vid = s.incident(&id).unwrap().violations[0].id.clone();
    for (details, code) in [
        (json!({"weapon": "spaceship"}), "detail_term"),
        (json!({"weapon": true}), "detail_term"),
        (json!({"child_name": "Maria K."}), "detail_unknown"),
        (json!({"weapon": 3}), "detail_term"),
        (json!({"form": "rape"}), "detail_not_of_type"),
    ] {
        let before = s.incident(&id).unwrap();
        let e = s
            .edit_incident(
                &id,
                &patch(json!({"violations": [{"id": vid, "details": details}]})),
            )
            .unwrap_err();
        assert_eq!(refusal(e)[0].1, code, "{details}");
        assert_eq!(s.incident(&id).unwrap(), before);
    }
    // Days are whole and bounded.
    let mu = json!({"type": "military_use_school", "details": {"duration_days": -3}});
    let e = s.add_incident(&patch(with_violation(mu))).unwrap_err();
    assert_eq!(refusal(e)[0].1, "detail_days");
}

#[test]
fn a_new_type_clears_the_details_it_does_not_take_and_history_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = new_store(dir.path(), "Rose R.");
    let id = s
        .add_incident(&patch(with_violation(json!({
            "type": "killing", "victims": {"girls": 1}, "details": {"weapon": "landmine"}
        }))))
        .unwrap();
    let vid = s.incident(&id).unwrap().violations[0].id.clone();
    // Maiming takes a weapon too: kept.
    s.edit_incident(
        &id,
        &patch(json!({"violations": [{"id": vid, "type": "maiming"}]})),
    )
    .unwrap();
    let v = &s.incident(&id).unwrap().violations[0];
    assert_eq!(
        v.details.get("weapon"),
        Some(&DetailValue::Term("landmine".into()))
    );
    // An abduction does not, and takes a purpose given in the same write.
    s.edit_incident(
        &id,
        &patch(json!({"violations": [{"id": vid, "type": "abduction", "details": {"purpose": "ransom_extortion"}}]})),
    )
    .unwrap();
    let v = &s.incident(&id).unwrap().violations[0];
    assert_eq!(v.details.get("weapon"), None);
    assert_eq!(
        v.details.get("purpose"),
        Some(&DetailValue::Term("ransom_extortion".into()))
    );
    let history = s.history(&id).unwrap();
    let last = &history.last().unwrap().message;
    assert!(
        last.contains("cleared violation 1 weapon"),
        "history: {last}"
    );
    // The child's status over time: set, changed, cleared with null.
    for status in ["still_held", "escaped"] {
        s.edit_incident(
            &id,
            &patch(json!({"violations": [{"id": vid, "details": {"child_status": status}}]})),
        )
        .unwrap();
    }
    let msgs: Vec<String> = s
        .history(&id)
        .unwrap()
        .into_iter()
        .map(|h| h.message)
        .collect();
    assert_eq!(
        msgs.iter()
            .filter(|m| m.contains("set violation 1 child_status"))
            .count(),
        2
    );
    s.edit_incident(
        &id,
        &patch(json!({"violations": [{"id": vid, "details": {"child_status": null}}]})),
    )
    .unwrap();
    assert_eq!(
        s.incident(&id).unwrap().violations[0]
            .details
            .get("child_status"),
        None
    );
}

#[test]
fn a_merge_that_leaves_a_detail_its_type_does_not_take_is_shown_and_blocks_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let (mut officer, mut reviewer, id) = officer_reviewer_incident(dir.path());
    send_all(&officer, &mut reviewer);
    let vid = officer.incident(&id).unwrap().violations[0].id.clone();
    // Apart: the officer records the weapon, the reviewer finds it was an abduction.
    officer
        .edit_incident(
            &id,
            &patch(json!({"violations": [{"id": vid, "details": {"weapon": "small_arms"}}]})),
        )
        .unwrap();
    reviewer
        .edit_incident(
            &id,
            &patch(
                json!({"violations": [{"id": vid, "type": "abduction", "victims": {"boys": 1}}]}),
            ),
        )
        .unwrap();
    send_all(&officer, &mut reviewer);
    send_all(&reviewer, &mut officer);
    for s in [&mut officer, &mut reviewer] {
        let view = s.incident_view(&id).unwrap();
        let v = &view.incident.violations[0];
        assert_eq!(v.kind, ViolationType::Abduction);
        assert!(
            view.attention
                .iter()
                .any(|a| a.field == "violations[1].details.weapon"
                    && a.code == Some("detail_not_of_type")),
            "attention: {:?}",
            view.attention
        );
        // Still editable: other fields, and a detail an abduction takes.
        s.edit_incident(&id, &patch(json!({"narrative": "still editable"})))
            .unwrap();
        s.edit_incident(
            &id,
            &patch(json!({"violations": [{"id": vid, "details": {"purpose": "recruitment_use"}}]})),
        )
        .unwrap();
    }
    // Clearing the stray detail settles it.
    officer
        .edit_incident(
            &id,
            &patch(json!({"violations": [{"id": vid, "details": {"weapon": null}}]})),
        )
        .unwrap();
    assert!(officer
        .incident_view(&id)
        .unwrap()
        .attention
        .iter()
        .all(|a| !a.field.contains("details")));
}

#[test]
fn concurrent_details_on_one_violation_merge_and_conflict_per_key() {
    let dir = tempfile::tempdir().unwrap();
    let (mut officer, mut reviewer, id) = officer_reviewer_incident(dir.path());
    send_all(&officer, &mut reviewer);
    let vid = officer.incident(&id).unwrap().violations[0].id.clone();
    let set = |s: &mut mrm_store::Store, d: serde_json::Value| {
        s.edit_incident(
            &id,
            &patch(json!({"violations": [{"id": vid, "details": d}]})),
        )
        .unwrap();
    };
    set(&mut officer, json!({"weapon": "landmine"}));
    set(&mut reviewer, json!({"weapon": "aerial_bomb"}));
    send_all(&officer, &mut reviewer);
    send_all(&reviewer, &mut officer);
    let conflicts = reviewer.conflicts(&id).unwrap();
    let c = conflicts
        .iter()
        .find(|c| c.path == format!("violations.{vid}.details.weapon"))
        .expect("the two weapons are shown as a conflict");
    assert_eq!(c.values.len(), 2);
    reviewer
        .resolve(&id, &c.path, &json!("aerial_bomb"))
        .unwrap();
    send_all(&reviewer, &mut officer);
    assert!(officer.conflicts(&id).unwrap().is_empty());
    assert_eq!(
        officer.incident(&id).unwrap().violations[0].details["weapon"],
        DetailValue::Term("aerial_bomb".into())
    );
}

#[test]
fn deprivation_of_liberty_counts_children_beside_the_grave_violations() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = new_store(dir.path(), "Rose R.");
    let none = json!({"type": "deprivation_liberty", "details": {"reason": "association_with_armed_group"}});
    let e = s.add_incident(&patch(with_violation(none))).unwrap_err();
    assert_eq!(refusal(e)[0].0, "violations[1].victims");
    let id = s
        .add_incident(&patch(with_violation(json!({
            "type": "deprivation_liberty",
            "victims": {"boys": 3},
            "details": {"reason": "association_with_armed_group", "child_status": "still_held"}
        }))))
        .unwrap();
    assert_eq!(
        s.incident(&id).unwrap().violations[0].kind,
        ViolationType::DeprivationLiberty
    );
}
