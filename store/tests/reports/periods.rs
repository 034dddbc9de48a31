//! Closed reporting periods: frozen figures, what changed since, who may close one.

use std::collections::BTreeSet;

use crate::caseload::*;
use crate::common::*;
use chrono::NaiveDate;
use mrm_crdt::model::VerificationStatus;
use mrm_crdt::report::{Period, Section};
use mrm_store::Store;
use serde_json::json;

#[test]
fn a_closed_period_keeps_its_figures_and_lists_exactly_what_changed_since() {
    use mrm_crdt::report::Section::*;
    let mut c = caseload();
    let q1 = Period::new("2025-01-01", "2025-03-31").unwrap();
    let sent = c.store.report("ghn", &q1).unwrap();
    c.store.close_period("2025-Q1", &q1).unwrap();
    // One name, one closed period.
    assert!(matches!(
        c.store.close_period(" 2025-Q1 ", &q1),
        Err(mrm_crdt::Error::Refused(_))
    ));
    let frozen = c.store.period_named("2025-Q1").unwrap();
    assert_eq!(frozen.report, sent);
    assert_eq!(frozen.closed_by, "Rose R.");
    assert!(c.store.period_changes(&frozen).unwrap().changes.is_empty());

    // Edits after the period was sent: A's killing withdrawn, I's reported killing verified
    // (late, so it leaves Q1), D's abduction counted with another child, a Q1 incident
    // recorded only now.
    let s = &mut c.store;
    let id = |k: &str| c.ids[k].clone();
    let vid =
        |s: &Store, k: &str, n: usize| s.incident(&c.ids[k]).unwrap().violations[n].id.clone();
    let a = vid(s, "A", 0);
    s.edit_incident(
        &id("A"),
        &patch(json!({"remove": [a], "remove_reason": "duplicate of another record"})),
    )
    .unwrap();
    decide(
        s,
        &id("I"),
        0,
        VerificationStatus::Verified,
        "2025-05-15T10:00:00+02:00",
    );
    let d1 = vid(s, "D", 1);
    s.edit_incident(
        &id("D"),
        &patch(json!({"violations": [{"id": d1, "victims": {"girls": 2}}]})),
    )
    .unwrap();
    let new = add(
        s,
        "N",
        "2025-02-01",
        "Ituri",
        json!([violation("abduction", 1, 0, "Group Alpha")]),
    );

    // The frozen figures are what was sent, after the edits (on another reviewer's laptop:
    // tests/sync.rs).
    let frozen = s.period_named("2025-Q1").unwrap();
    assert_eq!(frozen.report, sent);
    assert_ne!(s.report("ghn", &q1).unwrap(), sent);

    let changes = s.period_changes(&frozen).unwrap().changes;
    let got: BTreeSet<(String, String, Option<Section>, Option<Section>)> = changes
        .iter()
        .map(|c| {
            (
                c.incident_id.clone(),
                c.change.clone(),
                c.was.as_ref().map(|w| w.0),
                c.now.as_ref().map(|n| n.0),
            )
        })
        .collect();
    let want: BTreeSet<(String, String, Option<Section>, Option<Section>)> = [
        (id("A"), "removed", Some(Verified), None),
        (id("I"), "removed", Some(Unverified), None),
        (id("D"), "children", Some(Verified), Some(Verified)),
        (new.clone(), "added", None, Some(Unverified)),
    ]
    .into_iter()
    .map(|(i, c, w, n)| (i, c.to_string(), w, n))
    .collect();
    assert_eq!(got, want);
    let late = changes.iter().find(|c| c.incident_id == id("I")).unwrap();
    assert_eq!(late.verified_late_on, NaiveDate::from_ymd_opt(2025, 5, 15));
    let withdrawn = changes.iter().find(|c| c.incident_id == id("A")).unwrap();
    assert_eq!(
        withdrawn.status_now, None,
        "withdrawn: no longer a counted violation"
    );
}

