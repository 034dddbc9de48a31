//! The bundle file: changes carried between stores without a network (a USB stick), and the same
//! framing the sync protocol uses for its binary payloads.
//!
//! Layout, gzip-compressed as a whole (gzip's CRC-32 catches a damaged or truncated file):
//!
//! ```text
//! "MRMB" version:u8=1  header_len:u32le  header (JSON)
//! repeated `count` times:  doc_id:16 bytes (UUID)  len:u32le  change bytes
//! ```
//!
//! Version 2 is the same with each change followed by `tag_len:u8` (0 or [`TAG_LEN`]) and that
//! many bytes: the change's authorship tag ([`crate::protocol::authorship_tag`]), with which a
//! device relays a colleague's changes to the endpoint. It is written only when a frame carries
//! a tag, so every message without one reads as before.
//!
//! Every length is checked against a limit before anything is allocated, so a hostile file cannot
//! make the reader allocate gigabytes.
//!
//! On a USB stick a bundle is always sealed ([`seal`]) under a passphrase the two officers share:
//!
//! ```text
//! "MRME" version:u8=1  envelope_len:u32le  envelope (JSON: Argon2id parameters, salt, nonce)
//! XChaCha20-Poly1305 ciphertext of the bundle above
//! ```

use std::io::{Read, Write};

use flate2::read::GzDecoder;
use flate2::write::GzEncoder;
use serde::{Deserialize, Serialize};

use crate::crypto::{self, Envelope, KdfParams, Passphrase};
use crate::error::{Error, Result};

const MAGIC: &[u8; 4] = b"MRMB";
const VERSION: u8 = 1;
/// Frames followed by their authorship tags.
const TAGGED_VERSION: u8 = 2;
/// Bytes of an authorship tag (a truncated HMAC-SHA256, [`crate::protocol::authorship_tag`]).
pub const TAG_LEN: usize = 16;
/// An authorship tag.
pub type Tag = [u8; TAG_LEN];
/// Largest header we read.
const MAX_HEADER: u32 = 64 * 1024;
/// Largest single change any layer takes ([`crate::limits::MAX_CHANGE_BYTES`]).
pub const MAX_CHANGE: u32 = crate::limits::MAX_CHANGE_BYTES as u32;
/// Most changes in one bundle file: each costs about 100 bytes of bookkeeping when read, so a
/// file of empty frames costs at most ~200 MiB before it is refused.
pub const MAX_CHANGES: u64 = 2_000_000;
/// Most bytes a bundle file may decompress to.
const MAX_TOTAL: u64 = 512 * 1024 * 1024;

/// How much a framed message may hold once decompressed: a compression bomb or a flood of empty
/// frames is refused when it crosses either bound, having cost at most about `max_bytes` plus
/// 100 bytes per change of memory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FrameLimits {
    /// Most bytes after decompression, header and framing included.
    pub max_bytes: u64,
    /// Most changes.
    pub max_changes: u64,
}

impl FrameLimits {
    /// A bundle file (USB, `mrm bundle import`): a whole mission's export fits.
    pub const FILE: FrameLimits = FrameLimits {
        max_bytes: MAX_TOTAL,
        max_changes: MAX_CHANGES,
    };
}

/// Changes as (record id, change bytes), the unit every exchange moves.
pub type Frames = Vec<(String, Vec<u8>)>;

/// Who made a bundle, and for which mission.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BundleHeader {
    pub mission: String,
    pub from_device: String,
    pub created_at: String,
    pub count: u64,
}

/// A decoded bundle.
#[derive(Debug, Clone, PartialEq)]
pub struct Bundle {
    pub header: BundleHeader,
    /// (record id, change bytes), in the order they were written.
    pub changes: Vec<(String, Vec<u8>)>,
    /// Each change's authorship tag, when its author gave one (aligned with `changes`; empty for
    /// a bundle without tags).
    pub tags: Vec<Option<Tag>>,
}

/// Encode changes into bundle bytes.
pub fn encode(header: &BundleHeader, changes: &[(String, Vec<u8>)]) -> Result<Vec<u8>> {
    encode_frames(header, changes)
}

/// Encode changes behind any JSON-object header; the header's `count` is set to the number of
/// changes. The sync protocol uses this with its own headers.
pub fn encode_frames<H: Serialize>(header: &H, changes: &[(String, Vec<u8>)]) -> Result<Vec<u8>> {
    encode_frames_tagged(header, changes, &[])
}

