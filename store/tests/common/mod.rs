//! Helpers shared by the store's integration tests: fresh stores, incident JSON, a snapshot of
//! everything a user can see in a store, and the consistency check that compares the projection
//! tables (what lists, filters and figures read) with the documents they are derived from.

#![allow(dead_code)]

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use chrono::{Datelike, NaiveDate};
use mrm_crdt::conflicts::Conflict;
use mrm_crdt::document::RecordKind;
use mrm_crdt::input::IncidentPatch;
use mrm_crdt::model::{Incident, VerificationStatus, Violation, ViolationType};
use mrm_crdt::policy::Role;
use mrm_crdt::Error;
use mrm_store::Store;
use mrm_store::{IncidentFilter, IncidentRow, IncidentView, PatrolRow, Stats};
use serde_json::{json, Value};

/// The mission every test store belongs to.
pub const MISSION: &str = "TESTMISSION";

/// The passphrase of every test store.
pub const PASSPHRASE: &str = "test store passphrase";

/// The test stores' passphrase.
pub fn pass() -> mrm_crdt::crypto::Passphrase {
    mrm_crdt::crypto::Passphrase::new(PASSPHRASE)
}

/// A new store in `dir` for `officer`.
pub fn new_store(dir: &Path, officer: &str) -> Store {
    Store::init(dir, &pass(), MISSION, officer, "Goma").expect("init a store")
}

/// A new store in `root/dir` for `officer`, enrolled with `role` (as an endpoint's answer would
/// record it; no endpoint is contacted).
pub fn enrolled(root: &Path, dir: &str, officer: &str, role: mrm_crdt::policy::Role) -> Store {
    let mut s = new_store(&root.join(dir), officer);
    let d = s.device().clone();
    s.save_enrollment(
        "http://127.0.0.1:9",
        &mrm_crdt::protocol::EnrollResponse {
            device_id: format!("dev-{}", d.officer),
            secret: "0".repeat(64),
            officer: d.officer,
            team: d.team,
            role,
            mission: d.mission,
            revocation_key: None,
        },
        None,
    )
    .expect("record the enrollment");
    s
}

/// A verification event of `status`, now, by the store's officer.
pub fn verification(status: VerificationStatus) -> mrm_crdt::input::EventInput {
    mrm_crdt::input::EventInput {
        status,
        at: None,
        by: None,
        note: String::new(),
        source_ids: Vec::new(),
        level: None,
        sources: None,
    }
}

/// Send `to` everything `from` has that `to` lacks, as a USB bundle would.
pub fn send_all(from: &Store, to: &mut Store) {
    let changes = from
        .changes_missing_from(Some(&to.heads().expect("heads")))
        .expect("changes");
    to.import(changes).expect("import");
}

/// [`send_all`] from `stores[from]` to `stores[to]` (nothing when they are the same store).
pub fn send_between(stores: &mut [Store], from: usize, to: usize) {
    if from == to {
        return;
    }
    let (src, dst) = if from < to {
        let (x, y) = stores.split_at_mut(to);
        (&x[from], &mut y[0])
    } else {
        let (x, y) = stores.split_at_mut(from);
        (&y[0], &mut x[to])
    };
    send_all(src, dst);
}

/// Everything to everyone: every pair, twice round, so what reached one store in the first
/// round reaches the others in the second.
pub fn exchange_all(stores: &mut [Store]) {
    for _ in 0..2 {
        for from in 0..stores.len() {
            for to in 0..stores.len() {
                send_between(stores, from, to);
            }
        }
    }
}

/// Open the store in `dir` with the test passphrase.
pub fn open_store(dir: &Path) -> Store {
    Store::open(dir, &pass()).expect("open the store")
}

/// The device's date, as the store validates against.
pub fn today() -> NaiveDate {
    mrm_store::today()
}

/// `YYYY-MM-DD` of `n` days before today.
pub fn days_ago(n: u64) -> String {
    (today() - chrono::Days::new(n))
        .format("%Y-%m-%d")
        .to_string()
}

