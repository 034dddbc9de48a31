//! Releases, trainings and engagements merged (issue 19 §4): counts changed apart merge sex
//! by sex, a field written apart is a conflict with both values and is resolved, a merge that
//! leaves a release with no child blocks no other edit, and the one policy holds.

mod common;

use common::*;
use mrm_crdt::activity::ActivityKind;
use mrm_crdt::policy::Role;
use mrm_crdt::Error;
use serde_json::json;

#[test]
fn activities_merge_conflict_and_stay_editable() {
    let dir = tempfile::tempdir().unwrap();
    let mut a = enrolled(dir.path(), "a", "Awa D.", Role::Officer);
    let mut r = enrolled(dir.path(), "r", "Rose R.", Role::Reviewer);
    let tid = a
        .add_activity(
            ActivityKind::Training,
            &json!({"date": days_ago(3), "place": "Goma", "audience": "police", "topic": "CP",
                    "participants": {"male": 10}}),
        )
        .unwrap();
    send_all(&a, &mut r);
    // Apart: the officer counts the women, the reviewer corrects the men and the place.
    a.edit_activity(
        &tid,
        &json!({"participants": {"female": 4}, "place": "Goma (MONUSCO base)"}),
    )
    .unwrap();
    r.edit_activity(
        &tid,
        &json!({"participants": {"male": 12}, "place": "Goma base"}),
    )
    .unwrap();
    send_all(&a, &mut r);
    send_all(&r, &mut a);
    for s in [&a, &r] {
        let t = s.activity(&tid).unwrap();
        assert_eq!(
            t.by_sex("participants"),
            [12, 4, 0],
            "counts merge sex by sex"
        );
        let c = s.conflicts(&tid).unwrap();
        assert_eq!(c.len(), 1, "{c:?}");
        assert_eq!(c[0].path, "place");
    }
    r.resolve(&tid, "place", &json!("Goma base")).unwrap();
    send_all(&r, &mut a);
    assert!(a.conflicts(&tid).unwrap().is_empty());
    assert_eq!(a.activity(&tid).unwrap().text("place"), "Goma base");

    // A release both laptops emptied apart: no child after the merge, shown by the figures,
    // and the record still takes other edits.
    let rid = a
        .add_activity(
            ActivityKind::Release,
            &json!({"date": days_ago(2), "place": "Bunia", "boys": 1, "girls": 1,
                    "party": "Group Alpha", "instrument": "action_plan"}),
        )
        .unwrap();
    send_all(&a, &mut r);
    a.edit_activity(&rid, &json!({"boys": 0})).unwrap();
    r.edit_activity(&rid, &json!({"girls": 0})).unwrap();
    send_all(&a, &mut r);
    send_all(&r, &mut a);
    let rel = a.activity(&rid).unwrap();
    assert_eq!(rel.count("boys") + rel.count("girls"), 0);
    a.edit_activity(&rid, &json!({"notes": "still editable"}))
        .unwrap();
    // But a write that empties it is refused.
    let fresh = a
        .add_activity(
            ActivityKind::Release,
            &json!({"date": days_ago(2), "place": "Bunia", "boys": 1,
                    "party": "Group Alpha", "instrument": "other"}),
        )
        .unwrap();
    assert!(matches!(
        a.edit_activity(&fresh, &json!({"boys": 0})),
        Err(Error::Invalid { .. })
    ));
    let year = today().format("%Y").to_string();
    let f = a
        .activity_figures(&format!("{year}-01-01"), &format!("{year}-12-31"))
        .unwrap();
    let in_year = |d: &str| d.starts_with(&year);
    if in_year(&days_ago(2)) && in_year(&days_ago(3)) {
        assert_eq!((f.releases, f.released_boys), (2, 1));
        assert_eq!((f.trainings, f.trained_male, f.trained_female), (1, 12, 4));
    }
}

#[test]
fn the_policy_holds_for_activities() {
    let dir = tempfile::tempdir().unwrap();
    let mut a = enrolled(dir.path(), "a", "Awa D.", Role::Officer);
    let mut admin = enrolled(dir.path(), "adm", "Admin", Role::Admin);
    let id = a
        .add_activity(
            ActivityKind::Engagement,
            &json!({"date": days_ago(1), "party": "Group Alpha", "kind": "advocacy", "subject": "x"}),
        )
        .unwrap();
    let e = admin
        .add_activity(
            ActivityKind::Engagement,
            &json!({"date": days_ago(1), "party": "Group Alpha", "kind": "advocacy", "subject": "x"}),
        )
        .unwrap_err();
    assert!(matches!(e, Error::Denied(_)), "{e}");
    // An officer cannot give it to another team.
    let e = a.edit_activity(&id, &json!({"team": "Bunia"})).unwrap_err();
    assert!(matches!(e, Error::Denied(_)), "{e}");
    // A forged field a modified client writes straight into the document: refused.
    let e = forged_kind(
        &a,
        &id,
        RecordKind::Activity(ActivityKind::Engagement),
        |tx, _| {
            use automerge::transaction::Transactable;
            tx.put(automerge::ROOT, "child_name", "Maria K.").unwrap();
        },
    )
    .unwrap_err();
    assert!(e.to_string().contains("child_name"), "{e}");
}

use mrm_crdt::document::RecordKind;

#[test]
fn a_counter_is_no_count() {
    let dir = tempfile::tempdir().unwrap();
    let mut a = enrolled(dir.path(), "a", "Awa D.", Role::Officer);
    let id = a
        .add_activity(
            ActivityKind::Training,
            &json!({"date": days_ago(1), "place": "Goma", "audience": "police", "topic": "CP"}),
        )
        .unwrap();
    // Increments made apart would each be judged in range and add up past every bound.
    let e = forged_kind(
        &a,
        &id,
        RecordKind::Activity(ActivityKind::Training),
        |tx, doc| {
            use automerge::transaction::Transactable;
            let p = obj(doc, &automerge::ROOT, "participants");
            tx.put(&p, "male", automerge::ScalarValue::counter(10))
                .unwrap();
        },
    )
    .unwrap_err();
    assert!(e.to_string().contains("participants"), "{e}");
}
