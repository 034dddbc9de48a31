//! The sync protocol's messages and constants, shared by the client (here) and the endpoint
//! (`mrm-server`). The protocol is written down in docs/sync-protocol.md.

use serde::{Deserialize, Serialize};

/// Version prefix of every endpoint path.
pub const API: &str = "/v1";
/// Most changes the client sends in one push.
pub const PUSH_BATCH_CHANGES: usize = 2_000;
/// Most change bytes the client sends in one push.
pub const PUSH_BATCH_BYTES: usize = 4 * 1024 * 1024;
/// Most changes the endpoint takes in one push (four client batches): a flood of empty frames is
/// refused after this many.
pub const MAX_PUSH_CHANGES: u64 = 4 * PUSH_BATCH_CHANGES as u64;
/// Most bytes a push may decompress to: a batch ends once it passes [`PUSH_BATCH_BYTES`], so it
/// holds at most that plus one change of the largest size ([`crate::bundle::MAX_CHANGE`]), with
/// room for framing (9 MiB).
pub const MAX_PUSH_BYTES: u64 =
    PUSH_BATCH_BYTES as u64 + crate::bundle::MAX_CHANGE as u64 + 1024 * 1024;
/// Largest push body the endpoint reads (compressed; gzip never grows data by more than a few
/// bytes per 16 KiB block, so the decompressed bound is also the compressed one).
pub const MAX_BODY: usize = MAX_PUSH_BYTES as usize;
/// Largest enrollment request body (a token, a team, a mission and an actor id).
pub const MAX_ENROLL_BODY: usize = 16 * 1024;
/// What a push may hold once decompressed.
pub const PUSH_LIMITS: crate::bundle::FrameLimits = crate::bundle::FrameLimits {
    max_bytes: MAX_PUSH_BYTES,
    max_changes: MAX_PUSH_CHANGES,
};
/// What a pull page may hold once decompressed: a device reading an impostor's page bounds it
/// like the endpoint bounds a push.
pub const PULL_LIMITS: crate::bundle::FrameLimits = crate::bundle::FrameLimits {
    max_bytes: (PULL_PAGE_BYTES as u64) + crate::bundle::MAX_CHANGE as u64 + 1024 * 1024,
    max_changes: PULL_PAGE as u64,
};
/// Default and largest page size of a pull, in changes. A page also ends at [`PULL_PAGE_BYTES`]:
/// what a cut re-sends is bounded by bytes, while a fresh device gets a record's creation and its
/// edits in one page (each record a page touches costs an import; 5,000-change pages made a fresh
/// 10,000-incident pull import most records twice).
pub const PULL_PAGE: i64 = 50_000;
/// A pull page stops once its change bytes (before gzip) reach this (it always holds at least one
/// change of the log, so the cursor moves).
pub const PULL_PAGE_BYTES: usize = 16 * 1024 * 1024;

pub use crate::policy::Role;

/// `POST /v1/enroll` request.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EnrollRequest {
    pub token: String,
    /// The store's team: a token for another team is refused before it is used up.
    pub team: String,
    /// The store's mission code: refused if the endpoint serves another mission.
    pub mission: String,
    /// The device's Automerge actor id (hex), bound to the device from now on.
    pub actor: String,
    /// The secret seed the actor id was derived from ([`actor_from_seed`]), 64 hex digits: it
    /// proves the store holds this actor, which anyone who has seen the actor's changes could
    /// otherwise claim (locking its true owner out). Absent for a store made before actors were
    /// derived from a seed; the endpoint then enrolls it only with a token issued for that.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub actor_proof: Option<String>,
}

/// The Automerge actor id (32 hex digits) of a store with this secret `seed` (64 hex digits),
/// made at `millis` (ms since the Unix epoch): the time in its first 6 bytes, as a UUIDv7 starts
/// (so that, as before, a later store's write wins a tie between concurrent values), then the
/// first 10 bytes of SHA-256 over a fixed context and the seed. Seeing the actor reveals nothing
/// of the seed, so only the store that made it can prove it at enrollment ([`actor_proven`]).
/// `None` for a seed that is not 64 hex digits.
pub fn actor_from_seed(seed: &str, millis: u64) -> Option<String> {
    let tail = seed_digest(seed)?;
    Some(format!("{}{tail}", hex::encode(&millis.to_be_bytes()[2..])))
}

