//! The pull half of a sync: pages after the device's cursor, sized to the link, each stored with
//! the cursor that follows it; a page cut in the middle is kept (in memory and, every
//! [`SAVE_PART_EVERY`], in the store) and only its rest is asked for, in this sync or the next,
//! even after the device's process was killed (docs/sync-protocol.md, "Pages resumed by byte
//! range").

use std::collections::HashSet;
use std::sync::atomic::AtomicBool;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use mrm_crdt::bundle;
use mrm_crdt::error::Result;
use mrm_crdt::protocol::{self, PullHeader, PULL_PAGE};
use mrm_store::{PullPart, Store};

use crate::client::{paced, Progress, SyncOptions, SyncReport, PULL_FIRST_PAGE, PULL_LEAST_PAGE};
use crate::pace::Pace;
use crate::transport::{lock, Transport};

/// How often what arrived of a page is written to the store while it arrives: what a killed
/// process loses is at most this much of the link's time (a page on a fast link is whole sooner,
/// and never written in part).
pub const SAVE_PART_EVERY: Duration = Duration::from_millis(500);

/// The bytes a pull took on the wire, and since when: the rate and time left the sync bar shows.
struct Meter {
    started: Instant,
    bytes: u64,
    changes: usize,
}

impl Meter {
    /// Bytes per second so far, once something came.
    fn rate(&self) -> Option<u64> {
        let secs = self.started.elapsed().as_secs_f64();
        (self.bytes > 0 && secs > 0.0).then(|| (self.bytes as f64 / secs) as u64)
    }

    /// Seconds the `remaining` changes would take at the rate so far, at the bytes per change
    /// seen so far.
    fn secs_left(&self, remaining: i64) -> Option<u64> {
        let rate = self.rate()?.max(1) as f64;
        let per_change = self.bytes as f64 / self.changes.max(1) as f64;
        Some((remaining.max(0) as f64 * per_change / rate).ceil() as u64)
    }
}

