//! The caseload's filters (store/src/caseload.rs) against a direct reading of the documents, over
//! random caseloads: every combination of violation type, status, party, province, dates and
//! text, sorted and paged, gives the same incidents in the same order, and the same counts of
//! violations and children. The caseload reads sums and a violation mask kept on each incident
//! row (schema 16); two of the party names here share their mask bit, so the check of one and
//! the same violation's rows is exercised as well as the mask alone.

mod common;

use common::*;
use mrm_crdt::input::EventInput;
use mrm_crdt::model::{Incident, VerificationStatus, Violation, ViolationType};
use mrm_store::{IncidentFilter, Sort, Store};
use proptest::prelude::*;
use serde_json::{json, Value};

/// "Group 20" and "Group Alpha" share their mask bit (crate::facts::party_bit); "Group Beta"
/// has another; "" is no party.
const PARTIES: [&str; 4] = ["Group Alpha", "Group 20", "Group Beta", ""];
const PROVINCES: [&str; 2] = ["North Kivu", "Ituri"];
const TITLES: [&str; 3] = ["Attack near Kiwanja", "School of Rutshuru", "Road to Bunia"];
const WORDS: [&str; 5] = ["kiwanja", "SCHOOL", "ituri", "village", "road bunia"];
const STATUSES: [VerificationStatus; 3] = [
    VerificationStatus::Reported,
    VerificationStatus::Verified,
    VerificationStatus::NotVerified,
];

/// A violation: type, boys, girls, party, status, withdrawn.
type Arb = (usize, i64, i64, usize, usize, bool);

fn arb_violation() -> impl Strategy<Value = Arb> {
    (
        0..4usize,
        0..3i64,
        0..3i64,
        0..PARTIES.len(),
        0..STATUSES.len(),
        prop::bool::weighted(0.15),
    )
}

fn arb_filter() -> impl Strategy<Value = IncidentFilter> {
    (
        (
            prop::option::of(0..4usize),
            prop::option::of(0..STATUSES.len()),
            prop::option::of(0..PARTIES.len() - 1),
            prop::option::of(0..PROVINCES.len()),
        ),
        (
            prop::option::of(0..40u64),
            prop::option::of(0..40u64),
            prop::option::of(0..WORDS.len()),
            0..3usize,
            any::<bool>(),
            prop::option::of(1..4usize),
            0..3usize,
        ),
    )
        .prop_map(
            |((kind, status, party, province), (from, to, text, sort, asc, limit, offset))| {
                IncidentFilter {
                    kind: kind.map(|k| ViolationType::ALL[k]),
                    status: status.map(|s| STATUSES[s]),
                    party: party.map(|p| PARTIES[p].to_string()),
                    admin1: province.map(|p| PROVINCES[p].to_string()),
                    from: from.map(day),
                    to: to.map(day),
                    text: text.map(|t| WORDS[t].to_string()),
                    sort: [Sort::OccurredOn, Sort::Children, Sort::Violations][sort],
                    asc,
                    limit,
                    offset,
                    ..IncidentFilter::default()
                }
            },
        )
}

fn day(n: u64) -> String {
    (chrono::NaiveDate::from_ymd_opt(2026, 1, 1).unwrap() + chrono::Days::new(n)).to_string()
}

