//! Property test: 3 to 5 replicas (real stores on disk) make random edits while exchanging changes
//! in random orders and subsets, directly and through bundle files. After a full exchange every
//! replica shows the same records, lists, figures and conflicts, and every change any replica made
//! is in every replica's history.

mod common;

use std::collections::{BTreeMap, BTreeSet};

use common::*;
use mrm_crdt::bundle::{self, BundleHeader};
use mrm_crdt::input::{EventInput, PatrolPatch};
use mrm_crdt::model::{SourceKind, VerificationStatus, ViolationType};
use mrm_crdt::Error;
use mrm_store::Store;
use proptest::prelude::*;
use serde_json::{json, Value};

/// How one replica sends changes to another.
#[derive(Debug, Clone)]
enum How {
    /// What the other lacks according to its heads.
    Heads,
    /// Everything (the other skips what it has).
    All,
    /// What the other lacks, through a bundle file's encoding, imported twice.
    Bundle,
    /// What the other lacks, shuffled.
    Shuffled(u64),
    /// A random subset of everything, shuffled: applied whole when its dependencies are there,
    /// refused whole (nothing changes) when they are not.
    Subset(u64),
}

#[derive(Debug, Clone)]
enum Op {
    Create {
        r: usize,
        title: u8,
        days: u8,
        kinds: Vec<u8>,
        source: bool,
    },
    SetField {
        r: usize,
        inc: usize,
        field: u8,
        val: u8,
    },
    AddViolation {
        r: usize,
        inc: usize,
        kind: u8,
        boys: u8,
        girls: u8,
    },
    SetCounts {
        r: usize,
        inc: usize,
        viol: usize,
        boys: u8,
        girls: u8,
        unknown: u8,
    },
    SetPerpetrator {
        r: usize,
        inc: usize,
        viol: usize,
        party: u8,
    },
    RemoveViolation {
        r: usize,
        inc: usize,
        viol: usize,
    },
    AddCoded {
        r: usize,
        inc: usize,
        viol: usize,
        sex: u8,
        age: u8,
    },
    RemoveCoded {
        r: usize,
        inc: usize,
        viol: usize,
        coded: usize,
    },
    AddSource {
        r: usize,
        inc: usize,
        kind: u8,
    },
    RemoveSource {
        r: usize,
        inc: usize,
        src: usize,
    },
    Verify {
        r: usize,
        inc: usize,
        viol: usize,
        status: u8,
        src: Option<usize>,
    },
    AddPatrol {
        r: usize,
        days: u8,
    },
    LinkPatrol {
        r: usize,
        inc: usize,
        patrol: usize,
    },
    /// An edit that must be refused (and change nothing).
    Invalid {
        r: usize,
        inc: usize,
        which: u8,
    },
    Exchange {
        from: usize,
        to: usize,
        how: How,
    },
}

fn how() -> impl Strategy<Value = How> {
    prop_oneof![
        3 => Just(How::Heads),
        1 => Just(How::All),
        2 => Just(How::Bundle),
        2 => any::<u64>().prop_map(How::Shuffled),
        2 => any::<u64>().prop_map(How::Subset),
    ]
}

