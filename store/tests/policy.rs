//! The one policy (crdt/src/policy.rs) and its judge of effects (crdt/src/effect.rs): a table of
//! role x record kind x team x action, run through the pure functions and through real stores
//! enrolled with each role; forged effects written with the automerge crate; and merges that must
//! leave every record editable with no decision lost.

mod common;

use automerge::transaction::Transactable;
use automerge::ReadDoc;
use common::*;
use mrm_crdt::document::RecordKind;
use mrm_crdt::edit::ReviewAction;
use mrm_crdt::model::{ReviewState, VerificationStatus};
use mrm_crdt::policy::{self, Denial, Role, Writer};
use mrm_crdt::Error;
use mrm_store::IncidentFilter;
use mrm_store::Store;
use serde_json::json;

fn denial(r: Result<impl std::fmt::Debug, Error>) -> &'static str {
    match r {
        Err(Error::Denied(d)) => d.code(),
        other => panic!("expected a denial, got {other:?}"),
    }
}

#[test]
fn the_policy_table() {
    use RecordKind::*;
    let officer = Writer::enrolled(Role::Officer, "A");
    let reviewer = Writer::enrolled(Role::Reviewer, "A");
    let admin = Writer::enrolled(Role::Admin, "HQ");
    let fresh = Writer::unenrolled("A");
    // (writer, kind, team before, team after) -> Ok or the denial's code
    type Case<'a> = (
        &'a Writer,
        RecordKind,
        Option<&'a str>,
        &'a str,
        Result<(), &'a str>,
    );
    let table: Vec<Case> = vec![
        (&officer, Incident, None, "A", Ok(())),
        (&officer, Incident, Some("A"), "A", Ok(())),
        (&officer, Incident, Some("B"), "B", Err("other_team")),
        (&officer, Incident, Some("A"), "B", Err("team_move")),
        (&officer, Incident, None, "B", Err("team_move")),
        (&officer, Patrol, None, "A", Ok(())),
        (&officer, Patrol, Some("B"), "B", Err("other_team")),
        (&officer, Config, None, "", Err("kind_not_allowed")),
        (&reviewer, Incident, Some("B"), "C", Ok(())),
        (&reviewer, Patrol, None, "A", Err("kind_not_allowed")),
        (&reviewer, Config, None, "", Err("kind_not_allowed")),
        (&admin, Incident, None, "HQ", Err("kind_not_allowed")),
        (&admin, Patrol, None, "HQ", Err("kind_not_allowed")),
        (&admin, Config, None, "", Ok(())),
        (&fresh, Incident, None, "A", Ok(())),
        (&fresh, Patrol, None, "A", Ok(())),
        (&fresh, Config, None, "", Err("kind_not_allowed")),
    ];
    for (w, kind, before, after, want) in table {
        let got = policy::may_write(w, kind, before, after).map_err(|d| d.code());
        assert_eq!(got, want, "{w:?} {kind:?} {before:?} -> {after}");
    }
    for s in VerificationStatus::ALL {
        assert_eq!(
            policy::may_record_status(&officer, *s).is_ok(),
            !s.is_decision(),
            "officer {s}"
        );
        assert!(policy::may_record_status(&reviewer, *s).is_ok());
    }
    use ReviewState::*;
    let moves = [
        (Draft, Submitted, Ok(())),
        (Returned, Submitted, Ok(())),
        (Submitted, Accepted, Err("review_decision")),
        (Submitted, Returned, Err("review_decision")),
        (Accepted, Draft, Err("accepted_reopened")),
        (Accepted, Submitted, Err("accepted_reopened")),
    ];
    for (from, to, want) in moves {
        let got = policy::may_set_review_state(&officer, from, to).map_err(|d| d.code());
        assert_eq!(got, want, "officer {from} -> {to}");
        assert!(policy::may_set_review_state(&reviewer, from, to).is_ok());
    }
    let caps = policy::capabilities(&officer);
    assert!(caps.record_incidents && caps.record_patrols && !caps.accept_and_return);
    assert!(!caps.statuses.contains(&VerificationStatus::Verified));
    let caps = policy::capabilities(&reviewer);
    assert!(caps.record_incidents && !caps.record_patrols && caps.accept_and_return);
    assert!(caps.move_team && caps.edit_other_teams);
}

