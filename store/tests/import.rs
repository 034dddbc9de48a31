//! Large imports (a pull page, a big USB bundle) spread records over worker threads: they give
//! exactly the store a record-by-record import gives, and one bad record anywhere in the batch
//! still refuses the whole batch and leaves the store as it was.

mod common;

use common::*;
use mrm_store::Store;
use serde_json::json;

type Changes = Vec<(String, Vec<u8>)>;

/// Two officers' stores that each edited 30 shared incidents while apart (so the merge has
/// conflicts), plus incidents of their own and a patrol: every change of both.
fn mission(dir: &std::path::Path) -> Changes {
    let mut a = new_store(&dir.join("a"), "Awa D.");
    let mut b = new_store(&dir.join("b"), "Ben K.");
    let p = serde_json::from_value(json!({"date": days_ago(3), "route": ["Kiwanja"]})).unwrap();
    a.add_patrol(&p).unwrap();
    let mut shared = Vec::new();
    for i in 0..30 {
        shared.push(
            a.add_incident(&patch(incident_json(&format!("Shared {i}"))))
                .unwrap(),
        );
    }
    b.import(a.changes_missing_from(None).unwrap()).unwrap();
    for (i, id) in shared.iter().enumerate() {
        a.edit_incident(id, &patch(json!({"title": format!("A's title {i}")})))
            .unwrap();
        b.edit_incident(id, &patch(json!({"title": format!("B's title {i}")})))
            .unwrap();
    }
    for i in 0..20 {
        b.add_incident(&patch(incident_json(&format!("B only {i}"))))
            .unwrap();
    }
    let mut all = a.changes_missing_from(None).unwrap();
    all.extend(b.changes_missing_from(Some(&a.heads().unwrap())).unwrap());
    all
}

fn fresh(dir: &std::path::Path, name: &str) -> Store {
    new_store(&dir.join(name), "Reviewer R.")
}

#[test]
fn a_large_batch_gives_the_store_a_record_by_record_import_gives() {
    let tmp = tempfile::tempdir().unwrap();
    let changes = mission(tmp.path());

    let mut whole = fresh(tmp.path(), "whole");
    let report = whole.import(changes.clone()).unwrap();
    // B sends the 30 shared records whole: their first change is A's, already in the batch.
    assert_eq!(report.received, changes.len());
    assert_eq!(report.duplicates, 30);
    assert_eq!(report.new_changes, changes.len() - 30);
    assert_eq!(report.records_new, 51);
    assert_eq!(report.records_changed.len(), 51);
    assert_eq!(
        report.new_conflicts, 30,
        "one title conflict per shared incident"
    );
    check_projections(&whole);

    // The same changes, one record per import, in record-id order.
    let mut by_record = fresh(tmp.path(), "by-record");
    let mut ids: Vec<String> = changes.iter().map(|(d, _)| d.clone()).collect();
    ids.sort();
    ids.dedup();
    for id in &ids {
        let mine: Changes = changes.iter().filter(|(d, _)| d == id).cloned().collect();
        by_record.import(mine).unwrap();
    }
    assert_eq!(snapshot(&whole), snapshot(&by_record));

    // Again: everything is a duplicate, nothing changes.
    let before = snapshot(&whole);
    let again = whole.import(changes.clone()).unwrap();
    assert_eq!(again.new_changes, 0);
    assert_eq!(again.duplicates, changes.len());
    assert!(again.records_changed.is_empty());
    assert_eq!(snapshot(&whole), before);

    // Half now and the whole later (a cut pull page sent again): the same store.
    let mut halves = fresh(tmp.path(), "halves");
    let halves_first = halves
        .import(changes[..changes.len() / 2].to_vec())
        .unwrap();
    let rest = halves.import(changes.clone()).unwrap();
    assert_eq!(rest.duplicates + rest.new_changes, changes.len());
    assert_eq!(
        rest.new_changes,
        report.new_changes - halves_first.new_changes
    );
    assert_eq!(snapshot(&halves).incidents, before.incidents);
    assert_eq!(snapshot(&halves).conflicts, before.conflicts);
    check_projections(&halves);
}

/// The incident rows of a store, by id (what a reader sees of each record).
fn rows(store: &mrm_store::Store) -> std::collections::BTreeMap<String, String> {
    light(store)
        .rows
        .into_iter()
        .map(|r| (r.id.clone(), format!("{r:?}")))
        .collect()
}