/// `YYYY-MM-DD` of `n` days after today. A date is in the future only when it is after today
/// at UTC+14, which is tomorrow here for part of every day: a "future" date in a test is
/// `days_ahead(2)` or later.
pub fn days_ahead(n: u64) -> String {
    (today() + chrono::Days::new(n))
        .format("%Y-%m-%d")
        .to_string()
}

/// A partial incident from JSON (panics on a shape the input types refuse).
pub fn patch(v: Value) -> IncidentPatch {
    serde_json::from_value(v).expect("a well-formed incident patch")
}

/// A complete, valid incident: one killing (one boy) and one source.
pub fn incident_json(title: &str) -> Value {
    json!({
        "title": title,
        "occurred_on": days_ago(10),
        "date_precision": "day",
        "reported_on": days_ago(8),
        "location": {"admin1": "North Kivu", "admin2": "Rutshuru", "place": "Kiwanja"},
        "narrative": "Fictional test narrative.",
        "sources": [{"kind": "eyewitness", "consent": true, "notes": "met at the market"}],
        "violations": [
            {"type": "killing", "victims": {"boys": 1, "girls": 0, "sex_unknown": 0},
             "perpetrator": {"party": "Group Alpha", "category": "armed_group"}}
        ]
    })
}

/// Ids of the store's incidents, sorted.
pub fn incident_ids(store: &Store) -> Vec<String> {
    store
        .record_ids()
        .expect("record ids")
        .into_iter()
        .filter(|(_, k)| *k == RecordKind::Incident)
        .map(|(id, _)| id)
        .collect()
}

/// Ids of the store's patrols, sorted.
pub fn patrol_ids(store: &Store) -> Vec<String> {
    store
        .record_ids()
        .expect("record ids")
        .into_iter()
        .filter(|(_, k)| *k == RecordKind::Patrol)
        .map(|(id, _)| id)
        .collect()
}

/// Everything a user can see in a store, to compare two stores or a store before and after.
#[derive(Debug, Clone, PartialEq)]
pub struct Snapshot {
    pub incidents: Vec<Incident>,
    pub conflicts: BTreeMap<String, Vec<Conflict>>,
    pub rows: Vec<IncidentRow>,
    pub total: i64,
    pub patrols: Vec<PatrolRow>,
    pub stats: Stats,
    pub heads: mrm_store::Heads,
    pub change_count: i64,
    pub change_hashes: Vec<String>,
}

/// Take a [`Snapshot`].
pub fn snapshot(store: &Store) -> Snapshot {
    let mut incidents = Vec::new();
    let mut conflicts = BTreeMap::new();
    for id in incident_ids(store) {
        let view = store.incident_view(&id).expect("read incident");
        incidents.push(view.incident);
        conflicts.insert(id, view.conflicts);
    }
    for id in patrol_ids(store) {
        conflicts.insert(id.clone(), store.conflicts(&id).expect("conflicts"));
    }
    let mut page = store
        .list_incidents(&IncidentFilter::default())
        .expect("list");
    // Where a row stands with the endpoint is this store's own (what it has sent, what waits
    // here), not the record's: replicas holding the same records differ in it. `light` keeps it.
    for row in &mut page.items {
        row.sync.state = mrm_store::RecordSync::Synced;
        row.sync.reason = None;
    }
    Snapshot {
        incidents,
        conflicts,
        rows: page.items,
        total: page.total,
        patrols: store.list_patrols().expect("patrols"),
        stats: store.stats().expect("stats"),
        heads: store.heads().expect("heads"),
        change_count: store.change_count().expect("change count"),
        change_hashes: store.change_hashes().expect("change hashes"),
    }
}

/// What lists, figures and the change log show, without reading any document: cheap enough to
/// take before every edit. Equal heads and change logs mean equal documents.
#[derive(Debug, Clone, PartialEq)]
pub struct Light {
    pub rows: Vec<IncidentRow>,
    pub total: i64,
    pub patrols: Vec<PatrolRow>,
    pub stats: Stats,
    pub heads: mrm_store::Heads,
    pub change_count: i64,
    pub change_hashes: Vec<String>,
}