#[test]
fn a_store_refuses_locally_what_its_role_may_not_write() {
    let tmp = tempfile::tempdir().unwrap();
    let mut reviewer = enrolled(tmp.path(), "r", "Rose R.", Role::Reviewer);
    let patrol: mrm_crdt::input::PatrolPatch =
        serde_json::from_value(json!({"date": days_ago(1)})).unwrap();
    assert_eq!(denial(reviewer.add_patrol(&patrol)), "kind_not_allowed");
    let mut admin = enrolled(tmp.path(), "adm", "Ada A.", Role::Admin);
    assert_eq!(
        denial(admin.add_incident(&patch(incident_json("By an admin")))),
        "kind_not_allowed"
    );
    // Nothing was written by either.
    assert_eq!(reviewer.change_count().unwrap(), 0);
    assert_eq!(admin.change_count().unwrap(), 0);
}

#[test]
fn an_officer_never_undoes_or_forges_a_decision() {
    let tmp = tempfile::tempdir().unwrap();
    let (mut officer, mut reviewer, id, vid) = verified_incident(tmp.path());
    assert_eq!(
        officer.incident(&id).unwrap().violations[0].status(),
        VerificationStatus::Verified
    );
    // A decision, an acceptance, a withdrawal of the decided violation: refused locally.
    assert_eq!(
        denial(officer.verify(&id, &vid, &verification(VerificationStatus::NotMrm))),
        "decision_by_non_reviewer"
    );
    let remove = patch(json!({"remove": [vid]}));
    assert_eq!(
        denial(officer.edit_incident(&id, &remove)),
        "decided_violation_withdrawn"
    );
    // A field event after the decision is recorded but does not change the status.
    officer
        .verify(&id, &vid, &verification(VerificationStatus::Reported))
        .unwrap();
    send_all(&officer, &mut reviewer);
    for s in [&officer, &reviewer] {
        let v = &s.incident(&id).unwrap().violations[0];
        assert_eq!(v.verification.len(), 3);
        assert_eq!(v.status(), VerificationStatus::Verified);
    }
    // A reviewer's own later event does replace the decision.
    reviewer
        .verify(
            &id,
            &vid,
            &verification(VerificationStatus::PendingVerification),
        )
        .unwrap();
    assert_eq!(
        reviewer.incident(&id).unwrap().violations[0].status(),
        VerificationStatus::PendingVerification
    );
    // A new violation whose first event is a decision: refused for the officer.
    let decided = patch(json!({"violations": [{"type": "maiming",
        "victims": {"girls": 1}, "verification": [{"status": "verified"}]}]}));
    assert_eq!(
        denial(officer.edit_incident(&id, &decided)),
        "decision_by_non_reviewer"
    );
    // An accepted record cannot be reopened by the officer, through review or resolve.
    reviewer
        .review(&id, ReviewAction::Comment, Some("ok"))
        .unwrap();
    send_all(&reviewer, &mut officer);
    officer.review(&id, ReviewAction::Submit, None).unwrap();
    send_all(&officer, &mut reviewer);
    reviewer.review(&id, ReviewAction::Accept, None).unwrap();
    send_all(&reviewer, &mut officer);
    assert_eq!(
        denial(officer.resolve(&id, "review.state", &json!("draft"))),
        "accepted_reopened"
    );
    assert_eq!(
        officer.incident(&id).unwrap().review.state,
        ReviewState::Accepted
    );
    // Nor by deleting the review map, which reads back as a draft.
    let r = forged(&officer, &id, |tx, _| {
        tx.delete(automerge::ROOT, "review").unwrap();
    });
    assert!(
        matches!(
            r,
            Err(Error::Denied(
                Denial::AcceptedReopened | Denial::CommentChanged
            ))
        ),
        "{r:?}"
    );
}

