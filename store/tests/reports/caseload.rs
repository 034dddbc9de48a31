//! The hand-built caseload of the report tests, and helpers to build records with decisions.

use std::collections::BTreeMap;

use crate::common::*;
use mrm_crdt::input::EventInput;
use mrm_crdt::model::{VerificationStatus, ViolationType};
use mrm_crdt::report::{Figures, Report, Section};
use mrm_store::Children;
use mrm_store::Store;
use serde_json::{json, Value};

/// An incident of `violations` (JSON) in `admin1`, begun on `occurred`.
pub fn add(
    store: &mut Store,
    title: &str,
    occurred: &str,
    admin1: &str,
    violations: Value,
) -> String {
    store
        .add_incident(&patch(json!({
            "title": title,
            "occurred_on": occurred,
            "reported_on": occurred,
            "location": {"admin1": admin1, "admin2": "", "place": "village"},
            "sources": [{"kind": "eyewitness", "consent": true}],
            "violations": violations,
        })))
        .unwrap()
}

pub fn violation(kind: &str, boys: i64, girls: i64, party: &str) -> Value {
    json!({"type": kind, "victims": {"boys": boys, "girls": girls, "sex_unknown": 0},
           "perpetrator": {"party": party, "category": "armed_group"}})
}

pub fn coded(kind: &str, codes: &[(&str, &str)]) -> Value {
    let boys = codes.iter().filter(|c| c.1 == "boy").count();
    let girls = codes.iter().filter(|c| c.1 == "girl").count();
    json!({"type": kind,
           "victims": {"boys": boys, "girls": girls, "sex_unknown": 0,
                       "coded": codes.iter().map(|(c, s)| json!({"code": c, "sex": s})).collect::<Vec<_>>()},
           "perpetrator": {"party": "Group Alpha", "category": "armed_group"}})
}

/// Record a decision on the `n`th violation of `id`, at `at` (RFC 3339, the writer's offset).
pub fn decide(store: &mut Store, id: &str, n: usize, status: VerificationStatus, at: &str) {
    let vid = store.incident(id).unwrap().violations[n].id.clone();
    store
        .verify(
            id,
            &vid,
            &EventInput {
                at: Some(at.into()),
                ..verification(status)
            },
        )
        .unwrap();
}

pub fn row(r: &Report, s: Section, kind: ViolationType) -> &Figures {
    &r.table(s)
        .by_type
        .iter()
        .find(|t| t.kind == kind)
        .unwrap()
        .figures
}

pub fn kids(boys: i64, girls: i64) -> Option<Children> {
    Some(Children {
        boys,
        girls,
        sex_unknown: 0,
        total: boys + girls,
    })
}

pub fn fig(violations: i64, incidents: i64, children: Option<Children>) -> Figures {
    Figures {
        violations,
        incidents,
        children,
    }
}

pub struct Caseload {
    pub _dir: tempfile::TempDir,
    pub store: Store,
    /// Incident ids by letter.
    pub ids: BTreeMap<&'static str, String>,
    /// The violation with a conflict on its boys, and the value the merge counts.
    pub conflicted_boys: i64,
}