/// Take a [`Light`] snapshot.
pub fn light(store: &Store) -> Light {
    let page = store
        .list_incidents(&IncidentFilter::default())
        .expect("list");
    Light {
        rows: page.items,
        total: page.total,
        patrols: store.list_patrols().expect("patrols"),
        stats: store.stats().expect("stats"),
        heads: store.heads().expect("heads"),
        change_count: store.change_count().expect("change count"),
        change_hashes: store.change_hashes().expect("change hashes"),
    }
}

/// Last day of the calendar quarter of `d` (written independently of the library's version).
fn quarter_end(d: NaiveDate) -> NaiveDate {
    let (m, day) = match d.month() {
        1..=3 => (3, 31),
        4..=6 => (6, 30),
        7..=9 => (9, 30),
        _ => (12, 31),
    };
    NaiveDate::from_ymd_opt(d.year(), m, day).unwrap()
}

/// Whether a violation is a late verification: its current ruling is `verified`, made (on its
/// writer's calendar) after the end of the quarter in which the incident ended.
pub fn expected_late(inc: &Incident, v: &Violation) -> bool {
    let day = |s: &str| NaiveDate::parse_from_str(s, "%Y-%m-%d").ok();
    let Some(ended) = inc
        .ended_on
        .as_deref()
        .and_then(day)
        .or_else(|| day(&inc.occurred_on))
    else {
        return false;
    };
    // Since when it stands verified: a confirmation does not make it late.
    let Some(e) = v.verified_since() else {
        return false;
    };
    chrono::DateTime::parse_from_rfc3339(&e.at)
        .map(|t| t.date_naive() > quarter_end(ended))
        .unwrap_or(false)
}

