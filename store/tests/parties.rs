//! The party registry (issue 19 §3): a typed name or alias matched to the party's id when a
//! store writes it, an unknown name held for a reviewer (listed, warned, matched by hand), a
//! renamed party and two merged parties each counted once in the reports.

mod common;

use common::*;
use mrm_crdt::model::{MissionConfig, PerpetratorCategory, VerificationStatus};
use mrm_crdt::parties::{Party, PartyCategory};
use mrm_crdt::policy::Role;
use mrm_crdt::report::Period;
use mrm_store::Store;
use serde_json::json;

fn party(id: &str, name: &str, aliases: &[&str]) -> Party {
    Party {
        id: id.into(),
        name: name.into(),
        category: PartyCategory::NonStateArmedGroup,
        aliases: aliases.iter().map(|a| a.to_string()).collect(),
        listed_for: Vec::new(),
        action_plan: None,
        split_from: None,
        merged_into: None,
    }
}

/// Give `store` the mission configuration `registry`, as the endpoint would.
fn configure(store: &mut Store, registry: Vec<Party>) {
    let cfg = MissionConfig {
        mission: "MONUSCO".into(),
        party_registry: registry,
        ..MissionConfig::default()
    };
    let mut doc = automerge::AutoCommit::new();
    mrm_crdt::edit::apply_config(&mut doc, &cfg).unwrap();
    doc.commit();
    let change = doc.get_last_local_change().unwrap().bytes().into_owned();
    store
        .import(vec![(mrm_crdt::document::CONFIG_ID.to_string(), change)])
        .unwrap();
}

fn killing_by(s: &mut Store, title: &str, party: &str) -> (String, String) {
    let mut j = incident_json(title);
    j["violations"][0]["perpetrator"]["party"] = json!(party);
    let id = s.add_incident(&patch(j)).unwrap();
    let vid = s.incident(&id).unwrap().violations[0].id.clone();
    s.verify(&id, &vid, &verification(VerificationStatus::Verified))
        .unwrap();
    (id, vid)
}

#[test]
fn a_party_is_counted_once_whatever_name_each_record_used() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = new_store(dir.path(), "Rose R.");
    // Recorded before the registry existed, under the party's former name.
    let (old, _) = killing_by(&mut s, "Before the registry", "Group Alpha");
    let mut registry = vec![
        party("alpha", "Alpha Front", &["Group Alpha"]),
        party("beta", "Beta Brigade", &[]),
        party("gamma", "Gamma Militia", &[]),
    ];
    registry[2].merged_into = Some("beta".into());
    registry[1].category = PartyCategory::StateArmedForce;
    configure(&mut s, registry);
    let (new, _) = killing_by(&mut s, "After the renaming", "alpha front");
    killing_by(&mut s, "By Beta", "Beta Brigade");
    killing_by(&mut s, "By Gamma before it merged", "Gamma Militia");
    // Matched when written: the id is on the record.
    assert_eq!(
        s.incident(&new).unwrap().violations[0]
            .perpetrator
            .party_id
            .as_deref(),
        Some("alpha")
    );
    assert_eq!(
        s.incident(&old).unwrap().violations[0].perpetrator.party_id,
        None
    );

    let today = today();
    let period = Period::new(&days_ago(400), &today.to_string()).unwrap();
    let r = s.report("ghn", &period).unwrap();
    let rows: Vec<(String, PerpetratorCategory, i64)> = r
        .verified
        .by_perpetrator
        .iter()
        .map(|p| (p.party.clone(), p.category, p.figures.violations))
        .collect();
    assert_eq!(
        rows,
        vec![
            (
                "Alpha Front".to_string(),
                PerpetratorCategory::ArmedGroup,
                2
            ),
            (
                "Beta Brigade".to_string(),
                PerpetratorCategory::ArmedForce,
                2
            ),
        ],
        "one row per party: a former name and a merged party count under the current one"
    );
    // A figure opens its records: both of the renamed party's.
    let cell = mrm_crdt::report::CellFilter {
        party: Some("Alpha Front".into()),
        ..Default::default()
    };
    let ids = s
        .report_records(&period, mrm_crdt::report::Section::Verified, &cell)
        .unwrap();
    assert_eq!(ids.len(), 2);
}

