//! Requests sized to the link. A base's satellite link carries a few hundred kbit/s and drops
//! every few minutes; loopback carries gigabits and never drops. One size fits neither: a
//! 4 MB page takes two minutes at 256 kbit/s, and a drop in its middle throws it all away, while
//! 50-change pages on loopback cost a round trip each for nothing.
//!
//! So each direction measures what it gets: after every request that went through, the next one
//! is sized to take [`Pace::target_secs`] at the rate just seen (growing at most fourfold, so one
//! fast request on an idle link does not produce a page too big for the next); after a failure
//! the next request is half as big, and the target shortens while the link keeps dropping (an
//! eighth of the time between drops, so a drop wastes little), never below half a second. What a
//! completed request brought is stored at once: every request that went through is progress that
//! survives any later cut.

use std::time::Instant;

/// The size (in items: changes for a pull page, change bytes for a push batch) of the next
/// request in one direction, from what the link did so far.
#[derive(Debug, Clone)]
pub struct Pace {
    size: f64,
    min: f64,
    max: f64,
    /// When this pace began (the first drop's interval is measured from it).
    started: Instant,
    /// When the link last failed, and the mean seconds between failures seen (smoothed).
    last_failure: Option<Instant>,
    between_failures: Option<f64>,
    /// Whether a request cut on the way is continued rather than sent again ([`Pace::resumable`]).
    resumable: bool,
}

/// Seconds a request aims to take on a link that has not dropped.
const STEADY_SECS: f64 = 4.0;
/// The shortest target, however often the link drops: below it, round trips eat the link.
const SHORTEST_SECS: f64 = 0.5;
/// Seconds a request aims to take when a cut costs only what was in flight (it is continued):
/// long enough that round trips (a second each on a satellite link) take little of the link.
const RESUMABLE_SECS: f64 = 15.0;

impl Pace {
    /// A pace starting at `initial` items, never below `min` nor above `max`.
    pub fn new(initial: usize, min: usize, max: usize) -> Pace {
        let (min, max) = (min.max(1) as f64, max.max(min.max(1)) as f64);
        Pace {
            size: (initial as f64).clamp(min, max),
            min,
            max,
            started: Instant::now(),
            last_failure: None,
            between_failures: None,
            resumable: false,
        }
    }

    /// A pace for requests that are continued after a cut (pull pages resumed by byte range):
    /// they aim at [`RESUMABLE_SECS`] whatever the drops, and a failure does not shrink them,
    /// until [`Pace::not_resumed`] says a cut request had to start again.
    pub fn resumable(initial: usize, min: usize, max: usize) -> Pace {
        Pace {
            resumable: true,
            ..Pace::new(initial, min, max)
        }
    }

    /// A request that was to be continued came whole from its start (the endpoint no longer
    /// kept it): from now on this pace sizes requests as if every cut lost them.
    pub fn not_resumed(&mut self) {
        if self.resumable {
            self.resumable = false;
            self.size = (self.size / 2.0).max(self.min);
        }
    }

    /// Items to ask for in the next request.
    pub fn size(&self) -> usize {
        self.size.round() as usize
    }

    /// Seconds the next request aims to take: [`STEADY_SECS`], or an eighth of the time between
    /// the link's drops when that is shorter, never below [`SHORTEST_SECS`].
    pub fn target_secs(&self) -> f64 {
        if self.resumable {
            return RESUMABLE_SECS;
        }
        match self.between_failures {
            Some(b) => (b / 8.0).clamp(SHORTEST_SECS, STEADY_SECS),
            None => STEADY_SECS,
        }
    }

    /// A request of `items` went through in `secs`. Only a request that was full says what the
    /// link can carry (a short last page says nothing about the rate).
    pub fn went_through(&mut self, items: usize, secs: f64, full: bool) {
        if !full || items == 0 {
            return;
        }
        let rate = items as f64 / secs.max(0.001);
        let ideal = rate * self.target_secs();
        self.size = ideal
            .clamp(self.size / 2.0, self.size * 4.0)
            .clamp(self.min, self.max);
    }

    /// A request failed on the way (a drop, a timeout): the next is half as big.
    pub fn failed(&mut self) {
        let now = Instant::now();
        let since = now
            .duration_since(self.last_failure.unwrap_or(self.started))
            .as_secs_f64();
        self.between_failures = Some(match self.between_failures {
            Some(b) => 0.5 * b + 0.5 * since,
            None => since,
        });
        self.last_failure = Some(now);
        if !self.resumable {
            self.size = (self.size / 2.0).max(self.min);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resumed_requests_aim_longer_and_keep_their_size_through_drops() {
        let mut pace = Pace::resumable(1000, 50, 50_000);
        pace.went_through(1000, 1.0, true);
        // 1,000 a second: about 15 s, within fourfold growth.
        assert_eq!(pace.size(), 4000);
        pace.failed();
        pace.failed();
        assert_eq!(
            pace.size(),
            4000,
            "a cut request is continued, not made smaller"
        );
        assert_eq!(pace.target_secs(), RESUMABLE_SECS);
        pace.not_resumed();
        assert_eq!(pace.size(), 2000);
        pace.failed();
        assert_eq!(pace.size(), 1000);
        assert!(pace.target_secs() <= STEADY_SECS);
    }

    #[test]
    fn a_fast_link_grows_pages_fourfold_up_to_the_largest() {
        let mut p = Pace::new(250, 50, 50_000);
        let mut sizes = vec![p.size()];
        for _ in 0..6 {
            let n = p.size();
            // Loopback: a hundred thousand changes a second.
            p.went_through(n, n as f64 / 100_000.0, true);
            sizes.push(p.size());
        }
        assert_eq!(sizes, [250, 1000, 4000, 16000, 50000, 50000, 50000]);
    }

    #[test]
    fn a_slow_link_gets_pages_of_a_few_seconds() {
        let mut p = Pace::new(1000, 50, 50_000);
        for _ in 0..10 {
            let n = p.size();
            // 256 kbit/s at about 116 bytes a change on the wire: 276 changes a second.
            p.went_through(n, n as f64 / 276.0, true);
        }
        let secs = p.size() as f64 / 276.0;
        assert!((3.5..=4.5).contains(&secs), "{secs}");
        // A short last page changes nothing.
        let before = p.size();
        p.went_through(3, 10.0, false);
        assert_eq!(p.size(), before);
    }

    #[test]
    fn drops_halve_the_next_request_and_never_go_below_the_least() {
        let mut p = Pace::new(1000, 50, 50_000);
        for _ in 0..20 {
            p.failed();
        }
        assert_eq!(p.size(), 50);
        // Failing at once, again and again: the shortest target.
        assert_eq!(p.target_secs(), SHORTEST_SECS);
    }
}