/// The consistency check: rebuild what the projections should say from the documents and compare
/// with what lists, filters and figures actually return. Panics with the first difference.
pub fn check_projections(store: &Store) {
    let ids = incident_ids(store);
    let views: Vec<IncidentView> = ids
        .iter()
        .map(|id| {
            store
                .incident_view(id)
                .unwrap_or_else(|e| panic!("read incident: {e:?}"))
        })
        .collect();
    let incidents: Vec<Incident> = views.iter().map(|v| v.incident.clone()).collect();
    let by_id: BTreeMap<&str, &Incident> = incidents.iter().map(|i| (i.id.as_str(), i)).collect();
    let n_conflicts: BTreeMap<&str, usize> = views
        .iter()
        .map(|v| (v.incident.id.as_str(), v.conflicts.len()))
        .collect();
    let pids = patrol_ids(store);

    // Every record has heads, and the projection's heads are the document's.
    let heads = store.heads().expect("heads");
    let mut all: BTreeSet<String> = ids.iter().cloned().collect();
    all.extend(pids.iter().cloned());
    let head_ids: BTreeSet<String> = heads.keys().cloned().collect();
    assert!(
        all.is_subset(&head_ids),
        "records without heads: {:?}",
        all.difference(&head_ids).collect::<Vec<_>>()
    );
    for view in &views {
        let id = &view.incident.id;
        assert_eq!(view.heads, heads[id], "heads of {id}");
        assert_eq!(
            view.conflicts,
            store.conflicts(id).expect("conflicts"),
            "conflicts of {id}"
        );
        let statuses: Vec<(String, VerificationStatus)> = view
            .status
            .iter()
            .map(|s| (s.violation_id.clone(), s.status))
            .collect();
        let expected: Vec<(String, VerificationStatus)> = view
            .incident
            .violations
            .iter()
            .map(|v| (v.id.clone(), v.status()))
            .collect();
        assert_eq!(statuses, expected, "derived statuses of {id}");
        for (s, v) in view.status.iter().zip(&view.incident.violations) {
            assert_eq!(
                s.late,
                expected_late(&view.incident, v),
                "late flag of {}",
                v.id
            );
        }
    }

    // The caseload list: one row per incident, newest first, each row equal to its document.
    let page = store
        .list_incidents(&IncidentFilter::default())
        .expect("list");
    assert_eq!(page.total as usize, ids.len(), "incident count in the list");
    assert_eq!(page.items.len(), ids.len());
    let mut expected_order: Vec<(&str, &str)> = incidents
        .iter()
        .map(|i| (i.occurred_on.as_str(), i.id.as_str()))
        .collect();
    expected_order.sort();
    expected_order.reverse();
    let got_order: Vec<(&str, &str)> = page
        .items
        .iter()
        .map(|r| (r.occurred_on.as_str(), r.id.as_str()))
        .collect();
    assert_eq!(got_order, expected_order, "list order");
    // Each row's sync state as `mrm status` reads it (record_sync.rs, its own SQL).
    let unsynced: BTreeMap<String, mrm_store::RecordSyncState> = store
        .unsynced_records()
        .expect("unsynced records")
        .into_iter()
        .map(|r| (r.doc_id.clone(), r))
        .collect();
    for row in &page.items {
        let inc = by_id[row.id.as_str()];
        let expected = IncidentRow {
            id: inc.id.clone(),
            title: inc.title.clone(),
            occurred_on: inc.occurred_on.clone(),
            reported_on: inc.reported_on.clone(),
            admin1: inc.location.admin1.clone(),
            admin2: inc.location.admin2.clone(),
            place: inc.location.place.clone(),
            patrol_id: inc.patrol_id.clone(),
            team: inc.team.clone(),
            created_by: inc.created_by.clone(),
            review_state: inc.review.state.as_str().to_string(),
            conflicts: n_conflicts[row.id.as_str()] as i64,
            attention: store.attention_count(&inc.id).unwrap(),
            violations: inc
                .violations
                .iter()
                .filter(|v| v.is_live())
                .map(|v| mrm_store::ViolationRow {
                    id: v.id.clone(),
                    kind: v.kind.as_str().to_string(),
                    boys: v.victims.boys,
                    girls: v.victims.girls,
                    sex_unknown: v.victims.sex_unknown,
                    party: v.perpetrator.party.clone(),
                    category: v.perpetrator.category.as_str().to_string(),
                    status: v.status().as_str().to_string(),
                    late: expected_late(inc, v),
                })
                .collect(),
            sync: unsynced.get(&inc.id).map_or(
                mrm_store::RowSync {
                    state: mrm_store::RecordSync::Synced,
                    reason: None,
                    conflict: false,
                },
                |r| mrm_store::RowSync {
                    state: r.state,
                    reason: r.reason.clone(),
                    conflict: r.conflict,
                },
            ),
        };
        assert_eq!(row, &expected, "projection row of incident {}", row.id);
    }

    // Filters by violation type and status find exactly the incidents with such a violation.
    for t in ViolationType::ALL {
        let f = IncidentFilter {
            kind: Some(*t),
            ..IncidentFilter::default()
        };
        let mut got: Vec<String> = store
            .list_incidents(&f)
            .expect("list")
            .items
            .into_iter()
            .map(|r| r.id)
            .collect();
        got.sort();
        let want: Vec<String> = incidents
            .iter()
            .filter(|i| i.violations.iter().any(|v| v.is_live() && v.kind == *t))
            .map(|i| i.id.clone())
            .collect();
        assert_eq!(got, want, "--type {t}");
    }
    for s in VerificationStatus::ALL {
        let f = IncidentFilter {
            status: Some(*s),
            ..IncidentFilter::default()
        };
        let mut got: Vec<String> = store
            .list_incidents(&f)
            .expect("list")
            .items
            .into_iter()
            .map(|r| r.id)
            .collect();
        got.sort();
        let want: Vec<String> = incidents
            .iter()
            .filter(|i| i.violations.iter().any(|v| v.is_live() && v.status() == *s))
            .map(|i| i.id.clone())
            .collect();
        assert_eq!(got, want, "--status {s}");
    }

    // The match's counts, the party filter and the sort by children read the sums and the
    // violation mask kept on each incident row (schema 16): each equal to the documents'.
    let nfc = mrm_crdt::report::nfc;
    let parties: BTreeSet<String> = incidents
        .iter()
        .flat_map(|i| i.violations.iter().filter(|v| v.is_live()))
        .map(|v| nfc(&v.perpetrator.party))
        .filter(|p| !p.is_empty())
        .collect();
    for party in parties.iter().map(Some).chain([None]) {
        let f = IncidentFilter {
            party: party.cloned(),
            ..IncidentFilter::default()
        };
        let page = store.caseload(&f).expect("caseload");
        let (mut n, mut violations, mut boys, mut girls, mut unknown) = (0, 0, 0, 0, 0);
        for inc in &incidents {
            let matching: Vec<&Violation> = inc
                .violations
                .iter()
                .filter(|v| v.is_live())
                .filter(|v| party.is_none_or(|p| nfc(&v.perpetrator.party) == *p))
                .collect();
            if party.is_some() && matching.is_empty() {
                continue;
            }
            n += 1;
            violations += matching.len() as i64;
            boys += matching.iter().map(|v| v.victims.boys).sum::<i64>();
            girls += matching.iter().map(|v| v.victims.girls).sum::<i64>();
            unknown += matching.iter().map(|v| v.victims.sex_unknown).sum::<i64>();
        }
        assert_eq!(
            (page.total, page.violations),
            (n, violations),
            "incidents and violations matching party {party:?}"
        );
        assert_eq!(
            (
                page.children.boys,
                page.children.girls,
                page.children.sex_unknown
            ),
            (boys, girls, unknown),
            "children matching party {party:?}"
        );
    }
    let by_children = store
        .list_incidents(&IncidentFilter {
            sort: mrm_store::Sort::Children,
            ..IncidentFilter::default()
        })
        .expect("list by children");
    let mut want: Vec<(i64, &str)> = incidents
        .iter()
        .map(|i| {
            let live = i.violations.iter().filter(|v| v.is_live());
            (live.map(|v| v.victims.total()).sum(), i.id.as_str())
        })
        .collect();
    want.sort();
    want.reverse();
    let got: Vec<&str> = by_children.items.iter().map(|r| r.id.as_str()).collect();
    let want: Vec<&str> = want.into_iter().map(|(_, id)| id).collect();
    assert_eq!(got, want, "sorted by children");

    // Patrols, with the number of incidents that name them.
    let mut want_patrols = Vec::new();
    for id in &pids {
        let p = store.patrol(id).expect("read patrol");
        want_patrols.push(PatrolRow {
            id: p.id.clone(),
            date: p.date.clone(),
            team: p.team.clone(),
            route: p.route.clone(),
            participants: p.participants.clone(),
            ended_at: p.ended_at.clone(),
            incidents: incidents
                .iter()
                .filter(|i| i.patrol_id.as_deref() == Some(id.as_str()))
                .count() as i64,
        });
    }
    want_patrols.sort_by(|a, b| (&b.date, &b.id).cmp(&(&a.date, &a.id)));
    assert_eq!(
        store.list_patrols().expect("patrols"),
        want_patrols,
        "patrol list"
    );

    // The headline figures.
    let stats = store.stats().expect("stats");
    let mut want = Stats {
        incidents: incidents.len() as i64,
        patrols: pids.len() as i64,
        ..Stats::default()
    };
    for t in ViolationType::ALL {
        want.violations_by_type.insert(t.as_str().into(), 0);
    }
    for s in VerificationStatus::ALL {
        want.violations_by_status.insert(s.as_str().into(), 0);
    }
    for inc in &incidents {
        if n_conflicts[inc.id.as_str()] > 0 {
            want.incidents_with_conflicts += 1;
        }
        // Withdrawn violations stay in their records, out of the figures.
        for v in inc.violations.iter().filter(|v| v.is_live()) {
            want.violations += 1;
            *want.violations_by_type.get_mut(v.kind.as_str()).unwrap() += 1;
            *want
                .violations_by_status
                .get_mut(v.status().as_str())
                .unwrap() += 1;
            let vic = &v.victims;
            want.children.boys += vic.boys;
            want.children.girls += vic.girls;
            want.children.sex_unknown += vic.sex_unknown;
            want.children.total += vic.total();
            if v.status() == VerificationStatus::Verified {
                want.verified_violations += 1;
                want.verified_children.boys += vic.boys;
                want.verified_children.girls += vic.girls;
                want.verified_children.sex_unknown += vic.sex_unknown;
                want.verified_children.total += vic.total();
            }
            if expected_late(inc, v) {
                want.late_verifications += 1;
            }
        }
    }
    assert_eq!(stats, want, "figures");
}

