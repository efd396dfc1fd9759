//! Finding an unknown limit ("auto" rate): additive increase while answers
//! succeed, multiplicative decrease on a 429 (AIMD), like TCP's congestion
//! control. Pure: time comes in as arguments.
//!
//! Before the first 429 the rate grows by a fixed fraction per second of
//! successes (a "slow start"); after it, by a small fraction of the rate
//! that drew the 429, so the rate saw-tooths just under the limit.

use std::time::Duration;

/// The probe's constants.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ProbePolicy {
    /// Growth per second before any 429, as a fraction of the rate.
    pub slow_start: f64,
    /// Growth per second after a 429, as a fraction of the rate that drew it.
    pub increase: f64,
    /// The rate is multiplied by this on each new 429.
    pub decrease: f64,
    /// The rate never goes below this (requests per second).
    pub floor: f64,
}

impl Default for ProbePolicy {
    /// +20 %/s at first; then +1.5 % of the last limit per second; ×0.9 per 429.
    fn default() -> Self {
        Self {
            slow_start: 0.20,
            increase: 0.015,
            decrease: 0.90,
            floor: 0.05,
        }
    }
}

/// The probing state of one run.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RateProbe {
    policy: ProbePolicy,
    rate: f64,
    peak: Option<f64>,
    last: Option<Duration>,
}

impl RateProbe {
    /// Probing upward from `start` requests per second.
    pub fn new(start: f64, policy: ProbePolicy) -> Self {
        Self {
            policy,
            rate: start.max(policy.floor),
            peak: None,
            last: None,
        }
    }

    /// The rate to pace at now.
    pub fn rate(&self) -> f64 {
        self.rate
    }

    /// The rate at the latest 429, the best guess of the limit.
    pub fn peak(&self) -> Option<f64> {
        self.peak
    }

    /// A success at `now`: grow in proportion to the time since the last one.
    pub fn on_success(&mut self, now: Duration) -> f64 {
        let dt = self
            .last
            .map_or(0.0, |t| now.saturating_sub(t).as_secs_f64().min(1.0));
        self.last = Some(now);
        self.rate += match self.peak {
            None => self.rate * self.policy.slow_start * dt,
            Some(peak) => peak * self.policy.increase * dt,
        };
        self.rate
    }

    /// Never below `floor` (requests per second): back up to it if lower.
    pub fn raise_to(&mut self, floor: f64) -> f64 {
        self.rate = self.rate.max(floor);
        self.rate
    }

    /// A new 429 (one per pool pause): back off.
    pub fn on_rate_limited(&mut self) -> f64 {
        self.peak = Some(self.rate);
        self.rate = (self.rate * self.policy.decrease).max(self.policy.floor);
        self.rate
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grows_while_succeeding_and_backs_off_on_a_429() {
        let mut p = RateProbe::new(2.0, ProbePolicy::default());
        let mut now = Duration::ZERO;
        for _ in 0..10 {
            now += Duration::from_millis(500);
            p.on_success(now);
        }
        assert!(
            (p.rate() - 2.0 * 1.1f64.powi(9)).abs() < 1e-9,
            "slow start: {}",
            p.rate()
        );
        let before = p.rate();
        assert_eq!(p.on_rate_limited(), before * 0.9);
        let after = p.rate();
        now += Duration::from_secs(1);
        p.on_success(now);
        assert!((p.rate() - (after + before * 0.015)).abs() < 1e-9);
    }
}