/// [`encode_frames`] with each change's authorship tag (`tags` aligned with `changes`, or
/// shorter: a missing entry is no tag). Written as version 1 when no change has a tag.
pub fn encode_frames_tagged<H: Serialize>(
    header: &H,
    changes: &[(String, Vec<u8>)],
    tags: &[Option<Tag>],
) -> Result<Vec<u8>> {
    let tagged = tags.iter().any(Option::is_some);
    let mut enc = GzEncoder::new(Vec::new(), flate2::Compression::fast());
    let io = |e: std::io::Error| Error::Bundle(format!("cannot encode: {e}"));
    let mut header = serde_json::to_value(header)?;
    match header.as_object_mut() {
        Some(m) => {
            m.insert("count".into(), serde_json::json!(changes.len()));
        }
        None => return Err(Error::Bundle("a header must be a JSON object".into())),
    }
    let h = serde_json::to_vec(&header)?;
    enc.write_all(MAGIC).map_err(io)?;
    enc.write_all(&[if tagged { TAGGED_VERSION } else { VERSION }])
        .map_err(io)?;
    enc.write_all(&(h.len() as u32).to_le_bytes()).map_err(io)?;
    enc.write_all(&h).map_err(io)?;
    for (i, (doc_id, bytes)) in changes.iter().enumerate() {
        let id = uuid::Uuid::parse_str(doc_id)
            .map_err(|_| Error::Bundle(format!("record id {doc_id} is not a UUID")))?;
        if bytes.len() > MAX_CHANGE as usize {
            return Err(Error::Bundle("a change is larger than the limit".into()));
        }
        enc.write_all(id.as_bytes()).map_err(io)?;
        enc.write_all(&(bytes.len() as u32).to_le_bytes())
            .map_err(io)?;
        enc.write_all(bytes).map_err(io)?;
        if tagged {
            match tags.get(i).copied().flatten() {
                Some(tag) => {
                    enc.write_all(&[TAG_LEN as u8]).map_err(io)?;
                    enc.write_all(&tag).map_err(io)?;
                }
                None => enc.write_all(&[0]).map_err(io)?,
            }
        }
    }
    enc.finish().map_err(io)
}

const SEALED_MAGIC: &[u8; 4] = b"MRME";
/// Bound to the ciphertext, so a sealed store key cannot be passed off as a bundle.
const SEALED_CONTEXT: &[u8] = b"mrm-field bundle v1";

/// Seal bundle bytes under a passphrase, for carrying on a USB stick.
pub fn seal(pass: &Passphrase, bundle: &[u8]) -> Result<Vec<u8>> {
    pass.check_new()?;
    let (envelope, sealed) = crypto::seal(pass, KdfParams::default(), SEALED_CONTEXT, bundle)?;
    let env = serde_json::to_vec(&envelope)?;
    let mut out = Vec::with_capacity(9 + env.len() + sealed.len());
    out.extend_from_slice(SEALED_MAGIC);
    out.push(VERSION);
    out.extend_from_slice(&(env.len() as u32).to_le_bytes());
    out.extend_from_slice(&env);
    out.extend_from_slice(&sealed);
    Ok(out)
}

/// Whether these bytes are a sealed bundle (so the passphrase must be asked for).
pub fn is_sealed(bytes: &[u8]) -> bool {
    bytes.starts_with(SEALED_MAGIC)
}

/// Open a sealed bundle and decode it. A wrong passphrase or a damaged file changes nothing.
pub fn open_sealed(pass: &Passphrase, bytes: &[u8]) -> Result<Bundle> {
    if !is_sealed(bytes) {
        return Err(Error::Bundle("not a sealed MRM bundle".into()));
    }
    let rest = &bytes[4..];
    let (&version, rest) = rest
        .split_first()
        .ok_or_else(|| Error::Bundle("truncated while reading the file type".into()))?;
    if version != VERSION {
        return Err(Error::Bundle(format!(
            "sealed bundle version {version} is not supported (this program reads version {VERSION})"
        )));
    }
    if rest.len() < 4 {
        return Err(Error::Bundle(
            "truncated while reading the envelope length".into(),
        ));
    }
    let (len, rest) = rest.split_at(4);
    let len = u32::from_le_bytes([len[0], len[1], len[2], len[3]]);
    if len > MAX_HEADER || len as usize > rest.len() {
        return Err(Error::Bundle(format!("envelope length {len} is absurd")));
    }
    let (env, sealed) = rest.split_at(len as usize);
    let envelope: Envelope =
        serde_json::from_slice(env).map_err(|e| Error::Bundle(format!("damaged envelope: {e}")))?;
    // A bundle comes from anyone: its key derivation may cost at most what this program asks of
    // the bundles it writes, so a hostile file costs a fraction of a second, not gigabytes.
    let most = KdfParams::default();
    let p = envelope.params;
    if p.memory_kib > most.memory_kib
        || p.iterations > most.iterations
        || p.parallelism > most.parallelism
    {
        return Err(Error::Bundle(format!(
            "its key derivation asks for more than this program ever writes ({} KiB, {} passes, {} lanes at most)",
            most.memory_kib, most.iterations, most.parallelism
        )));
    }
    // Authentication cannot tell a wrong passphrase from a damaged file: say both.
    let plain = crypto::open(pass, &envelope, SEALED_CONTEXT, sealed).map_err(|e| match e {
        Error::WrongPassphrase => Error::BundleUnreadable,
        e => e,
    })?;
    decode(&plain)
}

