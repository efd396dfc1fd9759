//! Whether to ask Redis: while it answers, always; once it fails, the
//! proxy paces alone and probes it once per probe period; once a probe
//! answers, the proxy keeps pacing alone (granting no local slot past
//! that point) until a switch time a little later, by which every proxy
//! still pacing alone has probed too. Pure: `now` is an argument.

use std::time::Duration;

/// How often a proxy pacing alone tries Redis again.
pub const PROBE_EVERY: Duration = Duration::from_millis(250);
/// From a probe that answers to the switch back to the team's budget: two
/// probe periods, so every proxy with traffic has seen Redis back too.
pub const RETURN_AFTER: Duration = Duration::from_millis(500);

/// Where the next decision is made.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Route {
    /// By the team's budget in Redis.
    Redis,
    /// Probe Redis first (this request alone), then ask again.
    Probe,
    /// By this proxy alone; with `until`, no local slot past it (the
    /// switch back to Redis).
    Local {
        /// The switch time, if Redis is back.
        until: Option<Duration>,
    },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    Up,
    Down { last_try: Duration },
    Returning { switch_at: Duration },
}

/// Redis's health as one proxy sees it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Health(State);

impl Default for Health {
    fn default() -> Health {
        Health(State::Up)
    }
}

impl Health {
    /// Where to decide a request at `now`.
    pub fn route(&mut self, now: Duration) -> Route {
        match self.0 {
            State::Up => Route::Redis,
            State::Down { last_try } if now.saturating_sub(last_try) >= PROBE_EVERY => {
                self.0 = State::Down { last_try: now };
                Route::Probe
            }
            State::Down { .. } => Route::Local { until: None },
            State::Returning { switch_at } if now >= switch_at => {
                self.0 = State::Up;
                Route::Redis
            }
            State::Returning { switch_at } => Route::Local {
                until: Some(switch_at),
            },
        }
    }

    /// Redis failed at `now`; true when it had been answering until then.
    pub fn failed(&mut self, now: Duration) -> bool {
        let was_up = self.0 == State::Up;
        self.0 = State::Down { last_try: now };
        was_up
    }

    /// A probe answered at `now`: back on Redis after [`RETURN_AFTER`].
    pub fn probed(&mut self, now: Duration) {
        if let State::Down { .. } = self.0 {
            self.0 = State::Returning {
                switch_at: now + RETURN_AFTER,
            };
        }
    }

    /// Whether Redis is answering (heartbeats are sent only then).
    pub fn is_up(&self) -> bool {
        self.0 == State::Up
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: fn(u64) -> Duration = Duration::from_millis;

    #[test]
    fn down_probes_once_per_period_then_returns_after_a_settling_time() {
        let mut h = Health::default();
        assert_eq!(h.route(MS(0)), Route::Redis);
        assert!(h.failed(MS(10)));
        assert!(!h.failed(MS(11)), "already down");
        assert_eq!(h.route(MS(100)), Route::Local { until: None });
        assert_eq!(h.route(MS(261)), Route::Probe);
        assert_eq!(
            h.route(MS(262)),
            Route::Local { until: None },
            "one probe at a time"
        );
        h.probed(MS(300));
        assert!(!h.is_up());
        assert_eq!(
            h.route(MS(400)),
            Route::Local {
                until: Some(MS(800))
            }
        );
        assert_eq!(h.route(MS(800)), Route::Redis);
        assert!(h.is_up());
        // A failure while returning goes back to probing.
        let mut h = Health::default();
        h.failed(MS(0));
        assert_eq!(h.route(MS(250)), Route::Probe);
        h.probed(MS(250));
        assert!(!h.failed(MS(300)));
        assert_eq!(h.route(MS(301)), Route::Local { until: None });
    }
}