/// The hand-built caseload: each incident exercises one rule (see each comment).
pub fn caseload() -> Caseload {
    use VerificationStatus::*;
    let dir = tempfile::tempdir().unwrap();
    let mut s = new_store(&dir.path().join("a"), "Rose R.");
    let mut ids = BTreeMap::new();
    // A: verified on the last day of its quarter, in its writer's zone (UTC−5: already 1 April
    // in UTC): not late.
    let a = add(
        &mut s,
        "A",
        "2025-03-20",
        "North Kivu",
        json!([violation("killing", 2, 1, "Group Alpha")]),
    );
    decide(&mut s, &a, 0, Verified, "2025-03-31T23:30:00-05:00");
    ids.insert("A", a);
    // B: verified on the first day of the next quarter in its writer's zone (UTC+3: still
    // 31 March in UTC): late, counted with the quarter it was verified in.
    let b = add(
        &mut s,
        "B",
        "2025-03-20",
        "North Kivu",
        json!([violation("maiming", 0, 2, "Group Alpha")]),
    );
    decide(&mut s, &b, 0, Verified, "2025-04-01T00:30:00+03:00");
    ids.insert("B", b);
    // C: began in Q1, ended in Q2, verified in Q2: measured against its end date's quarter, so
    // not late; counted with the quarter it began in. Child V-001.
    let c = add(
        &mut s,
        "C",
        "2025-03-20",
        "Ituri",
        json!([coded("abduction", &[("V-001", "boy")])]),
    );
    s.edit_incident(&c, &patch(json!({"ended_on": "2025-04-05"})))
        .unwrap();
    decide(&mut s, &c, 0, Verified, "2025-05-01T10:00:00+02:00");
    ids.insert("C", c);
    // D: the same child (typed in lower case) recruited and abducted: a child in three verified
    // violations; V-002 is in one only.
    let d = add(
        &mut s,
        "D",
        "2025-02-10",
        "Ituri",
        json!([
            coded("recruitment_use", &[("v-001", "boy")]),
            coded("abduction", &[("V-001", "boy"), ("V-002", "girl")])
        ]),
    );
    decide(&mut s, &d, 0, Verified, "2025-02-20T10:00:00+02:00");
    decide(&mut s, &d, 1, Verified, "2025-02-20T10:00:00+02:00");
    ids.insert("D", d);
    // E and F: attacks on schools and denial of access are counted in incidents (three
    // attacks in two incidents).
    let e = add(
        &mut s,
        "E",
        "2025-02-15",
        "North Kivu",
        json!([
            violation("attack_school", 0, 0, "Group Beta"),
            violation("denial_humanitarian_access", 0, 0, "Group Beta")
        ]),
    );
    decide(&mut s, &e, 0, Verified, "2025-03-01T10:00:00+02:00");
    decide(&mut s, &e, 1, Verified, "2025-03-01T10:00:00+02:00");
    ids.insert("E", e);
    let f = add(
        &mut s,
        "F",
        "2025-01-05",
        "North Kivu",
        json!([
            violation("attack_school", 0, 0, "Group Beta"),
            violation("attack_school", 0, 0, "Group Beta")
        ]),
    );
    decide(&mut s, &f, 0, Verified, "2025-01-20T10:00:00+02:00");
    decide(&mut s, &f, 1, Verified, "2025-01-20T10:00:00+02:00");
    ids.insert("F", f);
    // G: verified, then withdrawn: left out.
    let g = add(
        &mut s,
        "G",
        "2025-01-10",
        "North Kivu",
        json!([violation("killing", 5, 0, "Group Alpha")]),
    );
    decide(&mut s, &g, 0, Verified, "2025-01-15T10:00:00+02:00");
    let gv = s.incident(&g).unwrap().violations[0].id.clone();
    s.edit_incident(
        &g,
        &patch(json!({"remove": [gv], "remove_reason": "recorded in error"})),
    )
    .unwrap();
    ids.insert("G", g);
    // H: not MRM and did not occur: left out.
    let h = add(
        &mut s,
        "H",
        "2025-01-11",
        "North Kivu",
        json!([
            violation("killing", 4, 0, "Group Alpha"),
            violation("sexual_violence", 0, 1, "Group Alpha")
        ]),
    );
    decide(&mut s, &h, 0, NotMrm, "2025-01-15T10:00:00+02:00");
    decide(&mut s, &h, 1, DidNotOccur, "2025-01-15T10:00:00+02:00");
    ids.insert("H", h);
    // I: reported and pending verification: unverified.
    let i = add(
        &mut s,
        "I",
        "2025-01-12",
        "South Kivu",
        json!([
            violation("killing", 1, 0, "Group Alpha"),
            violation("maiming", 0, 1, "Group Alpha")
        ]),
    );
    decide(
        &mut s,
        &i,
        1,
        PendingVerification,
        "2025-01-15T10:00:00+02:00",
    );
    ids.insert("I", i);
    // J: could not be verified: shown apart.
    let j = add(
        &mut s,
        "J",
        "2025-01-13",
        "South Kivu",
        json!([violation("abduction", 0, 1, "Group Alpha")]),
    );
    decide(&mut s, &j, 0, NotVerified, "2025-02-15T10:00:00+02:00");
    ids.insert("J", j);
    // L: an incident of the previous year verified in Q1: a late verification of Q1.
    let l = add(
        &mut s,
        "L",
        "2024-12-15",
        "North Kivu",
        json!([violation("killing", 1, 0, "Group Alpha")]),
    );
    decide(&mut s, &l, 0, Verified, "2025-02-01T10:00:00+02:00");
    ids.insert("L", l);
    // K: verified, then its boys changed apart on two laptops: a conflict on a counted field.
    let k = add(
        &mut s,
        "K",
        "2025-02-20",
        "North Kivu",
        json!([violation("killing", 1, 0, "Group Alpha")]),
    );
    decide(&mut s, &k, 0, Verified, "2025-03-01T10:00:00+02:00");
    let mut other = new_store(&dir.path().join("b"), "Paul P.");
    send_all(&s, &mut other);
    let kv = s.incident(&k).unwrap().violations[0].id.clone();
    s.edit_incident(
        &k,
        &patch(json!({"violations": [{"id": kv, "victims": {"boys": 2}}]})),
    )
    .unwrap();
    other
        .edit_incident(
            &k,
            &patch(json!({"violations": [{"id": kv, "victims": {"boys": 3}}]})),
        )
        .unwrap();
    send_all(&other, &mut s);
    let conflicted_boys = s.incident(&k).unwrap().violations[0].victims.boys;
    ids.insert("K", k);
    // Patrols: two in 2025, one in 2024.
    for date in ["2025-01-03", "2025-11-30", "2024-12-31"] {
        s.add_patrol(&serde_json::from_value(json!({"date": date, "route": ["Kiwanja"]})).unwrap())
            .unwrap();
    }
    Caseload {
        _dir: dir,
        store: s,
        ids,
        conflicted_boys,
    }
}