/// Whether `seed` proves `actor` ([`actor_from_seed`]). (Both sides of the comparison are
/// public once the actor is: no need for constant time.)
pub fn actor_proven(actor: &str, seed: &str) -> bool {
    match (actor.get(12..), seed_digest(seed)) {
        (Some(tail), Some(want)) => actor.len() == 32 && tail.eq_ignore_ascii_case(&want),
        _ => false,
    }
}

/// The 10-byte digest (20 hex digits) of a 64-hex-digit seed.
fn seed_digest(seed: &str) -> Option<String> {
    use sha2::{Digest, Sha256};
    let bytes = hex::decode(seed).ok().filter(|b| b.len() == 32)?;
    let mut h = Sha256::new();
    h.update(b"mrm-field actor v1\0");
    h.update(&bytes);
    Some(hex::encode(&h.finalize()[..10]))
}

/// `POST /v1/enroll` response: the credential is shown once and stored only hashed.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct EnrollResponse {
    pub device_id: String,
    pub secret: String,
    pub officer: String,
    pub team: String,
    pub role: Role,
    pub mission: String,
    /// Hex key (32 bytes) with which the endpoint proves a revocation to this device, shown once
    /// at enrollment and never sent back: an answer "revoked" wipes the device only with a valid
    /// [`revocation_proof`]. Absent from endpoints older than this field.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revocation_key: Option<String>,
}

/// The request header carrying a fresh random nonce (hex), which a revocation answer must be
/// bound to so that an old answer cannot be replayed.
pub const NONCE_HEADER: &str = "x-mrm-nonce";

/// A push sent as a resumable upload: the upload's name, chosen by the device (16 to 64 hex
/// digits, one per batch). With it, [`UPLOAD_LENGTH_HEADER`] (the batch's bytes) and
/// [`UPLOAD_OFFSET_HEADER`] (the first of them this request's body carries); an endpoint that
/// holds another number of the batch's bytes answers 409 `upload_offset` with the `offset` to
/// continue from (docs/sync-protocol.md, "Pushes resumed by offset").
pub const UPLOAD_HEADER: &str = "x-mrm-upload";
/// See [`UPLOAD_HEADER`].
pub const UPLOAD_LENGTH_HEADER: &str = "x-mrm-upload-length";
/// See [`UPLOAD_HEADER`].
pub const UPLOAD_OFFSET_HEADER: &str = "x-mrm-upload-offset";

/// HMAC-SHA256 keyed by `key` (hex) over each part followed by a zero byte. `None` for a key
/// that is not hex.
fn mac(key: &str, parts: &[&[u8]]) -> Option<hmac::Hmac<sha2::Sha256>> {
    use hmac::Mac;
    let key = hex::decode(key).ok()?;
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(&key).ok()?;
    for part in parts {
        mac.update(part);
        mac.update(&[0]);
    }
    Some(mac)
}

/// The MAC that proves a revocation, keyed by the device's revocation key.
fn revocation_mac(key: &str, device_id: &str, nonce: &str) -> Option<hmac::Hmac<sha2::Sha256>> {
    mac(
        key,
        &[b"mrm-revoked", device_id.as_bytes(), nonce.as_bytes()],
    )
}

/// A device's revocation key (hex), derived by the endpoint from its own secret `master` (hex),
/// so the endpoint stores one secret, not one per device.
pub fn revocation_key(master: &str, device_id: &str) -> Option<String> {
    use hmac::Mac;
    mac(master, &[b"mrm-revocation-key", device_id.as_bytes()])
        .map(|m| hex::encode(m.finalize().into_bytes()))
}

/// The proof that the endpoint holding `key` (hex) revoked `device_id`, bound to the request's
/// `nonce`, as hex.
pub fn revocation_proof(key: &str, device_id: &str, nonce: &str) -> Option<String> {
    use hmac::Mac;
    revocation_mac(key, device_id, nonce).map(|m| hex::encode(m.finalize().into_bytes()))
}

/// Whether `proof` is [`revocation_proof`] for these values, compared in constant time.
pub fn revocation_proven(key: &str, device_id: &str, nonce: &str, proof: &str) -> bool {
    use hmac::Mac;
    match (revocation_mac(key, device_id, nonce), hex::decode(proof)) {
        (Some(mac), Ok(proof)) => mac.verify_slice(&proof).is_ok(),
        _ => false,
    }
}