#[test]
fn a_name_the_registry_does_not_know_waits_for_a_reviewer() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = new_store(dir.path(), "Rose R.");
    configure(
        &mut s,
        vec![party("alpha", "Alpha Front", &["Group Alpha"])],
    );
    let (id, vid) = killing_by(&mut s, "Unknown group", "Grp Alfa");
    // Warned, listed for a reviewer, counted as written meanwhile.
    let warnings = s.warnings(&s.incident(&id).unwrap()).unwrap();
    assert!(warnings
        .iter()
        .any(|w| w.field == "violations[1].perpetrator.party"));
    let unmatched = s.unmatched_parties().unwrap();
    assert_eq!(unmatched.len(), 1);
    assert_eq!(
        (unmatched[0].name.as_str(), unmatched[0].violations),
        ("Grp Alfa", 1)
    );
    // The reviewer matches it: the name stays as typed, the id says who it was.
    s.edit_incident(
        &id,
        &patch(json!({"violations": [{"id": vid, "perpetrator": {"party_id": "alpha"}}]})),
    )
    .unwrap();
    let v = &s.incident(&id).unwrap().violations[0];
    assert_eq!(v.perpetrator.party, "Grp Alfa");
    assert_eq!(v.perpetrator.party_id.as_deref(), Some("alpha"));
    assert!(s.unmatched_parties().unwrap().is_empty());
    assert!(s.warnings(&s.incident(&id).unwrap()).unwrap().is_empty());
    let period = Period::new(&days_ago(400), &today().to_string()).unwrap();
    let r = s.report("ghn", &period).unwrap();
    assert_eq!(r.verified.by_perpetrator[0].party, "Alpha Front");
}

#[test]
fn a_registry_that_would_make_one_name_two_parties_is_refused() {
    let mut doc = automerge::AutoCommit::new();
    let cfg = MissionConfig {
        mission: "MONUSCO".into(),
        party_registry: vec![party("a", "Alpha", &[]), party("b", "Beta", &["ALPHA"])],
        ..MissionConfig::default()
    };
    let e = mrm_crdt::edit::apply_config(&mut doc, &cfg).unwrap_err();
    assert!(e.to_string().contains("names a already"), "{e}");
}

#[test]
fn an_id_never_moves_a_known_name_and_a_hostile_registry_is_no_registry() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = new_store(dir.path(), "Rose R.");
    configure(
        &mut s,
        vec![
            party("alpha", "Alpha Front", &[]),
            party("beta", "Beta Brigade", &[]),
        ],
    );
    // A modified client's id that disagrees with the name: counted by the name.
    let mut j = incident_json("Misattributed");
    j["violations"][0]["perpetrator"] =
        json!({"party": "Alpha Front", "category": "armed_group", "party_id": "beta"});
    let id = s.add_incident(&patch(j)).unwrap();
    let vid = s.incident(&id).unwrap().violations[0].id.clone();
    s.verify(&id, &vid, &verification(VerificationStatus::Verified))
        .unwrap();
    let period = Period::new(&days_ago(400), &today().to_string()).unwrap();
    let r = s.report("ghn", &period).unwrap();
    assert_eq!(r.verified.by_perpetrator[0].party, "Alpha Front");
    // An id is an id, never a place for text.
    let e = s
        .edit_incident(
            &id,
            &patch(
                json!({"violations": [{"id": vid, "perpetrator": {"party_id": "Maria K., 12"}}]}),
            ),
        )
        .unwrap_err();
    assert!(e.to_string().contains("party_id"), "{e}");

    // A registry written around the administrators' checks (one name, two parties) is read as
    // no registry at all: the configuration holding it is refused whole.
    let dir2 = tempfile::tempdir().unwrap();
    let mut t = new_store(dir2.path(), "Rose R.");
    let mut doc = automerge::AutoCommit::new();
    use automerge::transaction::Transactable;
    doc.put(automerge::ROOT, "kind", "config").unwrap();
    doc.put(automerge::ROOT, "id", mrm_crdt::document::CONFIG_ID)
        .unwrap();
    doc.put(automerge::ROOT, "mission", "MONUSCO").unwrap();
    let two = serde_json::to_string(&vec![
        party("a", "Alpha", &[]),
        party("b", "Beta", &["alpha"]),
    ])
    .unwrap();
    doc.put(automerge::ROOT, "party_registry", two).unwrap();
    doc.commit();
    let change = doc.get_last_local_change().unwrap().bytes().into_owned();
    let _ = t.import(vec![(mrm_crdt::document::CONFIG_ID.to_string(), change)]);
    assert!(t.party_registry().unwrap().is_empty());
}