#[test]
fn forged_effects_are_refused_whatever_wrote_them() {
    use automerge::ROOT;
    let tmp = tempfile::tempdir().unwrap();
    let (officer, _reviewer, id, vid) = verified_incident(tmp.path());
    let event_at = |doc: &automerge::Automerge, i: usize| {
        let v = obj(doc, &obj(doc, &ROOT, "violations"), vid.as_str());
        obj(doc, &obj(doc, &v, "verification"), i)
    };
    // Any field of an existing event, the reviewer's or the officer's own.
    for (i, field, value) in [
        (1, "status", "not_mrm"),
        (0, "status", "verified"),
        (1, "by", "Omar O."),
        (1, "at", "2020-01-01T00:00:00Z"),
        (0, "note", "rewritten"),
    ] {
        let r = forged(&officer, &id, |tx, doc| {
            tx.put(event_at(doc, i), field, value).unwrap();
        });
        assert_eq!(denial(r), "event_changed", "event {i} {field}");
    }
    let r = forged(&officer, &id, |tx, doc| {
        let list = obj(
            doc,
            &obj(doc, &obj(doc, &ROOT, "violations"), vid.as_str()),
            "verification",
        );
        tx.delete(&list, 1).unwrap();
    });
    assert_eq!(denial(r), "event_changed");
    // The same kinds of effect by other routes: the whole trail replaced by a new list, every
    // violation deleted at once.
    let r = forged(&officer, &id, |tx, doc| {
        let v = obj(doc, &obj(doc, &ROOT, "violations"), vid.as_str());
        tx.put_object(&v, "verification", automerge::ObjType::List)
            .unwrap();
    });
    assert_eq!(denial(r), "event_changed");
    let r = forged(&officer, &id, |tx, _| {
        tx.delete(ROOT, "violations").unwrap();
    });
    assert_eq!(denial(r), "decided_violation_deleted");
    // Deleting the decided violation.
    let r = forged(&officer, &id, |tx, doc| {
        tx.delete(obj(doc, &ROOT, "violations"), vid.as_str())
            .unwrap();
    });
    assert_eq!(denial(r), "decided_violation_deleted");
    // A decision appended by hand, and a field event that claims to replace the decision.
    let r = forged(&officer, &id, |tx, doc| {
        let list = obj(
            doc,
            &obj(doc, &obj(doc, &ROOT, "violations"), vid.as_str()),
            "verification",
        );
        let e = tx.insert_object(&list, 2, automerge::ObjType::Map).unwrap();
        tx.put(&e, "status", "verified").unwrap();
        tx.put(&e, "at", chrono::Utc::now().to_rfc3339()).unwrap();
        tx.put(&e, "by", "Omar O.").unwrap();
    });
    assert_eq!(denial(r), "decision_by_non_reviewer");
    let r = forged(&officer, &id, |tx, doc| {
        let list = obj(
            doc,
            &obj(doc, &obj(doc, &ROOT, "violations"), vid.as_str()),
            "verification",
        );
        let decision = event_at(doc, 1).to_string();
        let e = tx.insert_object(&list, 2, automerge::ObjType::Map).unwrap();
        tx.put(&e, "status", "reported").unwrap();
        tx.put(&e, "at", chrono::Utc::now().to_rfc3339()).unwrap();
        tx.put(&e, "by", "Omar O.").unwrap();
        let sup = tx
            .put_object(&e, "supersedes", automerge::ObjType::List)
            .unwrap();
        tx.insert(&sup, 0, decision).unwrap();
    });
    assert_eq!(denial(r), "supersede_by_non_reviewer");
    // The review state set to accepted, or moved off accepted, by hand.
    let r = forged(&officer, &id, |tx, doc| {
        tx.put(obj(doc, &ROOT, "review"), "state", "accepted")
            .unwrap();
    });
    assert_eq!(denial(r), "review_decision");
    // Out-of-range values and a gutted record: field errors, not stored.
    for (what, edit) in [
        (
            "negative count",
            Box::new(
                |tx: &mut automerge::transaction::Transaction<'_>, doc: &automerge::Automerge| {
                    let v = obj(doc, &obj(doc, &ROOT, "violations"), vid.as_str());
                    tx.put(obj(doc, &v, "victims"), "boys", -500i64).unwrap();
                },
            )
                as Box<
                    dyn FnOnce(&mut automerge::transaction::Transaction<'_>, &automerge::Automerge),
                >,
        ),
        (
            "empty title",
            Box::new(
                |tx: &mut automerge::transaction::Transaction<'_>, _: &automerge::Automerge| {
                    tx.put(ROOT, "title", "").unwrap();
                },
            ),
        ),
        (
            "no date",
            Box::new(
                |tx: &mut automerge::transaction::Transaction<'_>, _: &automerge::Automerge| {
                    tx.put(ROOT, "occurred_on", "someday").unwrap();
                },
            ),
        ),
    ] {
        match forged(&officer, &id, edit) {
            // The decided violation's count is a reviewer's to change at all; the others are
            // field errors.
            Err(Error::Denied(Denial::DecidedViolationChanged)) if what == "negative count" => {}
            Err(Error::Invalid { .. }) if what != "negative count" => {}
            other => panic!("{what}: {other:?}"),
        }
    }
    // On a violation nobody decided yet, a negative count is a field error.
    let mut officer = officer;
    let fresh = officer
        .add_incident(&patch(incident_json("Undecided")))
        .unwrap();
    let fresh_vid = officer.incident(&fresh).unwrap().violations[0].id.clone();
    let r = forged(&officer, &fresh, |tx, doc| {
        let v = obj(doc, &obj(doc, &ROOT, "violations"), fresh_vid.as_str());
        tx.put(obj(doc, &v, "victims"), "boys", -500i64).unwrap();
    });
    match r {
        Err(Error::Invalid { errors, .. }) => {
            assert!(errors.to_string().contains("boys"), "{errors}")
        }
        other => panic!("negative count: {other:?}"),
    }
    // The author of the record never changes.
    let r = forged(&officer, &id, |tx, _| {
        tx.put(ROOT, "created_by", "Someone else").unwrap();
    });
    assert_eq!(denial(r), "immutable");
    // And a legitimate edit by the same route passes.
    forged(&officer, &id, |tx, _| {
        tx.put(ROOT, "narrative", "More detail.").unwrap();
    })
    .unwrap();
}

