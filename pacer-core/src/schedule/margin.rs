//! The safety margin added to the spacing, learned from 429s (AIMD).
//!
//! A strict leaky bucket (nginx `limit_req` burst 0) refuses a request that
//! *arrives* even 1 ms early, and the delay between a browser's `fetch()`
//! and the server's arrival varies by a few ms. So against such a server
//! sends must be spaced by `1/rate + margin` with the margin at least that
//! jitter. Nothing tells the margin in advance what the server tolerates,
//! and against a server that answers its 429s with `Retry-After: 1` the
//! first one costs a whole second. So where the margin can cover the usual
//! jitter (at most [`MarginPolicy::max_fraction`] of `1/rate`) it starts
//! there, then follows what the run measures of its own jitter (see
//! [`super::JitterEstimate`]), narrowing while answers keep coming; a
//! tolerant server pays that measured jitter, no more. Each new 429 doubles
//! it, and it never narrows back near a width that drew one.

use std::time::Duration;

/// How the margin starts, grows and decays.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct MarginPolicy {
    /// The margin before anything is measured, where the cap is at least
    /// this (at lower rates); elsewhere the margin starts at its floor...
    pub start: Duration,
    /// ...and at most this fraction of `1/rate`, what it may cost a
    /// tolerant server until answers come.
    pub start_fraction: f64,
    /// Over the measured need, the margin narrows to this fraction of
    /// itself on each success (never below that need)...
    pub narrow: f64,
    /// ...for this many successes; after them, while still no 429 came,
    /// down to the floor at the same pace: so many answers at that width
    /// say the server tolerates more than was measured, or the run is long
    /// enough for one learning 429 to cost little.
    pub trust_after: u32,
    /// The least margin, the floor...
    pub initial: Duration,
    /// ...but at most this fraction of `1/rate`.
    pub initial_fraction: f64,
    /// The least margin after a 429; each further 429 doubles it.
    pub step: Duration,
    /// The margin never exceeds this fraction of `1/rate`.
    pub max_fraction: f64,
    /// How late a timer may fire without costing rate (see
    /// [`crate::Gcra::set_catch_up`]); at most 10 % of `1/rate`.
    pub catch_up: Duration,
    /// After this many successes in a row the margin shrinks...
    pub decay_every: u32,
    /// ...to this fraction of itself (never below the initial margin).
    pub decay: f64,
}

impl Default for MarginPolicy {
    /// Starts at 6 ms (about Chromium's send-to-arrival jitter on loopback),
    /// at most 6 % of the interval, up to 16.7 req/s, where 6 ms is within
    /// 10 % of the interval, and at the floor above; narrows by a tenth
    /// per success to what is measured. The floor is 0.8 % of the interval
    /// (at most 10 ms): whatever the rate, a second's sends then span 8 ms
    /// more than a second, which a sliding one-second window needs. It
    /// counts arrivals, and two a second apart move by up to 4–5 ms
    /// against their sends (measured in Chromium on loopback, after the
    /// first second); with 4 ms, one run in two at 4 or 10/s drew a 429
    /// from a sliding log, and each cost it 2–4 % of the rate. A 429 raises it to at least
    /// 6 ms and doubles it, up to 10 % of the interval; every 20 successes
    /// in a row take 5 % off. Timers may fire 3 ms late (at most 10 % of
    /// the interval) without costing rate.
    fn default() -> Self {
        Self {
            start: Duration::from_millis(6),
            start_fraction: 0.06,
            narrow: 0.9,
            trust_after: 100,
            initial: Duration::from_millis(10),
            initial_fraction: 0.008,
            step: Duration::from_millis(6),
            max_fraction: 0.10,
            catch_up: Duration::from_millis(3),
            decay_every: 20,
            decay: 0.95,
        }
    }
}

/// The margin of one run.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SafetyMargin {
    policy: MarginPolicy,
    value: Duration,
    known_bad: Duration,
    streak: u32,
    enabled: bool,
    /// Successes measured before any 429 (see [`SafetyMargin::on_measured`]).
    measured: u32,
    /// A 429 came: from then on only 429s and the slow decay move it.
    refused: bool,
}

