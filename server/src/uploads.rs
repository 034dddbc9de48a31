//! Push bodies received in part. A device sends a push batch as a named upload (`X-MRM-Upload`,
//! its total length, and the offset this request's body continues from); what arrives is kept
//! here as it arrives, so that after a cut the device sends only the rest (docs/sync-protocol.md,
//! "Pushes resumed by offset").
//!
//! One upload per device (a device pushes one batch at a time), for [`KEEP_FOR`], within
//! [`UPLOAD_BYTES`] for the whole endpoint (the oldest go first). A whole upload is kept until
//! the device's next one: a device whose answer was lost after the batch was stored asks again
//! with nothing more to send, and the batch is applied again (idempotent), not sent again.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// How long an upload can be continued: long enough for a base's link to come back.
pub const KEEP_FOR: Duration = Duration::from_secs(30 * 60);
/// Most bytes of uploads kept at once, over every device (each counted at its full length).
pub const UPLOAD_BYTES: usize = 64 * 1024 * 1024;

/// An upload's name as a device gives it: 32 lowercase hex digits, the first half of its
/// bytes' SHA-256 ([`name_of`]).
pub fn valid_name(name: &str) -> bool {
    name.len() == 32 && name.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

/// The name of an upload of `bytes`: 32 hex digits of their SHA-256. The endpoint applies a
/// whole upload only under its own name, so no batch is ever taken for another.
pub fn name_of(bytes: &[u8]) -> String {
    use sha2::Digest;
    let digest = sha2::Sha256::digest(bytes);
    digest[..16].iter().map(|b| format!("{b:02x}")).collect()
}

/// What became of a chunk added to an upload.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Appended {
    Kept,
    /// The upload is no longer kept (made room for others): it starts again from 0.
    Gone,
    /// The chunk would take the upload past its length.
    TooLong,
}

struct Upload {
    name: String,
    total: usize,
    bytes: Vec<u8>,
    at: Instant,
}

/// The uploads in progress, by device id.
#[derive(Default)]
pub struct Uploads {
    map: Mutex<HashMap<String, Upload>>,
}

/// Where an upload continues from when a request's offset is not it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Offset(pub usize);

impl Uploads {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Upload>> {
        self.map.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Continue `device`'s upload `name` of `total` bytes at `offset`: from 0 it starts anew
    /// (replacing the device's previous upload); otherwise the kept upload must hold exactly
    /// `offset` bytes of the same name and length, or the answer is where it does continue
    /// (0 when nothing of it is kept).
    pub fn begin(
        &self,
        device: &str,
        name: &str,
        total: usize,
        offset: usize,
    ) -> Result<(), Offset> {
        let mut map = self.lock();
        map.retain(|_, u| u.at.elapsed() < KEEP_FOR);
        if offset == 0 {
            map.insert(
                device.to_string(),
                Upload {
                    name: name.to_string(),
                    total,
                    bytes: Vec::new(),
                    at: Instant::now(),
                },
            );
            // Room for this one: the oldest others go.
            let mut reserved: usize = map.values().map(|u| u.total).sum();
            while reserved > UPLOAD_BYTES {
                let Some(oldest) = map
                    .iter()
                    .filter(|(d, _)| d.as_str() != device)
                    .min_by_key(|(_, u)| u.at)
                    .map(|(d, _)| d.clone())
                else {
                    break;
                };
                if let Some(u) = map.remove(&oldest) {
                    reserved -= u.total;
                }
            }
            return Ok(());
        }
        match map.get_mut(device) {
            Some(u) if u.name == name && u.total == total => {
                if u.bytes.len() == offset {
                    u.at = Instant::now();
                    Ok(())
                } else {
                    Err(Offset(u.bytes.len()))
                }
            }
            _ => Err(Offset(0)),
        }
    }

    /// Add a chunk that arrived to `device`'s upload `name`.
    pub fn append(&self, device: &str, name: &str, chunk: &[u8]) -> Appended {
        let mut map = self.lock();
        match map.get_mut(device) {
            Some(u) if u.name == name => {
                if u.bytes.len() + chunk.len() > u.total {
                    return Appended::TooLong;
                }
                if u.bytes.capacity() == 0 {
                    // Its whole length at once: memory is what was counted, not twice that.
                    if u.bytes.try_reserve_exact(u.total).is_err() {
                        return Appended::Gone;
                    }
                }
                u.bytes.extend_from_slice(chunk);
                u.at = Instant::now();
                Appended::Kept
            }
            _ => Appended::Gone,
        }
    }

