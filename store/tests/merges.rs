//! Merges are always valid: replicas (officers and reviewers) in random time zones, their clocks
//! off by hours to years, make random concurrent edits, withdrawals, verifications, comments and
//! resolves, and exchange in random orders and subsets.
//! After a full exchange every replica holds the same state, every verification event any replica
//! made is still there, and every replica can still do on every record what its role allows.

mod common;

use std::collections::BTreeSet;

use common::*;
use mrm_crdt::edit::ReviewAction;
use mrm_crdt::model::VerificationStatus;
use mrm_crdt::policy::Role;
use mrm_crdt::validate::DeviceClock;
use mrm_store::Store;
use proptest::prelude::*;
use serde_json::json;

#[derive(Debug, Clone)]
enum Op {
    Narrative {
        r: usize,
        inc: usize,
    },
    Count {
        r: usize,
        inc: usize,
        boys: i64,
    },
    AddViolation {
        r: usize,
        inc: usize,
    },
    Withdraw {
        r: usize,
        inc: usize,
        what: usize,
    },
    Verify {
        r: usize,
        inc: usize,
        status: usize,
    },
    Comment {
        r: usize,
        inc: usize,
    },
    Submit {
        r: usize,
        inc: usize,
    },
    /// Dates moved apart on two laptops can merge into an order neither wrote.
    Occurred {
        r: usize,
        inc: usize,
        days: u64,
    },
    Reported {
        r: usize,
        inc: usize,
        days: u64,
    },
    /// Change the first live violation's type (clearing the details the new type does not take).
    Retype {
        r: usize,
        inc: usize,
        to: usize,
    },
    /// Set a detail of the first live violation, one its type (as this replica sees it) takes.
    Detail {
        r: usize,
        inc: usize,
        pick: usize,
    },
    /// Keep one of the values of a conflicting field.
    Resolve {
        r: usize,
        inc: usize,
        pick: usize,
    },
    /// Send what `from` has to `to`.
    Send {
        from: usize,
        to: usize,
    },
}

/// A laptop's clock and zone: any zone from UTC-12 to UTC+14 (in quarter hours), its clock right,
/// or off by hours, days or years either way.
fn device_clock() -> impl Strategy<Value = DeviceClock> {
    let error = prop_oneof![
        Just(0i64),
        (-48i64..48).prop_map(|h| h * 3600),
        (-60i64..60).prop_map(|d| d * 86_400),
        (-3i64..=3).prop_map(|y| y * 365 * 86_400),
    ];
    (error, -48i32..=56).prop_map(|(error, quarters)| DeviceClock {
        error: chrono::Duration::seconds(error),
        zone: chrono::FixedOffset::east_opt(quarters * 900),
    })
}

/// `days` before `store`'s own today, as its officer would type it.
fn their_days_ago(store: &Store, days: u64) -> String {
    (store.today() - chrono::Days::new(days))
        .format("%Y-%m-%d")
        .to_string()
}

fn op() -> impl Strategy<Value = Op> {
    // Replica indexes are taken modulo the number of replicas.
    let r = 0..5usize;
    let i = 0..3usize;
    prop_oneof![
        (r.clone(), i.clone()).prop_map(|(r, inc)| Op::Narrative { r, inc }),
        (r.clone(), i.clone(), 1..5i64).prop_map(|(r, inc, boys)| Op::Count { r, inc, boys }),
        (r.clone(), i.clone()).prop_map(|(r, inc)| Op::AddViolation { r, inc }),
        (r.clone(), i.clone(), 0..4usize).prop_map(|(r, inc, what)| Op::Withdraw { r, inc, what }),
        (r.clone(), i.clone(), 0..6usize).prop_map(|(r, inc, status)| Op::Verify {
            r,
            inc,
            status
        }),
        (r.clone(), i.clone()).prop_map(|(r, inc)| Op::Comment { r, inc }),
        (r.clone(), i.clone()).prop_map(|(r, inc)| Op::Submit { r, inc }),
        (r.clone(), i.clone(), 8..11u64).prop_map(|(r, inc, days)| Op::Occurred { r, inc, days }),
        (r.clone(), i.clone(), 8..11u64).prop_map(|(r, inc, days)| Op::Reported { r, inc, days }),
        (r.clone(), i.clone(), 0..3usize).prop_map(|(r, inc, to)| Op::Retype { r, inc, to }),
        (r.clone(), i.clone(), 0..20usize).prop_map(|(r, inc, pick)| Op::Detail { r, inc, pick }),
        (r.clone(), i.clone(), 0..3usize).prop_map(|(r, inc, pick)| Op::Resolve { r, inc, pick }),
        (r.clone(), r).prop_map(|(from, to)| Op::Send { from, to }),
    ]
}

/// The role of each of `n` replicas (3 to 5): officers of team Goma, then reviewers.
fn roles(n: usize) -> Vec<Role> {
    let officers = n.div_ceil(2);
    (0..n)
        .map(|i| {
            if i < officers {
                Role::Officer
            } else {
                Role::Reviewer
            }
        })
        .collect()
}

