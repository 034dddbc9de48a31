//! The caseload's sync-state filter and each row's sync state (issue 16 §4, as DHIS2 Capture
//! shows it per record): on a real store file holding a record in every state, each filter lists
//! exactly its records, each row says its state and reason, and both agree with `mrm status`'s
//! own reading (`Store::unsynced_records`, `Store::record_sync_state`).

mod common;

use std::collections::BTreeSet;

use common::*;
use mrm_crdt::policy::Role;
use mrm_store::{IncidentFilter, RecordSync, RowSync, Store, SyncFilter};
use serde_json::json;

/// The endpoint acknowledged every local change this store has made so far.
fn ack_all(s: &mut Store) {
    if let Some(last) = s.unpushed(usize::MAX, usize::MAX).unwrap().last() {
        let seq = last.seq;
        s.ack_pushed(seq).unwrap();
    }
}

fn listed(s: &Store, f: &IncidentFilter) -> BTreeSet<String> {
    let page = s.caseload(f).unwrap();
    let ids: BTreeSet<String> = page.items.into_iter().map(|r| r.id).collect();
    assert_eq!(page.total as usize, ids.len(), "the total counts the rows");
    ids
}

fn only(sync: SyncFilter) -> IncidentFilter {
    IncidentFilter {
        sync: Some(sync),
        ..IncidentFilter::default()
    }
}

fn set(ids: &[&String]) -> BTreeSet<String> {
    ids.iter().map(|s| s.to_string()).collect()
}

