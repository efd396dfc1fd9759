//! The safety margin added to the spacing, learned from 429s (AIMD).
//!
//! A strict leaky bucket (nginx `limit_req` burst 0) refuses a request that
//! *arrives* even 1 ms early, and the delay between a browser's `fetch()`
//! and the server's arrival varies by a few ms. So against such a server
//! sends must be spaced by `1/rate + margin` with the margin at least that
//! jitter. Nothing tells the margin in advance: it starts tiny (a tolerant
//! server loses under 0.5 % of its rate), doubles on each new 429, and decays
//! slowly while answers succeed, so it settles just above what the server
//! tolerates and costs few 429s.

use std::time::Duration;

/// How the margin starts, grows and decays.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct MarginPolicy {
    /// The margin before any 429...
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
    /// Starts at 1 ms (at most 0.4 % of the interval); a 429 raises it to at
    /// least 6 ms (about Chromium's send-to-arrival jitter on loopback) and
    /// doubles it, up to 10 % of the interval; every 20 successes in a row
    /// take 5 % off. Timers may fire 3 ms late (at most 10 % of the
    /// interval) without costing rate.
    fn default() -> Self {
        Self {
            initial: Duration::from_millis(1),
            initial_fraction: 0.004,
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
}

impl SafetyMargin {
    /// The initial margin for sends `interval` apart.
    pub fn new(policy: MarginPolicy, interval: Duration) -> Self {
        Self {
            policy,
            value: floor(policy, interval),
            known_bad: Duration::ZERO,
            streak: 0,
            enabled: true,
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

    /// The catch-up allowance for sends `interval` apart.
    pub fn catch_up(&self, interval: Duration) -> Duration {
        self.policy.catch_up.min(interval.mul_f64(0.1))
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
        let lowest = floor(self.policy, interval).max(self.known_bad.mul_f64(1.25));
        let shrunk = self
            .value
            .mul_f64(self.policy.decay)
            .max(lowest)
            .min(self.value);
        let changed = shrunk != self.value;
        self.value = shrunk;
        changed && self.enabled
    }

    /// True when a 429 can still be absorbed by widening the spacing: the
    /// margin is enabled, below its cap for sends `interval` apart, and
    /// that cap is above the least margin after a 429 (`step`). Where the
    /// cap is below it (above 16.7 req/s by default), the margin cannot
    /// cover the send-to-arrival jitter it is meant for, and a first 429
    /// would only widen the spacing by a tenth for hundreds of sends.
    pub fn can_absorb(&self, interval: Duration) -> bool {
        let cap = cap(self.policy, interval);
        self.enabled && self.value < cap && cap > self.policy.step
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

    #[test]
    fn starts_tiny_jumps_to_the_step_doubles_and_is_capped() {
        let mut m = SafetyMargin::new(MarginPolicy::default(), T);
        assert_eq!(m.value(), Duration::from_micros(400));
        m.on_rate_limited(T);
        assert_eq!(m.value(), Duration::from_millis(6));
        m.on_rate_limited(T);
        assert_eq!(m.value(), Duration::from_millis(10), "10 % of the interval");
    }

    #[test]
    fn decays_slowly_on_successes_down_to_the_floor() {
        let mut m = SafetyMargin::new(MarginPolicy::default(), T);
        m.on_rate_limited(T);
        for _ in 0..19 {
            assert!(!m.on_success(T));
        }
        assert!(m.on_success(T));
        assert_eq!(m.value(), Duration::from_millis(6).mul_f64(0.95));
        for _ in 0..10_000 {
            m.on_success(T);
        }
        // The first 429 happened at 0.4 ms: only that (× 1.25) is known bad.
        assert_eq!(m.value(), Duration::from_micros(500));
    }

    #[test]
    fn never_decays_back_near_a_margin_that_drew_a_429() {
        let mut m = SafetyMargin::new(MarginPolicy::default(), T);
        m.on_rate_limited(T); // at 0.4 ms -> 6 ms
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