fn op() -> impl Strategy<Value = Op> {
    let r = 0usize..8;
    let i = || 0usize..16;
    prop_oneof![
        4 => (r.clone(), any::<u8>(), 10u8..60, prop::collection::vec(any::<u8>(), 0..3), any::<bool>())
            .prop_map(|(r, title, days, kinds, source)| Op::Create { r, title, days, kinds, source }),
        4 => (r.clone(), i(), 0u8..6, any::<u8>())
            .prop_map(|(r, inc, field, val)| Op::SetField { r, inc, field, val }),
        2 => (r.clone(), i(), any::<u8>(), 0u8..4, 0u8..4)
            .prop_map(|(r, inc, kind, boys, girls)| Op::AddViolation { r, inc, kind, boys, girls }),
        3 => (r.clone(), i(), i(), 0u8..5, 0u8..5, 0u8..3)
            .prop_map(|(r, inc, viol, boys, girls, unknown)| Op::SetCounts { r, inc, viol, boys, girls, unknown }),
        1 => (r.clone(), i(), i(), any::<u8>())
            .prop_map(|(r, inc, viol, party)| Op::SetPerpetrator { r, inc, viol, party }),
        1 => (r.clone(), i(), i())
            .prop_map(|(r, inc, viol)| Op::RemoveViolation { r, inc, viol }),
        2 => (r.clone(), i(), i(), 0u8..3, 0u8..18)
            .prop_map(|(r, inc, viol, sex, age)| Op::AddCoded { r, inc, viol, sex, age }),
        1 => (r.clone(), i(), i(), i())
            .prop_map(|(r, inc, viol, coded)| Op::RemoveCoded { r, inc, viol, coded }),
        2 => (r.clone(), i(), any::<u8>())
            .prop_map(|(r, inc, kind)| Op::AddSource { r, inc, kind }),
        1 => (r.clone(), i(), i())
            .prop_map(|(r, inc, src)| Op::RemoveSource { r, inc, src }),
        3 => (r.clone(), i(), i(), any::<u8>(), prop::option::of(i()))
            .prop_map(|(r, inc, viol, status, src)| Op::Verify { r, inc, viol, status, src }),
        1 => (r.clone(), 0u8..30).prop_map(|(r, days)| Op::AddPatrol { r, days }),
        1 => (r.clone(), i(), i()).prop_map(|(r, inc, patrol)| Op::LinkPatrol { r, inc, patrol }),
        1 => (r.clone(), i(), 0u8..6).prop_map(|(r, inc, which)| Op::Invalid { r, inc, which }),
        6 => (r.clone(), r, how()).prop_map(|(from, to, how)| Op::Exchange { from, to, how }),
    ]
}

/// A tiny deterministic generator for shuffles and subsets (SplitMix64).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn shuffle<T>(&mut self, v: &mut [T]) {
        for i in (1..v.len()).rev() {
            let j = (self.next() % (i as u64 + 1)) as usize;
            v.swap(i, j);
        }
    }
}

const PARTIES: &[&str] = &["Group Alpha", "Group Bravo", "National Army", ""];
const PLACES: &[&str] = &["Kiwanja", "Nyanzale", "Oicha", "Bunia"];
const ADMIN1: &[&str] = &["North Kivu", "South Kivu", "Ituri"];

fn pick<T: Copy>(items: &[T], n: u8) -> T {
    items[n as usize % items.len()]
}

fn kind_of(n: u8) -> ViolationType {
    pick(ViolationType::ALL, n)
}

/// Victim counts that make a violation of this kind valid.
fn victims_for(kind: ViolationType, boys: u8, girls: u8) -> Value {
    let (mut b, g) = (boys as i64, girls as i64);
    if kind.has_child_victims() && b + g == 0 {
        b = 1;
    }
    json!({"boys": b, "girls": g, "sex_unknown": 0})
}

struct World {
    _tmp: tempfile::TempDir,
    stores: Vec<Store>,
    /// Every change hash an edit returned, on any replica.
    made: BTreeSet<String>,
}

impl World {
    fn new(n: usize) -> World {
        let tmp = tempfile::tempdir().unwrap();
        let stores = (0..n)
            .map(|i| new_store(&tmp.path().join(format!("r{i}")), &format!("Officer {i}")))
            .collect();
        World {
            _tmp: tmp,
            stores,
            made: BTreeSet::new(),
        }
    }

    fn pick_incident(&self, r: usize, inc: usize) -> Option<String> {
        let ids = incident_ids(&self.stores[r]);
        (!ids.is_empty()).then(|| ids[inc % ids.len()].clone())
    }

