//! The client's own token bucket, as a GCRA (generic cell rate algorithm),
//! the way governor keeps it: a theoretical arrival time (TAT) and a
//! tolerance, in integer nanoseconds.
//!
//! The decision takes `now` as an argument. Tokens are never counted by
//! timer ticks: how many may go is derived from elapsed time, so a timer
//! that fires late can never release more than the burst.
//!
//! A browser timer fires a little late (typically under a millisecond). With
//! a *catch-up* allowance `c`, a send that happens up to `c` late does not
//! push the schedule back, so small lateness costs no rate; a later send
//! restarts the schedule from itself, so a long delay (a hidden tab) never
//! turns into a burst. Two sends are then at least `interval - c` apart, and
//! `k` sends span at least `(k-1) × interval - c`.
//!
//! Putting sends on a fixed-window server's grid is not the bucket's
//! business: see [`crate::schedule::GridAligner`], which drives it.

use std::num::NonZeroU32;
use std::time::Duration;

/// Nanoseconds on the caller's clock.
type Nanos = u64;

fn nanos(d: Duration) -> Nanos {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}

fn duration(n: Nanos) -> Duration {
    Duration::from_nanos(n)
}

/// An allotted rate and the bucket's capacity. Invalid quotas cannot be
/// built: the rate lies within [`Quota::MIN_RATE`]..=[`Quota::MAX_RATE`].
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Quota {
    rate: f64,
    burst: NonZeroU32,
}

impl Quota {
    /// The least rate Pacer paces at: one request in about 17 minutes.
    /// Slower than that is not a rate anyone sets on purpose, and it keeps
    /// `1 / rate` far from `Duration`'s limits.
    pub const MIN_RATE: f64 = 0.001;
    /// The most: ten thousand requests a second, fifty times what a
    /// browser page has been seen to keep up.
    pub const MAX_RATE: f64 = 10_000.0;

    /// `rate` requests per second with a burst of 1 (evenly spaced sends).
    /// `None` unless `rate` is within [`Quota::MIN_RATE`]..=[`Quota::MAX_RATE`].
    pub fn per_second(rate: f64) -> Option<Self> {
        (Self::MIN_RATE..=Self::MAX_RATE)
            .contains(&rate)
            .then_some(Self {
                rate,
                burst: NonZeroU32::MIN,
            })
    }

    /// `rate` brought within bounds (NaN as the least rate), burst 1: for
    /// rates computed rather than given (a backoff's, the slowest tab's).
    pub fn clamped(rate: f64) -> Self {
        let rate = if rate.is_nan() {
            Self::MIN_RATE
        } else {
            rate.clamp(Self::MIN_RATE, Self::MAX_RATE)
        };
        Self {
            rate,
            burst: NonZeroU32::MIN,
        }
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

    /// Time between two evenly spaced sends, `1 / rate` (at most 1 000 s:
    /// the rate's bounds keep it far from overflow).
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
    /// The theoretical arrival time of the next send (none before the first).
    tat: Option<Nanos>,
    /// How far ahead of its TAT a send may go: `(burst - 1) × interval`.
    tolerance: Nanos,
    /// The spacing between sends.
    interval: Nanos,
    /// How late a send may be and still keep the schedule.
    catch_up: Nanos,
    /// The spacing shrank since the last send, which was then due at this
    /// instant: the next send earns catch-up only for lateness past it.
    /// (Otherwise a send due on the old schedule, "late" on the new one,
    /// would keep the new slot, and the gap after it would fall short of
    /// the new spacing: a strict server refuses that.)
    due_before: Option<Nanos>,
    /// The latest [`Gcra::hold_until`]'s TAT: slots given back never go
    /// before it.
    held: Nanos,
}

impl Gcra {
    /// A limiter that has sent nothing yet.
    pub fn new(quota: Quota) -> Self {
        let interval = nanos(quota.emission_interval());
        Self {
            tat: None,
            tolerance: interval.saturating_mul(u64::from(quota.burst.get() - 1)),
            interval,
            catch_up: 0,
            due_before: None,
            held: 0,
        }
    }

    /// Lets a send that happens up to `catch_up` late keep the schedule.
    pub fn set_catch_up(&mut self, catch_up: Duration) {
        self.catch_up = nanos(catch_up);
    }