fn too_large(limits: FrameLimits) -> Error {
    Error::TooLarge(format!(
        "the message decompresses to more than {} bytes",
        limits.max_bytes
    ))
}

fn read_exact<R: Read>(r: &mut R, buf: &mut [u8], what: &str) -> Result<()> {
    r.read_exact(buf).map_err(|e| match e.kind() {
        std::io::ErrorKind::UnexpectedEof => {
            Error::Bundle(format!("truncated while reading {what}"))
        }
        _ => Error::Bundle(format!("damaged while reading {what}: {e}")),
    })
}

fn read_u32<R: Read>(r: &mut R, what: &str) -> Result<u32> {
    let mut b = [0u8; 4];
    read_exact(r, &mut b, what)?;
    Ok(u32::from_le_bytes(b))
}

/// Decode bundle bytes, checking every length and the checksum.
pub fn decode(bytes: &[u8]) -> Result<Bundle> {
    let (header, changes, tags) = decode_frames_tagged(bytes, FrameLimits::FILE)?;
    Ok(Bundle {
        header,
        changes,
        tags,
    })
}

/// Decode frames behind any header type within [`FrameLimits::FILE`], checking every length and
/// the checksum.
pub fn decode_frames<H: serde::de::DeserializeOwned>(bytes: &[u8]) -> Result<(H, Frames)> {
    decode_frames_within(bytes, FrameLimits::FILE)
}

/// [`decode_frames`] within `limits`: decompression stops at `limits.max_bytes` (what lies
/// beyond is never inflated) and the header's count may not exceed `limits.max_changes`.
///
/// Errors: [`Error::Bundle`] naming what is wrong, or [`Error::TooLarge`] when a bound is crossed.
pub fn decode_frames_within<H: serde::de::DeserializeOwned>(
    bytes: &[u8],
    limits: FrameLimits,
) -> Result<(H, Frames)> {
    decode_frames_tagged(bytes, limits).map(|(h, frames, _)| (h, frames))
}

/// [`decode_frames_within`], with each change's authorship tag (aligned with the frames; empty
/// for a version 1 message).
///
/// Errors: as [`decode_frames_within`], and [`Error::Bundle`] for a tag of another length.
pub fn decode_frames_tagged<H: serde::de::DeserializeOwned>(
    bytes: &[u8],
    limits: FrameLimits,
) -> Result<(H, Frames, Vec<Option<Tag>>)> {
    if bytes.len() < 2 || bytes[0] != 0x1f || bytes[1] != 0x8b {
        return Err(Error::Bundle("not an MRM bundle (not gzip data)".into()));
    }
    // One byte past the bound tells a message that is too large from one that is cut short.
    let mut r = GzDecoder::new(bytes).take(limits.max_bytes.saturating_add(1));
    let mut magic = [0u8; 5];
    read_exact(&mut r, &mut magic, "the file type")?;
    if &magic[..4] != MAGIC {
        return Err(Error::Bundle("not an MRM bundle".into()));
    }
    let tagged = match magic[4] {
        VERSION => false,
        TAGGED_VERSION => true,
        v => {
            return Err(Error::Bundle(format!(
                "bundle format version {v} is not supported (this program reads versions \
                 {VERSION} and {TAGGED_VERSION})"
            )))
        }
    };
    let hlen = read_u32(&mut r, "the header length")?;
    if hlen > MAX_HEADER {
        return Err(Error::Bundle(format!("header length {hlen} is absurd")));
    }
    let mut h = vec![0u8; hlen as usize];
    read_exact(&mut r, &mut h, "the header")?;
    let raw: serde_json::Value = serde_json::from_slice(&h)
        .map_err(|e| Error::Bundle(format!("the header is not valid: {e}")))?;
    let count = raw
        .get("count")
        .and_then(serde_json::Value::as_u64)
        .ok_or_else(|| Error::Bundle("the header has no change count".into()))?;
    if count > limits.max_changes {
        return Err(Error::TooLarge(format!(
            "{count} changes in one message; at most {} are taken",
            limits.max_changes
        )));
    }
    let header: H = serde_json::from_value(raw)
        .map_err(|e| Error::Bundle(format!("the header is not valid: {e}")))?;
    let mut changes = Vec::with_capacity(count.min(100_000) as usize);
    let mut tags = Vec::new();
    for i in 0..count {
        let mut id = [0u8; 16];
        read_exact(&mut r, &mut id, &format!("change {}", i + 1))?;
        let len = read_u32(&mut r, &format!("change {}", i + 1))?;
        if len > MAX_CHANGE {
            // Malformed rather than too large: no change this program writes or takes is that
            // size, so the length is garbage or hostile.
            return Err(Error::Bundle(format!(
                "change {} claims {len} bytes; a change may hold at most {MAX_CHANGE}",
                i + 1
            )));
        }
        if r.limit() <= u64::from(len) {
            return Err(too_large(limits));
        }
        let mut buf = vec![0u8; len as usize];
        read_exact(&mut r, &mut buf, &format!("change {}", i + 1))?;
        changes.push((uuid::Uuid::from_bytes(id).to_string(), buf));
        if tagged {
            let mut n = [0u8; 1];
            read_exact(&mut r, &mut n, &format!("the tag of change {}", i + 1))?;
            tags.push(match n[0] as usize {
                0 => None,
                TAG_LEN => {
                    let mut tag = [0u8; TAG_LEN];
                    read_exact(&mut r, &mut tag, &format!("the tag of change {}", i + 1))?;
                    Some(tag)
                }
                n => {
                    return Err(Error::Bundle(format!(
                        "the tag of change {} claims {n} bytes; a tag has {TAG_LEN}",
                        i + 1
                    )))
                }
            });
        }
    }
    // Reading to the end makes the decoder check the CRC and length trailer; trailing bytes are
    // read only up to the bound.
    let mut rest = Vec::new();
    r.read_to_end(&mut rest)
        .map_err(|e| Error::Bundle(format!("damaged: {e}")))?;
    if r.limit() == 0 {
        return Err(too_large(limits));
    }
    if !rest.is_empty() {
        return Err(Error::Bundle(format!(
            "{} unexpected bytes after the last change",
            rest.len()
        )));
    }
    Ok((header, changes, tags))
}

