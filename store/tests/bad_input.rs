//! Bad input: every malformed input gives a clear error that names the problem, and leaves the
//! store's content exactly as it was (records, lists, figures, heads, change log).

mod common;

use std::io::Write;

use common::*;
use mrm_crdt::bundle::{self, BundleHeader};
use mrm_crdt::input::{self, EventInput, IncidentPatch};
use mrm_crdt::model::VerificationStatus;
use mrm_crdt::Error;
use mrm_store::Store;
use serde_json::{json, Value};

/// A store with one patrol and one incident (killing of one boy, one source), and their ids.
struct Fixture {
    _tmp: tempfile::TempDir,
    store: Store,
    incident: String,
    violation: String,
}

fn fixture() -> Fixture {
    let tmp = tempfile::tempdir().unwrap();
    let mut store = new_store(&tmp.path().join("store"), "Awa D.");
    let p = serde_json::from_value(json!({"date": days_ago(3), "route": ["Kiwanja"]})).unwrap();
    store.add_patrol(&p).unwrap();
    let incident = store.add_incident(&patch(incident_json("Attack"))).unwrap();
    let violation = store.incident(&incident).unwrap().violations[0].id.clone();
    Fixture {
        _tmp: tmp,
        store,
        incident,
        violation,
    }
}

/// Run `f`, expect an error whose message contains every one of `needles`, and check that the
/// store did not change.
fn refused<T: std::fmt::Debug>(
    store: &mut Store,
    needles: &[&str],
    f: impl FnOnce(&mut Store) -> mrm_crdt::Result<T>,
) -> Error {
    let before = snapshot(store);
    let err = match f(store) {
        Ok(v) => panic!("accepted bad input (expected an error mentioning {needles:?}): {v:?}"),
        Err(e) => e,
    };
    let msg = err.to_string();
    for n in needles {
        assert!(msg.contains(n), "error `{msg}` does not mention `{n}`");
    }
    assert!(!msg.contains('\n'), "error `{msg}` is not one line");
    assert_eq!(snapshot(store), before, "`{msg}` changed the store");
    check_projections(store);
    err
}

/// A new incident from JSON text must be refused with these words.
fn add_refused(f: &mut Fixture, v: Value, needles: &[&str]) -> Error {
    let text = v.to_string();
    refused(&mut f.store, needles, |s| {
        let p: IncidentPatch = input::parse(&text)?;
        s.add_incident(&p)
    })
}

/// An edit of the fixture's incident from JSON text must be refused with these words.
fn edit_refused(f: &mut Fixture, v: Value, needles: &[&str]) -> Error {
    let text = v.to_string();
    let id = f.incident.clone();
    refused(&mut f.store, needles, |s| {
        let p: IncidentPatch = input::parse(&text)?;
        s.edit_incident(&id, &p)
    })
}

fn with(mut base: Value, path: &[&str], value: Value) -> Value {
    let mut cur = &mut base;
    for (i, key) in path.iter().enumerate() {
        if i + 1 == path.len() {
            cur[*key] = value;
            break;
        }
        cur = match key.parse::<usize>() {
            Ok(n) => &mut cur[n],
            Err(_) => &mut cur[*key],
        };
    }
    base
}