    /// How late a send may be and still keep the schedule.
    pub fn catch_up(&self) -> Duration {
        duration(self.catch_up)
    }

    /// The spacing between sends it enforces.
    pub fn interval(&self) -> Duration {
        duration(self.interval)
    }

    /// How far ahead of its slot a send may go (zero at burst 1).
    pub fn tolerance(&self) -> Duration {
        duration(self.tolerance)
    }

    /// The theoretical arrival time of the next send, once one was sent.
    pub fn tat(&self) -> Option<Duration> {
        self.tat.map(duration)
    }

    /// Changes the spacing (rate change, safety margin) without a burst: the
    /// next send keeps at least the new spacing from the last one.
    pub fn set_interval(&mut self, interval: Duration, burst: NonZeroU32) {
        let interval = nanos(interval);
        if let Some(tat) = self.tat {
            // The last send happened at `tat - old interval`.
            let last = tat.saturating_sub(self.interval);
            self.tat = Some(last.saturating_add(interval));
            if interval < self.interval {
                self.due_before = Some(self.due_before.map_or(tat, |d| d.min(tat)));
            }
        }
        self.interval = interval;
        self.tolerance = interval.saturating_mul(u64::from(burst.get() - 1));
    }

    /// The slot the next send takes at `now` by the bucket alone: its TAT,
    /// or `now` less the catch-up once that has passed.
    pub fn base(&self, now: Duration) -> Duration {
        let now = nanos(now);
        duration(
            self.tat
                .unwrap_or(now)
                .max(now.saturating_sub(self.catch_up)),
        )
    }

    /// The slot the next send takes: [`Gcra::base`], earning no catch-up
    /// for a send due before the spacing shrank.
    fn slot(&self, now: Duration) -> Duration {
        let base = self.base(now);
        match self.due_before {
            Some(due) => base.max(duration(due).min(now)),
            None => base,
        }
    }

    /// The earliest instant a send that takes `slot` may go.
    pub fn earliest_for(&self, slot: Duration, now: Duration) -> Duration {
        slot.saturating_sub(self.tolerance()).max(now)
    }

    /// The earliest instant at which a send would be allowed.
    pub fn earliest(&self, now: Duration) -> Duration {
        self.earliest_for(self.slot(now), now)
    }

    /// Takes a token at `now`, or says when one will be there.
    pub fn check(&mut self, now: Duration) -> Result<(), NotUntil> {
        let slot = self.slot(now);
        let earliest = self.earliest_for(slot, now);
        if earliest > now {
            return Err(NotUntil(earliest));
        }
        self.take(slot);
        Ok(())
    }

    /// A send took `slot` (decided by the caller, e.g. on a grid): the next
    /// one is due a spacing after it.
    pub fn take(&mut self, slot: Duration) {
        self.tat = Some(nanos(slot).saturating_add(self.interval));
        self.due_before = None;
    }

    /// The send that took the slot at `at` never went, nor did any taken
    /// after it (handed over ahead of their instant, then taken back): the
    /// schedule goes back so that a send may go at `at` again. It never
    /// moves forward, never further back than before those sends were
    /// taken (a send allowed at `at` found the TAT at most `at` plus the
    /// tolerance), and never before a hold ([`Gcra::hold_until`]).
    pub fn give_back(&mut self, at: Duration) {
        let back = nanos(at).saturating_add(self.tolerance).max(self.held);
        if self.tat.is_some_and(|tat| back < tat) {
            self.tat = Some(back);
        }
    }

