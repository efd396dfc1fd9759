//! When the next send may go: the client's GCRA, the safety margin that
//! strict limiters need, and the pool-wide pause after a 429.
//!
//! A strict leaky bucket (nginx `limit_req` with burst 0) refuses a request
//! that *arrives* even 1 ms early, and the time between a browser's `fetch()`
//! and the server's arrival varies by a few ms. Sends are therefore spaced
//! by `1/rate + margin`; the margin starts small and grows on each new 429.

use std::num::NonZeroU32;
use std::time::Duration;

use crate::gcra::{Gcra, NotUntil, Quota};

/// How the safety margin added to the spacing starts and grows.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct MarginPolicy {
    /// The margin before any 429...
    pub initial: Duration,
    /// ...but at most this fraction of `1/rate`, so that against a tolerant
    /// limiter the unneeded margin costs under half a percent of the rate.
    pub initial_fraction: f64,
    /// The least margin after a 429; each further 429 doubles it.
    pub step: Duration,
    /// The margin never exceeds this fraction of `1/rate`.
    pub max_fraction: f64,
    /// How late a timer may fire without costing rate (see [`Gcra`]);
    /// at most 10 % of `1/rate`.
    pub catch_up: Duration,
}

impl Default for MarginPolicy {
    /// Starts at 1 ms (at most 0.4 % of the interval), grows to 6 ms (about
    /// the send-to-arrival jitter measured in Chromium on loopback) and then
    /// doubles per new 429, at most 10 % of the interval.
    fn default() -> Self {
        Self {
            initial: Duration::from_millis(1),
            initial_fraction: 0.004,
            step: Duration::from_millis(6),
            max_fraction: 0.10,
            catch_up: Duration::from_millis(2),
        }
    }
}

/// A pool-wide pause after a 429.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Pause {
    /// When the 429 that started it arrived.
    pub from: Duration,
    /// Nothing is sent before this.
    pub until: Duration,
}

/// The pacing of one run.
#[derive(Clone, Debug)]
pub struct Pacing {
    quota: Quota,
    policy: MarginPolicy,
    margin: Duration,
    gcra: Gcra,
    pause: Option<Pause>,
    pauses: usize,
}

impl Pacing {
    /// Pacing at `quota` with the margin policy.
    pub fn new(quota: Quota, policy: MarginPolicy) -> Self {
        let initial = policy
            .initial
            .min(quota.emission_interval().mul_f64(policy.initial_fraction));
        let mut pacing = Self {
            quota,
            policy,
            margin: clamp_margin(initial, quota, policy),
            gcra: Gcra::new(quota),
            pause: None,
            pauses: 0,
        };
        pacing.apply();
        pacing
    }

    /// The allotted quota.
    pub fn quota(&self) -> Quota {
        self.quota
    }

    /// The safety margin currently added to the spacing.
    pub fn margin(&self) -> Duration {
        self.margin
    }

    /// The spacing between sends in force.
    pub fn interval(&self) -> Duration {
        self.gcra.interval()
    }

    /// The latest pool-wide pause, if any.
    pub fn pause(&self) -> Option<Pause> {
        self.pause
    }

    /// How many pool-wide pauses 429s have caused.
    pub fn pauses(&self) -> usize {
        self.pauses
    }

    /// Changes the rate at once, keeping at least the new spacing from the last send.
    pub fn set_quota(&mut self, quota: Quota) {
        self.quota = quota;
        self.margin = clamp_margin(self.margin, quota, self.policy);
        self.apply();
    }

    /// The earliest instant a send may go.
    pub fn earliest(&self, now: Duration) -> Duration {
        self.gcra.earliest(now)
    }

    /// Takes permission to send at `now`.
    pub fn check(&mut self, now: Duration) -> Result<(), NotUntil> {
        self.gcra.check(now)
    }

    /// A 429 arrived at `now` for a request sent at `sent_at`. Only a request
    /// sent after the latest pause began is new evidence: the others were
    /// already on the wire, so they neither pause the pool again nor grow the
    /// margin. Returns whether this 429 started a pause.
    pub fn on_rate_limited(
        &mut self,
        sent_at: Duration,
        now: Duration,
        retry_after: Option<Duration>,
    ) -> bool {
        if self.pause.is_some_and(|p| sent_at < p.from) {
            return false;
        }
        let grown = (self.margin * 2).max(self.policy.step);
        self.margin = clamp_margin(grown, self.quota, self.policy);
        // A 429 is evidence of a limiter that counts spacing: from now on a
        // late timer no longer earns a shorter next gap.
        self.policy.catch_up = Duration::ZERO;
        self.apply();
        let until = now + retry_after.unwrap_or(self.gcra.interval());
        self.pause = Some(Pause { from: now, until });
        self.pauses += 1;
        self.gcra.hold_until(until);
        true
    }

    fn apply(&mut self) {
        let burst: NonZeroU32 = self.quota.burst();
        let interval = self.quota.emission_interval();
        self.gcra.set_interval(interval + self.margin, burst);
        self.gcra
            .set_catch_up(self.policy.catch_up.min(interval.mul_f64(0.1)));
    }
}

fn clamp_margin(margin: Duration, quota: Quota, policy: MarginPolicy) -> Duration {
    margin.min(quota.emission_interval().mul_f64(policy.max_fraction))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    fn pacing(rate: f64) -> Pacing {
        let policy = MarginPolicy {
            initial: Duration::ZERO,
            ..MarginPolicy::default()
        };
        Pacing::new(Quota::per_second(rate).unwrap(), policy)
    }

    #[test]
    fn a_429_pauses_once_for_requests_already_in_flight() {
        let mut p = pacing(10.0);
        assert!(p.on_rate_limited(ms(0), ms(50), None));
        // Sent before the pause began: no second pause, no second growth.
        assert!(!p.on_rate_limited(ms(10), ms(60), None));
        assert_eq!(p.pauses(), 1);
        assert_eq!(p.margin(), MarginPolicy::default().step);
    }

    #[test]
    fn after_a_429_late_timers_no_longer_shorten_gaps() {
        let mut p = pacing(4.0);
        p.check(ms(0)).unwrap();
        p.check(ms(251)).unwrap(); // 1 ms late, caught up: next due at 500
        assert_eq!(p.check(ms(300)), Err(NotUntil(ms(500))));
        p.on_rate_limited(ms(251), ms(260), None);
        let interval = p.interval();
        p.check(ms(2000)).unwrap();
        p.check(ms(2000) + interval + ms(1)).unwrap();
        // No catch-up any more: the next gap is a full interval from the send.
        let next = ms(2000) + interval * 2 + ms(1);
        assert_eq!(p.check(next - ms(1)), Err(NotUntil(next)));
    }

    #[test]
    fn retry_after_sets_the_pause_length() {
        let mut p = pacing(10.0);
        p.on_rate_limited(ms(0), ms(100), Some(Duration::from_secs(3)));
        assert_eq!(p.check(ms(2000)), Err(NotUntil(ms(3100))));
        assert_eq!(p.check(ms(3100)), Ok(()));
    }

    #[test]
    fn margin_doubles_and_is_capped() {
        let mut p = pacing(10.0);
        let mut t = 0;
        for _ in 0..10 {
            t += 1000;
            p.on_rate_limited(ms(t), ms(t + 1), None);
        }
        assert_eq!(p.margin(), ms(10), "10 % of 100 ms");
    }
}