#[test]
fn only_a_reviewer_closes_a_period_and_nobody_changes_one() {
    let dir = tempfile::tempdir().unwrap();
    let q1 = Period::new("2025-01-01", "2025-03-31").unwrap();
    let mut officer = enrolled(dir.path(), "o", "Omar O.", mrm_crdt::policy::Role::Officer);
    assert!(matches!(
        officer.close_period("2025-Q1", &q1),
        Err(mrm_crdt::Error::Denied(_))
    ));
    let mut reviewer = enrolled(dir.path(), "r", "Rose R.", mrm_crdt::policy::Role::Reviewer);
    let id = reviewer.close_period("2025-Q1", &q1).unwrap();
    for bad in ["", "   ", &"x".repeat(101), "line\nbreak"] {
        assert!(
            matches!(
                reviewer.close_period(bad, &q1),
                Err(mrm_crdt::Error::Invalid { .. })
            ),
            "{bad:?}"
        );
    }
    // A period that has not begun cannot be closed.
    let future = Period::new("2099-01-01", "2099-03-31").unwrap();
    assert!(reviewer.close_period("2099-Q1", &future).is_err());
    assert!(matches!(
        reviewer.resolve(&id, "name", &json!("renamed")),
        Err(mrm_crdt::Error::Denied(_))
    ));
    // A change to the record made with the automerge crate, as a modified laptop would push it,
    // is refused by the judge the endpoint runs.
    let judge = |field: &str, value: &str| {
        let before = doc_of(&reviewer, &id);
        let mut doc = before.clone();
        doc.set_actor(automerge::ActorId::try_from(reviewer.device().actor.as_str()).unwrap());
        let mut tx = doc.transaction();
        automerge::transaction::Transactable::put(&mut tx, automerge::ROOT, field, value).unwrap();
        tx.commit();
        let new = doc.get_changes(&before.get_heads());
        mrm_crdt::effect::check_changes(
            &reviewer.writer().unwrap(),
            mrm_crdt::document::RecordKind::Period,
            Some(&before),
            &doc,
            &new,
            &mrm_crdt::validate::Clock::local(),
        )
    };
    let renamed = judge("closed_by", "Someone Else");
    assert!(
        matches!(renamed, Err(mrm_crdt::Error::Denied(_))),
        "{renamed:?}"
    );
    assert!(
        judge("report", "{}").is_err(),
        "a malformed period is refused too"
    );
}

#[test]
fn a_period_carried_in_by_usb_from_an_unregistered_laptop_is_not_believed() {
    let dir = tempfile::tempdir().unwrap();
    let q1 = Period::new("2025-01-01", "2025-03-31").unwrap();
    // Any laptop can make a store that closes "periods"; carried in by USB, it is not the
    // mission's and shadows nothing.
    let mut forger = new_store(&dir.path().join("f"), "Forger");
    forger.close_period("2025-Q1", &q1).unwrap();
    let mut reviewer = enrolled(dir.path(), "r", "Rose R.", mrm_crdt::policy::Role::Reviewer);
    send_all(&forger, &mut reviewer);
    assert!(matches!(
        reviewer.period_named("2025-Q1"),
        Err(mrm_crdt::Error::NotFound { .. })
    ));
    // Its own period is believed, and names compare as people read them.
    reviewer.close_period("2025-Q1", &q1).unwrap();
    for alike in ["2025-q1", " 2025-Q1 ", "2025\u{2011}Q1"] {
        assert!(reviewer.period_named(alike).is_ok(), "{alike:?}");
        assert!(reviewer.close_period(alike, &q1).is_err(), "{alike:?}");
    }
    for invisible in ["2025-Q1\u{200b}", "\u{202e}1Q-5202"] {
        assert!(
            reviewer.close_period(invisible, &q1).is_err(),
            "{invisible:?}"
        );
    }
}

#[test]
fn moving_a_decided_incident_in_time_is_flagged_and_a_confirmation_is_not_late() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = new_store(dir.path(), "Rose R.");
    let q1 = Period::new("2025-01-01", "2025-03-31").unwrap();
    let id = add(
        &mut s,
        "M",
        "2025-02-10",
        "Ituri",
        json!([violation("killing", 1, 0, "Group Alpha")]),
    );
    decide(
        &mut s,
        &id,
        0,
        VerificationStatus::Verified,
        "2025-03-01T10:00:00+01:00",
    );
    // Confirmed again after the quarter: it stands verified since March, in time.
    decide(
        &mut s,
        &id,
        0,
        VerificationStatus::Verified,
        "2025-08-01T10:00:00+01:00",
    );
    let r = s.report("ghn", &q1).unwrap();
    assert_eq!(r.verified.total.violations, 1);
    assert_eq!(r.late_verified.total.violations, 0);
    assert!(r.flagged.is_empty());
    // The incident's dates decide its period: moved after the decision, it needs a reviewer's
    // look, and the report says so.
    s.edit_incident(&id, &patch(json!({"occurred_on": "2025-01-10"})))
        .unwrap();
    let r = s.report("ghn", &q1).unwrap();
    assert_eq!(r.flagged.len(), 1);
    assert!(r.flagged[0]
        .decisions
        .contains(&"changed_since_decision".to_string()));
}