#[test]
fn one_bad_record_anywhere_in_a_large_batch_holds_only_itself() {
    let tmp = tempfile::tempdir().unwrap();
    let changes = mission(tmp.path());
    let mut whole = fresh(tmp.path(), "whole");
    whole.import(changes.clone()).unwrap();
    let everything = rows(&whole);

    let mut doc = automerge::AutoCommit::new();
    automerge::transaction::Transactable::put(&mut doc, automerge::ROOT, "hello", "world").unwrap();
    let not_mrm = doc.get_last_local_change().unwrap().bytes().into_owned();
    // Record ids that sort first, in the middle and last among the batch's records (so in the
    // first, a middle and the last chunk of the import).
    for (n, id) in [
        "00000000-0000-7000-8000-000000000000",
        "01900000-0000-7000-8000-000000000000",
        "ffffffff-ffff-7fff-bfff-ffffffffffff",
    ]
    .into_iter()
    .enumerate()
    {
        let mut store = fresh(tmp.path(), &format!("target-{n}"));
        for (bytes, why) in [
            (b"junk".to_vec(), "not a valid Automerge change"),
            (not_mrm.clone(), "is not an MRM record"),
        ] {
            let mut batch = changes.clone();
            batch.insert(batch.len() / 2, (id.to_string(), bytes));
            let r = store.import(batch).unwrap();
            let named = r
                .held
                .iter()
                .any(|h| h.doc_id == id && h.reason.contains(why))
                || r.left_out.iter().any(|w| w.contains(id) && w.contains(why));
            assert!(named, "{id}: {r:?}");
            assert_eq!(rows(&store), everything, "{id}: the other records");
            check_projections(&store);
        }
    }
    // A change whose dependency is missing, in the last record of the batch with several: that
    // record takes what it can and holds the rest; everything else goes in.
    let last = changes
        .iter()
        .map(|(d, _)| d)
        .filter(|d| changes.iter().filter(|(e, _)| e == *d).count() > 1)
        .max()
        .unwrap()
        .clone();
    let first = changes.iter().find(|(d, _)| *d == last).unwrap().1.clone();
    let mut batch = changes.clone();
    batch.retain(|(_, c)| *c != first);
    let mut store = fresh(tmp.path(), "target-deps");
    let r = store.import(batch).unwrap();
    assert!(r.held.iter().any(|h| h.doc_id == last), "{r:?}");
    let mut without = everything.clone();
    without.remove(&last);
    let mut got = rows(&store);
    got.remove(&last);
    assert_eq!(got, without);

    // The missing change arrives: the record is whole, and nothing waits.
    let r = store.import(changes).unwrap();
    assert_eq!(r.released, vec![last.clone()], "{r:?}");
    assert!(r.held.is_empty(), "{r:?}");
    assert_eq!(rows(&store), everything);
    check_projections(&store);
}

#[test]
fn damaged_changes_in_a_large_batch_never_bring_the_import_down() {
    // Automerge panics on some damaged changes; in a large batch that happens on a worker
    // thread, and must still end as that record held or left out, the others applied.
    let tmp = tempfile::tempdir().unwrap();
    let changes = mission(tmp.path());
    let mut whole = fresh(tmp.path(), "whole");
    whole.import(changes.clone()).unwrap();
    let everything = rows(&whole);
    let mut store = fresh(tmp.path(), "target");
    let k = changes.len() / 2;
    let damaged_doc = changes[k].0.clone();
    let (mut refusals, mut accepted) = (0, 0);
    for i in (0..changes[k].1.len()).step_by(5) {
        let mut damaged = changes.clone();
        damaged[k].1[i] ^= 0x80;
        let r = store.import(damaged).unwrap();
        if r.held.iter().any(|h| h.doc_id == damaged_doc) || !r.left_out.is_empty() {
            refusals += 1;
            let mut got = rows(&store);
            got.remove(&damaged_doc);
            let mut want = everything.clone();
            want.remove(&damaged_doc);
            assert_eq!(got, want, "byte {i}: the other records");
        } else {
            // Harmless damage (inside a text value): applied; start again.
            accepted += 1;
            store = fresh(tmp.path(), &format!("target-{i}"));
        }
        check_projections(&store);
    }
    eprintln!("{refusals} damaged changes refused, {accepted} accepted");
    assert!(refusals > 10, "only {refusals} refusals");
}