#[test]
fn a_withdrawal_concurrent_with_a_decision_keeps_both_and_stays_editable() {
    let tmp = tempfile::tempdir().unwrap();
    let (mut officer, mut reviewer, id) = officer_reviewer_incident(tmp.path());
    let inc = officer.incident(&id).unwrap();
    let (vid, sid) = (inc.violations[0].id.clone(), inc.sources[0].id.clone());
    send_all(&officer, &mut reviewer);
    // Apart: the officer withdraws the violation and the source; the reviewer verifies the
    // violation citing the source.
    officer
        .edit_incident(
            &id,
            &patch(json!({"remove": [vid, sid], "remove_reason": "recorded twice"})),
        )
        .unwrap();
    let mut e = verification(VerificationStatus::Verified);
    e.source_ids = vec![sid.clone()];
    reviewer.verify(&id, &vid, &e).unwrap();
    send_all(&officer, &mut reviewer);
    send_all(&reviewer, &mut officer);
    for s in [&mut officer, &mut reviewer] {
        let view = s.incident_view(&id).unwrap();
        let v = &view.incident.violations[0];
        // The decision is kept, and so is the withdrawal: both are shown, as a conflict.
        assert_eq!(v.status(), VerificationStatus::Verified);
        assert!(v.withdrawn.is_some());
        assert_eq!(v.withdrawn.as_ref().unwrap().reason, "recorded twice");
        assert!(v.withdrawal_contested());
        assert!(!view.status[0].withdrawn);
        assert!(view.status[0].withdrawal_contested);
        assert!(
            view.attention
                .iter()
                .any(|f| f.message.contains("withdrawn by Omar O.")),
            "{:?}",
            view.attention
        );
        assert!(view.incident.sources[0].withdrawn.is_some());
        // The decision still counts: the verified figures do not drop behind anyone's back.
        assert_eq!(s.stats().unwrap().verified_violations, 1);
        let needing = IncidentFilter {
            needs_attention: true,
            ..IncidentFilter::default()
        };
        assert_eq!(s.list_incidents(&needing).unwrap().total, 1);
        // Still editable by whoever may.
        s.edit_incident(&id, &patch(json!({"narrative": "Edited after the merge."})))
            .unwrap();
    }
    reviewer
        .review(&id, ReviewAction::Comment, Some("seen"))
        .unwrap();
    // The officer cannot settle it by writing the withdrawal again; the reviewer can.
    send_all(&reviewer, &mut officer);
    let again = patch(json!({"remove": [vid], "remove_reason": "again"}));
    assert_eq!(
        denial(officer.edit_incident(&id, &again)),
        "withdrawal_changed"
    );
    reviewer
        .edit_incident(
            &id,
            &patch(json!({"remove": [vid], "remove_reason": "recorded twice, confirmed"})),
        )
        .unwrap();
    let view = reviewer.incident_view(&id).unwrap();
    assert!(view.status[0].withdrawn && !view.status[0].withdrawal_contested);
    assert!(view.attention.is_empty(), "{:?}", view.attention);
    assert_eq!(reviewer.stats().unwrap().violations, 0);
    // And a reviewer may count it again.
    reviewer
        .edit_incident(&id, &patch(json!({"restore": [vid]})))
        .unwrap();
    assert_eq!(reviewer.stats().unwrap().verified_violations, 1);
    send_all(&reviewer, &mut officer);
    assert_eq!(officer.stats().unwrap().verified_violations, 1);
}