/// What the caseload should answer, read from the documents.
fn expected(incidents: &[Incident], f: &IncidentFilter) -> (Vec<String>, i64, i64, [i64; 3]) {
    let vmatch = |v: &Violation| {
        v.is_live()
            && f.kind.is_none_or(|k| v.kind == k)
            && f.status.is_none_or(|s| v.status() == s)
            && f.party.as_deref().is_none_or(|p| v.perpetrator.party == p)
    };
    let violation_filter = f.kind.is_some() || f.status.is_some() || f.party.is_some();
    let mut rows: Vec<(&Incident, Vec<&Violation>)> = Vec::new();
    for inc in incidents {
        let search = [
            &inc.title,
            &inc.narrative,
            &inc.location.place,
            &inc.location.admin1,
            &inc.location.admin2,
        ]
        .map(|s| s.to_lowercase())
        .join("\n");
        let text_ok = f.text.as_deref().is_none_or(|t| {
            t.split_whitespace()
                .all(|w| search.contains(&w.to_lowercase()))
        });
        let matching: Vec<&Violation> = inc.violations.iter().filter(|v| vmatch(v)).collect();
        if (violation_filter && matching.is_empty())
            || !text_ok
            || f.admin1
                .as_deref()
                .is_some_and(|a| inc.location.admin1 != a)
            || f.from
                .as_deref()
                .is_some_and(|d| inc.occurred_on.as_str() < d)
            || f.to
                .as_deref()
                .is_some_and(|d| inc.occurred_on.as_str() > d)
        {
            continue;
        }
        rows.push((inc, matching));
    }
    let violations = rows.iter().map(|(_, m)| m.len() as i64).sum();
    let children = [
        rows.iter()
            .flat_map(|(_, m)| m.iter().map(|v| v.victims.boys))
            .sum(),
        rows.iter()
            .flat_map(|(_, m)| m.iter().map(|v| v.victims.girls))
            .sum(),
        rows.iter()
            .flat_map(|(_, m)| m.iter().map(|v| v.victims.sex_unknown))
            .sum(),
    ];
    let key = |i: &Incident| -> (String, String) {
        let live = i.violations.iter().filter(|v| v.is_live());
        let k = match f.sort {
            Sort::Children => format!("{:09}", live.map(|v| v.victims.total()).sum::<i64>()),
            Sort::Violations => format!("{:09}", live.count()),
            _ => i.occurred_on.clone(),
        };
        (k, i.id.clone())
    };
    let mut keyed: Vec<(String, String)> = rows.iter().map(|(i, _)| key(i)).collect();
    keyed.sort();
    if !f.asc {
        keyed.reverse();
    }
    let ids = keyed
        .into_iter()
        .skip(f.offset)
        .take(f.limit.unwrap_or(usize::MAX))
        .map(|(_, id)| id)
        .collect();
    (ids, rows.len() as i64, violations, children)
}

fn record(
    s: &mut Store,
    n: usize,
    (date, province, title, violations): &(u64, usize, usize, Vec<Arb>),
) {
    let body: Vec<Value> = violations
        .iter()
        .map(|(t, b, g, p, ..)| {
            json!({"type": ViolationType::ALL[*t].as_str(),
                   "victims": {"boys": b, "girls": (*g).max(1 - b), "sex_unknown": 0},
                   "perpetrator": {"party": PARTIES[*p], "category": "armed_group"}})
        })
        .collect();
    let id = s
        .add_incident(&patch(json!({
            "title": format!("{} {n}", TITLES[*title]),
            "occurred_on": day(*date),
            "reported_on": day(*date),
            "location": {"admin1": PROVINCES[*province], "admin2": "", "place": "village"},
            "sources": [{"kind": "eyewitness", "consent": true}],
            "violations": body,
        })))
        .unwrap();
    let vids: Vec<String> = s
        .incident(&id)
        .unwrap()
        .violations
        .iter()
        .map(|v| v.id.clone())
        .collect();
    for (vid, (.., status, withdrawn)) in vids.iter().zip(violations) {
        if STATUSES[*status] != VerificationStatus::Reported {
            let at = format!("{}T10:00:00+00:00", day(*date + 1));
            s.verify(
                &id,
                vid,
                &EventInput {
                    at: Some(at),
                    ..verification(STATUSES[*status])
                },
            )
            .unwrap();
        }
        if *withdrawn {
            s.edit_incident(
                &id,
                &patch(json!({"remove": [vid], "remove_reason": "test"})),
            )
            .unwrap();
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    #[test]
    fn every_filter_combination_matches_the_documents(
        incidents in prop::collection::vec(
            (0..40u64, 0..PROVINCES.len(), 0..TITLES.len(),
             prop::collection::vec(arb_violation(), 1..4)),
            1..9,
        ),
        filters in prop::collection::vec(arb_filter(), 12),
    ) {
        let dir = tempfile::tempdir().unwrap();
        let mut s = new_store(dir.path(), "Rose R.");
        for (n, inc) in incidents.iter().enumerate() {
            record(&mut s, n, inc);
        }
        let docs: Vec<Incident> = incident_ids(&s).iter().map(|id| s.incident(id).unwrap()).collect();
        for f in &filters {
            let (ids, total, violations, children) = expected(&docs, f);
            let page = s.caseload(f).unwrap();
            let got: Vec<String> = page.items.iter().map(|r| r.id.clone()).collect();
            prop_assert_eq!(&got, &ids, "rows of {:?}", f);
            prop_assert_eq!(page.total, total, "total of {:?}", f);
            prop_assert_eq!(page.violations, violations, "violations of {:?}", f);
            prop_assert_eq!(
                [page.children.boys, page.children.girls, page.children.sex_unknown],
                children,
                "children of {:?}", f
            );
            // The CLI's list: the same rows and total, without the counts.
            let list = s.list_incidents(f).unwrap();
            prop_assert_eq!(list.total, total);
            prop_assert_eq!(list.items.iter().map(|r| r.id.clone()).collect::<Vec<_>>(), ids);
        }
    }
}
