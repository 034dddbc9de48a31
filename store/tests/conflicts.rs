//! Concurrent edits on two laptops: conflicting values are reported, identically on both, until a
//! reviewer resolves them; concurrent verifications and concurrent additions are all kept.

mod common;

use std::collections::BTreeSet;

use common::*;
use mrm_crdt::edit::ReviewAction;
use mrm_crdt::input::EventInput;
use mrm_crdt::model::VerificationStatus;
use mrm_store::IncidentFilter;
use mrm_store::Store;
use serde_json::{json, Value};

/// Send `to` everything `from` has that `to` lacks, as a bundle file would.
fn send(from: &Store, to: &mut Store) -> mrm_store::ImportReport {
    let changes = from
        .changes_missing_from(Some(&to.heads().unwrap()))
        .unwrap();
    let header = mrm_crdt::bundle::BundleHeader {
        mission: from.device().mission.clone(),
        from_device: from.device().device_id.clone(),
        created_at: "2026-01-01T00:00:00Z".into(),
        count: 0,
    };
    let bytes = mrm_crdt::bundle::encode(&header, &changes).unwrap();
    let bundle = mrm_crdt::bundle::decode(&bytes).unwrap();
    assert_eq!(bundle.changes, changes);
    to.import(bundle.changes).unwrap()
}

/// Two stores that share one incident (recorded on `a`, copied to `b`).
fn two_stores() -> (tempfile::TempDir, Store, Store, String) {
    let tmp = tempfile::tempdir().unwrap();
    let mut a = new_store(&tmp.path().join("a"), "Awa D.");
    let mut b = new_store(&tmp.path().join("b"), "Ben K.");
    let id = a
        .add_incident(&patch(incident_json("Attack on Kiwanja")))
        .unwrap();
    let report = send(&a, &mut b);
    assert_eq!(report.records_new, 1);
    assert_eq!(snapshot(&a), snapshot(&b));
    (tmp, a, b, id)
}

fn event(status: VerificationStatus, note: &str) -> EventInput {
    EventInput {
        status,
        at: None,
        by: None,
        note: note.into(),
        source_ids: Vec::new(),
        level: None,
        sources: None,
    }
}