/// Pull until the endpoint has nothing more for this device, storing each page with its cursor.
/// `listed` holds the records already named in `report.records_changed`.
pub(crate) async fn pull<T: Transport>(
    store: &mut Store,
    transport: &T,
    opts: &SyncOptions,
    cancel: &AtomicBool,
    progress: &mut (dyn FnMut(Progress) + Send),
    report: &mut SyncReport,
    listed: &mut HashSet<String>,
) -> Result<()> {
    // Read now: a restored endpoint set it back to the start earlier in this sync.
    let mut cursor = store.sync_state()?.map(|s| s.pull_cursor).unwrap_or(0);
    // What arrived of a page before (a cut, a killed process): kept only for its own cursor.
    let part = Mutex::new(
        store
            .pull_part()?
            .filter(|p| p.resumable_at(cursor))
            .unwrap_or_default(),
    );
    let mut meter = Meter {
        started: Instant::now(),
        bytes: 0,
        changes: 0,
    };
    // Pages sized to the link, within the largest page asked for.
    let largest = opts.pull_page.clamp(1, PULL_PAGE) as usize;
    // Pages are continued after a cut: sized for round trips, not for drops.
    let mut pace = Pace::resumable(
        PULL_FIRST_PAGE.min(largest),
        PULL_LEAST_PAGE.min(largest),
        largest,
    );
    loop {
        let kept_before = part_len(&part);
        // What the store holds of the part: its name and length.
        let mut saved = mark(&part);
        let outcome = {
            let work = paced(opts, cancel, progress, &mut pace, |size| {
                let part = &part;
                Ok(async move {
                    // What the attempt that goes through starts from: the pace learns only from
                    // what that attempt carried.
                    let (had, name) = {
                        let p = lock(part);
                        (p.bytes.len(), p.etag.clone())
                    };
                    let page = transport.pull(cursor, size as i64, part).await?;
                    // The endpoint names every page anew: the same name means the kept bytes were
                    // continued, not replaced.
                    let resumed = if lock(part).etag == name { had } else { 0 };
                    Ok((page, resumed, had > 0))
                })
            });
            tokio::pin!(work);
            let mut tick = tokio::time::interval(SAVE_PART_EVERY);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            tick.tick().await;
            loop {
                tokio::select! {
                    r = &mut work => break r,
                    _ = tick.tick() => save(store, &part, &mut saved),
                }
            }
        };
        let ((bytes, had, tried_resume), secs) = match outcome {
            Ok(done) => done,
            Err(e) => {
                // Keep what arrived for the next sync (or forget a part found worthless).
                save(store, &part, &mut saved);
                return Err(e);
            }
        };
        let came = bytes.len().saturating_sub(had);
        // On the wire in this sync: the page less what was kept from an earlier sync (unless the
        // endpoint no longer had that page and sent it whole).
        let from_before = if had >= kept_before { kept_before } else { 0 };
        meter.bytes += bytes.len().saturating_sub(from_before) as u64;
        report.resumed_bytes += had as u64;
        if tried_resume && had == 0 {
            // What was kept had to be asked again whole (another instance, a restart): pages
            // are sized again as if every cut lost them.
            pace.not_resumed();
        }
        let (header, changes): (PullHeader, _) =
            match bundle::decode_frames_within(&bytes, protocol::PULL_LIMITS) {
                Ok(page) => page,
                Err(e) => {
                    // Whole but not a page (a part joined to another page's rest): asked whole
                    // next time.
                    *lock(&part) = PullPart::default();
                    store.clear_pull_part()?;
                    return Err(e);
                }
            };
        let n = changes.len();
        // The pace learns from what this attempt carried: a resumed page's rest is a share of
        // its changes.
        let carried = if bytes.is_empty() {
            n
        } else {
            ((n as f64 * came as f64 / bytes.len() as f64).ceil() as usize).max(1)
        };
        pace.went_through(carried, secs, header.more);
        // The page is stored with its cursor, and what was kept of it cleared, in one
        // transaction.
        let r = store.import_pulled(changes, header.cursor)?;
        *lock(&part) = PullPart::default();
        report.pulled += r.new_changes + r.released_changes;
        report.pull_duplicates += r.duplicates;
        report.new_conflicts += r.new_conflicts;
        for id in r.records_changed {
            if listed.insert(id.clone()) {
                report.records_changed.push(id);
            }
        }
        meter.changes += n;
        progress(Progress::Pulling {
            done: meter.changes,
            remaining: header.remaining,
            bytes_done: meter.bytes,
            rate: meter.rate(),
            secs_left: meter.secs_left(header.remaining),
        });
        let advanced = header.cursor > cursor;
        cursor = header.cursor;
        if !header.more || !advanced {
            break;
        }
    }
    Ok(())
}

/// A part's name and length: what tells whether the store holds it as it is.
fn mark(part: &Mutex<PullPart>) -> (String, usize) {
    let p = lock(part);
    (p.etag.clone(), p.bytes.len())
}

/// Write the part to the store if it changed since `saved`. Saving only spares bytes on the
/// next sync: a failure (the store busy) is logged and the pull goes on.
fn save(store: &mut Store, part: &Mutex<PullPart>, saved: &mut (String, usize)) {
    let now = mark(part);
    if now == *saved {
        return;
    }
    let written = if now.1 == 0 {
        store.clear_pull_part()
    } else {
        store.save_pull_part(&lock(part))
    };
    match written {
        Ok(()) => *saved = now,
        Err(e) => tracing::warn!(error = %e, "the pull page received so far could not be kept"),
    }
}

fn part_len(part: &Mutex<PullPart>) -> usize {
    lock(part).bytes.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn time_left_follows_the_rate_and_the_bytes_per_change() {
        let meter = Meter {
            started: Instant::now() - Duration::from_secs(10),
            bytes: 320_000,
            changes: 1_000,
        };
        // 32 kB/s, 320 B a change: 2,000 changes take 20 s.
        let rate = meter.rate().unwrap();
        assert!((31_000..=32_100).contains(&rate), "{rate}");
        let left = meter.secs_left(2_000).unwrap();
        assert!((20..=21).contains(&left), "{left}");
        let nothing = Meter {
            started: Instant::now(),
            bytes: 0,
            changes: 0,
        };
        assert_eq!(nothing.rate(), None);
        assert_eq!(nothing.secs_left(10), None);
    }
}
