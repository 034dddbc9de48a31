//! The MRM's reports (docs/reporting.md): a hand-built caseload with a known answer for every
//! counting rule, and random caseloads whose reports, read from the projection tables in SQL,
//! must equal a direct count from the documents.

mod common;

use std::collections::{BTreeMap, BTreeSet};

use chrono::NaiveDate;
use common::*;
use mrm_crdt::input::EventInput;
use mrm_crdt::model::{Incident, VerificationStatus, ViolationType};
use mrm_crdt::report::{CellFilter, Figures, Period, Report, Section};
use mrm_crdt::store::Children;
use mrm_crdt::Store;
use proptest::prelude::*;
use serde_json::{json, Value};

/// An incident of `violations` (JSON) in `admin1`, begun on `occurred`.
fn add(store: &mut Store, title: &str, occurred: &str, admin1: &str, violations: Value) -> String {
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

fn violation(kind: &str, boys: i64, girls: i64, party: &str) -> Value {
    json!({"type": kind, "victims": {"boys": boys, "girls": girls, "sex_unknown": 0},
           "perpetrator": {"party": party, "category": "armed_group"}})
}

fn coded(kind: &str, codes: &[(&str, &str)]) -> Value {
    let boys = codes.iter().filter(|c| c.1 == "boy").count();
    let girls = codes.iter().filter(|c| c.1 == "girl").count();
    json!({"type": kind,
           "victims": {"boys": boys, "girls": girls, "sex_unknown": 0,
                       "coded": codes.iter().map(|(c, s)| json!({"code": c, "sex": s})).collect::<Vec<_>>()},
           "perpetrator": {"party": "Group Alpha", "category": "armed_group"}})
}

/// Record a decision on the `n`th violation of `id`, at `at` (RFC 3339, the writer's offset).
fn decide(store: &mut Store, id: &str, n: usize, status: VerificationStatus, at: &str) {
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

fn row(r: &Report, s: Section, kind: ViolationType) -> &Figures {
    &r.table(s)
        .by_type
        .iter()
        .find(|t| t.kind == kind)
        .unwrap()
        .figures
}

fn kids(boys: i64, girls: i64) -> Option<Children> {
    Some(Children {
        boys,
        girls,
        sex_unknown: 0,
        total: boys + girls,
    })
}

fn fig(violations: i64, incidents: i64, children: Option<Children>) -> Figures {
    Figures {
        violations,
        incidents,
        children,
    }
}

struct Caseload {
    _dir: tempfile::TempDir,
    store: Store,
    /// Incident ids by letter.
    ids: BTreeMap<&'static str, String>,
    /// The violation with a conflict on its boys, and the value the merge counts.
    conflicted_boys: i64,
}

/// The hand-built caseload: each incident exercises one rule (see each comment).
fn caseload() -> Caseload {
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

#[test]
fn every_counting_rule_gives_its_known_answer() {
    use Section::*;
    use ViolationType::*;
    let c = caseload();
    let q1 = c
        .store
        .report("ghn", &Period::new("2025-01-01", "2025-03-31").unwrap())
        .unwrap();
    let k = c.conflicted_boys;
    assert!(k == 2 || k == 3);

    // Verified in Q1: A and K (killing), C and D (abduction), D (recruitment), E and F
    // (attacks, in incidents), E (denial, in incidents). Not B (late), G (withdrawn), H.
    assert_eq!(*row(&q1, Verified, Killing), fig(2, 2, kids(2 + k, 1)));
    assert_eq!(*row(&q1, Verified, Maiming), fig(0, 0, kids(0, 0)));
    assert_eq!(*row(&q1, Verified, Abduction), fig(2, 2, kids(2, 1)));
    assert_eq!(*row(&q1, Verified, RecruitmentUse), fig(1, 1, kids(1, 0)));
    assert_eq!(*row(&q1, Verified, SexualViolence), fig(0, 0, kids(0, 0)));
    assert_eq!(*row(&q1, Verified, AttackSchool), fig(3, 2, None));
    assert_eq!(
        *row(&q1, Verified, DenialHumanitarianAccess),
        fig(1, 1, None)
    );
    assert_eq!(q1.verified.total, fig(9, 6, kids(5 + k, 2)));
    // Late in Q1: L, from the previous year.
    assert_eq!(*row(&q1, LateVerified, Killing), fig(1, 1, kids(1, 0)));
    assert_eq!(q1.late_verified.total.violations, 1);
    // Unverified: I's two violations (reported, pending); not verified: J.
    assert_eq!(*row(&q1, Unverified, Killing), fig(1, 1, kids(1, 0)));
    assert_eq!(*row(&q1, Unverified, Maiming), fig(1, 1, kids(0, 1)));
    assert_eq!(q1.unverified.total, fig(2, 1, kids(1, 1)));
    assert_eq!(q1.not_verified.total, fig(1, 1, kids(0, 1)));
    // V-001 is in three verified violations (C, and D twice as `v-001` and `V-001`).
    assert_eq!(
        q1.multiple_violations.children,
        Children {
            boys: 1,
            girls: 0,
            sex_unknown: 0,
            total: 1
        }
    );
    // By perpetrator and by area.
    let beta: Vec<_> = q1
        .verified
        .by_perpetrator
        .iter()
        .filter(|p| p.party == "Group Beta")
        .map(|p| (p.kind, p.figures.clone()))
        .collect();
    assert_eq!(
        beta,
        vec![
            (AttackSchool, fig(3, 2, None)),
            (DenialHumanitarianAccess, fig(1, 1, None))
        ]
    );
    let ituri: Vec<_> = q1
        .verified
        .by_area
        .iter()
        .filter(|a| a.admin1 == "Ituri")
        .map(|a| (a.kind, a.figures.clone()))
        .collect();
    assert_eq!(
        ituri,
        vec![
            (RecruitmentUse, fig(1, 1, kids(1, 0))),
            (Abduction, fig(2, 2, kids(2, 1)))
        ]
    );
    // K is flagged: its boys hold two values, and its facts changed since the decision.
    let flagged: Vec<&str> = q1.flagged.iter().map(|f| f.incident_id.as_str()).collect();
    assert_eq!(flagged, vec![c.ids["K"].as_str()]);
    let kv = c.store.incident(&c.ids["K"]).unwrap().violations[0]
        .id
        .clone();
    assert_eq!(
        q1.flagged[0].conflicts,
        vec![format!("violations.{kv}.victims.boys")]
    );
    assert!(q1.flagged[0]
        .decisions
        .contains(&"changed_since_decision".to_string()));

    // Q2: B verified late, nothing else.
    let q2 = c
        .store
        .report("ghn", &Period::new("2025-04-01", "2025-06-30").unwrap())
        .unwrap();
    assert_eq!(*row(&q2, LateVerified, Maiming), fig(1, 1, kids(0, 2)));
    assert_eq!(q2.late_verified.total.violations, 1);
    assert_eq!(q2.verified.total.violations, 0);

    // The year: Q1's verified, B and L late, two patrols, quarters that add up.
    let y = c
        .store
        .report("annual", &Period::year(2025).unwrap())
        .unwrap();
    assert_eq!(y.verified.total, q1.verified.total);
    assert_eq!(y.late_verified.total.violations, 2);
    assert_eq!(y.patrols, Some(2));
    let quarters = y.quarters.as_ref().unwrap();
    assert_eq!(quarters.len(), 4);
    assert_eq!(quarters[0].verified, q1.verified.total);
    assert_eq!(quarters[1].late_verified, q2.late_verified.total);

    // Every figure opens its records.
    let p1 = Period::new("2025-01-01", "2025-03-31").unwrap();
    let cell = |s, kind| {
        let f = CellFilter {
            kind: Some(kind),
            ..CellFilter::default()
        };
        c.store.report_records(&p1, s, &f).unwrap()
    };
    assert_eq!(
        cell(Verified, AttackSchool),
        vec![c.ids["E"].clone(), c.ids["F"].clone()]
    );
    assert_eq!(cell(LateVerified, Killing), vec![c.ids["L"].clone()]);
    let ituri_abductions = c
        .store
        .report_records(
            &p1,
            Verified,
            &CellFilter {
                kind: Some(Abduction),
                admin1: Some("Ituri".into()),
                ..CellFilter::default()
            },
        )
        .unwrap();
    assert_eq!(
        ituri_abductions,
        vec![c.ids["C"].clone(), c.ids["D"].clone()]
    );
}

#[test]
fn a_place_typed_with_combining_accents_is_found_by_the_precomposed_word() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = new_store(dir.path(), "Rose R.");
    let decomposed = "Be\u{301}ni";
    let id = add(
        &mut s,
        "Attack near Be\u{301}ni",
        "2025-03-20",
        decomposed,
        json!([violation("killing", 1, 0, "Forces arme\u{301}es")]),
    );
    let precomposed = "B\u{e9}ni";
    for f in [
        mrm_crdt::store::IncidentFilter {
            text: Some(precomposed.into()),
            ..Default::default()
        },
        mrm_crdt::store::IncidentFilter {
            admin1: Some(precomposed.into()),
            ..Default::default()
        },
        mrm_crdt::store::IncidentFilter {
            party: Some("Forces arm\u{e9}es".into()),
            ..Default::default()
        },
    ] {
        let found: Vec<String> = s
            .list_incidents(&f)
            .unwrap()
            .items
            .into_iter()
            .map(|r| r.id)
            .collect();
        assert_eq!(found, vec![id.clone()], "{f:?}");
    }
}

/// Violations, their incidents, and boys, girls and children of unknown sex.
type DirectCell = (i64, BTreeSet<String>, [i64; 3]);

/// The report's rules, counted directly from the documents (never from the projection).
fn direct(incidents: &[Incident], period: &Period) -> BTreeMap<(Section, ViolationType), Figures> {
    let day = |s: &str| NaiveDate::parse_from_str(s, "%Y-%m-%d").ok();
    let mut cells: BTreeMap<(Section, ViolationType), DirectCell> = BTreeMap::new();
    for inc in incidents {
        let occurred = day(&inc.occurred_on).unwrap();
        for v in inc.violations.iter().filter(|v| v.is_live()) {
            let at = v
                .current_event()
                .and_then(|e| chrono::DateTime::parse_from_rfc3339(&e.at).ok())
                .map(|t| t.date_naive());
            let late = expected_late(inc, v);
            let inside = |d: NaiveDate| period.from <= d && d <= period.to;
            let section = match v.status() {
                VerificationStatus::Verified if late => {
                    at.filter(|d| inside(*d)).map(|_| Section::LateVerified)
                }
                VerificationStatus::Verified => inside(occurred).then_some(Section::Verified),
                VerificationStatus::Reported | VerificationStatus::PendingVerification => {
                    inside(occurred).then_some(Section::Unverified)
                }
                VerificationStatus::NotVerified => inside(occurred).then_some(Section::NotVerified),
                _ => None,
            };
            if let Some(s) = section {
                let e = cells.entry((s, v.kind)).or_default();
                e.0 += 1;
                e.1.insert(inc.id.clone());
                e.2[0] += v.victims.boys;
                e.2[1] += v.victims.girls;
                e.2[2] += v.victims.sex_unknown;
            }
        }
    }
    cells
        .into_iter()
        .map(|(key, (n, incs, c))| {
            let children = key.1.has_child_victims().then(|| Children {
                boys: c[0],
                girls: c[1],
                sex_unknown: c[2],
                total: c.iter().sum(),
            });
            (key, fig(n, incs.len() as i64, children))
        })
        .collect()
}

/// One random violation: type, children, status, when decided (days after the incident, and
/// the writer's offset in hours), withdrawn.
fn arb_violation() -> impl Strategy<Value = (usize, i64, i64, usize, i64, i32, bool)> {
    (
        0..10usize,
        0..3i64,
        0..3i64,
        0..6usize,
        0..400i64,
        -12..=14i32,
        prop::bool::weighted(0.1),
    )
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 12, ..ProptestConfig::default() })]

    /// Over random caseloads (dates on both sides of quarter ends, decisions in every zone,
    /// withdrawals, end dates), the report read in SQL equals the count from the documents, for
    /// a quarter, a year and an odd period.
    #[test]
    fn reports_equal_a_direct_count_from_the_documents(
        incidents in prop::collection::vec(
            (0..700i64, prop::option::of(0..120i64), prop::collection::vec(arb_violation(), 1..4)),
            1..14,
        )
    ) {
        let dir = tempfile::tempdir().unwrap();
        let mut s = new_store(dir.path(), "Rose R.");
        let base = NaiveDate::from_ymd_opt(2024, 1, 1).unwrap();
        for (n, (start, length, violations)) in incidents.iter().enumerate() {
            let occurred = base + chrono::Days::new(*start as u64);
            let body: Vec<Value> = violations
                .iter()
                .map(|(t, b, g, ..)| {
                    let kind = ViolationType::ALL[*t];
                    let (b, g) = if kind.has_child_victims() { (*b, (*g).max(1 - *b)) } else { (0, 0) };
                    violation(kind.as_str(), b, g, if n % 2 == 0 { "Group Alpha" } else { "Group Beta" })
                })
                .collect();
            let id = add(&mut s, &format!("I{n}"), &occurred.to_string(), "North Kivu", json!(body));
            if let Some(l) = length {
                let end = (occurred + chrono::Days::new(*l as u64)).min(NaiveDate::from_ymd_opt(2025, 12, 31).unwrap());
                s.edit_incident(&id, &patch(json!({"ended_on": end.to_string()}))).unwrap();
            }
            let vids: Vec<String> = s.incident(&id).unwrap().violations.iter().map(|v| v.id.clone()).collect();
            for (vid, (_, _, _, status, after, zone, withdrawn)) in vids.iter().zip(violations) {
                let status = VerificationStatus::ALL[*status];
                if status != VerificationStatus::Reported {
                    let zone = chrono::FixedOffset::east_opt(zone * 3600).unwrap();
                    // Never in the future of the machine running the test.
                    let day = (occurred + chrono::Days::new(*after as u64))
                        .min(NaiveDate::from_ymd_opt(2026, 6, 30).unwrap());
                    let at = day
                        .and_hms_opt(23, 30, 0)
                        .unwrap()
                        .and_local_timezone(zone)
                        .unwrap()
                        .to_rfc3339();
                    s.verify(&id, vid, &EventInput { at: Some(at), ..verification(status) }).unwrap();
                }
                if *withdrawn {
                    s.edit_incident(&id, &patch(json!({"remove": [vid], "remove_reason": "test"}))).unwrap();
                }
            }
        }
        let docs: Vec<Incident> = incident_ids(&s).iter().map(|id| s.incident(id).unwrap()).collect();
        for period in [
            Period::new("2024-04-01", "2024-06-30").unwrap(),
            Period::year(2025).unwrap(),
            Period::new("2024-02-17", "2025-01-09").unwrap(),
        ] {
            let r = s.report("ghn", &period).unwrap();
            let want = direct(&docs, &period);
            for section in Section::ALL {
                for t in &r.table(section).by_type {
                    let expected = want.get(&(section, t.kind)).cloned().unwrap_or_else(|| {
                        fig(0, 0, t.kind.has_child_victims().then(Children::default))
                    });
                    prop_assert_eq!(&t.figures, &expected, "{:?} {:?} {:?}", period, section, t.kind);
                }
            }
        }
    }
}

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

    // The frozen figures are what was sent, after the edits, after a reopen, on another laptop.
    let frozen = s.period_named("2025-Q1").unwrap();
    assert_eq!(frozen.report, sent);
    assert_ne!(s.report("ghn", &q1).unwrap(), sent);
    let dir = tempfile::tempdir().unwrap();
    let mut other = new_store(dir.path(), "Paul P.");
    send_all(s, &mut other);
    assert_eq!(other.period_named("2025-Q1").unwrap().report, sent);

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