/// An officer's store and a reviewer's, both enrolled, and an incident of the officer's.
pub fn officer_reviewer_incident(root: &std::path::Path) -> (Store, Store, String) {
    let mut officer = enrolled(root, "o", "Omar O.", Role::Officer);
    let reviewer = enrolled(root, "r", "Rose R.", Role::Reviewer);
    let id = officer
        .add_incident(&patch(incident_json("Attack on Kiwanja")))
        .unwrap();
    (officer, reviewer, id)
}

/// An officer's incident, verified by a reviewer, back on the officer's store.
pub fn verified_incident(root: &std::path::Path) -> (Store, Store, String, String) {
    let (mut officer, mut reviewer, id) = officer_reviewer_incident(root);
    let vid = officer.incident(&id).unwrap().violations[0].id.clone();
    send_all(&officer, &mut reviewer);
    reviewer
        .verify(&id, &vid, &verification(VerificationStatus::Verified))
        .unwrap();
    send_all(&reviewer, &mut officer);
    (officer, reviewer, id, vid)
}

/// Record `id` as `store` holds it, rebuilt from its changes.
pub fn doc_of(store: &Store, id: &str) -> automerge::Automerge {
    let mut doc = automerge::Automerge::new();
    let changes = store
        .changes_missing_from(None)
        .unwrap()
        .into_iter()
        .filter(|(d, _)| d == id)
        .map(|(_, b)| automerge::Change::from_bytes(b).unwrap());
    doc.apply_changes(changes).unwrap();
    doc
}