    /// An edit through `f`: a change is recorded; a refusal (or no change) must leave the store
    /// exactly as it was.
    fn edit(
        &mut self,
        r: usize,
        must_fail: bool,
        f: impl FnOnce(&mut Store) -> mrm_crdt::Result<Option<String>>,
    ) {
        let before = light(&self.stores[r]);
        let result = f(&mut self.stores[r]);
        if must_fail {
            assert!(result.is_err(), "an invalid edit was accepted: {result:?}");
        }
        match result {
            Ok(Some(hash)) => {
                let after = self.stores[r].change_hashes().unwrap();
                assert!(after.contains(&hash), "the returned change is in the log");
                assert_eq!(after.len(), before.change_hashes.len() + 1);
                self.made.insert(hash);
            }
            Ok(None) => assert_eq!(light(&self.stores[r]), before, "no-op edit changed things"),
            Err(e) => {
                assert!(
                    matches!(e, Error::Invalid { .. } | Error::NotFound { .. }),
                    "unexpected kind of refusal: {e}"
                );
                assert_eq!(
                    light(&self.stores[r]),
                    before,
                    "refused edit ({e}) changed things"
                );
            }
        }
    }

    fn incident_edit(&mut self, r: usize, id: &str, p: Value) {
        let p = patch(p);
        self.edit(r, false, |s| s.edit_incident(id, &p));
    }