#[test]
fn same_field_on_two_replicas_is_a_conflict_until_resolved() {
    let (_tmp, mut a, mut b, id) = two_stores();
    let vid = a.incident(&id).unwrap().violations[0].id.clone();

    // Both edit the killing's count of boys, and the title, while apart.
    let ha = a
        .edit_incident(
            &id,
            &patch(json!({"title": "Attack on Kiwanja (A)",
                          "violations": [{"id": vid, "victims": {"boys": 2}}]})),
        )
        .unwrap()
        .expect("a change on a");
    let hb = b
        .edit_incident(
            &id,
            &patch(json!({"title": "Attack on Kiwanja (B)",
                          "violations": [{"id": vid, "victims": {"boys": 3}}]})),
        )
        .unwrap()
        .expect("a change on b");
    assert!(a.conflicts(&id).unwrap().is_empty());
    assert!(b.conflicts(&id).unwrap().is_empty());

    send(&a, &mut b);
    let report = send(&b, &mut a);
    assert_eq!(report.new_changes, 1);
    assert_eq!(report.new_conflicts, 2, "{report:?}");

    let ca = a.conflicts(&id).unwrap();
    let cb = b.conflicts(&id).unwrap();
    assert_eq!(ca, cb, "both replicas report the same conflicts");
    let paths: Vec<&str> = ca.iter().map(|c| c.path.as_str()).collect();
    let boys_path = format!("violations.{vid}.victims.boys");
    assert_eq!(paths, vec!["title", boys_path.as_str()]);
    for c in &ca {
        assert_eq!(c.values.len(), 2, "{c:?}");
        let by: BTreeSet<&str> = c.values.iter().map(|v| v.by.as_str()).collect();
        assert_eq!(
            by,
            BTreeSet::from(["Awa D.", "Ben K."]),
            "authors of {}",
            c.path
        );
        let changes: BTreeSet<&str> = c.values.iter().map(|v| v.change.as_str()).collect();
        assert_eq!(changes, BTreeSet::from([ha.as_str(), hb.as_str()]));
        for v in &c.values {
            assert!(
                !v.at.is_empty(),
                "a conflicting value says when it was written"
            );
        }
    }
    let boys = ca.iter().find(|c| c.path == boys_path).unwrap();
    let values: BTreeSet<i64> = boys
        .values
        .iter()
        .map(|v| v.value.as_i64().unwrap())
        .collect();
    assert_eq!(values, BTreeSet::from([2, 3]));
    let by_a = boys.values.iter().find(|v| v.by == "Awa D.").unwrap();
    assert_eq!(
        by_a.value,
        json!(2),
        "each value is attributed to the one who wrote it"
    );
    let title = ca.iter().find(|c| c.path == "title").unwrap();
    let titles: BTreeSet<&str> = title
        .values
        .iter()
        .map(|v| v.value.as_str().unwrap())
        .collect();
    assert_eq!(
        titles,
        BTreeSet::from(["Attack on Kiwanja (A)", "Attack on Kiwanja (B)"])
    );

    // The record reads the same on both (one deterministic winner), and the list flags it.
    assert_eq!(a.incident(&id).unwrap(), b.incident(&id).unwrap());
    assert_eq!(a.incident_view(&id).unwrap().conflicts, ca);
    for s in [&a, &b] {
        let rows = s.list_incidents(&IncidentFilter::default()).unwrap().items;
        assert_eq!(rows[0].conflicts, 2);
        assert_eq!(s.stats().unwrap().incidents_with_conflicts, 1);
        check_projections(s);
    }
    assert_eq!(snapshot(&a), snapshot(&b));

    // A reviewer on b keeps 3 boys and the B title; after the next exchange a agrees.
    b.resolve(&id, &boys_path, &json!(3))
        .unwrap()
        .expect("resolve writes");
    b.resolve(&id, "title", &json!("Attack on Kiwanja (B)"))
        .unwrap()
        .expect("resolve writes");
    assert!(b.conflicts(&id).unwrap().is_empty());
    assert!(!a.conflicts(&id).unwrap().is_empty(), "not yet merged");
    send(&b, &mut a);
    for s in [&a, &b] {
        assert!(s.conflicts(&id).unwrap().is_empty());
        let inc = s.incident(&id).unwrap();
        assert_eq!(inc.title, "Attack on Kiwanja (B)");
        assert_eq!(inc.violations[0].victims.boys, 3);
        assert_eq!(s.stats().unwrap().incidents_with_conflicts, 0);
        assert_eq!(
            s.list_incidents(&IncidentFilter::default()).unwrap().items[0].conflicts,
            0
        );
        check_projections(s);
    }
    assert_eq!(snapshot(&a), snapshot(&b));
    let messages: Vec<String> = a
        .history(&id)
        .unwrap()
        .into_iter()
        .map(|h| h.message)
        .collect();
    assert!(
        messages
            .iter()
            .any(|m| m == &format!("resolved {boys_path}")),
        "{messages:?}"
    );
}

#[test]
fn equal_concurrent_values_are_not_a_conflict() {
    let (_tmp, mut a, mut b, id) = two_stores();
    for s in [&mut a, &mut b] {
        s.edit_incident(&id, &patch(json!({"narrative": "Same words on both."})))
            .unwrap()
            .expect("a change");
    }
    send(&a, &mut b);
    send(&b, &mut a);
    assert!(a.conflicts(&id).unwrap().is_empty());
    assert!(b.conflicts(&id).unwrap().is_empty());
    assert_eq!(snapshot(&a), snapshot(&b));
}

#[test]
fn resolve_on_the_other_replica_also_clears_it_everywhere() {
    let (_tmp, mut a, mut b, id) = two_stores();
    a.edit_incident(
        &id,
        &patch(json!({"location": {"place": "Kiwanja centre"}})),
    )
    .unwrap();
    b.edit_incident(
        &id,
        &patch(json!({"location": {"place": "Kiwanja market"}})),
    )
    .unwrap();
    send(&a, &mut b);
    send(&b, &mut a);
    assert_eq!(a.conflicts(&id).unwrap().len(), 1);
    assert_eq!(a.conflicts(&id).unwrap(), b.conflicts(&id).unwrap());
    assert_eq!(a.conflicts(&id).unwrap()[0].path, "location.place");
    // Resolving to the value that happens to be shown still writes, so the conflict goes.
    let shown = a.incident(&id).unwrap().location.place;
    a.resolve(&id, "location.place", &json!(shown))
        .unwrap()
        .expect("resolving writes even the shown value");
    send(&a, &mut b);
    assert!(a.conflicts(&id).unwrap().is_empty());
    assert!(b.conflicts(&id).unwrap().is_empty());
    assert_eq!(b.incident(&id).unwrap().location.place, shown);
    assert_eq!(snapshot(&a), snapshot(&b));
}

