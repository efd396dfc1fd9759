//! Sends on a fixed-window server's grid: against a limit per wall-clock
//! second, sends go mid-way between window edges, `anchor + k × interval`,
//! so that send-to-arrival jitter never carries one across an edge. A
//! schedule that restarts (first send, long delay, pause) starts on the
//! next grid point instead of at once.
//!
//! The aligner drives the client's [`Gcra`] (burst 1 only; with a burst it
//! leaves the bucket alone) and adds what a grid needs: once timers have
//! been seen firing late, a late send keeps the grid slot it falls in.

use std::time::Duration;

use crate::gcra::{Gcra, NotUntil};

/// Where the grid is, and what it has seen of the timers.
#[derive(Clone, Debug, Default)]
pub struct GridAligner {
    /// The grid's anchor, while sends are put on it.
    anchor: Option<Duration>,
    /// A due slot was missed by more than the catch-up (the timers fire
    /// late); until a send is on time again, late sends keep the slot they
    /// fall in instead of waiting for the next one.
    late: bool,
    /// The instant the latest refusal said to come back at.
    due: Option<Duration>,
}

impl GridAligner {
    /// Puts sends on the grid through `anchor`, or (`None`) off any grid.
    pub fn set_anchor(&mut self, anchor: Option<Duration>) {
        self.anchor = anchor;
    }

    /// The grid's anchor, while on one.
    pub fn anchor(&self) -> Option<Duration> {
        self.anchor
    }

    /// The grid the sends of `gcra` go on: only at burst 1.
    fn grid(&self, gcra: &Gcra) -> Option<Duration> {
        self.anchor.filter(|_| gcra.tolerance().is_zero())
    }

    /// The slot the next send takes while an anchor is set: the bucket's
    /// own slot, on the grid's next point at burst 1.
    fn slot(&self, gcra: &Gcra, now: Duration) -> Duration {
        match self.grid(gcra) {
            Some(anchor) => snap_up(gcra.base(now), anchor, gcra.interval()),
            None => gcra.base(now),
        }
    }

    /// Once timers have been seen firing late: the slot a send due at
    /// `now` takes at once, i.e. the grid slot `now` falls in, if it is
    /// free. A timer late by more than the catch-up on every send would
    /// otherwise snap each send to the next grid point, whose timer fires
    /// late again: no send would ever go (a livelock at high rates, where a
    /// quarter of the spacing is under a browser timer's lateness).
    fn late_slot(&self, gcra: &Gcra, now: Duration) -> Option<Duration> {
        let anchor = self.grid(gcra)?;
        let tat = gcra.tat().unwrap_or(Duration::ZERO);
        if !self.late || now < tat {
            return None;
        }
        let here = nearest(now, anchor, gcra.interval());
        (here >= snap_up(tat, anchor, gcra.interval())).then_some(here)
    }

    /// The earliest instant a send would be allowed.
    pub fn earliest(&self, gcra: &Gcra, now: Duration) -> Duration {
        if self.anchor.is_none() {
            return gcra.earliest(now);
        }
        if self.late_slot(gcra, now).is_some() {
            return now;
        }
        gcra.earliest_for(self.slot(gcra, now), now)
    }

    /// Takes a token of `gcra` at `now`, or says when one will be there.
    pub fn check(&mut self, gcra: &mut Gcra, now: Duration) -> Result<(), NotUntil> {
        if self.anchor.is_none() {
            // A send on time off the grid is on time: the late-timer mode
            // ends, as on it.
            let checked = gcra.check(now);
            if checked.is_ok() {
                self.late = false;
                self.due = None;
            }
            return checked;
        }
        let slot = self.slot(gcra, now);
        let earliest = gcra.earliest_for(slot, now);
        if earliest <= now {
            self.late = false;
            self.due = None;
            gcra.take(slot);
            return Ok(());
        }
        if let Some(slot) = self.late_slot(gcra, now) {
            self.due = None;
            gcra.take(slot);
            return Ok(());
        }
        if self.grid(gcra).is_some() {
            // A due slot missed: this send waits for the next grid point, the
            // next late one will not.
            let due = gcra.tat().max(self.due);
            self.late |= due.is_some_and(|d| now >= d);
            self.due = Some(earliest);
        }
        Err(NotUntil(earliest))
    }
}