    fn apply(&mut self, op: &Op) {
        let n = self.stores.len();
        match op.clone() {
            Op::Create {
                r,
                title,
                days,
                kinds,
                source,
            } => {
                let r = r % n;
                let violations: Vec<Value> = kinds
                    .iter()
                    .map(|k| {
                        let kind = kind_of(*k);
                        json!({"type": kind.as_str(), "victims": victims_for(kind, *k % 3, *k % 2),
                               "perpetrator": {"party": pick(PARTIES, *k), "category": "armed_group"}})
                    })
                    .collect();
                let sources: Vec<Value> = if source {
                    vec![json!({"kind": "eyewitness", "consent": true})]
                } else {
                    Vec::new()
                };
                let p = patch(json!({
                    "title": format!("Incident {title}"),
                    "occurred_on": days_ago(days as u64),
                    "reported_on": days_ago(5),
                    "location": {"admin1": pick(ADMIN1, title), "place": pick(PLACES, title)},
                    "narrative": format!("Narrative {title}"),
                    "sources": sources,
                    "violations": violations,
                }));
                let before = self.stores[r].change_count().unwrap();
                let id = self.stores[r]
                    .add_incident(&p)
                    .expect("a valid new incident");
                let heads = self.stores[r].heads().unwrap();
                assert_eq!(heads[&id].len(), 1);
                assert_eq!(self.stores[r].change_count().unwrap(), before + 1);
                self.made.insert(heads[&id][0].clone());
            }
            Op::SetField { r, inc, field, val } => {
                let r = r % n;
                let Some(id) = self.pick_incident(r, inc) else {
                    return;
                };
                let p = match field {
                    0 => json!({"title": format!("Title {}", val % 4)}),
                    1 => json!({"narrative": format!("Narrative {}", val % 4)}),
                    2 => json!({"location": {"place": pick(PLACES, val)}}),
                    3 => json!({"location": {"admin1": pick(ADMIN1, val)}}),
                    4 => json!({"occurred_on": days_ago(10 + (val % 40) as u64)}),
                    _ => {
                        json!({"location": {"lat": -1.0 - (val % 3) as f64, "lon": 29.0 + (val % 3) as f64}})
                    }
                };
                self.incident_edit(r, &id, p);
            }
            Op::AddViolation {
                r,
                inc,
                kind,
                boys,
                girls,
            } => {
                let r = r % n;
                let Some(id) = self.pick_incident(r, inc) else {
                    return;
                };
                let k = kind_of(kind);
                self.incident_edit(
                    r,
                    &id,
                    json!({"violations": [{"type": k.as_str(), "victims": victims_for(k, boys, girls),
                                           "perpetrator": {"party": pick(PARTIES, kind), "category": "armed_group"}}]}),
                );
            }
            Op::SetCounts {
                r,
                inc,
                viol,
                boys,
                girls,
                unknown,
            } => {
                let r = r % n;
                let Some(id) = self.pick_incident(r, inc) else {
                    return;
                };
                let Ok(incident) = self.stores[r].incident(&id) else {
                    return;
                };
                if incident.violations.is_empty() {
                    return;
                }
                let v = &incident.violations[viol % incident.violations.len()];
                self.incident_edit(
                    r,
                    &id,
                    json!({"violations": [{"id": v.id, "victims": {"boys": boys, "girls": girls, "sex_unknown": unknown}}]}),
                );
            }
            Op::SetPerpetrator {
                r,
                inc,
                viol,
                party,
            } => {
                let r = r % n;
                let Some(id) = self.pick_incident(r, inc) else {
                    return;
                };
                let incident = self.stores[r].incident(&id).unwrap();
                if incident.violations.is_empty() {
                    return;
                }
                let v = &incident.violations[viol % incident.violations.len()];
                self.incident_edit(
                    r,
                    &id,
                    json!({"violations": [{"id": v.id, "perpetrator": {"party": pick(PARTIES, party)}}]}),
                );
            }
            Op::RemoveViolation { r, inc, viol } => {
                let r = r % n;
                let Some(id) = self.pick_incident(r, inc) else {
                    return;
                };
                let incident = self.stores[r].incident(&id).unwrap();
                if incident.violations.is_empty() {
                    return;
                }
                let v = incident.violations[viol % incident.violations.len()]
                    .id
                    .clone();
                self.incident_edit(r, &id, json!({"remove": [v]}));
            }
            Op::AddCoded {
                r,
                inc,
                viol,
                sex,
                age,
            } => {
                let r = r % n;
                let Some(id) = self.pick_incident(r, inc) else {
                    return;
                };
                let incident = self.stores[r].incident(&id).unwrap();
                if incident.violations.is_empty() {
                    return;
                }
                let v = &incident.violations[viol % incident.violations.len()];
                let (sex, key, count) = match sex {
                    0 => ("boy", "boys", v.victims.boys),
                    1 => ("girl", "girls", v.victims.girls),
                    _ => ("unknown", "sex_unknown", v.victims.sex_unknown),
                };
                let mut victims = serde_json::Map::new();
                victims.insert(key.into(), json!(count + 1));
                victims.insert(
                    "coded".into(),
                    json!([{"code": format!("V-{age}"), "sex": sex, "age": age}]),
                );
                self.incident_edit(
                    r,
                    &id,
                    json!({"violations": [{"id": v.id, "victims": victims}]}),
                );
            }
            Op::RemoveCoded {
                r,
                inc,
                viol,
                coded,
            } => {
                let r = r % n;
                let Some(id) = self.pick_incident(r, inc) else {
                    return;
                };
                let incident = self.stores[r].incident(&id).unwrap();
                if incident.violations.is_empty() {
                    return;
                }
                let v = &incident.violations[viol % incident.violations.len()];
                if v.victims.coded.is_empty() {
                    return;
                }
                let c = v.victims.coded[coded % v.victims.coded.len()].id.clone();
                self.incident_edit(r, &id, json!({"remove": [c]}));
            }
            Op::AddSource { r, inc, kind } => {
                let r = r % n;
                let Some(id) = self.pick_incident(r, inc) else {
                    return;
                };
                let kind = pick(SourceKind::ALL, kind);
                self.incident_edit(
                    r,
                    &id,
                    json!({"sources": [{"kind": kind.as_str(), "consent": true, "notes": "n"}]}),
                );
            }
            Op::RemoveSource { r, inc, src } => {
                let r = r % n;
                let Some(id) = self.pick_incident(r, inc) else {
                    return;
                };
                let incident = self.stores[r].incident(&id).unwrap();
                if incident.sources.is_empty() {
                    return;
                }
                let s = incident.sources[src % incident.sources.len()].id.clone();
                // Refused when a verification names the source; fine either way.
                self.incident_edit(r, &id, json!({"remove": [s]}));
            }
            Op::Verify {
                r,
                inc,
                viol,
                status,
                src,
            } => {
                let r = r % n;
                let Some(id) = self.pick_incident(r, inc) else {
                    return;
                };
                let incident = self.stores[r].incident(&id).unwrap();
                if incident.violations.is_empty() {
                    return;
                }
                let v = incident.violations[viol % incident.violations.len()]
                    .id
                    .clone();
                let source_ids = match src {
                    Some(s) if !incident.sources.is_empty() => {
                        vec![incident.sources[s % incident.sources.len()].id.clone()]
                    }
                    _ => Vec::new(),
                };
                let event = EventInput {
                    status: pick(VerificationStatus::ALL, status),
                    at: None,
                    by: None,
                    note: "checked".into(),
                    source_ids,
                    level: None,
                    sources: None,
                };
                self.edit(r, false, |s| s.verify(&id, &v, &event).map(Some));
            }
            Op::AddPatrol { r, days } => {
                let r = r % n;
                let p: PatrolPatch = serde_json::from_value(json!({
                    "date": days_ago(days as u64),
                    "route": [pick(PLACES, days)],
                    "participants": ["Officer"],
                }))
                .unwrap();
                let id = self.stores[r].add_patrol(&p).expect("a valid patrol");
                let heads = self.stores[r].heads().unwrap();
                self.made.insert(heads[&id][0].clone());
            }
            Op::LinkPatrol { r, inc, patrol } => {
                let r = r % n;
                let Some(id) = self.pick_incident(r, inc) else {
                    return;
                };
                let patrols = patrol_ids(&self.stores[r]);
                if patrols.is_empty() {
                    return;
                }
                let p = patrols[patrol % patrols.len()].clone();
                self.incident_edit(r, &id, json!({"patrol_id": p}));
            }
            Op::Invalid { r, inc, which } => {
                let r = r % n;
                let Some(id) = self.pick_incident(r, inc) else {
                    return;
                };
                let incident = self.stores[r].incident(&id).unwrap();
                let p = match which {
                    0 => json!({"occurred_on": days_ahead(3)}),
                    1 => json!({"title": "  "}),
                    2 => json!({"remove": [uuid_like(inc)]}),
                    3 => {
                        json!({"violations": [{"type": "killing", "victims": {"boys": 0, "girls": 0, "sex_unknown": 0}}]})
                    }
                    4 => json!({"patrol_id": uuid_like(inc)}),
                    _ => match incident.violations.first() {
                        Some(v) => json!({"violations": [{"id": v.id, "victims": {"girls": -1}}]}),
                        None => json!({"location": {"lat": 12.0, "lon": null}}),
                    },
                };
                let p = patch(p);
                self.edit(r, true, |s| s.edit_incident(&id, &p));
            }
            Op::Exchange { from, to, how } => {
                let (from, to) = (from % n, to % n);
                if from != to {
                    self.exchange(from, to, &how);
                }
            }
        }
    }

