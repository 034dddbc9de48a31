//! Tiered verification merged (issue 19 §2): rulings of different tiers made apart never
//! contest each other, the highest tier's stands; two task force rulings made apart that
//! disagree are contested until the task force decides again; and the tier rules hold on a
//! store, whatever a merge brought.

mod common;

use common::*;
use mrm_crdt::input::EventInput;
use mrm_crdt::model::{DecisionLevel, SourceCounts, VerificationStatus};
use mrm_crdt::policy::Role;
use mrm_crdt::Error;

fn ruling(status: VerificationStatus, level: DecisionLevel) -> EventInput {
    EventInput {
        level: Some(level),
        sources: Some(SourceCounts {
            primary: 2,
            secondary: 0,
            un_eyewitness: false,
        }),
        ..verification(status)
    }
}

#[test]
fn the_highest_tier_stands_over_rulings_made_apart() {
    let dir = tempfile::tempdir().unwrap();
    let (officer, mut adviser, id) = officer_reviewer_incident(dir.path());
    let mut tf = enrolled(dir.path(), "tf", "Task Force", Role::TaskForce);
    send_all(&officer, &mut adviser);
    send_all(&officer, &mut tf);
    let vid = adviser.incident(&id).unwrap().violations[0].id.clone();
    use VerificationStatus::*;
    // Apart: the technical review says not verified, the task force verifies.
    adviser
        .verify(
            &id,
            &vid,
            &ruling(NotVerified, DecisionLevel::TechnicalReview),
        )
        .unwrap();
    tf.verify(&id, &vid, &ruling(Verified, DecisionLevel::TaskForce))
        .unwrap();
    send_all(&adviser, &mut tf);
    send_all(&tf, &mut adviser);
    for s in [&adviser, &tf] {
        let v = &s.incident(&id).unwrap().violations[0];
        assert_eq!(v.status(), Verified);
        assert!(v.contested().is_empty(), "different tiers never contest");
        assert_eq!(v.ruling_heads().len(), 2, "both rulings stand in the trail");
    }
    // A focal point ruling after it does not move it; the task force's own does.
    adviser
        .verify(&id, &vid, &ruling(DidNotOccur, DecisionLevel::FocalPoint))
        .unwrap();
    assert_eq!(
        adviser.incident(&id).unwrap().violations[0].status(),
        Verified
    );
    send_all(&adviser, &mut tf);
    tf.verify(&id, &vid, &ruling(NotMrm, DecisionLevel::TaskForce))
        .unwrap();
    assert_eq!(tf.incident(&id).unwrap().violations[0].status(), NotMrm);
}

#[test]
fn task_force_rulings_made_apart_that_disagree_are_contested() {
    let dir = tempfile::tempdir().unwrap();
    let (officer, _, id) = officer_reviewer_incident(dir.path());
    let mut a = enrolled(dir.path(), "tf1", "Task Force A", Role::TaskForce);
    let mut b = enrolled(dir.path(), "tf2", "Task Force B", Role::TaskForce);
    send_all(&officer, &mut a);
    send_all(&officer, &mut b);
    let vid = a.incident(&id).unwrap().violations[0].id.clone();
    a.verify(
        &id,
        &vid,
        &ruling(VerificationStatus::Verified, DecisionLevel::TaskForce),
    )
    .unwrap();
    b.verify(
        &id,
        &vid,
        &ruling(VerificationStatus::NotVerified, DecisionLevel::TaskForce),
    )
    .unwrap();
    send_all(&a, &mut b);
    let v = &b.incident(&id).unwrap().violations[0];
    assert_eq!(
        v.contested(),
        vec![
            VerificationStatus::Verified,
            VerificationStatus::NotVerified
        ]
    );
    b.verify(
        &id,
        &vid,
        &ruling(VerificationStatus::Verified, DecisionLevel::TaskForce),
    )
    .unwrap();
    let v = &b.incident(&id).unwrap().violations[0];
    assert!(v.contested().is_empty());
    assert_eq!(v.status(), VerificationStatus::Verified);
}

#[test]
fn each_tier_is_its_roles_and_tiers_are_for_decisions() {
    let dir = tempfile::tempdir().unwrap();
    let (mut officer, mut adviser, id) = officer_reviewer_incident(dir.path());
    send_all(&officer, &mut adviser);
    let vid = officer.incident(&id).unwrap().violations[0].id.clone();
    let denied = |e: Error| match e {
        Error::Denied(d) => d.code(),
        other => panic!("expected a refusal, got {other}"),
    };
    let e = adviser
        .verify(
            &id,
            &vid,
            &ruling(VerificationStatus::Verified, DecisionLevel::TaskForce),
        )
        .unwrap_err();
    assert_eq!(denied(e), "level_not_allowed");
    let e = officer
        .verify(
            &id,
            &vid,
            &EventInput {
                level: Some(DecisionLevel::FocalPoint),
                ..verification(VerificationStatus::PendingVerification)
            },
        )
        .unwrap_err();
    assert_eq!(denied(e), "level_not_allowed");
    // Counted sources are whole and belong to a decision.
    let e = adviser
        .verify(
            &id,
            &vid,
            &EventInput {
                sources: Some(SourceCounts {
                    primary: -1,
                    secondary: 0,
                    un_eyewitness: false,
                }),
                ..verification(VerificationStatus::Verified)
            },
        )
        .unwrap_err();
    assert!(e.to_string().contains("sources.primary"), "{e}");
    let caps = mrm_crdt::policy::capabilities(&adviser.writer().unwrap());
    assert_eq!(
        caps.decision_levels,
        vec![DecisionLevel::FocalPoint, DecisionLevel::TechnicalReview]
    );
}

#[test]
fn a_reviewer_does_not_undo_the_task_forces_decision_by_withdrawing_or_editing() {
    let dir = tempfile::tempdir().unwrap();
    let (officer, mut adviser, id) = officer_reviewer_incident(dir.path());
    let mut tf = enrolled(dir.path(), "tf", "Task Force", Role::TaskForce);
    send_all(&officer, &mut tf);
    let vid = tf.incident(&id).unwrap().violations[0].id.clone();
    tf.verify(
        &id,
        &vid,
        &ruling(VerificationStatus::Verified, DecisionLevel::TaskForce),
    )
    .unwrap();
    send_all(&tf, &mut adviser);
    let denied = |e: Error| match e {
        Error::Denied(d) => d.code(),
        other => panic!("expected a refusal, got {other}"),
    };
    let e = adviser
        .edit_incident(
            &id,
            &patch(serde_json::json!({"remove": [vid.clone()], "remove_reason": "x"})),
        )
        .unwrap_err();
    assert_eq!(denied(e), "level_not_allowed");
    let e = adviser
        .edit_incident(
            &id,
            &patch(
                serde_json::json!({"violations": [{"id": vid.clone(), "victims": {"boys": 5}}]}),
            ),
        )
        .unwrap_err();
    assert_eq!(denied(e), "level_not_allowed");
    // The task force may.
    tf.edit_incident(
        &id,
        &patch(serde_json::json!({"violations": [{"id": vid, "victims": {"boys": 2}}]})),
    )
    .unwrap();
}