impl SafetyMargin {
    /// The initial margin for sends `interval` apart.
    pub fn new(policy: MarginPolicy, interval: Duration) -> Self {
        Self {
            policy,
            value: start(policy, interval),
            known_bad: Duration::ZERO,
            streak: 0,
            enabled: true,
            measured: 0,
            refused: false,
        }
    }

    /// The margin now (zero once disabled).
    pub fn value(&self) -> Duration {
        if self.enabled {
            self.value
        } else {
            Duration::ZERO
        }
    }

    /// The send-to-arrival jitter assumed before any is measured (the
    /// policy's `start`).
    pub fn usual_jitter(&self) -> Duration {
        self.policy.start
    }

    /// The catch-up allowance for sends `interval` apart.
    pub fn catch_up(&self, interval: Duration) -> Duration {
        self.policy
            .catch_up
            .min(interval.mul_f64(MAX_CATCH_UP_FRACTION))
    }

    /// The initial margin for sends `interval` apart, starting at `value`
    /// (a margin learned elsewhere, e.g. by the tab that led before) within
    /// this policy's bounds: it decays to the policy's floor like any other.
    pub fn starting_at(policy: MarginPolicy, interval: Duration, value: Duration) -> Self {
        let mut margin = Self::new(policy, interval);
        margin.value = value.clamp(floor(policy, interval), cap(policy, interval));
        margin
    }

    /// Keeps the margin within bounds after a change of interval.
    pub fn rescale(&mut self, interval: Duration) {
        self.value = self
            .value
            .clamp(floor(self.policy, interval), cap(self.policy, interval));
    }

    /// A new 429: at least `step`, else double. The margin it happened at
    /// is remembered as too small: decay never goes back within 25 % of it.
    pub fn on_rate_limited(&mut self, interval: Duration) {
        self.streak = 0;
        self.refused = true;
        self.known_bad = self.known_bad.max(self.value);
        self.value = (self.value.saturating_mul(2))
            .max(self.policy.step)
            .min(cap(self.policy, interval));
    }

    /// A success: every `decay_every` in a row shrink the margin. True when it changed.
    pub fn on_success(&mut self, interval: Duration) -> bool {
        self.streak += 1;
        if self.streak < self.policy.decay_every {
            return false;
        }
        self.streak = 0;
        let lowest = floor(self.policy, interval).max(self.known_bad.mul_f64(KNOWN_BAD_CLEARANCE));
        let shrunk = self
            .value
            .mul_f64(self.policy.decay)
            .max(lowest)
            .min(self.value);
        let changed = shrunk != self.value;
        self.value = shrunk;
        changed && self.enabled
    }

    /// A success, before which the run measured that arrival gaps may
    /// fall `need` short of the send gaps (see [`super::JitterEstimate`];
    /// `None`: not measured yet). Until a 429 comes: for the policy's
    /// `trust_after` successes a margin above that need narrows toward it,
    /// one below rises to it; after them it narrows to the floor. True when
    /// it changed.
    pub fn on_measured(&mut self, interval: Duration, need: Option<Duration>) -> bool {
        if !self.enabled || self.refused {
            return false;
        }
        self.measured = self.measured.saturating_add(1);
        let cap = cap(self.policy, interval);
        let lowest = floor(self.policy, interval).min(cap);
        let need = if self.measured > self.policy.trust_after {
            lowest
        } else {
            match need {
                Some(need) => need,
                None => return false,
            }
        };
        let target = need.max(lowest).min(cap);
        let next = if target >= self.value {
            target
        } else {
            mul(self.value, self.policy.narrow).max(target)
        };
        let changed = next != self.value;
        self.value = next;
        changed
    }

    /// True when a 429 can still be absorbed by widening the spacing: the
    /// margin is enabled, below its cap for sends `interval` apart, and
    /// that cap is above the least margin after a 429 (`step`). Where the
    /// cap is below it (above 16.7 req/s by default), the margin cannot
    /// cover the send-to-arrival jitter it is meant for, and a first 429
    /// would only widen the spacing by a tenth for hundreds of sends.
    pub fn can_absorb(&self, interval: Duration) -> bool {
        self.enabled && self.value < cap(self.policy, interval) && self.can_cover(interval)
    }

