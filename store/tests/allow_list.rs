//! The allow-list of effects is complete when both hold: random runs of what officers and
//! reviewers legitimately do are accepted by the endpoint's judge (`effect::check_changes`), and
//! random forged effects, written with the automerge crate under a real device's actor, are
//! refused: any field of an existing event, any decision or acceptance by an officer, any removal
//! of a decided violation or of its trail, any out-of-range value.

mod common;

use automerge::transaction::Transactable;
use automerge::{Automerge, ReadDoc, ScalarValue, ROOT};
use common::*;
use mrm_crdt::document::RecordKind;
use mrm_crdt::edit::ReviewAction;
use mrm_crdt::model::VerificationStatus;
use mrm_crdt::Error;
use mrm_store::Store;
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use serde_json::json;

/// What `store` wrote to `id` since `before`, judged as the endpoint judges its push.
fn judged(store: &Store, id: &str, before: &Automerge) -> Result<(), Error> {
    let after = doc_of(store, id);
    let new = after.get_changes(&before.get_heads());
    mrm_crdt::effect::check_changes(
        &store.writer().unwrap(),
        RecordKind::Incident,
        Some(before),
        &after,
        &new,
        &mrm_crdt::validate::Clock::local(),
    )
}

/// Something an officer or a reviewer does through the store, as the app and the CLI do.
#[derive(Debug, Clone)]
enum Action {
    Title(String),
    Narrative(String),
    Boys(u8),
    AddViolation,
    Comment(String),
    FieldEvent,
    Submit,
    /// By the reviewer: a decision on the first violation.
    Decide(VerificationStatus),
    Return,
    Accept,
    ReviewerComment(String),
    ReviewerEdit(String),
}

/// Any decision a reviewer may record.
fn decision() -> impl Strategy<Value = VerificationStatus> {
    prop::sample::select(
        VerificationStatus::ALL
            .iter()
            .copied()
            .filter(|s| s.is_decision())
            .collect::<Vec<_>>(),
    )
}

fn action() -> impl Strategy<Value = Action> {
    prop_oneof![
        "[A-Za-z ]{1,30}".prop_map(Action::Title),
        "[A-Za-z ,.]{0,80}".prop_map(Action::Narrative),
        (0u8..20).prop_map(Action::Boys),
        Just(Action::AddViolation),
        "[a-z ]{1,40}".prop_map(Action::Comment),
        Just(Action::FieldEvent),
        Just(Action::Submit),
        decision().prop_map(Action::Decide),
        Just(Action::Return),
        Just(Action::Accept),
        "[a-z ]{1,40}".prop_map(Action::ReviewerComment),
        "[A-Za-z ]{1,30}".prop_map(Action::ReviewerEdit),
    ]
}

/// Do `a` on the store whose turn it is; `Ok(false)` when the store itself refuses it (the
/// workflow's order, a field event after a decision...): nothing was written, nothing to judge.
fn act(officer: &mut Store, reviewer: &mut Store, id: &str, a: &Action) -> (bool, bool) {
    let vid = officer.incident(id).unwrap().violations[0].id.clone();
    let by_reviewer = matches!(
        a,
        Action::Decide(_)
            | Action::Return
            | Action::Accept
            | Action::ReviewerComment(_)
            | Action::ReviewerEdit(_)
    );
    let r = match a {
        Action::Title(t) => officer
            .edit_incident(id, &patch(json!({"title": t.trim().to_string() + "x"})))
            .map(drop),
        Action::Narrative(n) => officer
            .edit_incident(id, &patch(json!({"narrative": n})))
            .map(drop),
        Action::Boys(b) => officer
            .edit_incident(
                id,
                &patch(json!({"violations": [{"id": vid, "victims": {"boys": b}}]})),
            )
            .map(drop),
        Action::AddViolation => officer
            .edit_incident(
                id,
                &patch(json!({"violations": [{"type": "abduction",
                    "victims": {"boys": 0, "girls": 1, "sex_unknown": 0},
                    "perpetrator": {"party": "Group Alpha", "category": "armed_group"}}]})),
            )
            .map(drop),
        Action::Comment(c) => officer.review(id, ReviewAction::Comment, Some(c)).map(drop),
        Action::FieldEvent => officer
            .verify(id, &vid, &verification(VerificationStatus::Reported))
            .map(drop),
        Action::Submit => officer.review(id, ReviewAction::Submit, None).map(drop),
        Action::Decide(s) => reviewer.verify(id, &vid, &verification(*s)).map(drop),
        Action::Return => reviewer
            .review(id, ReviewAction::Return, Some("please add the source"))
            .map(drop),
        Action::Accept => reviewer.review(id, ReviewAction::Accept, None).map(drop),
        Action::ReviewerComment(c) => reviewer
            .review(id, ReviewAction::Comment, Some(c))
            .map(drop),
        Action::ReviewerEdit(t) => reviewer
            .edit_incident(id, &patch(json!({"title": t.trim().to_string() + "y"})))
            .map(drop),
    };
    (r.is_ok(), by_reviewer)
}