#[test]
fn two_concurrent_verifications_are_both_kept() {
    let (_tmp, mut a, mut b, id) = two_stores();
    let inc = a.incident(&id).unwrap();
    let vid = inc.violations[0].id.clone();
    let src = inc.sources[0].id.clone();

    let mut verified = event(VerificationStatus::Verified, "two independent sources");
    verified.source_ids = vec![src.clone()];
    let ha = a.verify(&id, &vid, &verified).unwrap();
    // Later in time on b: the later decision is the current one, wherever it is read.
    std::thread::sleep(std::time::Duration::from_millis(5));
    let hb = b
        .verify(
            &id,
            &vid,
            &event(VerificationStatus::NotVerified, "source retracted"),
        )
        .unwrap();
    assert_ne!(ha, hb);

    send(&a, &mut b);
    send(&b, &mut a);
    for s in [&a, &b] {
        let inc = s.incident(&id).unwrap();
        let v = inc.violation(&vid).unwrap();
        let statuses: Vec<VerificationStatus> = v.verification.iter().map(|e| e.status).collect();
        assert_eq!(statuses.len(), 3, "reported + both decisions: {statuses:?}");
        assert_eq!(statuses[0], VerificationStatus::Reported);
        let decisions: BTreeSet<VerificationStatus> = statuses[1..].iter().copied().collect();
        assert_eq!(
            decisions,
            BTreeSet::from([
                VerificationStatus::Verified,
                VerificationStatus::NotVerified
            ])
        );
        let by_a = v
            .verification
            .iter()
            .find(|e| e.status == VerificationStatus::Verified)
            .unwrap();
        assert_eq!(by_a.by, "Awa D.");
        assert_eq!(by_a.source_ids, vec![src.clone()]);
        assert_eq!(by_a.note, "two independent sources");
        // Neither reviewer saw the other's decision: a conflict on the status, shown as such,
        // not settled by whichever clock was later. The status counted is the same everywhere.
        assert_eq!(
            v.contested(),
            vec![
                VerificationStatus::Verified,
                VerificationStatus::NotVerified
            ]
        );
        let view = s.incident_view(&id).unwrap();
        assert_eq!(view.status[0].status, v.status());
        assert_eq!(view.status[0].contested.len(), 2);
        assert!(
            view.conflicts.is_empty(),
            "an append-only trail never conflicts on its fields"
        );
        let row = &s.list_incidents(&IncidentFilter::default()).unwrap().items[0];
        assert_eq!(row.violations[0].status, v.status().as_str());
        let hist: Vec<String> = s
            .history(&id)
            .unwrap()
            .into_iter()
            .map(|h| h.hash)
            .collect();
        assert!(hist.contains(&ha) && hist.contains(&hb));
        check_projections(s);
    }
    assert_eq!(a.incident(&id).unwrap(), b.incident(&id).unwrap());
    assert_eq!(snapshot(&a), snapshot(&b));
}

#[test]
fn concurrent_verifications_at_the_same_time_agree_on_the_status() {
    let (_tmp, mut a, mut b, id) = two_stores();
    let vid = a.incident(&id).unwrap().violations[0].id.clone();
    // The same instant on both laptops: the merged list order breaks the tie, alike everywhere.
    let at = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    let mut e1 = event(VerificationStatus::Verified, "");
    e1.at = Some(at.clone());
    let mut e2 = event(VerificationStatus::DidNotOccur, "");
    e2.at = Some(at);
    a.verify(&id, &vid, &e1).unwrap();
    b.verify(&id, &vid, &e2).unwrap();
    send(&a, &mut b);
    send(&b, &mut a);
    let va = a.incident(&id).unwrap().violations[0].clone();
    let vb = b.incident(&id).unwrap().violations[0].clone();
    assert_eq!(va, vb);
    assert_eq!(va.verification.len(), 3);
    assert_eq!(va.status(), vb.status());
    assert_eq!(
        a.list_incidents(&IncidentFilter::default()).unwrap().items,
        b.list_incidents(&IncidentFilter::default()).unwrap().items
    );
    check_projections(&a);
    check_projections(&b);
}