/// `n` replicas sharing three incidents.
fn replicas(root: &std::path::Path, n: usize) -> (Vec<Store>, Vec<String>) {
    let roles = roles(n);
    let mut stores: Vec<Store> = roles
        .iter()
        .enumerate()
        .map(|(i, role)| enrolled(root, &format!("r{i}"), &format!("Person {i}"), *role))
        .collect();
    let ids: Vec<String> = (0..3)
        .map(|n| {
            stores[0]
                .add_incident(&patch(incident_json(&format!("Incident {n}"))))
                .unwrap()
        })
        .collect();
    for i in 1..stores.len() {
        let (a, b) = stores.split_at_mut(i);
        send_all(&a[0], &mut b[0]);
    }
    (stores, ids)
}

/// Every verification event of every record, by identity.
fn events(s: &Store, ids: &[String]) -> BTreeSet<String> {
    ids.iter()
        .flat_map(|id| s.incident(id).unwrap().violations)
        .flat_map(|v| v.verification.into_iter().map(|e| e.id))
        .collect()
}

fn apply(stores: &mut [Store], ids: &[String], op: &Op) {
    // Refusals are fine (the policy refuses what a role may not do); panics and corrupt stores
    // are not.
    let statuses = VerificationStatus::ALL;
    let n = stores.len();
    match op.on(n) {
        Op::Narrative { r, inc } => {
            let _ =
                stores[r].edit_incident(&ids[inc], &patch(json!({"narrative": format!("by {r}")})));
        }
        Op::Count { r, inc, boys } => {
            let i = stores[r].incident(&ids[inc]).unwrap();
            if let Some(v) = i.violations.iter().find(|v| v.is_live()) {
                let p = patch(json!({"violations": [{"id": v.id, "victims": {"boys": boys}}]}));
                let _ = stores[r].edit_incident(&ids[inc], &p);
            }
        }
        Op::AddViolation { r, inc } => {
            let p = patch(json!({"violations": [{"type": "abduction", "victims": {"girls": 1}}]}));
            let _ = stores[r].edit_incident(&ids[inc], &p);
        }
        Op::Withdraw { r, inc, what } => {
            let i = stores[r].incident(&ids[inc]).unwrap();
            let targets: Vec<String> = i
                .violations
                .iter()
                .map(|v| v.id.clone())
                .chain(i.sources.iter().map(|s| s.id.clone()))
                .collect();
            if !targets.is_empty() {
                let id = &targets[what % targets.len()];
                let _ = stores[r].edit_incident(&ids[inc], &patch(json!({"remove": [id]})));
            }
        }
        Op::Verify { r, inc, status } => {
            let i = stores[r].incident(&ids[inc]).unwrap();
            if let Some(v) = i.violations.first() {
                let _ = stores[r].verify(
                    &ids[inc],
                    &v.id,
                    &verification(statuses[status % statuses.len()]),
                );
            }
        }
        Op::Comment { r, inc } => {
            let _ = stores[r].review(&ids[inc], ReviewAction::Comment, Some("noted"));
        }
        Op::Submit { r, inc } => {
            let _ = stores[r].review(&ids[inc], ReviewAction::Submit, None);
        }
        Op::Occurred { r, inc, days } => {
            let d = their_days_ago(&stores[r], days);
            let _ = stores[r].edit_incident(&ids[inc], &patch(json!({"occurred_on": d})));
        }
        Op::Reported { r, inc, days } => {
            let d = their_days_ago(&stores[r], days);
            let _ = stores[r].edit_incident(&ids[inc], &patch(json!({"reported_on": d})));
        }
        Op::Retype { r, inc, to } => {
            let i = stores[r].incident(&ids[inc]).unwrap();
            if let Some(v) = i.violations.iter().find(|v| v.is_live()) {
                let kind = ["killing", "abduction", "recruitment_use"][to % 3];
                let p = patch(json!({"violations": [{"id": v.id, "type": kind}]}));
                let _ = stores[r].edit_incident(&ids[inc], &p);
            }
        }
        Op::Detail { r, inc, pick } => {
            let i = stores[r].incident(&ids[inc]).unwrap();
            if let Some(v) = i.violations.iter().find(|v| v.is_live()) {
                let p = patch(
                    json!({"violations": [{"id": v.id, "details": some_detail(v.kind, pick)}]}),
                );
                let _ = stores[r].edit_incident(&ids[inc], &p);
            }
        }
        Op::Send { from, to } => send_between(stores, from, to),
        Op::Resolve { r, inc, pick } => {
            let conflicts = stores[r].conflicts(&ids[inc]).unwrap();
            if let Some(c) = conflicts.first() {
                let value = c.values[pick % c.values.len()].value.clone();
                let _ = stores[r].resolve(&ids[inc], &c.path, &value);
            }
        }
    }
}

