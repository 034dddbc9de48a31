//! One id, two incidents: two officers whose template carried the same id record two different
//! incidents. The merged record is shown as recorded twice; a reviewer splits it into two records,
//! each with what its officer recorded, its decisions included, and nothing is typed again.

mod common;

use common::*;
use mrm_crdt::model::VerificationStatus;
use mrm_crdt::policy::Role;
use mrm_crdt::Error;
use mrm_store::IncidentFilter;
use mrm_store::Store;
use serde_json::json;

const SHARED_ID: &str = "01a22b00-0000-7000-8000-000000000001";

fn recorded(title: &str, kind: &str, place: &str) -> serde_json::Value {
    let mut j = incident_json(title);
    j["id"] = json!(SHARED_ID);
    j["violations"][0]["type"] = json!(kind);
    j["location"]["place"] = json!(place);
    j
}

fn needing_attention(s: &Store) -> i64 {
    let f = IncidentFilter {
        needs_attention: true,
        ..IncidentFilter::default()
    };
    s.list_incidents(&f).unwrap().total
}

/// Two officers of one team whose template carried the same id, each with their incident.
fn two_officers_one_id(root: &std::path::Path) -> (Store, Store) {
    let mut amina = enrolled(root, "a", "Amina A.", Role::Officer);
    let mut bruno = enrolled(root, "b", "Bruno B.", Role::Officer);
    amina
        .add_incident(&patch(recorded(
            "School attacked",
            "attack_school",
            "Kiwanja",
        )))
        .unwrap();
    bruno
        .add_incident(&patch(recorded("Two boys abducted", "abduction", "Rubare")))
        .unwrap();
    (amina, bruno)
}

#[test]
fn a_record_created_twice_is_detected_and_split_into_two_with_their_decisions() {
    let tmp = tempfile::tempdir().unwrap();
    let (amina, bruno) = two_officers_one_id(tmp.path());
    let rose = enrolled(tmp.path(), "r", "Rose R.", Role::Reviewer);
    let sam = enrolled(tmp.path(), "s", "Sam S.", Role::Reviewer);
    let mut stores = [amina, bruno, rose, sam];
    // Bruno's record is verified by Rose before the two meet.
    send_between(&mut stores, 1, 2);
    let bruno_violation = stores[1].incident(SHARED_ID).unwrap().violations[0]
        .id
        .clone();
    stores[2]
        .verify(
            SHARED_ID,
            &bruno_violation,
            &verification(VerificationStatus::Verified),
        )
        .unwrap();
    for (from, to) in [(0, 1), (1, 0), (2, 0), (0, 2), (0, 3)] {
        send_between(&mut stores, from, to);
    }
    let [amina, _, rose, sam] = &mut stores;

    // Merged: one record, shown as recorded twice, in the caseload's "needs attention".
    let view = rose.incident_view(SHARED_ID).unwrap();
    assert!(
        view.attention
            .iter()
            .any(|a| a.message.contains("recorded twice")),
        "{:?}",
        view.attention
    );
    assert_eq!(needing_attention(rose), 1);
    assert_eq!(rose.extra_creations(SHARED_ID).unwrap().len(), 1);
    // Only a reviewer splits.
    assert!(matches!(
        amina.split_incident(SHARED_ID),
        Err(Error::Denied(mrm_crdt::policy::Denial::SplitByNonReviewer))
    ));

    // Two reviewers split it apart, each on their own laptop.
    let split_by_rose = rose.split_incident(SHARED_ID).unwrap();
    let split_by_sam = sam.split_incident(SHARED_ID).unwrap();
    assert_eq!(split_by_rose, split_by_sam, "one record, whoever splits it");
    let new_id = split_by_rose;
    exchange_all(&mut stores);
    for s in &mut stores {
        let kept = s.incident_view(SHARED_ID).unwrap();
        let moved = s.incident_view(&new_id).unwrap();
        let titles = [kept.incident.title.as_str(), moved.incident.title.as_str()];
        assert!(
            titles.contains(&"School attacked") && titles.contains(&"Two boys abducted"),
            "{titles:?}"
        );
        for v in [&kept, &moved] {
            assert!(v.conflicts.is_empty(), "{:?}", v.conflicts);
            assert!(v.attention.is_empty(), "{:?}", v.attention);
            assert_eq!(v.incident.violations.len(), 1);
            assert_eq!(v.incident.sources.len(), 1);
        }
        let abduction = if kept.incident.title == "Two boys abducted" {
            &kept
        } else {
            &moved
        };
        // Bruno's record keeps Rose's decision, with its author and time.
        let v = &abduction.incident.violations[0];
        assert_eq!(v.status(), VerificationStatus::Verified);
        assert_eq!(v.current_event().unwrap().by, "Rose R.");
        assert_eq!(abduction.incident.location.place, "Rubare");
        assert_eq!(abduction.incident.created_by, "Bruno B.");
        assert_eq!(needing_attention(s), 0);
        assert_eq!(s.stats().unwrap().incidents, 2);
        assert!(s.extra_creations(&new_id).unwrap().is_empty());
        assert!(s.extra_creations(SHARED_ID).unwrap().is_empty());
    }
    // Both stay editable by their officers.
    for s in stores.iter_mut().take(2) {
        for id in [SHARED_ID, new_id.as_str()] {
            s.edit_incident(id, &patch(json!({"narrative": "Edited after the split."})))
                .unwrap();
        }
    }
    // A record created once has nothing to split.
    assert!(matches!(
        stores[2].split_incident(SHARED_ID),
        Err(Error::Refused(_))
    ));
}

#[test]
fn a_decision_made_on_the_split_off_incident_without_seeing_the_split_is_shown() {
    let tmp = tempfile::tempdir().unwrap();
    let (amina, bruno) = two_officers_one_id(tmp.path());
    let mut rose = enrolled(tmp.path(), "r", "Rose R.", Role::Reviewer);
    let mut rex_a = enrolled(tmp.path(), "xa", "Rex A.", Role::Reviewer);
    let mut rex_b = enrolled(tmp.path(), "xb", "Rex B.", Role::Reviewer);
    // Each of two reviewers holds only one of the two incidents.
    send_all(&amina, &mut rex_a);
    send_all(&bruno, &mut rex_b);
    send_all(&amina, &mut rose);
    send_all(&bruno, &mut rose);
    rose.split_incident(SHARED_ID).unwrap();
    assert_eq!(needing_attention(&rose), 0);
    // Offline, each decides on the incident they hold.
    for rex in [&mut rex_a, &mut rex_b] {
        let v = rex.incident(SHARED_ID).unwrap().violations[0].id.clone();
        rex.verify(SHARED_ID, &v, &verification(VerificationStatus::Verified))
            .unwrap();
    }
    send_all(&rex_a, &mut rose);
    send_all(&rex_b, &mut rose);
    // One of them decided on the incident that moved: in the old record's history, and shown.
    let view = rose.incident_view(SHARED_ID).unwrap();
    assert!(
        view.attention
            .iter()
            .any(|a| a.code == Some("split_late_changes")),
        "{:?}",
        view.attention
    );
    assert_eq!(needing_attention(&rose), 1);
}