    /// The whole of `device`'s upload `name`, once every byte has arrived and they are the
    /// bytes it is named for (kept: see the module).
    pub fn whole(&self, device: &str, name: &str) -> Option<Vec<u8>> {
        let bytes = {
            let map = self.lock();
            map.get(device)
                .filter(|u| u.name == name && u.bytes.len() == u.total)
                .map(|u| u.bytes.clone())?
        };
        (name_of(&bytes) == name).then_some(bytes)
    }

    /// Where `device`'s upload `name` continues, once a request's body has been added and it is
    /// not whole: its length so far, or 0 (and it is forgotten) when every byte arrived but
    /// they are not the bytes it is named for.
    pub fn continue_at(&self, device: &str, name: &str) -> usize {
        let mut map = self.lock();
        match map.get(device) {
            Some(u) if u.name == name && u.bytes.len() < u.total => u.bytes.len(),
            Some(u) if u.name == name => {
                map.remove(device);
                0
            }
            _ => 0,
        }
    }

    /// How many bytes of `device`'s upload `name` are kept.
    #[cfg(test)]
    fn kept(&self, device: &str, name: &str) -> usize {
        self.lock()
            .get(device)
            .filter(|u| u.name == name)
            .map_or(0, |u| u.bytes.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const N: &str = "00112233445566778899aabbccddeeff";

    #[test]
    fn an_upload_continues_only_where_it_stopped() {
        let up = Uploads::default();
        let n = name_of(b"0123456789");
        let n = n.as_str();
        assert_eq!(up.begin("d1", n, 10, 4), Err(Offset(0)), "nothing kept yet");
        up.begin("d1", n, 10, 0).unwrap();
        assert_eq!(up.append("d1", n, b"0123"), Appended::Kept);
        assert_eq!(up.whole("d1", n), None);
        // A cut: the device asks again from where it believes the endpoint is.
        assert_eq!(up.begin("d1", n, 10, 10), Err(Offset(4)));
        assert_eq!(up.begin("d1", n, 11, 4), Err(Offset(0)), "another length");
        assert_eq!(up.begin("d2", n, 10, 4), Err(Offset(0)), "another device");
        up.begin("d1", n, 10, 4).unwrap();
        assert_eq!(up.append("d1", n, b"45678901"), Appended::TooLong);
        assert_eq!(up.append("d1", n, b"456789"), Appended::Kept);
        assert_eq!(up.whole("d1", n).as_deref(), Some(&b"0123456789"[..]));
        // A lost answer: asked again with nothing more to send.
        assert_eq!(up.begin("d1", n, 10, 10), Ok(()));
        assert!(up.whole("d1", n).is_some());
        // Bytes that are not what the name says are never whole.
        up.begin("d1", N, 4, 0).unwrap();
        assert_eq!(up.append("d1", N, b"abcd"), Appended::Kept);
        assert_eq!(up.whole("d1", N), None);
        assert_eq!(up.append("d9", N, b"x"), Appended::Gone);
    }

    #[test]
    fn uploads_are_kept_within_their_bytes_oldest_first() {
        let up = Uploads::default();
        let quarter = UPLOAD_BYTES / 4;
        for d in 0..6 {
            up.begin(&format!("d{d}"), N, quarter, 0).unwrap();
            assert_eq!(up.append(&format!("d{d}"), N, b"x"), Appended::Kept);
        }
        assert_eq!(up.kept("d0", N), 0);
        assert_eq!(up.kept("d1", N), 0);
        assert_eq!(up.kept("d5", N), 1);
    }

    #[test]
    fn names_are_hex_of_a_sensible_length() {
        assert!(valid_name(N));
        assert!(valid_name(&name_of(b"batch")));
        assert!(!valid_name(&N.to_uppercase()));
        assert!(!valid_name("short"));
        assert!(!valid_name(&"g".repeat(32)));
        assert!(!valid_name(&"a".repeat(65)));
    }
}