#[test]
fn legitimate_work_of_officers_and_reviewers_is_accepted() {
    let (judged_ok, total) = (std::cell::Cell::new(0usize), std::cell::Cell::new(0usize));
    let mut runner = TestRunner::new(Config {
        cases: 6,
        failure_persistence: None,
        ..Config::default()
    });
    runner
        .run(&prop::collection::vec(action(), 4..14), |actions| {
            let tmp = tempfile::tempdir().unwrap();
            let (mut officer, mut reviewer, id) = officer_reviewer_incident(tmp.path());
            send_all(&officer, &mut reviewer);
            total.set(total.get() + actions.len());
            for a in &actions {
                let before_o = doc_of(&officer, &id);
                let before_r = doc_of(&reviewer, &id);
                let (done, by_reviewer) = act(&mut officer, &mut reviewer, &id, a);
                if !done {
                    continue;
                }
                let (store, before) = if by_reviewer {
                    (&reviewer, &before_r)
                } else {
                    (&officer, &before_o)
                };
                let r = judged(store, &id, before);
                prop_assert!(r.is_ok(), "{a:?} was refused: {r:?}");
                judged_ok.set(judged_ok.get() + 1);
                // Both hold everything, as after a sync.
                send_all(&officer, &mut reviewer);
                send_all(&reviewer, &mut officer);
            }
            Ok(())
        })
        .unwrap();
    // Some actions are refused by the workflow in a random order (a return before a submission);
    // across the runs most must have been done and judged, or the test tested nothing.
    assert!(
        judged_ok.get() * 3 >= total.get(),
        "only {} of {} actions were done",
        judged_ok.get(),
        total.get()
    );
}

