//! A sliding-window log (a Redis sorted set per key, as many gateways
//! keep): every request of the last `window` is remembered, refused ones
//! included, and a request is let through only while fewer than `limit`
//! are. A client that keeps sending into refusals keeps the window full.

use super::{Admission, Limiter};
use std::collections::VecDeque;
use std::time::Duration;

/// The most arrivals kept: beyond it the oldest are forgotten (only a
/// client sending thousands of times its limit gets that far, and it is
/// refused all the same as long as `limit` is below this).
pub const MAX_LOG: usize = 1 << 16;

/// `limit` requests in any `window`, every arrival counted.
#[derive(Clone, Debug)]
pub struct SlidingLog {
    limit: u32,
    window: Duration,
    /// Arrivals within the window, oldest first.
    log: VecDeque<Duration>,
}

impl SlidingLog {
    /// `limit` (at least 1) per `window` (at least a nanosecond).
    pub fn new(limit: u32, window: Duration) -> SlidingLog {
        SlidingLog {
            limit: limit.max(1),
            window: window.max(Duration::from_nanos(1)),
            log: VecDeque::new(),
        }
    }
}

impl Limiter for SlidingLog {
    fn admit(&mut self, now: Duration) -> Admission {
        // Arrivals at or before `now - window` have left the window.
        while self.log.front().is_some_and(|&t| t + self.window <= now) {
            self.log.pop_front();
        }
        let seen = self.log.len();
        // Kept in order even if `now` steps back a little.
        let at = self.log.back().map_or(now, |&last| last.max(now));
        self.log.push_back(at);
        if self.log.len() > MAX_LOG {
            self.log.pop_front();
        }
        if seen < self.limit as usize {
            return Admission::Allowed { quota: None };
        }
        // Without further arrivals, a request is let through once all but
        // `limit - 1` of those now in the window have left it.
        let leaving = self.log.len() - (self.limit as usize - 1);
        let retry_after = (self.log[leaving - 1] + self.window).saturating_sub(now);
        Admission::Rejected {
            retry_after: Some(retry_after),
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

    /// (arrival ms, allowed, retry-after ms when refused)
    type Step = (u64, bool, Option<u64>);

    fn run(limit: u32, window_ms: u64, steps: &[Step]) {
        let mut l = SlidingLog::new(limit, ms(window_ms));
        for &(t, allowed, retry) in steps {
            let got = l.admit(ms(t));
            assert_eq!(got.is_allowed(), allowed, "at {t} ms");
            if let Admission::Rejected { retry_after, .. } = got {
                assert_eq!(retry_after, retry.map(ms), "retry-after at {t} ms");
            }
        }
    }

    #[test]
    fn limit_per_sliding_window() {
        run(
            2,
            1000,
            &[
                (10_000, true, None),
                (10_400, true, None),
                // Two in the last second: refused until 11 000.
                (10_900, false, Some(500)),
                // 10 000 left the window, but the refusal at 10 900 is in
                // it: free again once 10 400 and 10 900 have left.
                (11_000, false, Some(900)),
            ],
        );
    }

    #[test]
    fn refusals_keep_the_window_full() {
        // 1 a second; a client retrying every 300 ms is never let through.
        let mut l = SlidingLog::new(1, ms(1000));
        assert!(l.admit(ms(0)).is_allowed());
        for i in 1..20 {
            assert!(!l.admit(ms(300 * i)).is_allowed(), "at {} ms", 300 * i);
        }
        // One that waits a whole window after its last refusal gets through.
        assert!(l.admit(ms(300 * 19 + 1000)).is_allowed());
    }

    #[test]
    fn evenly_spaced_at_the_limit_all_pass() {
        let mut l = SlidingLog::new(4, ms(1000));
        assert!((0..400).all(|i| l.admit(ms(5_000 + 250 * i)).is_allowed()));
        // 1 ms early, the fifth in a window is refused.
        let mut l = SlidingLog::new(4, ms(1000));
        for i in 0..4 {
            assert!(l.admit(ms(250 * i)).is_allowed());
        }
        assert!(!l.admit(ms(999)).is_allowed());
    }

    #[test]
    fn the_log_is_bounded() {
        let mut l = SlidingLog::new(3, Duration::from_secs(3600));
        for i in 0..(MAX_LOG as u64 + 100) {
            l.admit(Duration::from_micros(i));
        }
        assert_eq!(l.log.len(), MAX_LOG);
        assert!(!l.admit(Duration::from_secs(1)).is_allowed());
    }
}
