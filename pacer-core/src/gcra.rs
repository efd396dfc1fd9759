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
    /// The least rate Pacer paces at: one request in about 17 minutes.
    /// Slower than that is not a rate anyone sets on purpose, and it keeps
    /// `1 / rate` far from `Duration`'s limits.
    pub const MIN_RATE: f64 = 0.001;
    /// The most: ten thousand requests a second, fifty times what a
    /// browser page has been seen to keep up.
    pub const MAX_RATE: f64 = 10_000.0;

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
    grid: Option<Duration>,
    tat: Option<Duration>,
    /// On the grid: a due slot was missed by more than the catch-up (the
    /// timers fire late); until a send is on time again, late sends keep the
    /// slot they fall in instead of waiting for the next one.
    late: bool,
    /// On the grid: the instant the latest refusal said to come back at.
    due: Option<Duration>,
    /// The spacing shrank since the last send, which was then due at this
    /// instant: off the grid, the next send earns catch-up only for
    /// lateness past it. (Otherwise a send due on the old schedule, "late"
    /// on the new one, would keep the new slot, and the gap after it would
    /// fall short of the new spacing: a strict server refuses that. On the
    /// grid a late send keeps its grid slot regardless: windows count sends,
    /// not gaps.)
    due_before: Option<Duration>,
}

impl Gcra {
    /// A limiter that has sent nothing yet.
    pub fn new(quota: Quota) -> Self {
        let interval = quota.emission_interval();
        Self {
            interval,
            tolerance: interval * (quota.burst.get() - 1),
            catch_up: Duration::ZERO,
            grid: None,
            tat: None,
            late: false,
            due: None,
            due_before: None,
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
            if interval < self.interval {
                self.due_before = Some(self.due_before.map_or(tat, |d| d.min(tat)));
            }
        }
        self.interval = interval;
        self.tolerance = interval * (burst.get() - 1);
    }

    /// Puts sends on the grid `anchor + k × interval` (burst 1 only): a
    /// schedule that restarts (first send, long delay, pause) starts on the
    /// next grid point instead of at once. Used to keep sends mid-way between
    /// a fixed-window server's window edges.
    pub fn set_grid(&mut self, anchor: Option<Duration>) {
        self.grid = anchor;
    }

    /// The slot the next send takes: its theoretical arrival time.
    fn slot(&self, now: Duration) -> Duration {
        let mut base = self
            .tat
            .unwrap_or(now)
            .max(now.saturating_sub(self.catch_up));
        if let (Some(due), None) = (self.due_before, self.grid) {
            base = base.max(due.min(now));
        }
        match self.grid {
            Some(anchor) if self.tolerance.is_zero() => snap_up(base, anchor, self.interval),
            _ => base,
        }
    }

    /// On the grid, once timers have been seen firing late: the slot a send
    /// due at `now` takes at once, i.e. the grid slot `now` falls in, if it
    /// is free. A timer late by more than the catch-up on every send would
    /// otherwise snap each send to the next grid point, whose timer fires
    /// late again: no send would ever go (a livelock at high rates, where a
    /// quarter of the spacing is under a browser timer's lateness).
    fn late_slot(&self, now: Duration) -> Option<Duration> {
        let anchor = self.grid?;
        let tat = self.tat.unwrap_or(Duration::ZERO);
        if !self.late || !self.tolerance.is_zero() || now < tat {
            return None;
        }
        let here = nearest(now, anchor, self.interval);
        (here >= snap_up(tat, anchor, self.interval)).then_some(here)
    }

    /// The earliest instant at which a send would be allowed.
    pub fn earliest(&self, now: Duration) -> Duration {
        if self.late_slot(now).is_some() {
            return now;
        }
        self.slot(now).saturating_sub(self.tolerance).max(now)
    }