/// A device's authorship key (hex), derived from its revocation key (hex): the device holds it
/// from its enrollment, the endpoint derives it again from its own secret, and nobody else can.
/// With it the device tags its changes ([`authorship_tag`]) so that a colleague may relay them.
pub fn author_key(revocation_key: &str) -> Option<String> {
    use hmac::Mac;
    mac(revocation_key, &[b"mrm-author-key"]).map(|m| hex::encode(m.finalize().into_bytes()))
}

/// The tag by which the holder of `author_key` (hex) vouches that it wrote the change `hash`
/// (hex): an HMAC-SHA256 truncated to [`crate::bundle::TAG_LEN`] bytes. A relay carries it with
/// the change; the endpoint checks it against the author's key, so a relay can forward a
/// colleague's changes but never forge one (docs/sync-protocol.md, "Relays").
pub fn authorship_tag(author_key: &str, hash: &str) -> Option<crate::bundle::Tag> {
    use hmac::Mac;
    let full = mac(author_key, &[b"mrm-authored", hash.as_bytes()])?
        .finalize()
        .into_bytes();
    let mut tag = [0u8; crate::bundle::TAG_LEN];
    tag.copy_from_slice(&full[..crate::bundle::TAG_LEN]);
    Some(tag)
}

/// Whether `tag` is [`authorship_tag`] of `hash` under `author_key`, compared in constant time.
pub fn authorship_proven(author_key: &str, hash: &str, tag: &crate::bundle::Tag) -> bool {
    use hmac::Mac;
    mac(author_key, &[b"mrm-authored", hash.as_bytes()])
        .is_some_and(|m| m.verify_truncated_left(tag).is_ok())
}

/// `POST /v1/push` response.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct PushResponse {
    /// Changes stored by this request.
    pub accepted: usize,
    /// Changes the endpoint already had.
    pub duplicates: usize,
}

/// Header of a `GET /v1/pull` response page.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct PullHeader {
    /// The cursor to send next time.
    pub cursor: i64,
    /// More pages wait after this one.
    pub more: bool,
    /// Changes in scope after `cursor` (for progress).
    pub remaining: i64,
    pub count: u64,
}

/// `GET /v1/me` response.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct MeResponse {
    pub device_id: String,
    pub officer: String,
    pub team: String,
    pub role: Role,
    pub mission: String,
    /// The endpoint's clock when it answered (RFC 3339, UTC); absent from endpoints before it
    /// was added. A device compares its own clock with it ([`clock_advice`]).
    #[serde(default)]
    pub now: Option<String>,
    /// The lineage of the endpoint's log: a random id made with its database, made anew when
    /// the database is restored from a backup (`mrm admin backup` writes a new one into the
    /// copy; `mrm admin restored` after any other restore). A device that synced under another
    /// epoch sends and reads everything again (docs/sync-protocol.md). Absent from endpoints
    /// before it was added.
    #[serde(default)]
    pub log_epoch: Option<String>,
    /// Whether the endpoint takes relayed changes (frames version 2 with authorship tags,
    /// docs/sync-protocol.md "Relays"); a device relays only to one that says so. Absent (false)
    /// from endpoints before relays.
    #[serde(default)]
    pub relays: bool,
    /// Whether the endpoint takes pushes as resumable uploads ([`UPLOAD_HEADER`]); a device
    /// sends plain pushes to one that does not say so. Absent (false) from endpoints before.
    #[serde(default)]
    pub uploads: bool,
}

/// How far a device's clock may differ from the endpoint's before it is told: the endpoint
/// refuses changes stamped more than this after its own clock (docs/sync-protocol.md).
pub const MAX_CLOCK_DIFFERENCE_SECS: i64 = 86_400;

/// Plain words for a device whose clock differs from the endpoint's by more than
/// [`MAX_CLOCK_DIFFERENCE_SECS`]; `None` when it does not (or the endpoint did not say its time).
/// `device_now` is the device's clock; `endpoint_now` the endpoint's, RFC 3339.
pub fn clock_advice(
    device_now: chrono::DateTime<chrono::Utc>,
    endpoint_now: Option<&str>,
) -> Option<String> {
    let ahead = clock_difference(device_now, endpoint_now)?;
    let endpoint = device_now - chrono::Duration::seconds(ahead);
    let amount = describe_duration(ahead.unsigned_abs());
    let fmt = |t: chrono::DateTime<chrono::Utc>| t.format("%Y-%m-%d %H:%M UTC").to_string();
    Some(if ahead > 0 {
        format!(
            "This laptop's clock is {amount} ahead of the mission endpoint's (it reads {}, the \
             endpoint {}). The endpoint refuses work stamped more than a day after its own \
             clock: what this laptop records now waits on it until the endpoint's clock reaches \
             its stamps. Set this laptop's date, time and time zone, then sync again.",
            fmt(device_now),
            fmt(endpoint)
        )
    } else {
        format!(
            "This laptop's clock is {amount} behind the mission endpoint's (it reads {}, the \
             endpoint {}). What you record is stamped with the wrong date and time, and \
             verifications may be counted in the wrong quarter: set this laptop's date, time \
             and time zone.",
            fmt(device_now),
            fmt(endpoint)
        )
    })
}