#[test]
fn concurrent_decisions_are_a_conflict_a_later_decision_settles() {
    let tmp = tempfile::tempdir().unwrap();
    let mut a = enrolled(tmp.path(), "a", "Rose R.", Role::Reviewer);
    let mut b = enrolled(tmp.path(), "b", "Ravi R.", Role::Reviewer);
    let id = a
        .add_incident(&patch(incident_json("Attack on Kiwanja")))
        .unwrap();
    let vid = a.incident(&id).unwrap().violations[0].id.clone();
    send_all(&a, &mut b);
    a.verify(&id, &vid, &verification(VerificationStatus::Verified))
        .unwrap();
    b.verify(&id, &vid, &verification(VerificationStatus::NotVerified))
        .unwrap();
    send_all(&a, &mut b);
    send_all(&b, &mut a);
    let va = a.incident(&id).unwrap().violations[0].clone();
    let vb = b.incident(&id).unwrap().violations[0].clone();
    assert_eq!(va.status(), vb.status());
    assert_eq!(
        va.contested(),
        vec![
            VerificationStatus::Verified,
            VerificationStatus::NotVerified
        ]
    );
    assert_eq!(a.incident_view(&id).unwrap().status[0].contested.len(), 2);
    // A decision that saw both settles it, everywhere.
    a.verify(&id, &vid, &verification(VerificationStatus::Verified))
        .unwrap();
    send_all(&a, &mut b);
    for s in [&a, &b] {
        let v = &s.incident(&id).unwrap().violations[0];
        assert!(v.contested().is_empty());
        assert_eq!(v.status(), VerificationStatus::Verified);
        assert_eq!(v.verification.len(), 4, "no decision lost");
    }
}

#[test]
fn dates_hold_across_time_zones_and_merged_problems_never_block_an_edit() {
    use chrono::{Duration, TimeZone, Utc};
    use mrm_crdt::validate::{self, Clock};
    // At 10:30 UTC it is already tomorrow at UTC+14: that date is nobody's future.
    let now = Utc.with_ymd_and_hms(2026, 11, 29, 10, 30, 0).unwrap();
    let clock = Clock::at(now, Duration::zero());
    let tomorrow = (now + Duration::hours(14)).date_naive().to_string();
    let after = (now + Duration::days(2)).date_naive().to_string();
    let tmp = tempfile::tempdir().unwrap();
    let mut s = new_store(tmp.path(), "Omar O.");
    let id = s.add_incident(&patch(incident_json("Attack"))).unwrap();
    let mut inc = s.incident(&id).unwrap();
    inc.occurred_on = tomorrow.clone();
    inc.reported_on = tomorrow;
    inc.violations[0].verification[0].at = now.to_rfc3339();
    assert!(
        validate::incident(&inc, &clock).is_ok(),
        "{:?}",
        validate::incident(&inc, &clock)
    );
    inc.occurred_on = after;
    assert!(validate::incident(&inc, &clock).is_err());
    // A verification stamped in New York's evening, for an incident dated at UTC+14's today.
    let mut inc = s.incident(&id).unwrap();
    inc.occurred_on = "2026-11-30".into();
    inc.reported_on = "2026-11-30".into();
    inc.violations[0].verification[0].at = "2026-11-29T17:30:00-05:00".into();
    let clock = Clock::at(
        Utc.with_ymd_and_hms(2026, 11, 29, 23, 0, 0).unwrap(),
        Duration::zero(),
    );
    assert!(
        validate::incident(&inc, &clock).is_ok(),
        "{:?}",
        validate::incident(&inc, &clock)
    );
    // A problem the record already has (a merge left it) does not block another edit...
    let before = inc.clone();
    let mut broken = before.clone();
    broken.violations[0].verification[0].source_ids = vec![uuid::Uuid::now_v7().to_string()];
    assert!(validate::incident(&broken, &clock).is_err());
    let mut edited = broken.clone();
    edited.narrative = "edited".into();
    assert!(validate::incident_change(Some(&broken), &edited, &clock).is_ok());
    assert_eq!(validate::incident_attention(&edited, &clock).len(), 1);
    // ...but a write that adds a problem of its own is refused.
    let mut worse = broken.clone();
    worse.violations[0].victims.boys = -1;
    assert!(validate::incident_change(Some(&broken), &worse, &clock).is_err());
}

/// A change judged by the endpoint: `base` is what the endpoint holds, `change` what arrives.
fn judged(
    store: &Store,
    base: &automerge::Automerge,
    change: automerge::Change,
) -> Result<(), Error> {
    let mut merged = base.clone();
    merged.apply_changes([change.clone()]).unwrap();
    mrm_crdt::effect::check_changes(
        &store.writer().unwrap(),
        RecordKind::Incident,
        Some(base),
        &merged,
        &[change],
        &mrm_crdt::validate::Clock::at(chrono::Utc::now(), chrono::Duration::days(1)),
    )
}