    fn exchange(&mut self, from: usize, to: usize, how: &How) {
        let theirs = self.stores[to].heads().unwrap();
        let missing = self.stores[from]
            .changes_missing_from(Some(&theirs))
            .unwrap();
        let everything = self.stores[from].changes_missing_from(None).unwrap();
        let before_hashes = self.stores[to].change_hashes().unwrap();
        // How many changes `to` lacks, by hash.
        let have: BTreeSet<String> = before_hashes.iter().cloned().collect();
        let lacking = self.stores[from]
            .change_hashes()
            .unwrap()
            .into_iter()
            .filter(|h| !have.contains(h))
            .count();
        let target = &mut self.stores[to];
        let report = match how {
            How::Heads => Some(target.import(missing.clone()).unwrap()),
            How::All => Some(target.import(everything.clone()).unwrap()),
            How::Bundle => {
                let d = self.stores[from].device().clone();
                let header = BundleHeader {
                    mission: d.mission,
                    from_device: d.device_id,
                    created_at: "2026-01-01T00:00:00Z".into(),
                    count: 0,
                };
                let bytes = bundle::encode(&header, &missing).unwrap();
                let b = bundle::decode(&bytes).unwrap();
                assert_eq!(b.header.count, missing.len() as u64);
                assert_eq!(b.changes, missing);
                let target = &mut self.stores[to];
                let report = target.import(b.changes.clone()).unwrap();
                let once = light(target);
                let again = target.import(b.changes).unwrap();
                assert_eq!(again.new_changes, 0, "importing twice adds nothing");
                assert_eq!(light(target), once);
                Some(report)
            }
            How::Shuffled(seed) => {
                let mut changes = missing.clone();
                Rng(*seed).shuffle(&mut changes);
                Some(target.import(changes).unwrap())
            }
            How::Subset(seed) => {
                let before = light(target);
                let mut rng = Rng(*seed);
                let mut changes = everything.clone();
                changes.retain(|_| rng.next() % 3 < 2);
                rng.shuffle(&mut changes);
                match target.import(changes) {
                    Ok(_) => {}
                    Err(Error::MissingDependencies(n)) => {
                        assert!(n > 0);
                        assert_eq!(light(target), before, "a refused import changed things");
                    }
                    Err(e) => panic!("unexpected import error: {e}"),
                }
                None
            }
        };
        if let Some(report) = report {
            assert_eq!(
                report.new_changes, lacking,
                "every lacking change arrives: {report:?}"
            );
            assert_eq!(report.new_changes + report.duplicates, report.received);
        }
        let after: BTreeSet<String> = self.stores[to]
            .change_hashes()
            .unwrap()
            .into_iter()
            .collect();
        assert!(have.is_subset(&after), "an import lost changes");
    }