/// A change written with the automerge crate under `store`'s actor on its copy of record `id`,
/// judged as the endpoint judges a push.
pub fn forged(
    store: &Store,
    id: &str,
    edit: impl FnOnce(&mut automerge::transaction::Transaction<'_>, &automerge::Automerge),
) -> Result<(), Error> {
    forged_kind(store, id, RecordKind::Incident, edit)
}

/// [`forged`] on a record of `kind`.
#[allow(dead_code)]
pub fn forged_kind(
    store: &Store,
    id: &str,
    kind: RecordKind,
    edit: impl FnOnce(&mut automerge::transaction::Transaction<'_>, &automerge::Automerge),
) -> Result<(), Error> {
    let mut doc = doc_of(store, id);
    let before = doc.clone();
    doc.set_actor(automerge::ActorId::try_from(store.device().actor.as_str()).unwrap());
    let snapshot = doc.clone();
    let mut tx = doc.transaction();
    edit(&mut tx, &snapshot);
    tx.commit();
    let new = doc.get_changes(&before.get_heads());
    let writer = store.writer().unwrap();
    mrm_crdt::effect::check_changes(
        &writer,
        kind,
        Some(&before),
        &doc,
        &new,
        &mrm_crdt::validate::Clock::local(),
    )
}

/// The object at `p` in `o`; panics when it is not one.
pub fn obj(
    doc: &automerge::Automerge,
    o: &automerge::ObjId,
    p: impl Into<automerge::Prop>,
) -> automerge::ObjId {
    use automerge::ReadDoc;
    match doc.get(o, p).unwrap() {
        Some((automerge::Value::Object(_), id)) => id,
        other => panic!("not an object: {other:?}"),
    }
}
