//! The leader's side of the budget: a GCRA over grants at the budget's
//! rate, widened by a safety margin learned from the 429s the tabs report.

use std::time::Duration;

use super::{TabId, MAX_RETRY_AFTER, MIN_LEAD};
use crate::gcra::{Gcra, Quota};
use crate::schedule::{MarginPolicy, SafetyMargin};

/// The leader's safety margin: like the lone pacer's, but a 429 widens it
/// by 2 ms at least (not 6: the tabs' sends are planned ahead, so only their
/// timers and the network jitter), it decays twice as fast, and it stops
/// at 4 % of the interval (not 10 %): in headless Chromium on a loaded
/// machine most 429s came after a request that took 10–20 ms longer than
/// usual to reach the server, which no small margin absorbs, and a margin
/// that widened on each of them held the tabs at 0.90 of the limit. Its
/// floor is 1 % of the interval whatever the rate (as the lone pacer's
/// 0.8 %): the tabs' sends then span 10 ms more than a second per
/// second's worth, which a sliding one-second window they share needs.
pub const LEADER_MARGIN: MarginPolicy = MarginPolicy {
    start: Duration::ZERO,
    start_fraction: 0.0,
    narrow: 1.0,
    trust_after: 0,
    initial: Duration::from_millis(10),
    initial_fraction: 0.01,
    step: Duration::from_millis(2),
    max_fraction: 0.04,
    catch_up: Duration::ZERO,
    decay_every: 10,
    decay: 0.9,
};

/// The leader's side: the GCRA over grants, the margin, the round-robin.
#[derive(Clone, Debug)]
pub struct Leader {
    rate: f64,
    gcra: Gcra,
    margin: SafetyMargin,
    /// The last tab served (round-robin starts after it).
    cursor: Option<TabId>,
    /// The latest grant made.
    last: Option<Duration>,
    /// It has made a grant (or recorded a send).
    granted_any: bool,
    /// 429s of grants up to this instant were made at a narrower spacing
    /// than the present one: they do not widen it again.
    widened_upto: Option<Duration>,
}

impl Leader {
    /// A leader pacing at `rate` whose first grant comes no sooner than a
    /// spacing after `last` (the latest grant heard of), with `margin` (the
    /// previous leader's) if known.
    pub fn new(rate: f64, last: Option<Duration>, margin: Option<Duration>) -> Self {
        // A rate that is no rate at all (never passed: tabs bound theirs)
        // paces at 1/s; one merely out of bounds, at the nearest bound.
        let quota = if rate.is_finite() && rate > 0.0 {
            Quota::clamped(rate)
        } else {
            Quota::clamped(1.0)
        };
        let policy = LEADER_MARGIN;
        let interval = quota.emission_interval();
        let mut leader = Self {
            rate: quota.rate(),
            gcra: Gcra::new(quota),
            // Adopt the previous leader's margin (it was learned from 429s)
            // as where the margin starts, not as its floor: at a higher
            // rate it may be over this leader's cap, and it decays as any.
            margin: match margin {
                Some(m) => SafetyMargin::starting_at(policy, interval, m),
                None => SafetyMargin::new(policy, interval),
            },
            cursor: None,
            last,
            granted_any: false,
            widened_upto: last,
        };
        leader.apply();
        if let Some(last) = last {
            leader
                .gcra
                .hold_until(last.saturating_add(leader.gcra.interval()));
        }
        leader
    }

    /// The spacing between grants.
    pub fn interval(&self) -> Duration {
        self.gcra.interval()
    }

    /// The margin in the spacing.
    pub fn margin(&self) -> Duration {
        self.margin.value()
    }

    /// The rate it paces at.
    pub fn rate(&self) -> f64 {
        self.rate
    }

    fn base(&self) -> Duration {
        Quota::clamped(self.rate).emission_interval()
    }

    /// The earliest instant the next grant may name, at least [`MIN_LEAD`]
    /// after `now`.
    pub(super) fn next_slot(&self, now: Duration) -> Duration {
        self.gcra.earliest(now).max(now.saturating_add(MIN_LEAD))
    }

    /// The earliest instant a send may go (a lone tab's own send).
    pub(super) fn earliest(&self, now: Duration) -> Duration {
        self.gcra.earliest(now)
    }

    /// Grants `tab` a send at `slot` (from [`Leader::next_slot`]). False,
    /// and nothing changes, if the slot is not free after all.
    pub(super) fn grant(&mut self, slot: Duration, tab: TabId) -> bool {
        if self.gcra.check(slot).is_err() {
            return false;
        }
        self.cursor = Some(tab);
        self.last = Some(slot);
        self.granted_any = true;
        true
    }

    /// The last tab granted (round-robin goes on after it).
    pub(super) fn cursor(&self) -> Option<TabId> {
        self.cursor
    }

    /// True once it has made a grant (or recorded a send).
    pub(super) fn has_granted(&self) -> bool {
        self.granted_any
    }