    /// Every replica sends every other what it lacks: afterwards all have every change.
    fn full_exchange(&mut self) {
        let n = self.stores.len();
        for from in 0..n {
            for to in 0..n {
                if from != to {
                    let how = if (from + to) % 3 == 0 {
                        How::Heads
                    } else {
                        How::Bundle
                    };
                    self.exchange(from, to, &how);
                }
            }
        }
    }
}

/// A UUID that names nothing in any store.
fn uuid_like(n: usize) -> String {
    format!("01890000-0000-7000-8000-{n:012x}")
}

fn run(n: usize, ops: &[Op]) {
    let mut w = World::new(n);
    // Records every replica starts from (as after a first exchange), so that the random edits
    // often touch the same records concurrently.
    w.apply(&Op::Create {
        r: 0,
        title: 0,
        days: 20,
        kinds: vec![0, 4],
        source: true,
    });
    w.apply(&Op::Create {
        r: 0,
        title: 1,
        days: 30,
        kinds: vec![2],
        source: true,
    });
    w.apply(&Op::AddPatrol { r: 0, days: 10 });
    w.full_exchange();
    for (i, op) in ops.iter().enumerate() {
        w.apply(op);
        if i % 10 == 9 {
            for s in &w.stores {
                check_projections(s);
            }
        }
    }
    w.full_exchange();

    let first = snapshot(&w.stores[0]);
    let made: Vec<String> = w.made.iter().cloned().collect();
    assert_eq!(
        first.change_hashes, made,
        "the merged log holds exactly the changes the replicas made"
    );
    for (i, s) in w.stores.iter().enumerate() {
        let snap = snapshot(s);
        assert_eq!(snap.incidents, first.incidents, "records of replica {i}");
        assert_eq!(snap.conflicts, first.conflicts, "conflicts of replica {i}");
        assert_eq!(snap.rows, first.rows, "caseload list of replica {i}");
        assert_eq!(snap.patrols, first.patrols, "patrol list of replica {i}");
        assert_eq!(snap.stats, first.stats, "figures of replica {i}");
        assert_eq!(snap.heads, first.heads, "heads of replica {i}");
        assert_eq!(snap, first, "replica {i}");
        let mut in_history = BTreeSet::new();
        let mut by_record: BTreeMap<String, usize> = BTreeMap::new();
        for (id, _) in s.record_ids().unwrap() {
            let h = s.history(&id).unwrap();
            by_record.insert(id.clone(), h.len());
            for e in h {
                assert!(!e.message.is_empty(), "history entry without a message");
                assert!(e.by.starts_with("Officer "), "history entry by {:?}", e.by);
                in_history.insert(e.hash);
            }
        }
        assert_eq!(in_history, w.made, "history of replica {i}");
        check_projections(s);
    }
    // Heads after the full exchange: nothing left to send in either direction.
    for a in &w.stores {
        for b in &w.stores {
            assert!(a
                .changes_missing_from(Some(&b.heads().unwrap()))
                .unwrap()
                .is_empty());
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 24,
        max_shrink_iters: 200,
        ..ProptestConfig::default()
    })]

    #[test]
    fn replicas_converge(n in 3usize..=5, ops in prop::collection::vec(op(), 10..60)) {
        run(n, &ops);
    }
}

