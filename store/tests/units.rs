//! Small checks of pure functions: the quarter a verification is late after, and the bundle reader
//! on arbitrary and damaged input (it must refuse, never panic or allocate wildly).

mod common;

use std::io::{Read, Write};

use chrono::{Datelike, NaiveDate};
use mrm_crdt::bundle::{self, BundleHeader};
use mrm_crdt::validate::quarter_end;
use proptest::prelude::*;

fn date(s: &str) -> NaiveDate {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
}

#[test]
fn quarter_end_examples() {
    for (d, end) in [
        ("2024-01-01", "2024-03-31"),
        ("2024-02-29", "2024-03-31"),
        ("2024-03-31", "2024-03-31"),
        ("2024-04-01", "2024-06-30"),
        ("2024-06-30", "2024-06-30"),
        ("2024-07-15", "2024-09-30"),
        ("2024-09-30", "2024-09-30"),
        ("2024-10-01", "2024-12-31"),
        ("2024-12-31", "2024-12-31"),
        ("2025-11-28", "2025-12-31"),
        ("1999-05-05", "1999-06-30"),
    ] {
        assert_eq!(quarter_end(date(d)), date(end), "quarter end of {d}");
    }
}

proptest! {
    #[test]
    fn quarter_end_is_the_last_day_of_the_same_quarter(days in 0i64..40_000) {
        let d = date("1970-01-01") + chrono::Duration::days(days);
        let e = quarter_end(d);
        prop_assert!(e >= d);
        prop_assert_eq!(e.year(), d.year());
        prop_assert_eq!((e.month() - 1) / 3, (d.month() - 1) / 3, "same quarter");
        prop_assert!([3, 6, 9, 12].contains(&e.month()));
        let next = e.succ_opt().unwrap();
        prop_assert_eq!(next.day(), 1);
        prop_assert!([1, 4, 7, 10].contains(&next.month()));
        prop_assert_eq!(quarter_end(e), e);
    }
}

fn header() -> BundleHeader {
    BundleHeader {
        mission: "M".into(),
        from_device: "d".into(),
        created_at: "2026-01-01T00:00:00Z".into(),
        count: 0,
    }
}

/// A real bundle: the changes of a small store.
fn valid_bundle() -> Vec<u8> {
    let tmp = tempfile::tempdir().unwrap();
    let mut store = common::new_store(tmp.path(), "Awa D.");
    let id = store
        .add_incident(&common::patch(common::incident_json("Attack")))
        .unwrap();
    store
        .edit_incident(
            &id,
            &common::patch(serde_json::json!({"narrative": "more"})),
        )
        .unwrap();
    let changes = store.changes_missing_from(None).unwrap();
    bundle::encode(&header(), &changes).unwrap()
}

fn gunzip(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(bytes)
        .read_to_end(&mut out)
        .unwrap();
    out
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    enc.write_all(bytes).unwrap();
    enc.finish().unwrap()
}

/// Damage: (position, xor mask) pairs, a truncation point and bytes inserted somewhere.
#[derive(Debug, Clone)]
struct Damage {
    flips: Vec<(usize, u8)>,
    cut: Option<usize>,
    insert: Option<(usize, Vec<u8>)>,
}

fn damage() -> impl Strategy<Value = Damage> {
    (
        prop::collection::vec((any::<usize>(), 1u8..=255), 0..4),
        prop::option::of(any::<usize>()),
        prop::option::of((any::<usize>(), prop::collection::vec(any::<u8>(), 1..16))),
    )
        .prop_map(|(flips, cut, insert)| Damage { flips, cut, insert })
}

fn apply(bytes: &[u8], d: &Damage) -> Vec<u8> {
    let mut b = bytes.to_vec();
    if b.is_empty() {
        return b;
    }
    for (pos, mask) in &d.flips {
        let i = pos % b.len();
        b[i] ^= mask;
    }
    if let Some((pos, extra)) = &d.insert {
        let i = pos % (b.len() + 1);
        b.splice(i..i, extra.iter().copied());
    }
    if let Some(cut) = d.cut {
        b.truncate(cut % (b.len() + 1));
    }
    b
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn decoding_arbitrary_bytes_never_panics(bytes in prop::collection::vec(any::<u8>(), 0..2048)) {
        let _ = bundle::decode(&bytes);
        let mut gz = vec![0x1f, 0x8b];
        gz.extend_from_slice(&bytes);
        let _ = bundle::decode(&gz);
        // Arbitrary bytes behind a valid gzip layer and a valid signature.
        let mut inner = b"MRMB\x01".to_vec();
        inner.extend_from_slice(&bytes);
        let _ = bundle::decode(&gzip(&inner));
    }

    #[test]
    fn round_trip(changes in prop::collection::vec(
        (any::<u128>(), prop::collection::vec(any::<u8>(), 0..300)), 0..20)
    ) {
        let changes: Vec<(String, Vec<u8>)> = changes
            .into_iter()
            .map(|(id, bytes)| (uuid::Uuid::from_u128(id).to_string(), bytes))
            .collect();
        let bytes = bundle::encode(&header(), &changes).unwrap();
        let b = bundle::decode(&bytes).unwrap();
        prop_assert_eq!(b.header.count, changes.len() as u64);
        prop_assert_eq!(b.changes, changes);
    }
}

#[test]
fn damaged_bundles_are_refused_without_panicking() {
    let valid = valid_bundle();
    let inner = gunzip(&valid);
    assert!(bundle::decode(&valid).is_ok());
    // Every truncation of the file and of its contents is refused.
    for cut in 0..valid.len() {
        assert!(bundle::decode(&valid[..cut]).is_err(), "file cut at {cut}");
    }
    for cut in 0..inner.len() {
        assert!(
            bundle::decode(&gzip(&inner[..cut])).is_err(),
            "contents cut at {cut}"
        );
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    /// Damage to the compressed file: the gzip checksum or the framing refuses it.
    #[test]
    fn damaged_file_never_panics(d in damage()) {
        thread_local!(static VALID: Vec<u8> = valid_bundle());
        let damaged = VALID.with(|v| apply(v, &d));
        let _ = bundle::decode(&damaged);
    }

    /// Damage to the contents behind a correct checksum: only the framing checks protect the
    /// reader, and what it returns must still be refused or accepted whole by a store.
    #[test]
    fn damaged_contents_never_panic(d in damage()) {
        thread_local!(static INNER: Vec<u8> = gunzip(&valid_bundle()));
        let damaged = INNER.with(|v| apply(v, &d));
        if let Ok(b) = bundle::decode(&gzip(&damaged)) {
            let tmp = tempfile::tempdir().unwrap();
            let mut store = common::new_store(tmp.path(), "Ben K.");
            let before = common::light(&store);
            if store.import(b.changes).is_err() {
                prop_assert_eq!(common::light(&store), before);
            } else {
                common::check_projections(&store);
            }
        }
    }
}