#[cfg(test)]
mod tests {
    use super::*;

    const ID: &str = "01890000-0000-7000-8000-000000000001";

    fn header() -> serde_json::Value {
        serde_json::json!({"mission": "M"})
    }

    /// The gzip stream's plain bytes.
    fn inflate(bytes: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        GzDecoder::new(bytes).read_to_end(&mut out).unwrap();
        out
    }

    fn deflate(plain: &[u8]) -> Vec<u8> {
        let mut enc = GzEncoder::new(Vec::new(), flate2::Compression::fast());
        enc.write_all(plain).unwrap();
        enc.finish().unwrap()
    }

    #[test]
    fn tags_travel_with_their_changes_and_untagged_messages_stay_version_1() {
        let frames = vec![
            (ID.to_string(), b"one".to_vec()),
            (ID.to_string(), b"two".to_vec()),
        ];
        let plain = encode_frames(&header(), &frames).unwrap();
        assert_eq!(inflate(&plain)[4], VERSION);
        let (_, back, tags) =
            decode_frames_tagged::<serde_json::Value>(&plain, FrameLimits::FILE).unwrap();
        assert_eq!(back, frames);
        assert!(tags.is_empty());

        let tag = [7u8; TAG_LEN];
        let tagged = encode_frames_tagged(&header(), &frames, &[None, Some(tag)]).unwrap();
        assert_eq!(inflate(&tagged)[4], TAGGED_VERSION);
        let (_, back, tags) =
            decode_frames_tagged::<serde_json::Value>(&tagged, FrameLimits::FILE).unwrap();
        assert_eq!(back, frames);
        assert_eq!(tags, vec![None, Some(tag)]);
        // Readers that ignore tags read the same changes.
        let (_, plain_read): (serde_json::Value, _) = decode_frames(&tagged).unwrap();
        assert_eq!(plain_read, frames);
    }

    #[test]
    fn a_tag_of_another_length_or_cut_short_is_refused() {
        let frames = vec![(ID.to_string(), b"one".to_vec())];
        let good =
            inflate(&encode_frames_tagged(&header(), &frames, &[Some([1; TAG_LEN])]).unwrap());
        // The tag's length byte is the 17th byte from the end.
        let at = good.len() - TAG_LEN - 1;
        let mut bad = good.clone();
        bad[at] = 9;
        let e = decode_frames_tagged::<serde_json::Value>(&deflate(&bad), FrameLimits::FILE)
            .unwrap_err()
            .to_string();
        assert!(e.contains("claims 9 bytes"), "{e}");
        let cut = &good[..good.len() - 3];
        let e = decode_frames_tagged::<serde_json::Value>(&deflate(cut), FrameLimits::FILE)
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("truncated while reading the tag of change 1"),
            "{e}"
        );
    }
}