/// The first instant of `anchor + k × step` (any integer k) at or after `t`.
fn snap_up(t: Duration, anchor: Duration, step: Duration) -> Duration {
    let step = step.as_nanos().max(1) as i128;
    let offset = t.as_nanos() as i128 - anchor.as_nanos() as i128;
    let k = offset.div_euclid(step) + i128::from(offset.rem_euclid(step) != 0);
    let at = anchor.as_nanos() as i128 + k * step;
    Duration::from_nanos(at.clamp(0, i128::from(u64::MAX)) as u64)
}

/// The point of `anchor + k × step` nearest to `t` (halfway rounds up): the
/// grid slot `t` falls in.
fn nearest(t: Duration, anchor: Duration, step: Duration) -> Duration {
    let step = step.as_nanos().max(1) as i128;
    let offset = t.as_nanos() as i128 - anchor.as_nanos() as i128;
    let k = (offset + step / 2).div_euclid(step);
    let at = anchor.as_nanos() as i128 + k * step;
    Duration::from_nanos(at.clamp(0, i128::from(u64::MAX)) as u64)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gcra::Quota;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn a_grid_puts_restarts_on_grid_points_and_keeps_the_spacing() {
        let mut g = Gcra::new(Quota::per_second(4.0).unwrap());
        let mut a = GridAligner::default();
        a.set_anchor(Some(ms(125)));
        assert_eq!(a.check(&mut g, ms(10)), Err(NotUntil(ms(125))));
        a.check(&mut g, ms(125)).unwrap();
        assert_eq!(a.check(&mut g, ms(200)), Err(NotUntil(ms(375))));
        a.check(&mut g, ms(375)).unwrap();
        // A long delay restarts on the next grid point, not at once.
        assert_eq!(a.check(&mut g, ms(2000)), Err(NotUntil(ms(2125))));
    }

    #[test]
    fn on_the_grid_timers_always_later_than_the_catch_up_still_send_every_slot() {
        // 160/s (6.25 ms), catch-up a quarter (1.5625 ms), every timer 1.6 ms
        // late. Regression: each send snapped to the next grid point, whose
        // timer fired late again: nothing was ever sent.
        let spacing = Duration::from_micros(6250);
        let mut g = Gcra::new(Quota::per_second(160.0).unwrap());
        let mut a = GridAligner::default();
        a.set_anchor(Some(Duration::ZERO));
        g.set_catch_up(spacing / 4);
        let late = Duration::from_micros(1600);
        let mut now = ms(1);
        let mut sends = Vec::new();
        while sends.len() < 100 && now < ms(2000) {
            match a.check(&mut g, now) {
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
    fn without_an_anchor_the_bucket_decides_alone() {
        let mut g = Gcra::new(Quota::per_second(4.0).unwrap());
        let mut a = GridAligner::default();
        assert_eq!(a.check(&mut g, ms(10)), Ok(()));
        assert_eq!(a.earliest(&g, ms(11)), ms(260));
        assert_eq!(a.check(&mut g, ms(11)), Err(NotUntil(ms(260))));
    }

    #[test]
    fn a_send_on_time_off_the_grid_ends_the_late_timer_mode() {
        let us = Duration::from_micros;
        let mut g = Gcra::new(Quota::per_second(160.0).unwrap());
        g.set_catch_up(us(6250) / 4);
        let mut a = GridAligner::default();
        a.set_anchor(Some(Duration::ZERO));
        assert_eq!(a.check(&mut g, ms(1)), Err(NotUntil(us(6250))));
        // Its timer fires 1.6 ms late: the slot is missed, timers are late.
        assert_eq!(a.check(&mut g, us(7850)), Err(NotUntil(us(12_500))));
        // Off the grid a while, with a send on time.
        a.set_anchor(None);
        assert_eq!(a.check(&mut g, ms(20)), Ok(()));
        // Back on it, a send 2 ms past its due instant waits for the next
        // grid point rather than take the slot it falls in.
        a.set_anchor(Some(Duration::ZERO));
        assert_eq!(a.check(&mut g, us(28_250)), Err(NotUntil(us(31_250))));
    }
}
