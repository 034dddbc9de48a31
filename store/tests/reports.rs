//! The MRM's reports (docs/reporting.md): a hand-built caseload with a known answer for every
//! counting rule, and random caseloads whose reports, read from the projection tables in SQL,
//! must equal a direct count from the documents.

#[path = "reports/caseload.rs"]
mod caseload;
mod common;
#[path = "reports/periods.rs"]
mod periods;

use std::collections::{BTreeMap, BTreeSet};

use caseload::*;
use chrono::NaiveDate;
use common::*;
use mrm_crdt::input::EventInput;
use mrm_crdt::model::{Incident, VerificationStatus, ViolationType};
use mrm_crdt::report::{CellFilter, Figures, Period, Section};
use mrm_store::Children;
use proptest::prelude::*;
use serde_json::{json, Value};

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
        mrm_store::IncidentFilter {
            text: Some(precomposed.into()),
            ..Default::default()
        },
        mrm_store::IncidentFilter {
            admin1: Some(precomposed.into()),
            ..Default::default()
        },
        mrm_store::IncidentFilter {
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
            // Since when it stands verified (a confirmation does not move it), else its status.
            let at = v
                .verified_since()
                .or_else(|| v.current_event())
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
        0..ViolationType::ALL.len(),
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
fn the_caseload_exports_exactly_what_its_filters_match() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = new_store(dir.path(), "Rose R.");
    for (title, admin1) in [
        ("In Ituri", "Ituri"),
        ("In Kivu", "North Kivu"),
        ("Also Ituri", "Ituri"),
    ] {
        let mut j = incident_json(title);
        j["location"]["admin1"] = serde_json::json!(admin1);
        s.add_incident(&patch(j)).unwrap();
    }
    let filter = mrm_store::IncidentFilter {
        admin1: Some("Ituri".into()),
        // A page of one: the file holds every match all the same.
        limit: Some(1),
        ..Default::default()
    };
    let mut bytes = Vec::new();
    assert_eq!(s.export_csv_matching(&filter, &mut bytes).unwrap(), 2);
    assert!(
        bytes.starts_with("\u{feff}".as_bytes()),
        "a byte-order mark"
    );
    let mut r = csv::Reader::from_reader(&bytes[3..]);
    let titles: std::collections::BTreeSet<String> =
        r.records().map(|row| row.unwrap()[1].to_string()).collect();
    assert_eq!(titles, ["Also Ituri", "In Ituri"].map(String::from).into());
    // No filter: everything.
    let mut all = Vec::new();
    assert_eq!(
        s.export_csv_matching(&Default::default(), &mut all)
            .unwrap(),
        3
    );

    // A violation filter: the rows are the violations it matches, as many as the caseload
    // counts, not every violation of the incidents that have one.
    let mut two = incident_json("Two violations");
    two["violations"] = serde_json::json!([
        {"type": "killing", "victims": {"boys": 1, "girls": 0, "sex_unknown": 0},
         "perpetrator": {"party": "Group Alpha", "category": "armed_group"}},
        {"type": "abduction", "victims": {"boys": 0, "girls": 1, "sex_unknown": 0},
         "perpetrator": {"party": "Group Bravo", "category": "armed_group"}}
    ]);
    s.add_incident(&patch(two)).unwrap();
    for filter in [
        mrm_store::IncidentFilter {
            kind: Some(mrm_crdt::model::ViolationType::Abduction),
            ..Default::default()
        },
        mrm_store::IncidentFilter {
            party: Some("Group Bravo".into()),
            ..Default::default()
        },
    ] {
        let counted = s.caseload(&filter).unwrap().violations;
        let mut bytes = Vec::new();
        let rows = s.export_csv_matching(&filter, &mut bytes).unwrap();
        assert_eq!(rows as i64, counted, "{filter:?}");
        let mut r = csv::Reader::from_reader(&bytes[3..]);
        let kinds: Vec<String> = r
            .records()
            .map(|row| row.unwrap()[10].to_string())
            .collect();
        assert_eq!(kinds, ["abduction"], "{filter:?}");
        // The workbook's table: the same rows.
        let (head, table) = s.caseload_table(&filter).unwrap();
        assert_eq!(head[10], "type");
        let kinds: Vec<&str> = table.iter().map(|row| row[10].as_str()).collect();
        assert_eq!(kinds, ["abduction"], "{filter:?}");
    }
}
