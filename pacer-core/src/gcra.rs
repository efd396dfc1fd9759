//! The client's own token bucket, as a GCRA (generic cell rate algorithm).
//!
//! The decision takes `now` as an argument and keeps one number, the
//! theoretical arrival time (TAT) of the next request. Tokens are never
//! counted by timer ticks: how many may go is derived from elapsed time, so a
//! timer that fires late can never release more than the burst.
//!
//! A browser timer fires a little late (typically under a millisecond). With
//! a *catch-up* allowance `c`, a send that happens up to `c` late does not
//! push the schedule back, so small lateness costs no rate; a later send
//! restarts the schedule from itself, so a long delay (a hidden tab) never
//! turns into a burst. Two sends are then at least `interval - c` apart, and
//! `k` sends span at least `(k-1) × interval - c`.

use std::num::NonZeroU32;
use std::time::Duration;

/// An allotted rate and the bucket's capacity. Invalid quotas cannot be built.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Quota {
    rate: f64,
    burst: NonZeroU32,
}

impl Quota {
    /// `rate` requests per second with a burst of 1 (evenly spaced sends).
    /// `None` unless `rate` is finite and > 0.
    pub fn per_second(rate: f64) -> Option<Self> {
        (rate.is_finite() && rate > 0.0).then_some(Self {
            rate,
            burst: NonZeroU32::MIN,
        })
    }

    /// The same rate with `burst` requests allowed back to back.
    pub fn with_burst(self, burst: NonZeroU32) -> Self {
        Self { burst, ..self }
    }

    /// Requests per second.
    pub fn rate(&self) -> f64 {
        self.rate
    }

    /// The bucket's capacity.
    pub fn burst(&self) -> NonZeroU32 {
        self.burst
    }

    /// Time between two evenly spaced sends, `1 / rate`.
    pub fn emission_interval(&self) -> Duration {
        Duration::from_secs_f64(1.0 / self.rate)
    }
}

/// Throttled until the instant it holds: being throttled is a value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NotUntil(pub Duration);

/// A GCRA limiter for one client.
#[derive(Clone, Debug)]
pub struct Gcra {
    interval: Duration,
    tolerance: Duration,
    catch_up: Duration,
    tat: Option<Duration>,
}

impl Gcra {
    /// A limiter that has sent nothing yet.
    pub fn new(quota: Quota) -> Self {
        let interval = quota.emission_interval();
        Self {
            interval,
            tolerance: interval * (quota.burst.get() - 1),
            catch_up: Duration::ZERO,
            tat: None,
        }
    }

    /// Lets a send that happens up to `catch_up` late keep the schedule.
    pub fn set_catch_up(&mut self, catch_up: Duration) {
        self.catch_up = catch_up;
    }

    /// The spacing between sends it enforces.
    pub fn interval(&self) -> Duration {
        self.interval
    }

    /// Changes the spacing (rate change, safety margin) without a burst: the
    /// next send keeps at least the new spacing from the last one.
    pub fn set_interval(&mut self, interval: Duration, burst: NonZeroU32) {
        if let Some(tat) = self.tat {
            // The last send happened at `tat - old interval`.
            let last = tat.saturating_sub(self.interval);
            self.tat = Some(last + interval);
        }
        self.interval = interval;
        self.tolerance = interval * (burst.get() - 1);
    }

    /// The earliest instant at which a send would be allowed.
    pub fn earliest(&self, now: Duration) -> Duration {
        match self.tat {
            Some(tat) => tat.saturating_sub(self.tolerance).max(now),
            None => now,
        }
    }

    /// Takes a token at `now`, or says when one will be there.
    pub fn check(&mut self, now: Duration) -> Result<(), NotUntil> {
        let earliest = self.earliest(now);
        if earliest > now {
            return Err(NotUntil(earliest));
        }
        let tat = self
            .tat
            .unwrap_or(now)
            .max(now.saturating_sub(self.catch_up));
        self.tat = Some(tat + self.interval);
        Ok(())
    }

    /// Sends nothing before `until` (a pool-wide pause after a 429); after it,
    /// the bucket starts empty so the pause does not turn into a burst.
    pub fn hold_until(&mut self, until: Duration) {
        let tat = until + self.tolerance;
        if self.tat.is_none_or(|t| t < tat) {
            self.tat = Some(tat);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn rejects_non_positive_and_non_finite_rates() {
        for r in [0.0, -1.0, f64::NAN, f64::INFINITY] {
            assert!(Quota::per_second(r).is_none(), "{r}");
        }
        assert!(Quota::per_second(0.5).is_some());
    }

    #[test]
    fn evenly_spaced_at_burst_one() {
        let mut g = Gcra::new(Quota::per_second(4.0).unwrap());
        assert_eq!(g.check(ms(0)), Ok(()));
        assert_eq!(g.check(ms(1)), Err(NotUntil(ms(250))));
        assert_eq!(g.check(ms(250)), Ok(()));
        assert_eq!(g.check(ms(499)), Err(NotUntil(ms(500))));
    }

    #[test]
    fn late_timer_never_turns_into_a_burst() {
        let mut g = Gcra::new(Quota::per_second(10.0).unwrap());
        g.check(ms(0)).unwrap();
        // The timer meant for 100 ms fires a whole second late.
        g.check(ms(1100)).unwrap();
        // Burst 1: the next send still waits a full interval.
        assert_eq!(g.check(ms(1100)), Err(NotUntil(ms(1200))));
    }

    #[test]
    fn small_lateness_keeps_the_schedule_large_lateness_restarts_it() {
        let mut g = Gcra::new(Quota::per_second(10.0).unwrap());
        g.set_catch_up(ms(2));
        g.check(ms(0)).unwrap();
        g.check(ms(101)).unwrap(); // 1 ms late: schedule kept
        assert_eq!(g.check(ms(150)), Err(NotUntil(ms(200))));
        g.check(ms(700)).unwrap(); // 500 ms late: restart from 698
        assert_eq!(g.check(ms(700)), Err(NotUntil(ms(798))));
    }

    #[test]
    fn burst_allows_that_many_back_to_back_then_spaces() {
        let q = Quota::per_second(10.0)
            .unwrap()
            .with_burst(NonZeroU32::new(3).unwrap());
        let mut g = Gcra::new(q);
        for _ in 0..3 {
            g.check(ms(0)).unwrap();
        }
        assert_eq!(g.check(ms(0)), Err(NotUntil(ms(100))));
    }

    #[test]
    fn hold_until_pauses_and_restarts_empty() {
        let mut g = Gcra::new(Quota::per_second(10.0).unwrap());
        g.check(ms(0)).unwrap();
        g.hold_until(ms(2000));
        assert_eq!(g.check(ms(1500)), Err(NotUntil(ms(2000))));
        g.check(ms(2000)).unwrap();
        assert_eq!(g.check(ms(2000)), Err(NotUntil(ms(2100))));
    }

    #[test]
    fn rate_change_keeps_spacing_from_last_send() {
        let mut g = Gcra::new(Quota::per_second(1.0).unwrap());
        g.check(ms(0)).unwrap();
        g.set_interval(ms(100), NonZeroU32::MIN);
        assert_eq!(g.check(ms(50)), Err(NotUntil(ms(100))));
        g.check(ms(100)).unwrap();
    }
}