#[test]
fn a_reviewer_matches_an_unknown_name_in_every_record_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = enrolled(dir.path(), "hq", "Rose R.", Role::Reviewer);
    configure(
        &mut s,
        vec![
            party("alpha", "Alpha Front", &["Group Alpha"]),
            party("beta", "Beta Movement", &[]),
        ],
    );
    let (a, _) = killing_by(&mut s, "First", "Grp Alf\u{e0}");
    // The same name typed with a combining accent elsewhere is the same name.
    let (b, _) = killing_by(&mut s, "Second", "Grp Alfa\u{300}");
    let (known, _) = killing_by(&mut s, "Known", "Group Alpha");
    let (other, _) = killing_by(&mut s, "Other", "Unheard-of group");
    let before_known = s.history(&known).unwrap().len();

    let m = s.match_party("Grp Alfa\u{300} ", "alpha").unwrap();
    assert_eq!(m.violations, 2);
    let mut written = m.incidents.clone();
    written.sort();
    let mut expected = vec![a.clone(), b.clone()];
    expected.sort();
    assert_eq!(written, expected);
    assert!(m.refused.is_empty(), "{:?}", m.refused);
    for id in [&a, &b] {
        let v = &s.incident(id).unwrap().violations[0];
        assert_eq!(
            mrm_crdt::report::nfc(&v.perpetrator.party),
            "Grp Alf\u{e0}",
            "the name stays as typed"
        );
        assert_eq!(v.perpetrator.party_id.as_deref(), Some("alpha"));
    }
    // A name the registry knows, and another unknown name, are left alone.
    assert_eq!(s.history(&known).unwrap().len(), before_known);
    let left = s.unmatched_parties().unwrap();
    assert_eq!(left.len(), 1);
    assert_eq!(left[0].name, "Unheard-of group");
    assert!(s.incident(&other).unwrap().violations[0]
        .perpetrator
        .party_id
        .is_none());
    // The reports count the matched records under the party's name.
    let period = Period::new(&days_ago(400), &today().to_string()).unwrap();
    let r = s.report("ghn", &period).unwrap();
    let alpha = r
        .verified
        .by_perpetrator
        .iter()
        .find(|p| p.party == "Alpha Front")
        .unwrap();
    assert_eq!(alpha.figures.violations, 3);
    // Matching names the party the decision saw; it changes no verified fact.
    assert!(r.flagged.is_empty(), "{:?}", r.flagged);

    // An id the registry does not have is refused, and nothing is written.
    let heads = s.history(&other).unwrap().len();
    assert!(matches!(
        s.match_party("Unheard-of group", "gamma"),
        Err(mrm_crdt::error::Error::Invalid { .. })
    ));
    assert_eq!(s.history(&other).unwrap().len(), heads);
    // Matching again is harmless: nothing left under that name.
    assert_eq!(
        s.match_party("Grp Alf\u{e0}", "beta").unwrap().violations,
        0
    );

    // An officer's laptop may not match.
    let mut officer = enrolled(dir.path(), "field", "Awa D.", Role::Officer);
    configure(&mut officer, vec![party("alpha", "Alpha Front", &[])]);
    assert!(matches!(
        officer.match_party("Grp Alfa", "alpha"),
        Err(mrm_crdt::error::Error::Denied(
            mrm_crdt::policy::Denial::PartyMatchByNonReviewer
        ))
    ));
}