/// How far (seconds) the device's clock runs ahead of the endpoint's (negative: behind), when that
/// is more than [`MAX_CLOCK_DIFFERENCE_SECS`] either way; `None` otherwise or when the endpoint
/// did not say its time.
pub fn clock_difference(
    device_now: chrono::DateTime<chrono::Utc>,
    endpoint_now: Option<&str>,
) -> Option<i64> {
    let endpoint = chrono::DateTime::parse_from_rfc3339(endpoint_now?).ok()?;
    let ahead = device_now.signed_duration_since(endpoint).num_seconds();
    (ahead.abs() > MAX_CLOCK_DIFFERENCE_SECS).then_some(ahead)
}

/// `secs` as a person says it: "3 days", "2 years", "26 hours".
fn describe_duration(secs: u64) -> String {
    let hours = secs / 3600;
    let days = hours / 24;
    match () {
        _ if days >= 730 => format!("{} years", days / 365),
        _ if days >= 2 => format!("{days} days"),
        _ => format!("{hours} hours"),
    }
}

/// Error body of every non-2xx response.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ErrorBody {
    pub error: String,
    /// Machine-readable kind: `unauthorized`, `revoked`, `forbidden`, `bad_request`,
    /// `missing_dependencies`, `not_found`, `upload_offset`, `internal`.
    #[serde(default)]
    pub code: String,
    /// For `forbidden` by the one policy: its reason ([`crate::policy::Denial::code`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// For `revoked`: [`revocation_proof`] over the request's nonce.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub proof: Option<String>,
    /// For `upload_offset`: how many bytes of the upload the endpoint holds ([`UPLOAD_HEADER`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub offset: Option<u64>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_revocation_proves_itself_only_for_its_device_nonce_and_key() {
        let master = "11".repeat(32);
        let key = revocation_key(&master, "dev-1").unwrap();
        assert_ne!(key, revocation_key(&master, "dev-2").unwrap());
        let proof = revocation_proof(&key, "dev-1", "n1").unwrap();
        assert!(revocation_proven(&key, "dev-1", "n1", &proof));
        assert!(!revocation_proven(&key, "dev-1", "n2", &proof), "replayed");
        assert!(
            !revocation_proven(&key, "dev-2", "n1", &proof),
            "another device"
        );
        let other = revocation_key(&"22".repeat(32), "dev-1").unwrap();
        assert!(
            !revocation_proven(&other, "dev-1", "n1", &proof),
            "another endpoint"
        );
        assert!(!revocation_proven(&key, "dev-1", "n1", "zz"));
        assert!(!revocation_proven("not hex", "dev-1", "n1", &proof));
    }

    #[test]
    fn an_authorship_tag_holds_only_for_its_change_and_its_authors_key() {
        let master = "11".repeat(32);
        let a = author_key(&revocation_key(&master, "dev-1").unwrap()).unwrap();
        let b = author_key(&revocation_key(&master, "dev-2").unwrap()).unwrap();
        assert_ne!(a, b);
        // The author key is not the revocation key: a relay that learnt one learns nothing.
        assert_ne!(a, revocation_key(&master, "dev-1").unwrap());
        let h1 = "ab".repeat(32);
        let h2 = "cd".repeat(32);
        let tag = authorship_tag(&a, &h1).unwrap();
        assert!(authorship_proven(&a, &h1, &tag));
        assert!(!authorship_proven(&a, &h2, &tag), "another change");
        assert!(!authorship_proven(&b, &h1, &tag), "another author");
        let mut flipped = tag;
        flipped[0] ^= 1;
        assert!(!authorship_proven(&a, &h1, &flipped));
        assert!(!authorship_proven("not hex", &h1, &tag));
    }
}