/// A forged effect on the verified incident.
#[derive(Debug, Clone)]
enum Forgery {
    /// Any field of an existing event (0: the officer's report, 1: the reviewer's decision).
    EventField(usize, &'static str, String),
    DeleteEvent(usize),
    /// An officer's hand-made decision appended to the trail.
    OfficerDecision(VerificationStatus),
    RemoveDecidedViolation,
    ReplaceTrail,
    NegativeCount(&'static str, i64),
    EmptyTitle,
    BadDate(&'static str, String),
    UnknownType(String),
    OfficerAccepts,
}

fn forgery() -> impl Strategy<Value = Forgery> {
    prop_oneof![
        (
            0usize..2,
            prop::sample::select(vec!["status", "by", "at", "note"]),
            prop::sample::select(vec![
                "verified".to_string(),
                "not_mrm".into(),
                "reported".into(),
                "Omar O.".into(),
                "2020-01-01T00:00:00Z".into(),
                "rewritten".into(),
            ])
        )
            .prop_map(|(i, f, v)| Forgery::EventField(i, f, v)),
        (0usize..2).prop_map(Forgery::DeleteEvent),
        decision().prop_map(Forgery::OfficerDecision),
        Just(Forgery::RemoveDecidedViolation),
        Just(Forgery::ReplaceTrail),
        (
            prop::sample::select(vec!["boys", "girls", "sex_unknown"]),
            i64::MIN..0
        )
            .prop_map(|(f, v)| Forgery::NegativeCount(f, v)),
        Just(Forgery::EmptyTitle),
        (
            prop::sample::select(vec!["occurred_on", "reported_on"]),
            prop::sample::select(vec![
                "".to_string(),
                "2026-13-45".into(),
                "yesterday".into(),
                "99999-01-01".into(),
            ])
        )
            .prop_map(|(f, v)| Forgery::BadDate(f, v)),
        "[a-z_]{1,12}"
            .prop_filter("not a known type", |t| {
                t.parse::<mrm_crdt::model::ViolationType>().is_err()
            })
            .prop_map(Forgery::UnknownType),
        Just(Forgery::OfficerAccepts),
    ]
}

/// Whether a reviewer, too, is refused `f` (a decision or an acceptance is a reviewer's to make).
fn refused_for_reviewers(f: &Forgery) -> bool {
    !matches!(f, Forgery::OfficerDecision(_) | Forgery::OfficerAccepts)
}

fn forge(store: &Store, id: &str, vid: &str, f: &Forgery) -> Result<(), Error> {
    forged(store, id, |tx, doc| {
        let violation = obj(doc, &obj(doc, &ROOT, "violations"), vid);
        let trail = obj(doc, &violation, "verification");
        match f {
            Forgery::EventField(i, field, value) => tx
                .put(obj(doc, &trail, *i), *field, value.as_str())
                .unwrap(),
            Forgery::DeleteEvent(i) => tx.delete(&trail, *i).unwrap(),
            Forgery::OfficerDecision(s) => {
                let n = doc.length(&trail);
                let ev = tx
                    .insert_object(&trail, n, automerge::ObjType::Map)
                    .unwrap();
                tx.put(&ev, "status", s.as_str()).unwrap();
                tx.put(&ev, "at", chrono::Utc::now().to_rfc3339()).unwrap();
                tx.put(&ev, "by", "Omar O.").unwrap();
                tx.put(&ev, "note", "").unwrap();
                tx.put_object(&ev, "source_ids", automerge::ObjType::List)
                    .unwrap();
                tx.put_object(&ev, "supersedes", automerge::ObjType::List)
                    .unwrap();
            }
            Forgery::RemoveDecidedViolation => {
                tx.delete(obj(doc, &ROOT, "violations"), vid).unwrap()
            }
            Forgery::ReplaceTrail => {
                tx.put_object(&violation, "verification", automerge::ObjType::List)
                    .unwrap();
            }
            Forgery::NegativeCount(field, v) => tx
                .put(
                    obj(doc, &violation, "victims"),
                    *field,
                    ScalarValue::Int(*v),
                )
                .unwrap(),
            Forgery::EmptyTitle => tx.put(ROOT, "title", "").unwrap(),
            Forgery::BadDate(field, v) => tx.put(ROOT, *field, v.as_str()).unwrap(),
            Forgery::UnknownType(t) => tx.put(&violation, "type", t.as_str()).unwrap(),
            Forgery::OfficerAccepts => tx
                .put(obj(doc, &ROOT, "review"), "state", "accepted")
                .unwrap(),
        }
    })
}

/// A refusal by the policy, by field validation, or as a malformed record.
fn refused(r: &Result<(), Error>) -> bool {
    matches!(
        r,
        Err(Error::Denied(_)) | Err(Error::Invalid { .. }) | Err(Error::Bundle(_))
    )
}

#[test]
fn forged_effects_are_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let (officer, reviewer, id, vid) = verified_incident(tmp.path());
    // The trail then holds the reviewer's decision (event 0) and the officer's report after it (1).
    let mut officer = officer;
    let mut reviewer = reviewer;
    officer
        .verify(&id, &vid, &verification(VerificationStatus::Reported))
        .unwrap();
    send_all(&officer, &mut reviewer);
    let mut runner = TestRunner::new(Config {
        cases: 256,
        failure_persistence: None,
        ..Config::default()
    });
    runner
        .run(&forgery(), |f| {
            // Writing a field's own value changes nothing: no effect to refuse.
            if let Forgery::EventField(i, field, value) = &f {
                let doc = doc_of(&officer, &id);
                let trail = obj(
                    &doc,
                    &obj(&doc, &obj(&doc, &ROOT, "violations"), vid.as_str()),
                    "verification",
                );
                let now = doc.get(obj(&doc, &trail, *i), *field).unwrap();
                if let Some((automerge::Value::Scalar(s), _)) = now {
                    if s.as_str() == Some(value.as_str()) {
                        return Ok(());
                    }
                }
            }
            let r = forge(&officer, &id, &vid, &f);
            prop_assert!(refused(&r), "an officer's {f:?} was not refused: {r:?}");
            if refused_for_reviewers(&f) {
                let r = forge(&reviewer, &id, &vid, &f);
                prop_assert!(refused(&r), "a reviewer's {f:?} was not refused: {r:?}");
            }
            Ok(())
        })
        .unwrap();
}