    /// Takes a token at `now`, or says when one will be there.
    pub fn check(&mut self, now: Duration) -> Result<(), NotUntil> {
        let earliest = self.slot(now).saturating_sub(self.tolerance).max(now);
        if earliest <= now {
            self.late = false;
            self.due = None;
            self.tat = Some(self.slot(now) + self.interval);
            self.due_before = None;
            return Ok(());
        }
        if let Some(slot) = self.late_slot(now) {
            self.due = None;
            self.tat = Some(slot + self.interval);
            self.due_before = None;
            return Ok(());
        }
        if self.grid.is_some() && self.tolerance.is_zero() {
            // A due slot missed: this send waits for the next grid point, the
            // next late one will not.
            let due = self.tat.max(self.due);
            self.late |= due.is_some_and(|d| now >= d);
            self.due = Some(earliest);
        }
        Err(NotUntil(earliest))
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

/// The first instant of `anchor + k × step` (any integer k) at or after `t`.
fn snap_up(t: Duration, anchor: Duration, step: Duration) -> Duration {
    let step = step.as_nanos().max(1) as i128;
    let offset = t.as_nanos() as i128 - anchor.as_nanos() as i128;
    let k = offset.div_euclid(step) + i128::from(offset.rem_euclid(step) != 0);
    let at = anchor.as_nanos() as i128 + k * step;
    Duration::from_nanos(at.max(0) as u64)
}

/// The point of `anchor + k × step` nearest to `t` (halfway rounds up): the
/// grid slot `t` falls in.
fn nearest(t: Duration, anchor: Duration, step: Duration) -> Duration {
    let step = step.as_nanos().max(1) as i128;
    let offset = t.as_nanos() as i128 - anchor.as_nanos() as i128;
    let k = (offset + step / 2).div_euclid(step);
    let at = anchor.as_nanos() as i128 + k * step;
    Duration::from_nanos(at.max(0) as u64)
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
    fn a_grid_puts_restarts_on_grid_points_and_keeps_the_spacing() {
        let mut g = Gcra::new(Quota::per_second(4.0).unwrap());
        g.set_grid(Some(ms(125)));
        assert_eq!(g.check(ms(10)), Err(NotUntil(ms(125))));
        g.check(ms(125)).unwrap();
        assert_eq!(g.check(ms(200)), Err(NotUntil(ms(375))));
        g.check(ms(375)).unwrap();
        // A long delay restarts on the next grid point, not at once.
        assert_eq!(g.check(ms(2000)), Err(NotUntil(ms(2125))));
    }

    #[test]
    fn on_the_grid_timers_always_later_than_the_catch_up_still_send_every_slot() {
        // 160/s (6.25 ms), catch-up a quarter (1.5625 ms), every timer 1.6 ms
        // late. Regression: each send snapped to the next grid point, whose
        // timer fired late again: nothing was ever sent.
        let spacing = Duration::from_micros(6250);
        let mut g = Gcra::new(Quota::per_second(160.0).unwrap());
        g.set_grid(Some(Duration::ZERO));
        g.set_catch_up(spacing / 4);
        let late = Duration::from_micros(1600);
        let mut now = ms(1);
        let mut sends = Vec::new();
        while sends.len() < 100 && now < ms(2000) {
            match g.check(now) {
                Ok(()) => sends.push(now),
                Err(NotUntil(at)) => now = at + late,
            }
        }
        assert_eq!(sends.len(), 100, "sent {} by {now:?}", sends.len());
        // One missed slot, then every slot, each send inside its own slot.
        assert!(*sends.last().unwrap() < spacing * 102);
        for pair in sends.windows(2) {
            assert_eq!(pair[1] - pair[0], spacing);
        }
        for s in &sends {
            let into = s.as_nanos() % spacing.as_nanos();
            assert!(into < spacing.as_nanos() / 2, "{s:?} past its slot");
        }
    }

    #[test]
    fn snap_up_works_on_both_sides_of_the_anchor() {
        assert_eq!(snap_up(ms(0), ms(1125), ms(250)), ms(125));
        assert_eq!(snap_up(ms(125), ms(1125), ms(250)), ms(125));
        assert_eq!(snap_up(ms(1126), ms(125), ms(250)), ms(1375));
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