#[test]
fn malformed_json() {
    let mut f = fixture();
    let e = refused(&mut f.store, &["malformed JSON", "line 1", "column"], |s| {
        let p: IncidentPatch = input::parse(r#"{"title": "Attack", "occurred_on": }"#)?;
        s.add_incident(&p)
    });
    assert!(matches!(e, Error::Json(_)));
    refused(&mut f.store, &["malformed JSON"], |s| {
        let p: IncidentPatch = input::parse("[1, 2]")?;
        s.add_incident(&p)
    });
    refused(&mut f.store, &["malformed JSON", "EOF"], |s| {
        let p: IncidentPatch = input::parse("")?;
        s.add_incident(&p)
    });
}

#[test]
fn negative_victim_count() {
    let mut f = fixture();
    let v = with(
        incident_json("x"),
        &["violations", "0", "victims", "boys"],
        json!(-2),
    );
    let e = add_refused(&mut f, v, &["boys", "0 or more", "-2"]);
    let Error::Invalid { errors, .. } = e else {
        panic!("not a validation error: {e}");
    };
    assert_eq!(errors.0[0].field, "violations[1].victims.boys");
    let vid = f.violation.clone();
    edit_refused(
        &mut f,
        json!({"violations": [{"id": vid, "victims": {"sex_unknown": -1}}]}),
        &["sex_unknown", "0 or more"],
    );
}

#[test]
fn implausible_victim_count() {
    let mut f = fixture();
    let v = with(
        incident_json("x"),
        &["violations", "0", "victims", "girls"],
        json!(1_000_000),
    );
    add_refused(&mut f, v, &["girls", "not a plausible count"]);
}

#[test]
fn unknown_violation_type() {
    let mut f = fixture();
    let v = with(
        incident_json("x"),
        &["violations", "0", "type"],
        json!("killings"),
    );
    add_refused(
        &mut f,
        v,
        &["unknown variant `killings`", "killing", "maiming"],
    );
}

#[test]
fn unknown_verification_status() {
    let e = "verifed".parse::<VerificationStatus>().unwrap_err();
    let msg = e.to_string();
    assert!(msg.contains("`verifed`"), "{msg}");
    assert!(msg.contains("verified") && msg.contains("not_mrm"), "{msg}");
    // And inside JSON, e.g. a violation recorded with its trail.
    let mut f = fixture();
    let v = with(
        incident_json("x"),
        &["violations", "0", "verification"],
        json!([{"status": "confirmed"}]),
    );
    add_refused(
        &mut f,
        v,
        &["unknown variant `confirmed`", "pending_verification"],
    );
}

#[test]
fn occurred_on_in_the_future() {
    let mut f = fixture();
    let future = days_ahead(2);
    let v = json!({
        "title": "x", "occurred_on": future, "reported_on": days_ago(1),
        "location": {"admin1": "Ituri"}
    });
    add_refused(&mut f, v, &["occurred_on", &future, "in the future"]);
    edit_refused(
        &mut f,
        json!({"occurred_on": future}),
        &["occurred_on", "in the future"],
    );
    edit_refused(
        &mut f,
        json!({"reported_on": days_ahead(2)}),
        &["reported_on", "in the future"],
    );
}

#[test]
fn occurred_after_reported() {
    let mut f = fixture();
    let v = json!({
        "title": "x", "occurred_on": days_ago(1), "reported_on": days_ago(4),
        "location": {"admin1": "Ituri"}
    });
    add_refused(
        &mut f,
        v,
        &[
            "occurred_on",
            "after the date it was reported",
            &days_ago(4),
        ],
    );
    edit_refused(
        &mut f,
        json!({"occurred_on": days_ago(2)}),
        &["after the date it was reported"],
    );
}

#[test]
fn bad_dates() {
    let mut f = fixture();
    edit_refused(
        &mut f,
        json!({"occurred_on": "31/12/2024"}),
        &["`31/12/2024` is not a date"],
    );
    edit_refused(
        &mut f,
        json!({"reported_on": "2024-02-30"}),
        &["is not a date"],
    );
    edit_refused(
        &mut f,
        json!({"occurred_on": ""}),
        &["occurred_on", "is required"],
    );
    edit_refused(
        &mut f,
        json!({"date_precision": "week"}),
        &["unknown variant `week`"],
    );
}

#[test]
fn verification_naming_a_source_the_incident_does_not_have() {
    let mut f = fixture();
    let (id, vid) = (f.incident.clone(), f.violation.clone());
    let stranger = "01890000-0000-7000-8000-00000000abcd";
    let event = EventInput {
        status: VerificationStatus::Verified,
        at: None,
        by: None,
        note: String::new(),
        source_ids: vec![stranger.into()],
        level: None,
        sources: None,
    };
    refused(
        &mut f.store,
        &["source_ids", "has no source", stranger],
        |s| s.verify(&id, &vid, &event),
    );
    // A source id of another incident is just as foreign.
    let other = f
        .store
        .add_incident(&patch(incident_json("Other")))
        .unwrap();
    let foreign = f.store.incident(&other).unwrap().sources[0].id.clone();
    let event = EventInput {
        source_ids: vec![foreign.clone()],
        ..event
    };
    refused(&mut f.store, &["has no source", &foreign], |s| {
        s.verify(&id, &vid, &event)
    });
}

#[test]
fn removing_a_source_that_a_verification_names() {
    let mut f = fixture();
    let (id, vid) = (f.incident.clone(), f.violation.clone());
    let src = f.store.incident(&id).unwrap().sources[0].id.clone();
    let event = EventInput {
        status: VerificationStatus::Verified,
        at: None,
        by: None,
        note: String::new(),
        source_ids: vec![src.clone()],
        level: None,
        sources: None,
    };
    f.store.verify(&id, &vid, &event).unwrap();
    // Removing it withdraws it: the decision that cites it keeps showing it.
    f.store
        .edit_incident(&id, &patch(json!({"remove": [src]})))
        .unwrap()
        .expect("withdrawn");
    let inc = f.store.incident(&id).unwrap();
    assert!(inc.sources[0].withdrawn.is_some());
    assert_eq!(inc.violations[0].verification[1].source_ids, vec![src]);
    // The decision now rests on a withdrawn source: shown, for a reviewer to decide again.
    let codes: Vec<_> = f
        .store
        .incident_view(&id)
        .unwrap()
        .attention
        .iter()
        .map(|a| a.code)
        .collect();
    assert_eq!(codes, [Some("cites_withdrawn_source")]);
}

#[test]
fn missing_required_fields() {
    let mut f = fixture();
    let mut v = incident_json("x");
    v.as_object_mut().unwrap().remove("title");
    add_refused(&mut f, v, &["title: is required"]);
    let v = with(incident_json("x"), &["location", "admin1"], json!(""));
    add_refused(&mut f, v, &["location.admin1: is required"]);
    // Everything missing at once is reported at once.
    let e = add_refused(
        &mut f,
        json!({}),
        &["title", "occurred_on", "reported_on", "admin1"],
    );
    let Error::Invalid { errors, .. } = e else {
        panic!("not a validation error");
    };
    assert!(errors.0.len() >= 4, "{errors:?}");
    edit_refused(&mut f, json!({"title": "   "}), &["title: is required"]);
    add_refused(
        &mut f,
        json!({"title": "x", "occurred_on": days_ago(2), "reported_on": days_ago(1),
               "location": {"admin1": "Ituri"},
               "violations": [{"victims": {"boys": 1}}]}),
        &["type", "is required for a new violation"],
    );
    add_refused(
        &mut f,
        with(incident_json("x"), &["sources"], json!([{"consent": true}])),
        &["kind", "is required for a new source"],
    );
}

#[test]
fn killing_with_zero_children() {
    let mut f = fixture();
    let v = with(
        incident_json("x"),
        &["violations", "0", "victims"],
        json!({"boys": 0, "girls": 0, "sex_unknown": 0}),
    );
    add_refused(&mut f, v, &["killing violation needs at least one child"]);
    let vid = f.violation.clone();
    edit_refused(
        &mut f,
        json!({"violations": [{"id": vid, "victims": {"boys": 0}}]}),
        &["needs at least one child"],
    );
}

#[test]
fn coded_victim_aged_18() {
    let mut f = fixture();
    let vid = f.violation.clone();
    edit_refused(
        &mut f,
        json!({"violations": [{"id": vid, "victims": {"coded": [{"code": "V-1", "sex": "boy", "age": 18}]}}]}),
        &["age", "18 is not the age of a child"],
    );
    edit_refused(
        &mut f,
        json!({"violations": [{"id": vid, "victims": {"coded": [{"code": "V-1", "sex": "boy", "age": -1}]}}]}),
        &["-1 is not the age of a child"],
    );
    // More coded boys than boys counted.
    edit_refused(
        &mut f,
        json!({"violations": [{"id": vid, "victims": {"coded": [
            {"code": "V-1", "sex": "boy"}, {"code": "V-2", "sex": "boy"}]}}]}),
        &["fewer than the 2 coded victim(s)"],
    );
    edit_refused(
        &mut f,
        json!({"violations": [{"id": vid, "victims": {"coded": [{"code": "V-1"}]}}]}),
        &["needs a code and a sex"],
    );
}

#[test]
fn unknown_field_typo() {
    let mut f = fixture();
    let vid = f.violation.clone();
    let e = edit_refused(
        &mut f,
        json!({"violations": [{"id": vid, "victim": {"boys": 2}}]}),
        &["unknown field `victim`", "victims"],
    );
    assert!(matches!(e, Error::Json(_)));
    add_refused(
        &mut f,
        with(incident_json("x"), &["titel"], json!("x")),
        &["unknown field `titel`"],
    );
    edit_refused(
        &mut f,
        json!({"location": {"admin3": "x"}}),
        &["unknown field `admin3`"],
    );
}

#[test]
fn lat_without_lon() {
    let mut f = fixture();
    edit_refused(
        &mut f,
        json!({"location": {"lat": -1.5}}),
        &["location.lon", "required when lat"],
    );
    edit_refused(
        &mut f,
        json!({"location": {"lon": 29.2}}),
        &["location.lat", "required when lon"],
    );
    edit_refused(
        &mut f,
        json!({"location": {"lat": 91.0, "lon": 29.2}}),
        &["91 is not a latitude"],
    );
}

#[test]
fn patrol_that_does_not_exist() {
    let mut f = fixture();
    let ghost = "01890000-0000-7000-8000-0000000000ff";
    edit_refused(
        &mut f,
        json!({"patrol_id": ghost}),
        &["patrol_id", "no patrol with id", ghost],
    );
    add_refused(
        &mut f,
        with(incident_json("x"), &["patrol_id"], json!(ghost)),
        &["no patrol with id"],
    );
    // An incident's id is not a patrol's.
    let inc = f.incident.clone();
    edit_refused(&mut f, json!({"patrol_id": inc}), &["no patrol with id"]);
}

#[test]
fn removing_an_unknown_id() {
    let mut f = fixture();
    let ghost = "01890000-0000-7000-8000-0000000000aa";
    let e = edit_refused(&mut f, json!({"remove": [ghost]}), &[ghost]);
    assert!(matches!(e, Error::NotFound { .. }), "{e}");
    // Removing one known and one unknown id removes neither.
    let vid = f.violation.clone();
    edit_refused(&mut f, json!({"remove": [vid, ghost]}), &[ghost]);
    add_refused(
        &mut f,
        with(incident_json("x"), &["remove"], json!([vid])),
        &["nothing to remove"],
    );
}

#[test]
fn editing_a_nonexistent_incident() {
    let mut f = fixture();
    let ghost = "01890000-0000-7000-8000-0000000000bb";
    let e = refused(&mut f.store, &["no incident with id", ghost], |s| {
        s.edit_incident(ghost, &patch(json!({"title": "x"})))
    });
    assert!(matches!(e, Error::NotFound { .. }));
    let vid = f.violation.clone();
    refused(&mut f.store, &["no incident"], |s| {
        let e = EventInput {
            status: VerificationStatus::Verified,
            at: None,
            by: None,
            note: String::new(),
            source_ids: Vec::new(),
            level: None,
            sources: None,
        };
        s.verify(ghost, &vid, &e)
    });
    let id = f.incident.clone();
    refused(&mut f.store, &["no violation with id", ghost], |s| {
        let e = EventInput {
            status: VerificationStatus::Verified,
            at: None,
            by: None,
            note: String::new(),
            source_ids: Vec::new(),
            level: None,
            sources: None,
        };
        s.verify(&id, ghost, &e)
    });
    // A patrol is not an incident.
    let patrol = patrol_ids(&f.store)[0].clone();
    refused(&mut f.store, &["no incident with id"], |s| {
        s.edit_incident(&patrol, &patch(json!({"title": "x"})))
    });
    refused(&mut f.store, &["no record with id"], |s| {
        s.resolve(ghost, "title", &json!("x"))
    });
    refused(&mut f.store, &["is not a UUID"], |s| {
        s.add_incident(&patch(with(
            incident_json("x"),
            &["id"],
            json!("incident-1"),
        )))
    });
    refused(&mut f.store, &["already exists"], |s| {
        s.add_incident(&patch(with(incident_json("x"), &["id"], json!(id))))
    });
}

#[test]
fn changing_the_trail_or_an_id() {
    let mut f = fixture();
    let (id, vid) = (f.incident.clone(), f.violation.clone());
    edit_refused(
        &mut f,
        json!({"violations": [{"id": vid, "verification": [{"status": "verified"}]}]}),
        &["append-only"],
    );
    edit_refused(
        &mut f,
        json!({"id": "01890000-0000-7000-8000-0000000000cc"}),
        &["id", "cannot be changed"],
    );
    edit_refused(
        &mut f,
        json!({"violations": [{"id": "v-1", "type": "killing"}]}),
        &["is not a UUID"],
    );
    // A resolve goes through the same checks as an edit.
    refused(&mut f.store, &["0 or more"], |s| {
        s.resolve(&id, &format!("violations.{vid}.victims.boys"), &json!(-1))
    });
    refused(&mut f.store, &["not a field path"], |s| {
        s.resolve(&id, "title..x", &json!(1))
    });
}

// --- bundles -------------------------------------------------------------------------------

fn header(store: &Store) -> BundleHeader {
    BundleHeader {
        mission: store.device().mission.clone(),
        from_device: store.device().device_id.clone(),
        created_at: "2026-01-01T00:00:00Z".into(),
        count: 0,
    }
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    enc.write_all(bytes).unwrap();
    enc.finish().unwrap()
}

/// Decode and import bundle bytes into the store, as `mrm bundle import` does.
fn import_bytes(store: &mut Store, bytes: &[u8]) -> mrm_crdt::Result<mrm_store::ImportReport> {
    let b = bundle::decode(bytes)?;
    store.import(b.changes).and_then(nothing_taken)
}

/// An import that took nothing and held or left out something, as the error its reader sees
/// (the store holds and names a record it cannot take, and takes the rest).
fn nothing_taken(r: mrm_store::ImportReport) -> mrm_crdt::Result<mrm_store::ImportReport> {
    if r.new_changes == 0 && (!r.held.is_empty() || !r.left_out.is_empty()) {
        let words: Vec<String> = r
            .held
            .iter()
            .map(|h| format!("record {}: {}", h.doc_id, h.reason))
            .chain(r.left_out.iter().cloned())
            .collect();
        return Err(Error::Bundle(words.join("; ")));
    }
    Ok(r)
}

/// A second store with two incidents and their history, and a bundle of all of it.
/// Changes as the exchange carries them: (record id, change bytes).
type Changes = Vec<(String, Vec<u8>)>;

fn other_bundle(dir: &std::path::Path) -> (Store, Changes, Vec<u8>) {
    let mut other = new_store(dir, "Ben K.");
    let id = other
        .add_incident(&patch(incident_json("Other 1")))
        .unwrap();
    other
        .edit_incident(&id, &patch(json!({"narrative": "more"})))
        .unwrap();
    other
        .add_incident(&patch(incident_json("Other 2")))
        .unwrap();
    let changes = other.changes_missing_from(None).unwrap();
    let bytes = bundle::encode(&header(&other), &changes).unwrap();
    (other, changes, bytes)
}

#[test]
fn garbage_bundles() {
    let mut f = fixture();
    let (_other, _, valid) = other_bundle(&f._tmp.path().join("other"));

    refused(&mut f.store, &["not an MRM bundle"], |s| {
        import_bytes(s, b"")
    });
    let mut rng = 0x1234_5678_u64;
    let random: Vec<u8> = (0..4096)
        .map(|_| {
            rng ^= rng << 13;
            rng ^= rng >> 7;
            rng ^= rng << 17;
            rng as u8
        })
        .collect();
    refused(&mut f.store, &["not an MRM bundle (not gzip data)"], |s| {
        import_bytes(s, &random)
    });
    // Random bytes behind a gzip signature: the gzip layer refuses them.
    let mut fake = vec![0x1f, 0x8b];
    fake.extend_from_slice(&random);
    refused(&mut f.store, &["invalid bundle"], |s| {
        import_bytes(s, &fake)
    });

    // Truncated anywhere: refused, never half-imported.
    for cut in [
        1,
        2,
        10,
        valid.len() / 3,
        valid.len() / 2,
        valid.len() - 9,
        valid.len() - 1,
    ] {
        refused(&mut f.store, &["invalid bundle"], |s| {
            import_bytes(s, &valid[..cut])
        });
    }
    // A damaged byte in the middle: the checksum (or the framing) catches it.
    let mut damaged = valid.clone();
    let mid = damaged.len() / 2;
    damaged[mid] ^= 0x55;
    refused(&mut f.store, &["invalid bundle"], |s| {
        import_bytes(s, &damaged)
    });
    // Extra bytes after the last change.
    let mut inner = Vec::new();
    std::io::Read::read_to_end(&mut flate2::read::GzDecoder::new(&valid[..]), &mut inner).unwrap();
    let mut longer = inner.clone();
    longer.extend_from_slice(b"tail");
    refused(
        &mut f.store,
        &["unexpected bytes after the last change"],
        |s| import_bytes(s, &gzip(&longer)),
    );

    // Valid gzip, wrong contents.
    refused(&mut f.store, &["not an MRM bundle"], |s| {
        import_bytes(s, &gzip(b"PK\x03\x04 this is a zip file, not a bundle"))
    });
    refused(&mut f.store, &["format version 9 is not supported"], |s| {
        import_bytes(s, &gzip(b"MRMB\x09\x00\x00\x00\x00"))
    });
    // Absurd lengths are refused before anything is allocated.
    let mut absurd = b"MRMB\x01".to_vec();
    absurd.extend_from_slice(&u32::MAX.to_le_bytes());
    refused(&mut f.store, &["header length", "absurd"], |s| {
        import_bytes(s, &gzip(&absurd))
    });
    let h = br#"{"mission":"TESTMISSION","from_device":"d","created_at":"t","count":1}"#;
    let mut frame = b"MRMB\x01".to_vec();
    frame.extend_from_slice(&(h.len() as u32).to_le_bytes());
    frame.extend_from_slice(h);
    let mut big = frame.clone();
    big.extend_from_slice(uuid::Uuid::now_v7().as_bytes());
    big.extend_from_slice(&u32::MAX.to_le_bytes());
    refused(&mut f.store, &["a change may hold at most"], |s| {
        import_bytes(s, &gzip(&big))
    });
    let h2 = br#"{"mission":"TESTMISSION","from_device":"d","created_at":"t","count":99999999999}"#;
    let mut many = b"MRMB\x01".to_vec();
    many.extend_from_slice(&(h2.len() as u32).to_le_bytes());
    many.extend_from_slice(h2);
    refused(&mut f.store, &["changes in one message", "at most"], |s| {
        import_bytes(s, &gzip(&many))
    });
    let mut bad_header = b"MRMB\x01".to_vec();
    bad_header.extend_from_slice(&5u32.to_le_bytes());
    bad_header.extend_from_slice(b"{nope");
    refused(&mut f.store, &["header is not valid"], |s| {
        import_bytes(s, &gzip(&bad_header))
    });
    // Well framed, but the change is not an Automerge change.
    let mut junk = frame;
    junk.extend_from_slice(uuid::Uuid::now_v7().as_bytes());
    junk.extend_from_slice(&4u32.to_le_bytes());
    junk.extend_from_slice(b"junk");
    refused(&mut f.store, &["not a valid Automerge change"], |s| {
        import_bytes(s, &gzip(&junk))
    });

    // After all that, the real bundle still imports.
    let report = import_bytes(&mut f.store, &valid).unwrap();
    assert_eq!(report.records_new, 2);
    check_projections(&f.store);
}

#[test]
fn changes_that_are_not_mrm_records() {
    let mut f = fixture();
    // A valid Automerge change, but of a document that is not one of our records.
    let mut doc = automerge::AutoCommit::new();
    automerge::transaction::Transactable::put(&mut doc, automerge::ROOT, "hello", "world").unwrap();
    let change = doc.get_last_local_change().unwrap().bytes().into_owned();
    let id = uuid::Uuid::now_v7().to_string();
    refused(&mut f.store, &["is not an MRM record"], |s| {
        s.import(vec![(id.clone(), change.clone())])
            .and_then(nothing_taken)
    });
    // A record filed under an id other than its own.
    let (_other, changes, _) = other_bundle(&f._tmp.path().join("other"));
    let renamed: Vec<(String, Vec<u8>)> = changes
        .iter()
        .map(|(_, c)| (id.clone(), c.clone()))
        .take(1)
        .collect();
    refused(&mut f.store, &["is not an MRM record"], |s| {
        s.import(renamed).and_then(nothing_taken)
    });
    refused(&mut f.store, &["invalid record id"], |s| {
        s.import(vec![("not-a-uuid".into(), changes[0].1.clone())])
            .and_then(nothing_taken)
    });
    // One bad record in a batch: it is held and named, and every other record goes in.
    let mut batch = changes.clone();
    batch.push((id.clone(), change));
    let r = f.store.import(batch).unwrap();
    assert_eq!(r.records_new, 2, "{r:?}");
    assert!(
        r.held
            .iter()
            .any(|h| h.doc_id == id && h.reason.contains("is not an MRM record")),
        "{r:?}"
    );
    check_projections(&f.store);
    // A change that does not even decode is left out, and said; the rest is taken.
    let mut batch = changes.clone();
    batch.insert(
        0,
        (
            "ffffffff-ffff-7fff-bfff-ffffffffffff".into(),
            b"junk".to_vec(),
        ),
    );
    let r = f.store.import(batch).unwrap();
    assert_eq!(r.duplicates, changes.len(), "{r:?}");
    assert!(
        r.left_out
            .iter()
            .any(|w| w.contains("not a valid Automerge change")),
        "{r:?}"
    );
    // What could never apply does not wait forever behind what can.
    assert!(f
        .store
        .held_inbound()
        .unwrap()
        .iter()
        .all(|h| h.doc_id == id));
}

#[test]
fn changes_damaged_inside_a_well_formed_bundle() {
    // A bundle whose framing and checksum are right but whose change bytes are not (a buggy or
    // hostile producer): every single-bit damage is refused whole or applied whole, and never
    // brings the program down (Automerge itself panics on some of them).
    let mut f = fixture();
    let (_other, changes, _) = other_bundle(&f._tmp.path().join("other"));
    let (mut refusals, mut accepted) = (0, 0);
    for (k, (_, bytes)) in changes.iter().enumerate() {
        for i in (0..bytes.len()).step_by(3) {
            for mask in [0x01u8, 0x80] {
                let mut damaged = changes.clone();
                damaged[k].1[i] ^= mask;
                match f.store.import(damaged) {
                    Err(e) => {
                        panic!("byte {i} of change {k}: only the database fails an import: {e}")
                    }
                    Ok(r)
                        if r.held.iter().any(|h| h.doc_id == changes[k].0)
                            || !r.left_out.is_empty() =>
                    {
                        // The damaged record is held or left out; the other went in.
                        refusals += 1;
                        check_projections(&f.store);
                    }
                    Ok(_) => {
                        // Harmless damage (e.g. inside a text value): applied.
                        accepted += 1;
                        check_projections(&f.store);
                    }
                }
            }
        }
    }
    eprintln!("{refusals} damaged changes refused, {accepted} accepted");
    assert!(refusals > 100, "only {refusals} refusals");
}

#[test]
fn change_with_missing_dependencies() {
    let mut f = fixture();
    let (_other, changes, _) = other_bundle(&f._tmp.path().join("other"));
    // Drop the first change of the first record: its later edit depends on it.
    let first_doc = changes[0].0.clone();
    let without_first: Vec<_> = changes.iter().skip(1).cloned().collect();
    assert!(without_first.iter().any(|(d, _)| *d == first_doc));
    // That record waits, named; the other goes in.
    let r = f.store.import(without_first).unwrap();
    assert_eq!(r.records_new, 1, "{r:?}");
    assert_eq!(r.held.len(), 1, "{r:?}");
    assert_eq!(r.held[0].doc_id, first_doc);
    assert!(
        r.held[0]
            .reason
            .contains("depend on changes that are not in this store"),
        "{r:?}"
    );
    assert!(f.store.incident(&first_doc).is_err());
    // The same through a bundle file: still waiting.
    let bytes = bundle::encode(&header(&f.store), &changes[1..]).unwrap();
    refused(&mut f.store, &["depend on changes"], |s| {
        import_bytes(s, &bytes)
    });
    // With the dependency present, everything applies, and what waited is released.
    let r = f.store.import(changes.clone()).unwrap();
    assert_eq!(r.released, vec![first_doc.clone()], "{r:?}");
    assert!(r.held.is_empty(), "{r:?}");
    assert!(f.store.incident(&first_doc).is_ok());
    check_projections(&f.store);
    // The dependency alone, arriving after what built on it, releases it too.
    let tmp = tempfile::tempdir().unwrap();
    let mut late = new_store(tmp.path(), "Awa D.");
    late.import(changes[1..].to_vec()).unwrap();
    assert_eq!(late.held_inbound().unwrap().len(), 1);
    let first: Vec<_> = changes.iter().take(1).cloned().collect();
    let r = late.import(first).unwrap();
    assert_eq!(r.released, vec![first_doc.clone()], "{r:?}");
    assert_eq!(
        late.incident(&first_doc).unwrap().narrative,
        f.store.incident(&first_doc).unwrap().narrative
    );
}

#[test]
fn init_over_an_existing_store() {
    let mut f = fixture();
    let dir = f.store.dir().to_path_buf();
    let before = snapshot(&f.store);
    let e = Store::init(&dir, &pass(), MISSION, "Someone Else", "HQ")
        .err()
        .expect("refused");
    assert!(matches!(e, Error::AlreadyInitialised(_)));
    assert!(e.to_string().contains("already exists"), "{e}");
    assert!(e.to_string().contains("refusing to overwrite"), "{e}");
    let reopened = Store::open(&dir, &pass()).unwrap();
    assert_eq!(reopened.device(), f.store.device(), "the identity is kept");
    assert_eq!(snapshot(&reopened), before);
    // Missing identity fields are refused before anything is created.
    let fresh = f._tmp.path().join("fresh");
    let e = Store::init(&fresh, &pass(), " ", "", "Goma")
        .err()
        .expect("refused");
    assert!(e.to_string().contains("mission: is required"), "{e}");
    assert!(e.to_string().contains("officer: is required"), "{e}");
    assert!(!fresh.join(mrm_store::DB_FILE).exists());
    let e = Store::open(&fresh, &pass()).err().expect("nothing there");
    assert!(
        e.to_string().contains("run `mrm --data DIR init` first"),
        "{e}"
    );
    f.store
        .add_incident(&patch(incident_json("still works")))
        .unwrap();
}

#[test]
fn bad_patrols() {
    let mut f = fixture();
    for (v, needles) in [
        (
            json!({"date": days_ahead(2)}),
            vec!["date", "in the future"],
        ),
        (
            json!({"date": "yesterday"}),
            vec!["`yesterday` is not a date"],
        ),
        (
            json!({"date": days_ago(1), "route": ["Kiwanja", " "]}),
            vec!["route[2]", "is empty"],
        ),
        (
            json!({"date": days_ago(1), "ended_at": "soon"}),
            vec!["ended_at", "is not a time"],
        ),
        (
            json!({"date": days_ago(1), "rout": []}),
            vec!["unknown field `rout`"],
        ),
    ] {
        let text = v.to_string();
        refused(&mut f.store, &needles, |s| {
            let p: mrm_crdt::input::PatrolPatch = input::parse(&text)?;
            s.add_patrol(&p)
        });
    }
}

#[test]
fn a_victim_code_that_looks_like_a_name_is_refused() {
    let mut f = fixture();
    for name in ["Maria K.", "Amani", "Jean Paul 2"] {
        let mut v = incident_json("Abduction near Bunia");
        v["violations"][0]["victims"]["girls"] = json!(1);
        v["violations"][0]["victims"]["coded"] = json!([{"id": uuid::Uuid::now_v7().to_string(), "code": name, "sex": "girl", "age": 12}]);
        add_refused(&mut f, v, &["looks like a name", "never by name"]);
    }
    let mut v = incident_json("Abduction near Bunia");
    v["violations"][0]["victims"]["girls"] = json!(1);
    v["violations"][0]["victims"]["coded"] = json!([{"id": uuid::Uuid::now_v7().to_string(), "code": "V-014", "sex": "girl", "age": 12}]);
    f.store.add_incident(&patch(v)).unwrap();
}

#[test]
fn a_poisoned_record_in_a_pull_page_holds_only_itself() {
    let mut f = fixture();
    let (_other, changes, _) = other_bundle(&f._tmp.path().join("other"));
    let poison = "01890000-0000-7000-8000-0000000000cc".to_string();
    let mut page = changes.clone();
    let mut doc = automerge::AutoCommit::new();
    automerge::transaction::Transactable::put(&mut doc, automerge::ROOT, "x", 1).unwrap();
    page.insert(
        1,
        (
            poison.clone(),
            doc.get_last_local_change().unwrap().bytes().into_owned(),
        ),
    );
    let r = f.store.import_pulled(page, 7).unwrap();
    assert_eq!(r.records_new, 2, "{r:?}");
    assert_eq!(r.held.len(), 1, "{r:?}");
    assert_eq!(r.held[0].doc_id, poison);
    check_projections(&f.store);
    // Tried again at every sync; still held, nothing else disturbed.
    let again = f.store.retry_held_inbound().unwrap();
    assert_eq!(again.held.len(), 1, "{again:?}");
    assert!(again.released.is_empty());
}

/// Once the mission's configuration lists its admin areas, a province or district an edit writes
/// must be one of them (a misspelt "Nord Kivu" would count apart in every report); parties stay
/// warnings; before any configuration, anything goes.
#[test]
fn provinces_and_districts_come_from_the_missions_list() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = new_store(dir.path(), "Awa");
    let nord = {
        let mut v = incident_json("Before the configuration arrived");
        v["location"]["admin1"] = json!("Nord Kivu");
        v
    };
    store
        .add_incident(&patch(nord.clone()))
        .expect("no list yet: anything goes");

    let cfg = mrm_crdt::model::MissionConfig {
        mission: "MONUSCO".into(),
        teams: Vec::new(),
        parties: vec!["Group Alpha".into()],
        party_registry: Vec::new(),
        admin_areas: [
            (
                "North Kivu".to_string(),
                vec!["Rutshuru".to_string(), "Masisi".to_string()],
            ),
            ("Ituri".to_string(), Vec::new()),
        ]
        .into_iter()
        .collect(),
        area_bounds: [(
            "North Kivu".to_string(),
            mrm_crdt::bounds::AreaBounds {
                south: -2.1,
                west: 27.2,
                north: 0.95,
                east: 29.98,
            },
        )]
        .into(),
    };
    let mut doc = automerge::AutoCommit::new();
    mrm_crdt::edit::apply_config(&mut doc, &cfg).unwrap();
    doc.commit();
    let change = doc.get_last_local_change().unwrap().bytes().into_owned();
    store
        .import(vec![(mrm_crdt::document::CONFIG_ID.to_string(), change)])
        .unwrap();

    let field_of = |e: Error| match e {
        Error::Invalid { errors, .. } => errors.0.into_iter().next().unwrap(),
        other => panic!("refused for another reason: {other}"),
    };
    let e = field_of(store.add_incident(&patch(nord)).unwrap_err());
    assert_eq!(e.field, "location.admin1");
    assert!(
        e.message
            .contains("`Nord Kivu` is not one of the mission's provinces (Ituri, North Kivu)"),
        "{}",
        e.message
    );
    // Coded, with the values it names, so the app says it in the reader's language.
    assert_eq!(e.code, Some("province_not_listed"));
    assert_eq!(e.params["value"], "Nord Kivu");
    assert_eq!(e.params["list"], "Ituri, North Kivu");

    let id = store.add_incident(&patch(incident_json("Listed"))).unwrap();
    // A district under its province, whether the edit names the province or not.
    let e = field_of(
        store
            .edit_incident(&id, &patch(json!({"location": {"admin2": "Goma"}})))
            .unwrap_err(),
    );
    assert_eq!(e.field, "location.admin2");
    assert_eq!(e.code, Some("district_not_listed"));
    assert_eq!(e.params["province"], "North Kivu");
    assert!(
        e.message
            .contains("North Kivu's districts (Rutshuru, Masisi)"),
        "{}",
        e.message
    );
    store
        .edit_incident(&id, &patch(json!({"location": {"admin2": "Masisi"}})))
        .unwrap();
    // A province listing no districts takes any.
    store
        .edit_incident(
            &id,
            &patch(json!({"location": {"admin1": "Ituri", "admin2": "Djugu"}})),
        )
        .unwrap();
    // An unlisted party is a warning, not a refusal.
    let mut other = incident_json("Another group");
    other["violations"][0]["perpetrator"]["party"] = json!("Group Zulu");
    let id = store.add_incident(&patch(other)).unwrap();
    let warnings = store.warnings(&store.incident(&id).unwrap()).unwrap();
    assert!(
        warnings.iter().any(|w| w.message.contains("Group Zulu")),
        "{warnings:?}"
    );

    // Coordinates outside their province's extent are a warning too, saying when exchanging
    // latitude and longitude would put them inside; inside, or with no extent, none.
    let mut at = |lat: f64, lon: f64, province: &str| {
        let mut v = incident_json("Placed");
        v["location"] = json!({"admin1": province, "lat": lat, "lon": lon});
        let id = store.add_incident(&patch(v)).unwrap();
        let w = store.warnings(&store.incident(&id).unwrap()).unwrap();
        w.into_iter()
            .filter(|w| w.field == "location.lat")
            .map(|w| (w.code.unwrap_or_default(), w.params["province"].clone()))
            .collect::<Vec<_>>()
    };
    assert_eq!(at(-1.2, 29.4, "North Kivu"), vec![]);
    assert_eq!(
        at(1.56, 30.25, "North Kivu"),
        vec![("coordinates_outside_province", "North Kivu".to_string())]
    );
    assert_eq!(
        at(29.4, -1.2, "North Kivu"),
        vec![("coordinates_swapped", "North Kivu".to_string())]
    );
    assert_eq!(at(1.56, 30.25, "Ituri"), vec![], "Ituri has no extent");
}