/// The change a modified laptop makes on `context` (a record as it once was), by `edit`.
fn forged_on(
    context: &automerge::Automerge,
    edit: &dyn Fn(&mut automerge::transaction::Transaction<'_>),
) -> automerge::Change {
    let mut d = context.clone();
    let mut tx = d.transaction();
    edit(&mut tx);
    tx.commit();
    d.get_last_local_change().unwrap().clone()
}

/// The record's document from the store's change log, with only the changes `keep` selects.
fn doc_of(
    store: &Store,
    id: &str,
    keep: impl Fn(&automerge::Change) -> bool,
) -> automerge::Automerge {
    let mut doc = automerge::Automerge::new();
    let changes: Vec<automerge::Change> = store
        .changes_missing_from(None)
        .unwrap()
        .into_iter()
        .filter(|(d, _)| d == id)
        .map(|(_, b)| automerge::Change::from_bytes(b).unwrap())
        .filter(|c| keep(c))
        .collect();
    doc.apply_changes(changes).unwrap();
    doc
}

#[test]
fn a_change_that_claims_an_old_context_cannot_erase_a_decision() {
    use automerge::ROOT;
    let tmp = tempfile::tempdir().unwrap();
    let (officer, _reviewer, id, vid) = verified_incident(tmp.path());
    let me = automerge::ActorId::try_from(officer.device().actor.as_str()).unwrap();
    let held = doc_of(&officer, &id, |_| true);
    // The officer builds on their own changes only, as if the decision had never arrived.
    let mut old = doc_of(&officer, &id, |c| c.actor_id() == &me);
    old.set_actor(me.clone());
    let context = old.clone();
    let forge =
        |edit: &dyn Fn(&mut automerge::transaction::Transaction<'_>)| forged_on(&context, edit);
    let vmap = obj(&context, &ROOT, "violations");
    let v = obj(&context, &vmap, vid.as_str());
    // Erasing: refused, whatever context it claims (parts of a record are never removed).
    for (what, change) in [
        (
            "delete the violation",
            forge(&|tx| tx.delete(&vmap, vid.as_str()).unwrap()),
        ),
        (
            "replace the violations",
            forge(&|tx| {
                tx.put_object(ROOT, "violations", automerge::ObjType::Map)
                    .unwrap();
            }),
        ),
        (
            "replace its trail",
            forge(&|tx| {
                tx.put_object(&v, "verification", automerge::ObjType::List)
                    .unwrap();
            }),
        ),
    ] {
        let code = denial(judged(&officer, &held, change));
        assert!(
            ["structure_replaced", "event_changed"].contains(&code),
            "{what}: {code}"
        );
    }
    // Writing apart from the decision (as an officer offline would): taken, and the merged
    // record keeps the decision, counts it, and shows what to settle.
    let withdraw = forge(&|tx| {
        let w = tx
            .put_object(&v, "withdrawn", automerge::ObjType::Map)
            .unwrap();
        tx.put(&w, "at", "2026-01-01T00:00:00Z").unwrap();
        tx.put(&w, "by", "Omar O.").unwrap();
        tx.put(&w, "reason", "apart").unwrap();
        tx.put_object(&w, "overrides", automerge::ObjType::List)
            .unwrap();
    });
    judged(&officer, &held, withdraw.clone()).unwrap();
    let mut merged = held.clone();
    merged.apply_changes([withdraw]).unwrap();
    let inc = mrm_crdt::document::read_incident(&merged).unwrap();
    let viol = inc.violation(&vid).unwrap();
    assert!(viol.withdrawal_contested() && viol.is_live());
    assert_eq!(viol.status(), VerificationStatus::Verified);

    let raise = forge(&|tx| {
        let vic = obj(&context, &v, "victims");
        tx.put(&vic, "boys", 900i64).unwrap();
    });
    judged(&officer, &held, raise.clone()).unwrap();
    let mut merged = held.clone();
    merged.apply_changes([raise]).unwrap();
    let inc = mrm_crdt::document::read_incident(&merged).unwrap();
    assert_eq!(
        inc.violation(&vid).unwrap().status(),
        VerificationStatus::Verified
    );
    let attention =
        mrm_crdt::validate::incident_attention(&inc, &mrm_crdt::validate::Clock::timeless());
    assert!(
        attention
            .iter()
            .any(|a| a.code == Some("changed_since_decision")),
        "{attention:?}"
    );
}

#[test]
fn a_change_must_number_its_operations_as_automerge_does() {
    use automerge::ROOT;
    let tmp = tempfile::tempdir().unwrap();
    let (officer, _reviewer, id, _vid) = verified_incident(tmp.path());
    let held = doc_of(&officer, &id, |_| true);
    let mut d = held.clone();
    d.set_actor(automerge::ActorId::try_from(officer.device().actor.as_str()).unwrap());
    let mut tx = d.transaction();
    tx.put(ROOT, "narrative", "a fair edit").unwrap();
    tx.commit();
    let honest = d.get_last_local_change().unwrap().clone();
    judged(&officer, &held, honest.clone()).unwrap();
    // The same edit with its counter pushed up (it would win every conflict, or freeze the
    // record near 2^32): refused.
    for start in [1u64 << 30, (1u64 << 32) - 2] {
        let mut e = automerge::ExpandedChange::from(&honest);
        e.start_op = std::num::NonZeroU64::new(start).unwrap();
        e.hash = None;
        let forged = automerge::Change::from(e);
        match judged(&officer, &held, forged) {
            Err(Error::Bundle(m)) => assert!(m.contains("numbers its operations"), "{m}"),
            other => panic!("counter {start}: {other:?}"),
        }
    }
}

#[test]
fn dates_at_the_edge_of_the_calendar_are_refused_not_a_crash() {
    let tmp = tempfile::tempdir().unwrap();
    let mut s = new_store(tmp.path(), "Omar O.");
    let id = s.add_incident(&patch(incident_json("Attack"))).unwrap();
    for date in ["-262143-01-01", "0001-01-01", "1899-12-31"] {
        let r = s.edit_incident(
            &id,
            &patch(json!({"occurred_on": date, "reported_on": date})),
        );
        assert!(matches!(r, Err(Error::Invalid { .. })), "{date}: {r:?}");
    }
    let mut inc = s.incident(&id).unwrap();
    inc.occurred_on = "-262143-01-01".into();
    // Reading such a record (a merge from an older version could hold one) never panics.
    let _ = mrm_crdt::validate::incident_attention(&inc, &mrm_crdt::validate::Clock::local());
}

#[test]
fn unknown_fields_and_forged_comments_are_refused() {
    use automerge::ROOT;
    let tmp = tempfile::tempdir().unwrap();
    let (officer, _reviewer, id, vid) = verified_incident(tmp.path());
    // A field the layout does not have, at the root or deep in a violation: a hidden channel.
    let r = forged(&officer, &id, |tx, _| {
        tx.put(ROOT, "place_note", "a child's name").unwrap();
    });
    assert!(
        matches!(r, Err(Error::Bundle(ref m)) if m.contains("place_note")),
        "{r:?}"
    );
    let r = forged(&officer, &id, |tx, doc| {
        let v = obj(doc, &obj(doc, &ROOT, "violations"), vid.as_str());
        tx.put(obj(doc, &v, "perpetrator"), "commander", "x")
            .unwrap();
    });
    assert!(
        matches!(r, Err(Error::Bundle(ref m)) if m.contains("commander")),
        "{r:?}"
    );
    // A comment stamped in the future or of absurd length.
    for (at, text) in [
        ("2999-01-01T00:00:00Z", "from the future".to_string()),
        ("2026-01-01T00:00:00Z", "x".repeat(200_000)),
    ] {
        let r = forged(&officer, &id, |tx, doc| {
            let review = obj(doc, &ROOT, "review");
            let list = match doc.get(&review, "comments").unwrap() {
                Some((automerge::Value::Object(_), l)) => l,
                _ => tx
                    .put_object(&review, "comments", automerge::ObjType::List)
                    .unwrap(),
            };
            let n = tx.length(&list);
            let c = tx.insert_object(&list, n, automerge::ObjType::Map).unwrap();
            tx.put(&c, "at", at).unwrap();
            tx.put(&c, "by", "Omar O.").unwrap();
            tx.put(&c, "text", text.as_str()).unwrap();
        });
        assert!(matches!(r, Err(Error::Invalid { .. })), "{at}: {r:?}");
    }
}

#[test]
fn a_bundle_with_a_forged_counter_is_refused_and_changes_nothing() {
    use automerge::ROOT;
    let tmp = tempfile::tempdir().unwrap();
    let (officer, mut reviewer, id, _vid) = verified_incident(tmp.path());
    let held = doc_of(&officer, &id, |_| true);
    let mut d = held.clone();
    d.set_actor(automerge::ActorId::try_from(officer.device().actor.as_str()).unwrap());
    let mut tx = d.transaction();
    tx.put(ROOT, "narrative", "x").unwrap();
    tx.commit();
    let mut e = automerge::ExpandedChange::from(&d.get_last_local_change().unwrap().clone());
    e.start_op = std::num::NonZeroU64::new((1u64 << 32) - 2).unwrap();
    e.hash = None;
    let forged = automerge::Change::from(e);
    let before = snapshot(&reviewer);
    let r = reviewer
        .import(vec![(id.clone(), forged.raw_bytes().to_vec())])
        .unwrap();
    // It could never apply: left out, and said; nothing waits.
    assert!(
        r.left_out
            .iter()
            .any(|w| w.contains(&id) && w.contains("out of bounds")),
        "{r:?}"
    );
    assert!(r.held.is_empty(), "{r:?}");
    assert_eq!(snapshot(&reviewer), before);
    // The reviewer goes on working on the record.
    reviewer
        .review(&id, ReviewAction::Comment, Some("still fine"))
        .unwrap();
}

#[test]
fn a_change_made_without_seeing_a_part_cannot_hide_it_or_set_its_decision_aside() {
    use automerge::ROOT;
    let tmp = tempfile::tempdir().unwrap();
    let (mut officer, mut reviewer, id) = officer_reviewer_incident(tmp.path());
    // The context before the second violation existed, written into by another officer's laptop.
    let mut old = doc_of(&officer, &id, |_| true);
    old.set_actor(automerge::ActorId::random());
    officer
        .edit_incident(
            &id,
            &patch(json!({"violations": [{"type": "abduction", "victims": {"girls": 1}}]})),
        )
        .unwrap();
    let v2 = officer.incident(&id).unwrap().violations[1].id.clone();
    let v1 = officer.incident(&id).unwrap().violations[0].id.clone();
    send_all(&officer, &mut reviewer);
    reviewer
        .verify(&id, &v2, &verification(VerificationStatus::Verified))
        .unwrap();
    reviewer
        .verify(&id, &v1, &verification(VerificationStatus::Verified))
        .unwrap();
    send_all(&reviewer, &mut officer);
    let held = doc_of(&officer, &id, |_| true);
    let forge = |edit: &dyn Fn(&mut automerge::transaction::Transaction<'_>)| forged_on(&old, edit);
    // A new violation under the id of one it never saw, which would hide its decision.
    let vmap = obj(&old, &ROOT, "violations");
    let reused = forge(&|tx| {
        use automerge::ObjType;
        let v = tx.put_object(&vmap, v2.as_str(), ObjType::Map).unwrap();
        tx.put(&v, "type", "abduction").unwrap();
        let vic = tx.put_object(&v, "victims", ObjType::Map).unwrap();
        for (k, n) in [("boys", 0i64), ("girls", 1), ("sex_unknown", 0)] {
            tx.put(&vic, k, n).unwrap();
        }
        tx.put_object(&vic, "coded", ObjType::Map).unwrap();
        let per = tx.put_object(&v, "perpetrator", ObjType::Map).unwrap();
        tx.put(&per, "party", "").unwrap();
        tx.put(&per, "category", "unknown").unwrap();
        tx.put_object(&v, "verification", ObjType::List).unwrap();
    });
    match judged(&officer, &held, reused) {
        Err(Error::Bundle(m)) => assert!(m.contains("already exists"), "{m}"),
        other => panic!("a reused id was taken: {other:?}"),
    }
    // A withdrawal that does not say which decisions it sets aside, or sets aside one its
    // writer never saw.
    let v = obj(&old, &vmap, v1.as_str());
    let decision = officer.incident(&id).unwrap().violations[0]
        .current_event()
        .unwrap()
        .id
        .clone();
    for overrides in [None, Some(decision)] {
        let w = forge(&|tx| {
            let w = tx
                .put_object(&v, "withdrawn", automerge::ObjType::Map)
                .unwrap();
            tx.put(&w, "at", "2026-01-01T00:00:00Z").unwrap();
            tx.put(&w, "by", "Omar O.").unwrap();
            tx.put(&w, "reason", "apart").unwrap();
            if let Some(d) = &overrides {
                let l = tx
                    .put_object(&w, "overrides", automerge::ObjType::List)
                    .unwrap();
                tx.insert(&l, 0, d.as_str()).unwrap();
            }
        });
        assert!(
            matches!(judged(&officer, &held, w), Err(Error::Bundle(_))),
            "{overrides:?}"
        );
    }
}

#[test]
fn a_reviewers_decision_on_the_review_stands_over_a_state_the_field_wrote_apart() {
    let tmp = tempfile::tempdir().unwrap();
    let (mut officer, mut reviewer, id, _) = verified_incident(tmp.path());
    let mut other = enrolled(tmp.path(), "o2", "Ali A.", Role::Officer);
    officer.review(&id, ReviewAction::Submit, None).unwrap();
    send_all(&officer, &mut reviewer);
    send_all(&officer, &mut other);
    reviewer.review(&id, ReviewAction::Accept, None).unwrap();
    // Apart, a colleague edits and submits again (several changes: a higher counter).
    for n in 0..5 {
        other
            .edit_incident(&id, &patch(json!({"narrative": format!("edit {n}")})))
            .unwrap();
    }
    other
        .review(&id, ReviewAction::Comment, Some("more details"))
        .unwrap();
    send_all(&other, &mut reviewer);
    send_all(&reviewer, &mut other);
    for s in [&reviewer, &other] {
        assert_eq!(s.incident(&id).unwrap().review.state, ReviewState::Accepted);
    }
}
