//! When the next send may go: the client's GCRA at the allotted rate (or the
//! server's announced limit, when lower), the learned safety margin, the
//! pool-wide pause after a 429, and the alignment to a fixed-window
//! server's window edges.

use std::time::Duration;

use super::margin::{MarginPolicy, SafetyMargin};
use crate::gcra::{Gcra, NotUntil, Quota};

/// A pool-wide pause after a 429.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Pause {
    /// When the 429 that started it arrived.
    pub from: Duration,
    /// Nothing is sent before this.
    pub until: Duration,
}

/// What an answer's headers said about the server's limit.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ServerHint {
    /// `X-RateLimit-Limit-Second`: requests per wall-clock second.
    pub per_second: Option<u32>,
    /// Wall-clock time minus the scheduler's clock, so window edges (whole
    /// seconds of wall-clock time) can be found on the scheduler's clock.
    pub wall_offset: Duration,
}

/// A limit the server announced and Pacer adopted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AnnouncedLimit {
    /// Requests per second.
    pub per_second: u32,
    /// True when it is below the user's rate, so Pacer slowed down to it.
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
    /// the last send (a server's announced limit still caps it).
    pub fn set_quota(&mut self, quota: Quota) {
        self.user = quota;
        self.quota = match self.announced {
            Some(a) => capped(quota, a.per_second),
            None => quota,
        };
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

    /// An answer's headers. A per-second window limit is adopted when lower
    /// than the user's rate; the margin is dropped (a window counts requests,
    /// not their spacing); and sends are put mid-way between window edges so
    /// that send-to-arrival jitter never carries one across an edge.
    /// Returns the announced limit when it is new or changed.
    pub fn on_hint(&mut self, hint: ServerHint) -> Option<AnnouncedLimit> {
        let per_second = hint.per_second.filter(|n| *n > 0)?;
        let lowered = f64::from(per_second) < self.user.rate();
        let limit = AnnouncedLimit {
            per_second,
            lowered,
        };
        if self.announced == Some(limit) && self.wall_offset == hint.wall_offset {
            return None;
        }
        let changed = self.announced != Some(limit);
        self.announced = Some(limit);
        self.wall_offset = hint.wall_offset;
        self.quota = capped(self.user, per_second);
        self.margin.disable();
        self.apply();
        changed.then_some(limit)
    }

    /// A success: the margin may shrink a little.
    pub fn on_success(&mut self) {
        if self.margin.on_success(self.quota.emission_interval()) {
            self.apply();
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
        self.margin.on_rate_limited(self.quota.emission_interval());
        self.apply();
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
        let grid = self
            .announced
            .map(|_| mid_window_anchor(spacing, self.wall_offset));
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

/// `quota` at no more than `per_second`.
fn capped(quota: Quota, per_second: u32) -> Quota {
    let rate = quota.rate().min(f64::from(per_second));
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