#[test]
fn concurrent_additions_of_violations_sources_and_victims_merge_to_all() {
    let (_tmp, mut a, mut b, id) = two_stores();
    let vid = a.incident(&id).unwrap().violations[0].id.clone();
    a.edit_incident(
        &id,
        &patch(json!({
            "violations": [{"type": "abduction", "victims": {"boys": 0, "girls": 2, "sex_unknown": 0},
                            "perpetrator": {"party": "Group Alpha", "category": "armed_group"}}],
            "sources": [{"kind": "medical", "consent": false}]
        })),
    )
    .unwrap();
    b.edit_incident(
        &id,
        &patch(json!({
            "violations": [
                {"type": "maiming", "victims": {"boys": 1, "girls": 0, "sex_unknown": 1}},
                {"id": vid, "victims": {"boys": 2, "coded": [{"code": "V-7", "sex": "boy", "age": 9}]}}
            ],
            "sources": [{"kind": "family", "consent": true}]
        })),
    )
    .unwrap();
    send(&a, &mut b);
    send(&b, &mut a);
    for s in [&a, &b] {
        let inc = s.incident(&id).unwrap();
        let kinds: BTreeSet<&str> = inc.violations.iter().map(|v| v.kind.as_str()).collect();
        assert_eq!(kinds, BTreeSet::from(["abduction", "killing", "maiming"]));
        assert_eq!(inc.sources.len(), 3);
        let killing = inc.violation(&vid).unwrap();
        assert_eq!(killing.victims.boys, 2);
        assert_eq!(killing.victims.coded.len(), 1);
        assert!(s.conflicts(&id).unwrap().is_empty());
        assert_eq!(s.stats().unwrap().violations, 3);
        check_projections(s);
    }
    assert_eq!(snapshot(&a), snapshot(&b));
}

#[test]
fn concurrent_removal_and_edit_of_one_violation() {
    // One laptop removes a violation while the other edits it: the removal wins (a map key deleted
    // concurrently with an edit inside it), and both replicas agree.
    let (_tmp, mut a, mut b, id) = two_stores();
    let vid = a.incident(&id).unwrap().violations[0].id.clone();
    a.edit_incident(
        &id,
        &patch(json!({"violations": [{"type": "abduction", "victims": {"girls": 1}}]})),
    )
    .unwrap();
    send(&a, &mut b);
    a.edit_incident(&id, &patch(json!({"remove": [vid]})))
        .unwrap()
        .expect("removed");
    b.edit_incident(
        &id,
        &patch(json!({"violations": [{"id": vid, "victims": {"girls": 4}}]})),
    )
    .unwrap()
    .expect("edited");
    send(&a, &mut b);
    send(&b, &mut a);
    assert_eq!(snapshot(&a), snapshot(&b));
    check_projections(&a);
    check_projections(&b);
}

#[test]
fn concurrent_review_decisions_conflict_until_resolved() {
    let (_tmp, mut a, mut b, id) = two_stores();
    a.review(&id, ReviewAction::Submit, None).unwrap();
    send(&a, &mut b);
    // One reviewer accepts while another sends the record back to the field.
    a.review(&id, ReviewAction::Accept, None).unwrap();
    b.review(&id, ReviewAction::Return, Some("the dates do not match"))
        .unwrap();
    send(&a, &mut b);
    send(&b, &mut a);
    let ca = a.conflicts(&id).unwrap();
    assert_eq!(ca, b.conflicts(&id).unwrap());
    assert_eq!(ca.len(), 1, "{ca:?}");
    assert_eq!(ca[0].path, "review.state");
    let states: BTreeSet<&str> = ca[0]
        .values
        .iter()
        .map(|v| v.value.as_str().unwrap())
        .collect();
    assert_eq!(states, BTreeSet::from(["accepted", "returned"]));
    // The comment is kept whatever the state.
    assert_eq!(a.incident(&id).unwrap().review.comments.len(), 1);
    b.resolve(&id, "review.state", &json!("returned"))
        .unwrap()
        .expect("resolve writes");
    send(&b, &mut a);
    for s in [&a, &b] {
        assert!(s.conflicts(&id).unwrap().is_empty());
        assert_eq!(
            s.incident(&id).unwrap().review.state,
            mrm_crdt::model::ReviewState::Returned
        );
        assert_eq!(
            s.list_incidents(&IncidentFilter::default()).unwrap().items[0].review_state,
            "returned"
        );
        check_projections(s);
    }
    assert_eq!(snapshot(&a), snapshot(&b));
}