/// One detail a violation of `kind` takes, with one of its values, picked by `pick`.
fn some_detail(kind: mrm_crdt::model::ViolationType, pick: usize) -> serde_json::Value {
    use mrm_crdt::details::{spec, DetailShape};
    let keys: Vec<&str> = mrm_crdt::details::keys_of(kind).collect();
    let key = keys[pick % keys.len()];
    let value = match spec(kind, key).unwrap().shape {
        DetailShape::Term(terms) => json!(terms[pick % terms.len()]),
        DetailShape::Flag => json!(pick.is_multiple_of(2)),
        DetailShape::Days => json!(pick),
    };
    json!({ key: value })
}

impl Op {
    /// The same operation with its replica indexes taken modulo `n`.
    fn on(&self, n: usize) -> Op {
        let mut op = self.clone();
        match &mut op {
            Op::Send { from, to } => {
                *from %= n;
                *to %= n;
            }
            Op::Narrative { r, .. }
            | Op::Count { r, .. }
            | Op::AddViolation { r, .. }
            | Op::Withdraw { r, .. }
            | Op::Verify { r, .. }
            | Op::Comment { r, .. }
            | Op::Submit { r, .. }
            | Op::Occurred { r, .. }
            | Op::Reported { r, .. }
            | Op::Retype { r, .. }
            | Op::Detail { r, .. }
            | Op::Resolve { r, .. } => *r %= n,
        }
        op
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 32, ..ProptestConfig::default() })]

    #[test]
    fn after_any_merge_every_record_stays_editable_and_no_decision_is_lost(
        n in 3..=5usize,
        clocks in proptest::collection::vec(device_clock(), 5),
        ops in proptest::collection::vec(op(), 1..40)
    ) {
        let tmp = tempfile::tempdir().unwrap();
        let (mut stores, ids) = replicas(tmp.path(), n);
        for (s, c) in stores.iter_mut().zip(clocks) {
            s.set_device_clock(c);
        }
        let mut made = BTreeSet::new();
        for op in &ops {
            apply(&mut stores, &ids, op);
            for s in &stores {
                made.extend(events(s, &ids));
            }
        }
        exchange_all(&mut stores);
        let first = snapshot(&stores[0]);
        for s in &stores {
            prop_assert_eq!(&snapshot(s), &first);
            prop_assert_eq!(&events(s, &ids), &made, "a verification event was lost");
        }
        // Everyone can still do what their role allows, on every record.
        let roles = roles(n);
        for (r, s) in stores.iter_mut().enumerate() {
            for id in &ids {
                if roles[r] == Role::Reviewer {
                    // A reviewer settles every field left with concurrent values: some value
                    // (one that breaks no rule the record keeps) is always accepted.
                    for c in s.conflicts(id).unwrap() {
                        if c.values[0].value.is_object() {
                            continue;
                        }
                        let mut refusals = Vec::new();
                        for v in &c.values {
                            match s.resolve(id, &c.path, &v.value) {
                                Ok(_) => break,
                                Err(e) => refusals.push(e.to_string()),
                            }
                        }
                        if refusals.len() == c.values.len() {
                            return Err(TestCaseError::fail(format!(
                                "resolve {} by {r}: {refusals:?}",
                                c.path
                            )));
                        }
                    }
                }
                s.review(id, ReviewAction::Comment, Some(&format!("still editable by {r}")))
                    .map_err(|e| TestCaseError::fail(format!("comment by {r}: {e}")))?;
                s.edit_incident(id, &patch(json!({"narrative": format!("final {r}")})))
                    .map_err(|e| TestCaseError::fail(format!("edit by {r}: {e}")))?;
                let first = s.incident(id).unwrap().violations[0].clone();
                if first.is_live() {
                    // A detail its type takes is always accepted, whatever details a merge
                    // left that the type does not take.
                    let details = some_detail(first.kind, r);
                    s.edit_incident(id, &patch(json!({"violations": [{"id": first.id, "details": details}]})))
                        .map_err(|e| TestCaseError::fail(format!("detail by {r}: {e}")))?;
                }
                let vid = first.id.clone();
                let status = if roles[r] == Role::Reviewer {
                    VerificationStatus::Verified
                } else {
                    VerificationStatus::PendingVerification
                };
                s.verify(id, &vid, &verification(status))
                    .map_err(|e| TestCaseError::fail(format!("verify by {r}: {e}")))?;
            }
        }
    }
}

/// A machine set to a zone no clock on Earth shows (`TZ=XST+13` is legal POSIX) stamps in UTC:
/// its writes would otherwise be refused by every store, its own included.
#[test]
fn an_impossible_zone_stamps_in_utc() {
    for hours in [-23i32, -13, 15, 23] {
        let clock = DeviceClock {
            error: chrono::Duration::zero(),
            zone: chrono::FixedOffset::east_opt(hours * 3600),
        };
        let now = clock.now();
        assert_eq!(clock.offset(now).local_minus_utc(), 0, "{hours}");
        assert!(clock.stamp(now).ends_with('Z'));
    }
    for hours in [-12i32, 0, 14] {
        let clock = DeviceClock {
            error: chrono::Duration::zero(),
            zone: chrono::FixedOffset::east_opt(hours * 3600),
        };
        assert_eq!(clock.offset(clock.now()).local_minus_utc(), hours * 3600);
    }
}