#[test]
fn the_caseload_filters_and_shows_each_records_sync_state() {
    let tmp = tempfile::tempdir().unwrap();
    // `a` is the officer's laptop, enrolled; `b` a colleague's, whose work comes by USB.
    let mut a = enrolled(tmp.path(), "a", "Awa D.", Role::Officer);
    let mut b = new_store(&tmp.path().join("b"), "Ben K.");
    let add = |s: &mut Store, title: &str| s.add_incident(&patch(incident_json(title))).unwrap();

    let synced = add(&mut a, "Synced at Kiwanja");
    let conflict = add(&mut a, "Conflict at Kiwanja");
    send_all(&a, &mut b);
    let waiting = add(&mut b, "Waiting at Rutshuru");
    send_all(&b, &mut a);
    ack_all(&mut a);

    // Two edits of one title apart: a conflict, synced once the endpoint has `a`'s edit.
    a.edit_incident(&conflict, &patch(json!({"title": "Conflict (A)"})))
        .unwrap();
    b.edit_incident(&conflict, &patch(json!({"title": "Conflict (B)"})))
        .unwrap();
    send_all(&b, &mut a);
    ack_all(&mut a);
    assert!(!a.conflicts(&conflict).unwrap().is_empty());

    // `b` edits a record twice; only the second edit reaches `a`, which cannot apply it
    // without the first: it waits. An edit here meanwhile does not make it "to send": waiting
    // comes first, as `mrm status` says.
    let heads = a.heads().unwrap();
    b.edit_incident(&waiting, &patch(json!({"narrative": "First."})))
        .unwrap();
    b.edit_incident(&waiting, &patch(json!({"narrative": "Second."})))
        .unwrap();
    let missing = b.changes_missing_from(Some(&heads)).unwrap();
    assert_eq!(missing.len(), 2);
    a.import(vec![missing[1].clone()]).unwrap();
    a.edit_incident(&waiting, &patch(json!({"narrative": "Edited here."})))
        .unwrap();

    // Recorded here since the last sync: to send; one the endpoint refused: held.
    let to_send = add(&mut a, "To send at Masisi");
    let held = add(&mut a, "Held at Masisi");
    a.hold_record(&held, "the record was moved to another team")
        .unwrap();

    let rows: Vec<_> = a.caseload(&IncidentFilter::default()).unwrap().items;
    assert_eq!(rows.len(), 5);
    let row = |id: &String| rows.iter().find(|r| &r.id == id).unwrap().sync.clone();
    let state = |st, reason: Option<&str>, conflict| RowSync {
        state: st,
        reason: reason.map(str::to_string),
        conflict,
    };
    assert_eq!(row(&synced), state(RecordSync::Synced, None, false));
    assert_eq!(row(&conflict), state(RecordSync::Synced, None, true));
    assert_eq!(row(&to_send), state(RecordSync::ToSend, None, false));
    assert_eq!(
        row(&held),
        state(
            RecordSync::Held,
            Some("the record was moved to another team"),
            false
        )
    );
    let w = row(&waiting);
    assert_eq!(w.state, RecordSync::Waiting);
    assert!(
        w.reason.is_some_and(|r| !r.is_empty()),
        "a waiting record says why"
    );
    // The detail view's reading is the row's, for each record.
    for r in &rows {
        assert_eq!(a.row_sync(&r.id).unwrap(), r.sync, "{}", r.title);
        assert_eq!(a.record_sync_state(&r.id).unwrap(), r.sync.state);
    }
    // And both agree with `mrm status` (`unsynced_records`), row by row.
    check_projections(&a);

    // Each filter lists exactly its records.
    assert_eq!(listed(&a, &only(SyncFilter::ToSend)), set(&[&to_send]));
    assert_eq!(listed(&a, &only(SyncFilter::Held)), set(&[&held]));
    assert_eq!(listed(&a, &only(SyncFilter::Waiting)), set(&[&waiting]));
    assert_eq!(listed(&a, &only(SyncFilter::Conflict)), set(&[&conflict]));
    assert_eq!(
        listed(&a, &only(SyncFilter::Unsynced)),
        set(&[&to_send, &held, &waiting, &conflict])
    );
    // With other filters, all must match; the page and its counts cover the match only.
    let masisi = IncidentFilter {
        text: Some("Masisi".into()),
        ..only(SyncFilter::Unsynced)
    };
    assert_eq!(listed(&a, &masisi), set(&[&to_send, &held]));
    let page = a.caseload(&masisi).unwrap();
    assert_eq!(page.violations, 2, "one killing in each of the two");
    let first = IncidentFilter {
        limit: Some(1),
        ..only(SyncFilter::Unsynced)
    };
    let page = a.caseload(&first).unwrap();
    assert_eq!((page.total, page.items.len()), (4, 1));

    // Once the endpoint has everything sent, only what is held, waiting or in conflict stays.
    ack_all(&mut a);
    assert!(listed(&a, &only(SyncFilter::ToSend)).is_empty());
    assert_eq!(
        listed(&a, &only(SyncFilter::Unsynced)),
        set(&[&held, &waiting, &conflict])
    );
    // The missing edit arrives: the record is no longer waiting, and `a`'s own edit of it,
    // acknowledged above, leaves it synced.
    a.import(vec![missing[0].clone()]).unwrap();
    a.retry_held_inbound().unwrap();
    assert!(listed(&a, &only(SyncFilter::Waiting)).is_empty());
    assert_eq!(row_of(&a, &waiting), RecordSync::Synced);
    check_projections(&a);
}

fn row_of(s: &Store, id: &str) -> RecordSync {
    s.row_sync(id).unwrap().state
}

#[test]
fn a_store_never_enrolled_has_everything_to_send() {
    // Nothing was ever acknowledged (no enrollment, no push position): every record written
    // here waits to be sent, and one only received here does not.
    let tmp = tempfile::tempdir().unwrap();
    let mut a = new_store(&tmp.path().join("a"), "Awa D.");
    let mut b = new_store(&tmp.path().join("b"), "Ben K.");
    let mine = a
        .add_incident(&patch(incident_json("Written here")))
        .unwrap();
    let theirs = b
        .add_incident(&patch(incident_json("Written there")))
        .unwrap();
    send_all(&b, &mut a);
    assert_eq!(listed(&a, &only(SyncFilter::ToSend)), set(&[&mine]));
    assert_eq!(row_of(&a, &theirs), RecordSync::Synced);
    // An id the store does not hold is simply not pending.
    assert_eq!(
        a.row_sync("0190c0de-0000-7000-8000-000000000000").unwrap(),
        RowSync {
            state: RecordSync::Synced,
            reason: None,
            conflict: false
        }
    );
    assert_eq!(SyncFilter::parse("to_send"), Some(SyncFilter::ToSend));
    assert_eq!(SyncFilter::parse("sent"), None);
    for f in SyncFilter::ALL {
        assert_eq!(SyncFilter::parse(f.as_str()), Some(f));
    }
}