#[test]
fn concurrent_patrol_route_edits_conflict_until_resolved() {
    let tmp = tempfile::tempdir().unwrap();
    let mut a = new_store(&tmp.path().join("a"), "Awa D.");
    let mut b = new_store(&tmp.path().join("b"), "Ben K.");
    let p: mrm_crdt::input::PatrolPatch =
        serde_json::from_value(json!({"date": days_ago(1), "route": ["Kiwanja"]})).unwrap();
    let id = a.add_patrol(&p).unwrap();
    send(&a, &mut b);
    let edit = |route: Value| -> mrm_crdt::input::PatrolPatch {
        serde_json::from_value(json!({ "route": route })).unwrap()
    };
    a.edit_patrol(&id, &edit(json!(["Kiwanja", "Rutshuru"])))
        .unwrap();
    b.edit_patrol(&id, &edit(json!(["Kiwanja", "Nyanzale"])))
        .unwrap();
    send(&a, &mut b);
    send(&b, &mut a);
    let ca = a.conflicts(&id).unwrap();
    assert_eq!(ca, b.conflicts(&id).unwrap());
    assert_eq!(ca.len(), 1);
    assert_eq!(ca[0].path, "route");
    let routes: BTreeSet<String> = ca[0].values.iter().map(|v| v.value.to_string()).collect();
    assert_eq!(
        routes,
        BTreeSet::from([
            json!(["Kiwanja", "Nyanzale"]).to_string(),
            json!(["Kiwanja", "Rutshuru"]).to_string()
        ])
    );
    assert_eq!(a.list_patrols().unwrap(), b.list_patrols().unwrap());
    a.resolve(&id, "route", &json!(["Kiwanja", "Rutshuru", "Nyanzale"]))
        .unwrap()
        .expect("resolve writes");
    send(&a, &mut b);
    for s in [&a, &b] {
        assert!(s.conflicts(&id).unwrap().is_empty());
        assert_eq!(
            s.patrol(&id).unwrap().route,
            vec!["Kiwanja", "Rutshuru", "Nyanzale"]
        );
        check_projections(s);
    }
}

/// Per-record sync state (`Store::unsynced_records`, `sync_counts`): a record edited here waits
/// to be sent until the endpoint acknowledges it; one the endpoint refused is held with its
/// reason; one with a conflict says so.
#[test]
fn each_record_says_where_it_stands_with_the_endpoint() {
    use mrm_store::RecordSync;
    let (_tmp, mut a, mut b, id) = two_stores();
    a.save_enrollment(
        "http://127.0.0.1:9",
        &mrm_crdt::protocol::EnrollResponse {
            device_id: "dev-a".into(),
            secret: "0".repeat(64),
            officer: "Awa D.".into(),
            team: "Goma".into(),
            role: mrm_crdt::policy::Role::Officer,
            mission: a.device().mission.clone(),
            revocation_key: None,
        },
        None,
    )
    .unwrap();
    let records = a.unsynced_records().unwrap();
    assert_eq!(records.len(), 1, "{records:?}");
    assert_eq!(records[0].doc_id, id);
    assert_eq!(records[0].state, RecordSync::ToSend);
    assert!(records[0].changes_to_send >= 1 && records[0].bytes_to_send > 0);
    assert_eq!(a.record_sync_state(&id).unwrap(), RecordSync::ToSend);

    // The endpoint acknowledged everything: synced, nothing listed.
    let last = a
        .unpushed(usize::MAX, usize::MAX)
        .unwrap()
        .last()
        .unwrap()
        .seq;
    a.ack_pushed(last).unwrap();
    assert!(a.unsynced_records().unwrap().is_empty());
    assert_eq!(a.record_sync_state(&id).unwrap(), RecordSync::Synced);
    let counts = a.sync_counts().unwrap();
    assert_eq!((counts.to_send, counts.held, counts.conflict), (0, 0, 0));
    assert!(counts.synced >= 1);

    // A second incident, refused by the endpoint: held, with the reason.
    let other = a
        .add_incident(&patch(incident_json("Attack on Rutshuru")))
        .unwrap();
    a.hold_record(&other, "the record was moved to another team")
        .unwrap();
    // Concurrent edits of the first: a conflict, and a change to send.
    a.edit_incident(&id, &patch(json!({"title": "Kiwanja (A)"})))
        .unwrap();
    b.edit_incident(&id, &patch(json!({"title": "Kiwanja (B)"})))
        .unwrap();
    send(&b, &mut a);
    let records = a.unsynced_records().unwrap();
    assert_eq!(records.len(), 2, "{records:?}");
    assert_eq!(records[0].doc_id, other);
    assert_eq!(records[0].state, RecordSync::Held);
    assert_eq!(
        records[0].reason.as_deref(),
        Some("the record was moved to another team")
    );
    assert_eq!(records[1].doc_id, id);
    assert_eq!(records[1].state, RecordSync::ToSend);
    assert!(records[1].conflict);
    let counts = a.sync_counts().unwrap();
    assert_eq!(
        (counts.to_send, counts.held, counts.conflict),
        (1, 1, 1),
        "{counts:?}"
    );
}