    /// No grant before `until` (a late send moved the ones after it).
    pub(super) fn hold_until(&mut self, until: Duration) {
        self.gcra.hold_until(until);
    }

    fn apply(&mut self) {
        let interval = self.base() + self.margin.value();
        self.gcra.set_interval(interval, std::num::NonZeroU32::MIN);
    }

    pub(super) fn set_rate(&mut self, rate: f64) {
        if rate.is_finite() && rate > 0.0 && rate != self.rate {
            self.rate = Quota::clamped(rate).rate();
            self.margin.rescale(self.base());
            self.apply();
        }
    }

    /// A send the lone tab made by itself at `at`: the next grant keeps a
    /// spacing from it.
    pub(super) fn record(&mut self, at: Duration) {
        self.gcra
            .hold_until(at.saturating_add(self.gcra.interval()));
        self.granted_any = true;
        self.last = Some(self.last.map_or(at, |l| l.max(at)));
    }

    pub(super) fn on_limited(
        &mut self,
        at: Duration,
        retry_after: Option<Duration>,
        now: Duration,
    ) {
        if self.widened_upto.is_none_or(|w| at > w) {
            self.margin.on_rate_limited(self.base());
            self.apply();
            self.widened_upto = self.last;
        }
        if let Some(wait) = retry_after {
            // As when the page reads the header itself: a day at most.
            self.gcra
                .hold_until(now.saturating_add(wait.min(MAX_RETRY_AFTER)));
        }
    }

    pub(super) fn on_success(&mut self) {
        if self.margin.on_success(self.base()) {
            self.apply();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    /// Grants for tab 1 from `now` on while they name instants before `until`.
    fn grants(l: &mut Leader, mut now: Duration, until: Duration) -> Vec<Duration> {
        let mut out = Vec::new();
        loop {
            let slot = l.next_slot(now);
            if slot >= until {
                return out;
            }
            assert!(l.grant(slot, 1));
            out.push(slot);
            now = slot;
        }
    }

    #[test]
    fn grants_are_spaced_by_the_interval_and_the_margin() {
        let mut l = Leader::new(10.0, None, None);
        assert_eq!(l.margin(), ms(1));
        assert_eq!(l.interval(), ms(101));
        let g = grants(&mut l, ms(0), ms(1000));
        assert_eq!(g.first(), Some(&MIN_LEAD));
        for w in g.windows(2) {
            assert_eq!(w[1] - w[0], ms(101));
        }
        assert_eq!(l.cursor(), Some(1));
        assert!(l.has_granted());
    }

    #[test]
    fn a_new_leader_starts_a_spacing_after_the_last_grant_heard_of() {
        let l = Leader::new(10.0, Some(ms(500)), None);
        assert_eq!(l.next_slot(ms(450)), ms(601));
    }

    #[test]
    fn a_429_widens_the_margin_once_per_spacing_and_retry_after_holds() {
        let mut l = Leader::new(10.0, None, None);
        grants(&mut l, ms(0), ms(300));
        l.on_limited(ms(100), None, ms(300));
        assert_eq!(l.margin(), ms(2), "at least the step");
        // Another 429 of a grant made at the narrower spacing: no wider.
        l.on_limited(ms(200), None, ms(310));
        assert_eq!(l.margin(), ms(2));
        l.on_limited(ms(250), Some(ms(2000)), ms(320));
        assert!(l.next_slot(ms(320)) >= ms(2320));
    }

    #[test]
    fn successes_narrow_the_margin_back() {
        let mut l = Leader::new(10.0, None, None);
        l.on_limited(ms(0), None, ms(0));
        l.on_limited(ms(0), None, ms(0));
        let wide = l.margin();
        for _ in 0..1000 {
            l.on_success();
        }
        assert!(l.margin() < wide, "{:?}", l.margin());
    }

    #[test]
    fn a_margin_adopted_from_a_slower_leader_is_capped_at_this_rate() {
        // Learned at 2/s (up to 20 ms), adopted at 50/s (cap 0.8 ms).
        let mut l = Leader::new(50.0, None, Some(ms(15)));
        assert_eq!(l.margin(), Duration::from_micros(800));
        l.set_rate(10.0);
        l.set_rate(50.0);
        assert_eq!(l.margin(), Duration::from_micros(800));
    }

    #[test]
    fn a_recorded_send_keeps_the_next_grant_a_spacing_away() {
        let mut l = Leader::new(10.0, None, None);
        l.record(ms(1000));
        assert_eq!(l.next_slot(ms(1000)), ms(1101));
        assert!(l.has_granted());
    }

    #[test]
    fn a_rate_out_of_bounds_paces_at_one_per_second() {
        for rate in [0.0, -1.0, f64::NAN, f64::INFINITY] {
            assert_eq!(Leader::new(rate, None, None).rate(), 1.0, "{rate}");
        }
    }
}