    /// True when sends `interval` apart leave the margin room to cover the
    /// send-to-arrival jitter at all: its cap is above the least margin
    /// after a 429 (`step`), up to 16.7 req/s by default.
    pub fn can_cover(&self, interval: Duration) -> bool {
        cap(self.policy, interval) > self.policy.step
    }

    /// Back to the floor for sends `interval` apart: the rate itself now
    /// sets the spacing (see [`super::RateBackoff`]).
    pub fn reset(&mut self, interval: Duration) {
        self.value = floor(self.policy, interval);
        self.streak = 0;
    }

    /// The server counts requests per window, not their spacing (it says
    /// so in its headers): no margin is needed.
    pub fn disable(&mut self) {
        self.enabled = false;
    }
}

/// The catch-up allowance is at most this fraction of the interval.
const MAX_CATCH_UP_FRACTION: f64 = 0.1;

/// The margin never goes back within this factor of a width that drew a
/// 429 (25 % over it).
const KNOWN_BAD_CLEARANCE: f64 = 1.25;

/// The margin before anything is measured: the policy's `start` where the
/// cap allows it, else the floor.
fn start(policy: MarginPolicy, interval: Duration) -> Duration {
    if policy.start <= cap(policy, interval) {
        policy
            .start
            .min(mul(interval, policy.start_fraction))
            .max(floor(policy, interval))
    } else {
        floor(policy, interval)
    }
}

/// The least margin: never above [`cap`], whatever the policy says, so that
/// `clamp(floor, cap)` holds for every policy and interval.
fn floor(policy: MarginPolicy, interval: Duration) -> Duration {
    policy
        .initial
        .min(mul(interval, policy.initial_fraction))
        .min(cap(policy, interval))
}

fn cap(policy: MarginPolicy, interval: Duration) -> Duration {
    mul(interval, policy.max_fraction)
}

