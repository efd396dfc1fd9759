//! Kong's fixed-window rate limiting: N requests per window aligned to whole
//! seconds of `now`, with an optional model of Kong's loose counting (a
//! counter whose increments become visible only after a sync delay, so a
//! burst can get more than N through). Reports the window's quota.

use super::{Admission, Limiter, WindowQuota};
use std::collections::VecDeque;
use std::num::NonZeroU32;
use std::time::Duration;

/// N requests per second, windows aligned to whole seconds of `now`.
///
/// The emulator passes time since the Unix epoch, so windows align to
/// wall-clock seconds like Kong's; a simulator can add an offset to `now` to
/// randomise the phase between client and server.
#[derive(Clone, Debug)]
pub struct FixedWindow {
    limit: u32,
    /// Window length in nanoseconds (1 s unless [`FixedWindow::per`]).
    length: u64,
    /// The window index `now` fell in at the last request.
    window: u64,
    /// Requests counted in `window` (strict mode).
    count: u32,
    /// `Some(delay)`: loose counting; each increment is visible after `delay`.
    sync_delay: Option<Duration>,
    /// Loose mode: when each counted request becomes visible to the check.
    pending: VecDeque<Duration>,
}

impl FixedWindow {
    /// `limit_per_second` requests per aligned second, counted exactly.
    pub fn new(limit_per_second: NonZeroU32) -> FixedWindow {
        FixedWindow {
            limit: limit_per_second.get(),
            length: 1_000_000_000,
            window: 0,
            count: 0,
            sync_delay: None,
            pending: VecDeque::new(),
        }
    }

    /// The same limit per window of `length` (e.g. 60 s for Kong's
    /// per-minute limit), windows aligned to whole multiples of it.
    pub fn per(mut self, length: Duration) -> FixedWindow {
        self.length = (length.as_nanos() as u64).max(1);
        self
    }

    /// The window's length.
    pub fn length(&self) -> Duration {
        Duration::from_nanos(self.length)
    }

    /// Models Kong's loose counting under bursts: a request's increment is
    /// seen by later checks only `sync_delay` after it arrived, so requests
    /// closer together than that can all pass and a window may admit more
    /// than the limit. Off by default.
    pub fn with_loose_counting(mut self, sync_delay: Duration) -> FixedWindow {
        self.sync_delay = Some(sync_delay);
        self
    }

    /// Requests per window.
    pub fn limit(&self) -> u32 {
        self.limit
    }
}

impl Limiter for FixedWindow {
    fn admit(&mut self, now: Duration) -> Admission {
        let index = (now.as_nanos() / u128::from(self.length)) as u64;
        if index != self.window {
            self.window = index;
            self.count = 0;
            self.pending.clear();
        }
        let end = Duration::from_nanos((index + 1).saturating_mul(self.length));
        let reset = end.saturating_sub(now);
        let seen = match self.sync_delay {
            None => self.count,
            Some(_) => self
                .pending
                .iter()
                .filter(|&&visible| visible <= now)
                .count() as u32,
        };
        if seen >= self.limit {
            let quota = WindowQuota {
                limit: self.limit,
                remaining: 0,
                reset,
            };
            return Admission::Rejected {
                retry_after: Some(reset),
                quota: Some(quota),
            };
        }
        self.count += 1;
        if let Some(delay) = self.sync_delay {
            self.pending.push_back(now + delay);
        }
        // Like Kong, `remaining` is what this check saw, minus this request.
        let remaining = self.limit - seen - 1;
        Admission::Allowed {
            quota: Some(WindowQuota {
                limit: self.limit,
                remaining,
                reset,
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_minute_window_counts_per_aligned_minute() {
        let mut l = FixedWindow::new(NonZeroU32::new(2).unwrap()).per(Duration::from_secs(60));
        let t0 = Duration::from_secs(1_700_000_080); // 40 s into a minute
        assert!(l.admit(t0).is_allowed());
        assert!(l.admit(t0 + Duration::from_secs(10)).is_allowed());
        let no = l.admit(t0 + Duration::from_secs(19));
        assert_eq!(no.quota().unwrap().reset, Duration::from_secs(1));
        assert!(!no.is_allowed());
        assert!(
            l.admit(t0 + Duration::from_secs(20)).is_allowed(),
            "next minute"
        );
    }

    fn ms(v: u64) -> Duration {
        Duration::from_millis(v)
    }

    fn fw(n: u32) -> FixedWindow {
        FixedWindow::new(NonZeroU32::new(n).unwrap())
    }

    #[test]
    fn admits_n_per_aligned_second_then_rejects_until_the_edge() {
        let mut l = fw(3);
        let t0 = Duration::from_secs(1_700_000_000) + ms(400);
        let got: Vec<Admission> = (0..4).map(|i| l.admit(t0 + ms(i))).collect();
        assert_eq!(
            got[0],
            Admission::Allowed {
                quota: Some(WindowQuota {
                    limit: 3,
                    remaining: 2,
                    reset: ms(600)
                })
            }
        );
        assert_eq!(got[2].quota().unwrap().remaining, 0);
        assert_eq!(
            got[3],
            Admission::Rejected {
                retry_after: Some(ms(597)),
                quota: Some(WindowQuota {
                    limit: 3,
                    remaining: 0,
                    reset: ms(597)
                })
            }
        );
        // The next wall-clock second opens a new window.
        assert!(l.admit(t0 + ms(600)).is_allowed());
    }

    #[test]
    fn two_bursts_around_an_edge_get_2n_through() {
        let mut l = fw(4);
        let edge = Duration::from_secs(10);
        let before = (0..4)
            .filter(|i| l.admit(edge - ms(10) + ms(*i)).is_allowed())
            .count();
        let after = (0..4)
            .filter(|i| l.admit(edge + ms(*i)).is_allowed())
            .count();
        assert_eq!(before + after, 8);
    }

    #[test]
    fn loose_counting_lets_a_burst_overshoot() {
        let mut l = fw(2).with_loose_counting(ms(50));
        let t0 = Duration::from_secs(5);
        let burst = (0..5).filter(|i| l.admit(t0 + ms(*i)).is_allowed()).count();
        assert_eq!(burst, 5, "all five arrive before any increment is visible");
        assert!(
            !l.admit(t0 + ms(60)).is_allowed(),
            "once visible, the window is full"
        );
    }

    #[test]
    fn loose_counting_with_spaced_requests_is_exact() {
        let mut l = fw(2).with_loose_counting(ms(10));
        let t0 = Duration::from_secs(5);
        let admitted = (0..5)
            .filter(|i| l.admit(t0 + ms(100 * i)).is_allowed())
            .count();
        assert_eq!(admitted, 2);
    }
}