    /// Sends nothing before `until` (a pool-wide pause after a 429); after it,
    /// the bucket starts empty so the pause does not turn into a burst.
    pub fn hold_until(&mut self, until: Duration) {
        let tat = nanos(until).saturating_add(self.tolerance);
        self.held = self.held.max(tat);
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
    fn a_quota_cannot_be_built_outside_its_bounds() {
        for r in [
            0.0,
            -1.0,
            f64::NAN,
            f64::INFINITY,
            1e-20,
            0.000_999,
            10_000.1,
        ] {
            assert!(Quota::per_second(r).is_none(), "{r}");
        }
        for r in [0.001, 0.5, 10_000.0] {
            assert!(Quota::per_second(r).is_some(), "{r}");
        }
        assert_eq!(
            Quota::per_second(0.001).unwrap().emission_interval(),
            Duration::from_secs(1000)
        );
        assert_eq!(Quota::clamped(1e-300).rate(), Quota::MIN_RATE);
        assert_eq!(Quota::clamped(f64::NAN).rate(), Quota::MIN_RATE);
        assert_eq!(Quota::clamped(1e300).rate(), Quota::MAX_RATE);
    }

    #[test]
    fn times_near_the_end_of_the_clock_saturate_instead_of_panicking() {
        let mut g = Gcra::new(Quota::per_second(10.0).unwrap());
        g.hold_until(Duration::MAX);
        // Held to the end of its clock (u64 nanoseconds, about 584 years).
        let end = Duration::from_nanos(u64::MAX);
        assert_eq!(g.check(ms(1000)), Err(NotUntil(end)));
        assert_eq!(g.check(Duration::MAX), Ok(()));
        // A tolerance as large as the clock lets any send go at once.
        g.set_interval(Duration::MAX, NonZeroU32::MAX);
        assert_eq!(g.earliest(ms(1000)), ms(1000));
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
    fn slots_taken_back_can_be_taken_again_but_no_earlier() {
        let mut g = Gcra::new(Quota::per_second(4.0).unwrap());
        for t in [0, 250, 500, 750] {
            g.check(ms(t)).unwrap();
        }
        // The sends taken for 500 and 750 never went: 500 is free again.
        g.give_back(ms(500));
        assert_eq!(g.check(ms(499)), Err(NotUntil(ms(500))));
        g.check(ms(500)).unwrap();
        // Giving back a slot after the schedule's end moves nothing.
        g.give_back(ms(2000));
        assert_eq!(g.check(ms(600)), Err(NotUntil(ms(750))));
        // Nor before a hold (a pause after a 429, a window's end).
        g.check(ms(750)).unwrap();
        g.check(ms(1000)).unwrap();
        g.hold_until(ms(900));
        g.give_back(ms(1000));
        assert_eq!(
            g.check(ms(900)),
            Err(NotUntil(ms(1000))),
            "a hold behind the slot does not stop it"
        );
        g.hold_until(ms(1300));
        g.check(ms(1300)).unwrap();
        g.give_back(ms(1300));
        assert_eq!(g.check(ms(1299)), Err(NotUntil(ms(1300))));
        g.give_back(ms(1100));
        assert_eq!(
            g.check(ms(1299)),
            Err(NotUntil(ms(1300))),
            "the hold stands"
        );
        // With a burst, a send allowed at `at` may have found the TAT up
        // to the tolerance ahead: that much stays taken.
        let mut g = Gcra::new(
            Quota::per_second(4.0)
                .unwrap()
                .with_burst(NonZeroU32::new(2).unwrap()),
        );
        for _ in 0..2 {
            g.check(ms(0)).unwrap();
        }
        g.check(ms(250)).unwrap();
        g.give_back(ms(250));
        assert_eq!(g.check(ms(100)), Err(NotUntil(ms(250))));
    }

    #[test]
    fn a_send_due_before_a_rate_change_earns_no_catch_up_on_the_new_schedule() {
        let mut g = Gcra::new(Quota::per_second(10.0).unwrap());
        g.set_catch_up(ms(3));
        g.check(ms(0)).unwrap();
        g.check(ms(100)).unwrap();
        // Faster: the next slot moves from 200 to 190 ms; the send happens
        // at 193 ms, before the 200 it was due at. It is not "3 ms late":
        // the gap after it is a full 90.
        g.set_interval(ms(90), NonZeroU32::MIN);
        g.check(ms(193)).unwrap();
        assert_eq!(g.check(ms(280)), Err(NotUntil(ms(283))));
        // Then catch-up applies again: 2 ms late keeps the slot.
        g.check(ms(285)).unwrap();
        assert_eq!(g.check(ms(300)), Err(NotUntil(ms(373))));
        // Slightly faster (due at 373, now 372), sent at 375: only the 2 ms
        // past 373 earn credit, not 3.
        g.set_interval(ms(89), NonZeroU32::MIN);
        g.check(ms(375)).unwrap();
        assert_eq!(g.check(ms(400)), Err(NotUntil(ms(462))));
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
