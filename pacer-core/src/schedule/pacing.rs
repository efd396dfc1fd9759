//! When the next send may go: the client's GCRA at the allotted rate (or the
//! server's announced limit, when lower), the learned safety margin, the
//! pool-wide pause after a 429, and the alignment to a fixed-window
//! server's window edges.

use std::time::Duration;

use super::margin::{MarginPolicy, SafetyMargin};
use super::probe::{ProbePolicy, RateProbe};
use crate::gcra::{Gcra, NotUntil, Quota};

/// A pool-wide pause after a 429.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Pause {
    /// When the 429 that started it arrived.
    pub from: Duration,
    /// Nothing is sent before this.
    pub until: Duration,
}

/// What an answer's headers said about the server's limits.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ServerHint {
    /// `X-RateLimit-Limit-Second`: requests per wall-clock second.
    pub per_second: Option<u32>,
    /// `X-RateLimit-Limit-Minute`: requests per wall-clock minute.
    pub per_minute: Option<u32>,
    /// `X-RateLimit-Remaining-Second`.
    pub remaining_second: Option<u32>,
    /// `X-RateLimit-Remaining-Minute`.
    pub remaining_minute: Option<u32>,
    /// `RateLimit-Remaining` (the tightest window, IETF style).
    pub remaining: Option<u32>,
    /// `RateLimit-Reset`: time until that window resets.
    pub reset: Option<Duration>,
    /// Wall-clock time minus the scheduler's clock, so window edges (whole
    /// seconds of wall-clock time) can be found on the scheduler's clock.
    pub wall_offset: Duration,
}

impl ServerHint {
    /// The hint in `headers`, or `None` when they say nothing about limits.
    pub fn from_headers(h: &crate::api::RateHeaders, wall_offset: Duration) -> Option<Self> {
        let hint = Self {
            per_second: h.limit_second,
            per_minute: h.limit_minute,
            remaining_second: h.remaining_second,
            remaining_minute: h.remaining_minute,
            remaining: h.remaining,
            reset: h.reset,
            wall_offset,
        };
        (hint
            != Self {
                wall_offset,
                ..Self::default()
            })
        .then_some(hint)
    }
}

/// The limits the server announced, as Pacer follows them.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct AnnouncedLimit {
    /// Requests per wall-clock second, if announced.
    pub per_second: Option<u32>,
    /// Requests per wall-clock minute, if announced.
    pub per_minute: Option<u32>,
    /// The rate Pacer now paces at.
    pub rate: f64,
    /// True when that is below the user's rate.
    pub lowered: bool,
}

/// The pacing of one run.
#[derive(Clone, Debug)]
pub struct Pacing {
    user: Quota,
    quota: Quota,
    margin: SafetyMargin,
    gcra: Gcra,
    pause: Option<Pause>,
    pauses: usize,
    announced: Option<AnnouncedLimit>,
    wall_offset: Duration,
    probe: Option<RateProbe>,
}

impl Pacing {
    /// Pacing at `quota` with the margin policy.
    pub fn new(quota: Quota, policy: MarginPolicy) -> Self {
        let mut pacing = Self {
            user: quota,
            quota,
            margin: SafetyMargin::new(policy, quota.emission_interval()),
            gcra: Gcra::new(quota),
            pause: None,
            pauses: 0,
            announced: None,
            wall_offset: Duration::ZERO,
            probe: None,
        };
        pacing.apply();
        pacing
    }

    /// The quota in force: the user's, or the server's announced limit if lower.
    pub fn quota(&self) -> Quota {
        self.quota
    }

