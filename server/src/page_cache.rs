//! Pull pages kept for a while after they were built, so that a device whose link dropped in the
//! middle of one gets the rest of it (`Range` with `If-Range`), not all of it again, and not a
//! page built anew (docs/sync-protocol.md, "Pages resumed by byte range").
//!
//! One page per device (a device pulls one page at a time: the last one it asked for is the one
//! a cut interrupted), for [`KEEP_FOR`], within [`CACHE_BYTES`] for the whole endpoint (the
//! oldest go first). A page is kept with the scope it was built for: a device whose team or role
//! changed since is sent a new page.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::body::Bytes;

/// How long a built page can be resumed: long enough for a base's link to come back.
pub const KEEP_FOR: Duration = Duration::from_secs(30 * 60);
/// Most bytes of pages kept at once, over every device.
pub const CACHE_BYTES: usize = 64 * 1024 * 1024;

/// What a page was asked with: the same address gets the same page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageAddress {
    pub cursor: i64,
    pub limit: i64,
    /// The device's team and role when the page was built.
    pub scope: String,
}

struct Kept {
    address: PageAddress,
    etag: String,
    page: Bytes,
    at: Instant,
}

/// The kept pages, by device id; the least recently sent go first.
#[derive(Default)]
pub struct PageCache {
    pages: Mutex<HashMap<String, Kept>>,
}

impl PageCache {
    /// Keep `page`, built for `device` at `address`, replacing the device's previous page;
    /// returns the page's name (its `ETag`, 32 hex digits, random: a name never says anything
    /// about the page's content).
    pub fn keep(&self, device: &str, address: PageAddress, page: Bytes) -> String {
        let mut raw = [0u8; 16];
        // Without randomness the name is only less unique; a wrong `If-Range` still never
        // matches a page of another address or device.
        let _ = getrandom::fill(&mut raw);
        let etag = format!("{:032x}", u128::from_le_bytes(raw));
        if page.len() > CACHE_BYTES / 4 {
            return etag;
        }
        let mut pages = self.pages.lock().unwrap_or_else(|e| e.into_inner());
        pages.retain(|_, k| k.at.elapsed() < KEEP_FOR);
        pages.insert(
            device.to_string(),
            Kept {
                address,
                etag: etag.clone(),
                page,
                at: Instant::now(),
            },
        );
        let mut total: usize = pages.values().map(|k| k.page.len()).sum();
        while total > CACHE_BYTES {
            let Some(oldest) = pages
                .iter()
                .min_by_key(|(_, k)| k.at)
                .map(|(d, _)| d.clone())
            else {
                break;
            };
            if let Some(k) = pages.remove(&oldest) {
                total -= k.page.len();
            }
        }
        etag
    }

    /// The page named `etag` that `device` was sent at `address`, if still kept.
    pub fn get(&self, device: &str, address: &PageAddress, etag: &str) -> Option<Bytes> {
        let mut pages = self.pages.lock().unwrap_or_else(|e| e.into_inner());
        let kept = pages
            .get_mut(device)
            .filter(|k| k.etag == etag && &k.address == address && k.at.elapsed() < KEEP_FOR)?;
        // Used again: the page of a device on a slow link is not the first to go.
        kept.at = Instant::now();
        Some(kept.page.clone())
    }
}

/// The first byte a `Range` header asks from, for the one form a device sends (`bytes=N-`);
/// any other form is ignored, and the whole page sent.
pub fn range_start(value: &str) -> Option<usize> {
    let rest = value.trim().strip_prefix("bytes=")?;
    let start = rest.strip_suffix('-')?;
    if start.is_empty() || !start.bytes().all(|b| b.is_ascii_digit()) || start.len() > 12 {
        return None;
    }
    start.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(cursor: i64) -> PageAddress {
        PageAddress {
            cursor,
            limit: 250,
            scope: "A officer".into(),
        }
    }

    #[test]
    fn a_page_is_found_only_by_its_device_address_and_name() {
        let cache = PageCache::default();
        let etag = cache.keep("d1", at(5), Bytes::from_static(b"page"));
        assert_eq!(
            cache.get("d1", &at(5), &etag).as_deref(),
            Some(&b"page"[..])
        );
        assert!(cache.get("d2", &at(5), &etag).is_none());
        assert!(cache.get("d1", &at(6), &etag).is_none());
        assert!(cache.get("d1", &at(5), "0000").is_none());
        let other = PageAddress {
            scope: "B officer".into(),
            ..at(5)
        };
        assert!(cache.get("d1", &other, &etag).is_none());
        // A device's next page replaces its last.
        let next = cache.keep("d1", at(9), Bytes::from_static(b"next"));
        assert!(cache.get("d1", &at(5), &etag).is_none());
        assert!(cache.get("d1", &at(9), &next).is_some());
    }

    #[test]
    fn the_cache_keeps_within_its_bytes_oldest_first() {
        let cache = PageCache::default();
        let big = Bytes::from(vec![0u8; CACHE_BYTES / 4]);
        let names: Vec<String> = (0..6)
            .map(|i| cache.keep(&format!("d{i}"), at(0), big.clone()))
            .collect();
        assert!(cache.get("d0", &at(0), &names[0]).is_none());
        assert!(cache.get("d1", &at(0), &names[1]).is_none());
        assert!(cache.get("d5", &at(0), &names[5]).is_some());
        let kept = cache.pages.lock().unwrap();
        assert!(kept.values().map(|k| k.page.len()).sum::<usize>() <= CACHE_BYTES);
    }

    #[test]
    fn only_an_open_range_from_a_first_byte_is_understood() {
        assert_eq!(range_start("bytes=1024-"), Some(1024));
        assert_eq!(range_start(" bytes=0- "), Some(0));
        for bad in [
            "bytes=1-5",
            "bytes=-5",
            "bytes=1-,4-",
            "items=1-",
            "bytes=+1-",
            "bytes=99999999999999999-",
            "bytes=-",
        ] {
            assert_eq!(range_start(bad), None, "{bad}");
        }
    }
}
