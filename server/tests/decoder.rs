//! Property test of the push payload path: whatever bytes arrive, decoding and checking a batch
//! returns a result (usually a refusal) and never panics; a valid batch survives byte flips only
//! as a clean refusal or as exactly the batch that was sent.

use automerge::transaction::Transactable;
use automerge::{ActorId, AutoCommit};
use mrm_crdt::bundle;
use mrm_crdt::protocol::Role;
use mrm_server::checks::check_batch;
use mrm_server::model::Device;
use proptest::prelude::*;

fn device(actor: &ActorId) -> Device {
    Device {
        id: "dev".into(),
        officer: "o".into(),
        team: "A".into(),
        role: Role::Officer,
        actor: Some(actor.to_hex_string()),
        created_at: String::new(),
        enrolled_at: None,
        revoked_at: None,
        last_sync_at: None,
    }
}

fn check(bytes: &[u8], dev: &Device) {
    if let Ok((_h, changes)) = bundle::decode_frames::<serde_json::Value>(bytes) {
        let _ = check_batch(dev, changes, |_| Ok(None), |_| Ok(false));
    }
}

fn valid_batch(actor: &ActorId) -> Vec<u8> {
    batch_under(actor, "01a22198-0000-7000-8000-000000000001")
}

/// A patrol's first change under record id `id`, as frames.
fn batch_under(actor: &ActorId, id: &str) -> Vec<u8> {
    let mut doc = AutoCommit::new().with_actor(actor.clone());
    doc.put(automerge::ROOT, "kind", "patrol").unwrap();
    doc.put(automerge::ROOT, "id", id).unwrap();
    doc.put(automerge::ROOT, "team", "A").unwrap();
    // A patrol the endpoint takes: its values pass the same checks as a local write.
    doc.put(automerge::ROOT, "date", "2026-01-15").unwrap();
    doc.commit();
    let changes: Vec<(String, Vec<u8>)> = doc
        .get_changes(&[])
        .into_iter()
        .map(|mut c| (id.to_string(), c.bytes().into_owned()))
        .collect();
    bundle::encode_frames(&serde_json::json!({}), &changes).unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..2048)) {
        let actor = ActorId::random();
        check(&bytes, &device(&actor));
    }

    #[test]
    fn damaged_batches_are_refused_or_intact(flips in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..8),
                                             cut in any::<prop::sample::Index>()) {
        let actor = ActorId::random();
        let good = valid_batch(&actor);
        let mut bad = good.clone();
        for (i, b) in &flips {
            let at = i.index(bad.len());
            bad[at] ^= b | 1;
        }
        check(&bad, &device(&actor));
        let truncated = &good[..cut.index(good.len())];
        prop_assert!(bundle::decode_frames::<serde_json::Value>(truncated).is_err());
        let (_h, changes) = bundle::decode_frames::<serde_json::Value>(&good).unwrap();
        let ok = check_batch(&device(&actor), changes, |_| Ok(None), |_| Ok(false));
        prop_assert!(ok.is_ok());
    }
}

/// The mission configuration and the device registry live under fixed ids: a record of another
/// kind under one of them (which would make every device's sync fail) is refused.
#[test]
fn the_fixed_ids_are_reserved_for_their_kinds() {
    let actor = ActorId::random();
    for id in [
        mrm_crdt::document::CONFIG_ID,
        mrm_crdt::document::REGISTRY_ID,
    ] {
        let (_h, changes) =
            bundle::decode_frames::<serde_json::Value>(&batch_under(&actor, id)).unwrap();
        let refused = check_batch(&device(&actor), changes, |_| Ok(None), |_| Ok(false));
        match refused {
            Err(mrm_server::ServerError::BadRequest(m)) => {
                assert!(m.contains("own record id"), "{m}")
            }
            Err(other) => panic!("{id}: refused for another reason: {other}"),
            Ok(_) => panic!("{id}: a patrol was taken under a reserved id"),
        }
    }
}

/// A change of another device, pushed without a tag that vouches for it, is refused as
/// `unvouched` only when the endpoint lacks it: re-sending a change the endpoint holds adds
/// nothing, and must not cost the rest of a relay its record.
#[test]
fn an_unvouched_change_is_refused_only_when_the_endpoint_lacks_it() {
    use mrm_server::checks::{check_decoded, decode_batch, Authors};
    let pusher = ActorId::random();
    let other = ActorId::random();
    let id = "01890000-0000-7000-8000-0000000000c1";
    let (_h, changes) =
        bundle::decode_frames::<serde_json::Value>(&batch_under(&other, id)).unwrap();
    let hashes: std::collections::HashSet<_> = changes
        .iter()
        .map(|(_, b)| automerge::Change::from_bytes(b.clone()).unwrap().hash())
        .collect();
    let dev = device(&pusher);
    let decoded = decode_batch(&dev, changes, &[Some([9; 16])], &Authors::new()).unwrap();
    match check_decoded(&dev, &decoded, &Default::default(), |_| Ok(None)) {
        Err(mrm_server::ServerError::Unvouched(m)) => {
            assert!(m.contains("no device of this mission"), "{m}")
        }
        Err(other) => panic!("refused for another reason: {other}"),
        Ok(_) => panic!("another device's change was taken without a tag that vouches for it"),
    }
    let held = check_decoded(&dev, &decoded, &hashes, |_| Ok(None)).unwrap();
    assert!(held.applied.is_empty());
    assert_eq!(held.duplicates, hashes.len());
}