    /// The safety margin currently added to the spacing.
    pub fn margin(&self) -> Duration {
        self.margin.value()
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

    /// The limit the server announced, once it has.
    pub fn announced(&self) -> Option<AnnouncedLimit> {
        self.announced
    }

    /// Changes the user's rate at once, keeping at least the new spacing from
    /// the last send (a server's announced limits still cap it).
    pub fn set_quota(&mut self, quota: Quota) {
        self.user = quota;
        self.quota = quota;
        if let Some(mut a) = self.announced {
            let rate = limited_rate(quota.rate(), a.per_second, a.per_minute);
            a.rate = rate;
            a.lowered = rate < quota.rate();
            self.announced = Some(a);
            self.quota = capped(quota, rate);
        }
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

    /// An answer's headers, for a request sent at `sent_at`.
    ///
    /// Window limits (per second, per minute) are all honoured: Pacer paces
    /// at the lowest of the user's rate, the per-second limit and the
    /// per-minute limit ÷ 60. The margin is dropped (a window counts
    /// requests, not their spacing), and sends are put mid-way between
    /// window edges so that send-to-arrival jitter never carries one across
    /// an edge. A window with nothing remaining holds every send until it
    /// ends. Returns the announced limits when they are new or changed.
    pub fn on_hint(&mut self, hint: ServerHint, sent_at: Duration) -> Option<AnnouncedLimit> {
        self.hold_for_exhausted_windows(hint, sent_at);
        let per_second = hint.per_second.filter(|n| *n > 0);
        let per_minute = hint.per_minute.filter(|n| *n > 0);
        if per_second.is_none() && per_minute.is_none() {
            return None;
        }
        let rate = limited_rate(self.user.rate(), per_second, per_minute);
        let limit = AnnouncedLimit {
            per_second,
            per_minute,
            rate,
            lowered: rate < self.user.rate(),
        };
        if self.announced == Some(limit) && self.wall_offset == hint.wall_offset {
            return None;
        }
        let changed =
            self.announced.map(|a| (a.per_second, a.per_minute)) != Some((per_second, per_minute));
        self.announced = Some(limit);
        self.wall_offset = hint.wall_offset;
        self.quota = capped(self.user, rate);
        self.margin.disable();
        self.apply();
        changed.then_some(limit)
    }

    /// `Remaining: 0` holds sends until the window of the request ends.
    fn hold_for_exhausted_windows(&mut self, hint: ServerHint, sent_at: Duration) {
        let wall = sent_at + hint.wall_offset;
        let window_end = |length: u64| {
            let index = wall.as_secs() / length;
            Duration::from_secs((index + 1) * length).saturating_sub(hint.wall_offset)
        };
        let mut until = None;
        if hint.remaining_second == Some(0) {
            until = until.max(Some(window_end(1)));
        }
        if hint.remaining_minute == Some(0) {
            until = until.max(Some(window_end(60)));
        }
        if hint.remaining == Some(0) && until.is_none() {
            until = hint.reset.map(|r| sent_at + r);
        }
        if let Some(until) = until {
            self.gcra.hold_until(until);
        }
    }

    /// Probes for an unknown limit from the current rate (`None`: stop).
    pub fn set_probe(&mut self, policy: Option<ProbePolicy>) {
        self.probe = policy.map(|p| RateProbe::new(self.user.rate(), p));
    }

    /// The probe, when the rate is "auto".
    pub fn probe(&self) -> Option<&RateProbe> {
        self.probe.as_ref()
    }

    /// A success at `now`: the margin may shrink a little, a probing rate grows.
    pub fn on_success(&mut self, now: Duration) {
        if let Some(probe) = &mut self.probe {
            let rate = probe.on_success(now);
            self.set_user_rate(rate);
        } else if self.margin.on_success(self.quota.emission_interval()) {
            self.apply();
        }
    }

    fn set_user_rate(&mut self, rate: f64) {
        if let Some(q) = Quota::per_second(rate) {
            self.set_quota(q.with_burst(self.user.burst()));
        }
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
        match &mut self.probe {
            // Probing: the 429 says the rate is too high, not the spacing too tight.
            Some(probe) => {
                let rate = probe.on_rate_limited();
                self.set_user_rate(rate);
            }
            None => {
                self.margin.on_rate_limited(self.quota.emission_interval());
                self.apply();
            }
        }
        let until = now + retry_after.unwrap_or(self.gcra.interval());
        self.pause = Some(Pause { from: now, until });
        self.pauses += 1;
        self.gcra.hold_until(until);
        true
    }

    fn apply(&mut self) {
        let interval = self.quota.emission_interval();
        self.margin.rescale(interval);
        let spacing = interval + self.margin.value();
        self.gcra.set_interval(spacing, self.quota.burst());
        // Edges matter only when the windows are full, i.e. when pacing at the
        // per-second limit. Below it (a lower user rate, an auto rate still
        // ramping up) there is slack, and re-anchoring the grid on every rate
        // change would delay each send by up to a slot.
        let at_window_limit = self
            .announced
            .and_then(|a| a.per_second)
            .is_some_and(|n| self.quota.rate() >= f64::from(n) * 0.999);
        let grid = at_window_limit.then(|| mid_window_anchor(spacing, self.wall_offset));
        // On the grid, a late send keeps its slot for up to a quarter of the
        // spacing (still well inside its window). With only the bare catch-up
        // allowance, a timer firing 3 ms late snapped to the *next* slot,
        // whose timer fired late again: the run crawled (0.57 of the rate).
        let catch_up = match grid {
            Some(_) => interval / 4,
            None => self.margin.catch_up(interval),
        };
        self.gcra.set_catch_up(catch_up);
        self.gcra.set_grid(grid);
    }
}

/// The lowest of `user`, `per_second` and `per_minute` ÷ 60.
fn limited_rate(user: f64, per_second: Option<u32>, per_minute: Option<u32>) -> f64 {
    let second = per_second.map_or(f64::INFINITY, f64::from);
    let minute = per_minute.map_or(f64::INFINITY, |n| f64::from(n) / 60.0);
    user.min(second).min(minute)
}

/// `quota` at no more than `rate`.
fn capped(quota: Quota, rate: f64) -> Quota {
    let rate = quota.rate().min(rate);
    Quota::per_second(rate).map_or(quota, |q| q.with_burst(quota.burst()))
}

/// A point on the scheduler's clock that is half a spacing past a whole
/// wall-clock second: sends on the grid through it sit mid-slot.
fn mid_window_anchor(spacing: Duration, wall_offset: Duration) -> Duration {
    let second = 1_000_000_000i128;
    let phase =
        (spacing.as_nanos() as i128 / 2 - wall_offset.as_nanos() as i128).rem_euclid(second);
    Duration::from_nanos(phase as u64)
}

#[cfg(test)]
mod tests;
