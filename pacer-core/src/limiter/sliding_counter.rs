//! A sliding-window counter, as HAProxy's stick-table `http_req_rate(W)`
//! (and Cloudflare's and many gateways' "sliding window"): one counter per
//! fixed window of length W aligned to `now`, and the rate estimated as
//! this window's count plus the previous window's weighted by how much of
//! it still overlaps the last W, `curr + floor(prev × (W − elapsed) / W)`.
//! Every request is counted, refused ones included (HAProxy's
//! `track-sc0` counts before `deny if { sc_http_req_rate(0) gt N }` looks),
//! and one is let through only while the estimate, itself counted, stays
//! within `limit`.

use super::{Admission, Limiter};
use std::time::Duration;

/// `limit` requests per sliding `window`, estimated from two counters.
#[derive(Clone, Debug)]
pub struct SlidingCounter {
    limit: u64,
    /// Window length in nanoseconds.
    window: u128,
    /// The index of the current window, and its count and the previous one's.
    index: u128,
    curr: u64,
    prev: u64,
}

impl SlidingCounter {
    /// `limit` (at least 1) per `window` (at least a nanosecond).
    pub fn new(limit: u32, window: Duration) -> SlidingCounter {
        SlidingCounter {
            limit: u64::from(limit.max(1)),
            window: window.as_nanos().max(1),
            index: 0,
            curr: 0,
            prev: 0,
        }
    }

    /// Moves the counters to the window `now` falls in (never backwards).
    fn roll(&mut self, now: Duration) -> u128 {
        let index = now.as_nanos() / self.window;
        if index > self.index {
            self.prev = if index == self.index + 1 {
                self.curr
            } else {
                0
            };
            self.curr = 0;
            self.index = index;
        }
        // Elapsed into the current window (0 for a step back into an older one).
        now.as_nanos().saturating_sub(self.index * self.window)
    }

    /// The previous window's weighted share at `elapsed` into this one.
    fn carried(&self, elapsed: u128) -> u64 {
        let left = self.window.saturating_sub(elapsed);
        (u128::from(self.prev) * left / self.window) as u64
    }

    /// How long from `elapsed` into this window until the estimate, counting
    /// one more request, is within the limit again (no arrivals meanwhile).
    fn wait(&self, elapsed: u128) -> Duration {
        let w = self.window;
        // Within this window: need curr + floor(prev × left / W) < limit.
        let nanos = if self.curr < self.limit {
            let room = u128::from(self.limit - self.curr);
            // floor(prev × left / W) < room ⇔ prev × left < room × W.
            // Smallest elapsed e with prev × (W − e) < room × W.
            let need = (u128::from(self.prev) * w).saturating_sub(room * w);
            let e = need / u128::from(self.prev.max(1)) + 1;
            e.saturating_sub(elapsed)
        } else {
            // In the next window this one is `prev`: need
            // floor(curr × (W − e) / W) < limit.
            let need = (u128::from(self.curr) * w).saturating_sub(u128::from(self.limit) * w);
            let e = need / u128::from(self.curr) + 1;
            (w - elapsed) + e
        };
        Duration::from_nanos(u64::try_from(nanos).unwrap_or(u64::MAX))
    }
}

impl Limiter for SlidingCounter {
    fn admit(&mut self, now: Duration) -> Admission {
        let elapsed = self.roll(now);
        let estimate = self.curr.saturating_add(self.carried(elapsed));
        self.curr = self.curr.saturating_add(1);
        if estimate < self.limit {
            return Admission::Allowed { quota: None };
        }
        Admission::Rejected {
            retry_after: Some(self.wait(elapsed)),
            quota: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(v: u64) -> Duration {
        Duration::from_millis(v)
    }

    #[test]
    fn the_previous_window_counts_by_its_overlap() {
        let mut l = SlidingCounter::new(4, ms(1000));
        // Four in window 10 (10.0–11.0 s).
        for t in [10_000, 10_250, 10_500, 10_750] {
            assert!(l.admit(ms(t)).is_allowed(), "at {t}");
        }
        // At 11.0 s the estimate is floor(4 × 1.0) = 4: refused (and counted).
        assert!(!l.admit(ms(11_000)).is_allowed());
        // At 11.3 s: 1 + floor(4 × 0.7) = 3 < 4: allowed.
        assert!(l.admit(ms(11_300)).is_allowed());
        // At 11.31 s: 2 + floor(4 × 0.69) = 4: refused.
        assert!(!l.admit(ms(11_310)).is_allowed());
    }

    #[test]
    fn refusals_keep_the_estimate_up() {
        // 2 a second; a client sending 5 a second for 10 s is refused more
        // and more: the refusals fill the counters too.
        let mut l = SlidingCounter::new(2, ms(1000));
        let allowed = (0..50)
            .filter(|i| l.admit(ms(20_000 + 200 * i)).is_allowed())
            .count();
        assert!(allowed <= 3, "{allowed} let through");
    }

    #[test]
    fn evenly_spaced_at_the_limit_all_pass() {
        let mut l = SlidingCounter::new(4, ms(1000));
        assert!((0..400).all(|i| l.admit(ms(5_125 + 250 * i)).is_allowed()));
    }

    #[test]
    fn retry_after_points_where_the_estimate_drops() {
        let w = ms(1000);
        for (arrivals, at) in [
            (vec![10_000u64, 10_250, 10_500, 10_750], 11_000u64),
            (vec![10_000, 10_100], 10_200),
            (vec![10_900, 10_950, 11_000, 11_010, 11_020], 11_100),
        ] {
            let mut l = SlidingCounter::new(2, w);
            for t in &arrivals {
                l.admit(ms(*t));
            }
            let Admission::Rejected {
                retry_after: Some(wait),
                ..
            } = l.admit(ms(at))
            else {
                panic!("{arrivals:?} then {at}: not refused");
            };
            // A copy shows that one nanosecond earlier is still refused and
            // the retry time itself is not.
            let mut early = l.clone();
            assert!(!early
                .admit(ms(at) + wait - Duration::from_nanos(1))
                .is_allowed());
            assert!(
                l.admit(ms(at) + wait).is_allowed(),
                "{arrivals:?} {at}: {wait:?}"
            );
        }
    }
}