/// A fixed scenario that exercises every kind of operation at least once, so that a change in
/// the generator's weights cannot silently leave one out.
#[test]
fn every_operation_once() {
    let mut ops = vec![
        Op::Create {
            r: 0,
            title: 1,
            days: 20,
            kinds: vec![0, 4],
            source: true,
        },
        Op::Create {
            r: 1,
            title: 2,
            days: 30,
            kinds: vec![1],
            source: false,
        },
        Op::AddPatrol { r: 2, days: 3 },
        Op::Exchange {
            from: 0,
            to: 1,
            how: How::Bundle,
        },
        Op::Exchange {
            from: 2,
            to: 1,
            how: How::Heads,
        },
        Op::Exchange {
            from: 1,
            to: 2,
            how: How::Shuffled(7),
        },
    ];
    for r in 0..3 {
        ops.extend([
            Op::SetField {
                r,
                inc: r,
                field: r as u8,
                val: r as u8,
            },
            Op::AddViolation {
                r,
                inc: r,
                kind: 3,
                boys: 1,
                girls: 1,
            },
            Op::SetCounts {
                r,
                inc: 0,
                viol: 0,
                boys: 2 + r as u8,
                girls: 1,
                unknown: 0,
            },
            Op::SetPerpetrator {
                r,
                inc: 1,
                viol: 0,
                party: r as u8,
            },
            Op::AddCoded {
                r,
                inc: 0,
                viol: 0,
                sex: r as u8,
                age: 7,
            },
            Op::AddSource {
                r,
                inc: 1,
                kind: r as u8,
            },
            Op::Verify {
                r,
                inc: 0,
                viol: 0,
                status: 2 + r as u8,
                src: Some(0),
            },
            Op::LinkPatrol {
                r,
                inc: r,
                patrol: 0,
            },
            Op::Invalid {
                r,
                inc: 0,
                which: r as u8,
            },
            Op::Invalid {
                r,
                inc: 1,
                which: 3 + r as u8,
            },
        ]);
    }
    ops.extend([
        Op::Exchange {
            from: 0,
            to: 2,
            how: How::Subset(3),
        },
        Op::Exchange {
            from: 2,
            to: 0,
            how: How::All,
        },
        Op::RemoveCoded {
            r: 0,
            inc: 0,
            viol: 0,
            coded: 0,
        },
        Op::RemoveSource {
            r: 1,
            inc: 1,
            src: 0,
        },
        Op::RemoveViolation {
            r: 2,
            inc: 0,
            viol: 1,
        },
    ]);
    run(3, &ops);
}