/// `interval × fraction`, for any fraction (a NaN, negative or huge policy
/// value gives zero or saturates instead of panicking).
fn mul(interval: Duration, fraction: f64) -> Duration {
    Duration::try_from_secs_f64(interval.as_secs_f64() * fraction.max(0.0)).unwrap_or(
        if fraction > 0.0 {
            Duration::MAX
        } else {
            Duration::ZERO
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    const T: Duration = Duration::from_millis(100);

    /// The default policy, but starting at the floor.
    fn from_floor() -> MarginPolicy {
        MarginPolicy {
            start: Duration::ZERO,
            ..MarginPolicy::default()
        }
    }

    #[test]
    fn starts_at_the_usual_jitter_where_the_cap_allows_else_at_the_floor() {
        let m = SafetyMargin::new(MarginPolicy::default(), T);
        assert_eq!(m.value(), Duration::from_millis(6));
        // 16/s: no more than 6 % of the interval until measured.
        let m = SafetyMargin::new(MarginPolicy::default(), Duration::from_micros(62_500));
        assert_eq!(m.value(), Duration::from_micros(3750));
        // 50/s: a cap of 2 ms cannot hold 6 ms of jitter.
        let fast = Duration::from_millis(20);
        let m = SafetyMargin::new(MarginPolicy::default(), fast);
        assert_eq!(m.value(), Duration::from_micros(160));
    }

    #[test]
    fn narrows_to_what_is_measured_and_rises_to_it_at_once() {
        let mut m = SafetyMargin::new(MarginPolicy::default(), T);
        assert!(!m.on_measured(T, None), "nothing measured: stays");
        let need = Some(Duration::from_millis(2));
        assert!(m.on_measured(T, need));
        assert_eq!(
            m.value(),
            Duration::from_micros(5400),
            "a tenth per success"
        );
        for _ in 0..30 {
            m.on_measured(T, need);
        }
        assert_eq!(m.value(), Duration::from_millis(2));
        assert!(m.on_measured(T, Some(Duration::from_millis(9))));
        assert_eq!(m.value(), Duration::from_millis(9));
        m.on_measured(T, Some(Duration::from_millis(40)));
        assert_eq!(m.value(), Duration::from_millis(10), "capped");
    }

    #[test]
    fn after_enough_successes_it_narrows_to_the_floor() {
        let mut m = SafetyMargin::new(MarginPolicy::default(), T);
        let need = Some(Duration::from_millis(3));
        for _ in 0..MarginPolicy::default().trust_after {
            m.on_measured(T, need);
        }
        assert_eq!(m.value(), Duration::from_millis(3));
        for _ in 0..40 {
            m.on_measured(T, need);
        }
        assert_eq!(
            m.value(),
            Duration::from_micros(800),
            "0.8 % of the interval"
        );
    }

    #[test]
    fn after_a_429_measurements_no_longer_move_it() {
        let mut m = SafetyMargin::new(MarginPolicy::default(), T);
        m.on_rate_limited(T); // at 6 ms -> 10 ms (cap)
        assert!(!m.on_measured(T, Some(Duration::ZERO)));
        assert_eq!(m.value(), Duration::from_millis(10));
        let mut off = SafetyMargin::new(MarginPolicy::default(), T);
        off.disable();
        assert!(!off.on_measured(T, Some(Duration::from_millis(9))));
    }

    #[test]
    fn from_the_floor_jumps_to_the_step_doubles_and_is_capped() {
        let mut m = SafetyMargin::new(from_floor(), T);
        assert_eq!(m.value(), Duration::from_micros(800));
        m.on_rate_limited(T);
        assert_eq!(m.value(), Duration::from_millis(6));
        m.on_rate_limited(T);
        assert_eq!(m.value(), Duration::from_millis(10), "10 % of the interval");
    }

    #[test]
    fn decays_slowly_on_successes_down_to_the_floor() {
        let mut m = SafetyMargin::new(from_floor(), T);
        m.on_rate_limited(T);
        for _ in 0..19 {
            assert!(!m.on_success(T));
        }
        assert!(m.on_success(T));
        assert_eq!(m.value(), Duration::from_millis(6).mul_f64(0.95));
        for _ in 0..10_000 {
            m.on_success(T);
        }
        // The first 429 happened at 0.8 ms: only that (× 1.25) is known bad.
        assert_eq!(m.value(), Duration::from_millis(1));
    }

    #[test]
    fn never_decays_back_near_a_margin_that_drew_a_429() {
        let mut m = SafetyMargin::new(from_floor(), T);
        m.on_rate_limited(T); // at 0.8 ms -> 6 ms
        m.on_rate_limited(T); // at 6 ms -> 10 ms (cap)
        for _ in 0..10_000 {
            m.on_success(T);
        }
        assert_eq!(m.value(), Duration::from_micros(7500));
    }

    #[test]
    fn a_margin_started_over_the_cap_is_clamped_and_rescales_without_panic() {
        // A margin learned at 2/s (15 ms) adopted at 50/s (cap 0.8 ms).
        let policy = MarginPolicy {
            max_fraction: 0.04,
            ..MarginPolicy::default()
        };
        let fast = Duration::from_millis(20);
        let mut m = SafetyMargin::starting_at(policy, fast, Duration::from_millis(15));
        assert_eq!(m.value(), Duration::from_micros(800));
        m.rescale(Duration::from_millis(100));
        m.rescale(fast);
        assert_eq!(m.value(), Duration::from_micros(800));
    }

    #[test]
    fn the_floor_is_never_over_the_cap_whatever_the_policy() {
        // An initial margin above the cap: clamp(floor, cap) used to assert.
        let policy = MarginPolicy {
            initial: Duration::from_millis(5),
            initial_fraction: 1.0,
            max_fraction: 0.04,
            ..MarginPolicy::default()
        };
        for interval in [0, 1, 20, 100, 500, 10_000].map(Duration::from_millis) {
            let mut m = SafetyMargin::new(policy, interval);
            m.rescale(interval / 3);
            assert!(m.value() <= interval.mul_f64(0.04), "{interval:?}");
            m.on_rate_limited(interval);
            m.on_success(interval);
        }
    }

    #[test]
    fn disabled_is_zero() {
        let mut m = SafetyMargin::new(MarginPolicy::default(), T);
        m.on_rate_limited(T);
        m.disable();
        assert_eq!(m.value(), Duration::ZERO);
    }
}
