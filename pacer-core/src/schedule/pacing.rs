//! When the next send may go: the client's GCRA at the allotted rate (or the
//! server's announced limit, when lower, or the rate the backoff brought it
//! down to), the learned safety margin, the pool-wide pause after a 429, and
//! the alignment to a fixed-window server's window edges.

use std::time::Duration;

use super::backoff::{BackoffPolicy, HeldBy, RateBackoff};
use super::grid::GridAligner;
use super::history::SendHistory;
use super::jitter::JitterEstimate;
use super::margin::{MarginPolicy, SafetyMargin};
use super::probe::{ProbePolicy, RateProbe};
use super::team_share::{TeamAnswer, TeamShare};
use super::window_hint::{WindowBinding, WindowName};
use crate::gcra::{Gcra, NotUntil, Quota};

/// Where the margin cannot cover the way's jitter, the least gap between
/// two timed sends as a fraction of the spacing (see
/// [`Pacing::min_send_gap`]).
pub const FAST_GAP_FRACTION: f64 = 0.5;

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
    /// The announced window of any dialect that binds the rate (see
    /// [`ServerHint::read`]).
    pub window: Option<WindowBinding>,
    /// A quota ran out: nothing may be sent for this long after the answer.
    pub quota_wait: Option<Duration>,
    /// ...and the window that ran out, when one said so.
    pub quota_window: Option<WindowName>,
    /// A team-budget proxy's spacing between the team's requests (one over
    /// its rate): no page behind it needs to send faster.
    pub team_interval: Option<Duration>,
    /// How long the proxy held this request for its slot.
    pub team_hold: Option<Duration>,
    /// How many proxies share the team's budget, when the proxy said.
    pub team_proxies: Option<u32>,
    /// The answer announced windows of the server's limits (any dialect):
    /// when none of them binds the rate, a window that bound before no
    /// longer does (a quota no longer spread, a window since widened).
    pub speaks_windows: bool,
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
            ..Self::default()
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
    /// The rate the limits allow (the lowest of them and the user's rate);
    /// Pacer paces at this, or lower if 429s still brought its rate down.
    pub rate: f64,
    /// True when that is below the user's rate.
    pub lowered: bool,
    /// The announced window that binds, when it is not Kong's second or
    /// minute (or allows less than they do).
    pub window: Option<WindowBinding>,
}

/// The pacing of one run.
#[derive(Clone, Debug)]
pub struct Pacing {
    user: Quota,
    quota: Quota,
    margin: SafetyMargin,
    gcra: Gcra,
    /// Puts the GCRA's sends on the mid-window grid, while at a window limit.
    aligner: GridAligner,
    pause: Option<Pause>,
    pauses: usize,
    announced: Option<AnnouncedLimit>,
    wall_offset: Duration,
    probe: Option<RateProbe>,
    backoff: RateBackoff,
    history: SendHistory,
    /// The current storm of 429s (refusals of the first send after a
    /// pause) has already been read for the server's admitted rate.
    storm_read: bool,
    /// At an announced window limit: the anchor of the mid-window grid.
    grid: Option<Duration>,
    /// The run's first send.
    first_send: Option<Duration>,
    /// The most the server let through (see [`Pacing::admitted_floor`]).
    admitted_peak: f64,
    /// ...measured over the pool's window, not the first seconds'.
    admitted_settled: bool,
    /// The rate of the team budget a proxy holds the requests to, if any.
    team: Option<f64>,
    /// This page's share of it, learnt from the proxy's holds.
    team_share: TeamShare,
    /// What the run measured of its send-to-arrival jitter, for the margin.
    jitter: JitterEstimate,
}

impl Pacing {
    /// Pacing at `quota` with the margin policy.
    pub fn new(quota: Quota, policy: MarginPolicy) -> Self {
        let mut pacing = Self {
            user: quota,
            quota,
            margin: SafetyMargin::new(policy, quota.emission_interval()),
            gcra: Gcra::new(quota),
            aligner: GridAligner::default(),
            pause: None,
            pauses: 0,
            announced: None,
            wall_offset: Duration::ZERO,
            probe: None,
            backoff: RateBackoff::new(BackoffPolicy::default()),
            history: SendHistory::default(),
            storm_read: false,
            grid: None,
            first_send: None,
            admitted_peak: 0.0,
            admitted_settled: false,
            team: None,
            team_share: TeamShare::default(),
            jitter: JitterEstimate::default(),
        };
        pacing.apply();
        pacing
    }

    /// The quota in force, the rate Pacer paces at now: the user's (or the
    /// auto rate's), capped by the server's announced limits and, at a fixed
    /// rate, by the backoff after 429s the margin could not absorb.
    pub fn quota(&self) -> Quota {
        self.quota
    }

    /// The fixed rate's backoff (see [`RateBackoff`]).
    pub fn backoff(&self) -> &RateBackoff {
        &self.backoff
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
    /// the last send (a server's announced limits still cap it, and so does
    /// a rate the backoff brought lower: the server's limit did not change).
    pub fn set_quota(&mut self, quota: Quota) {
        if self.backoff.rate().is_some_and(|b| b >= self.ceiling()) {
            // The backoff limited nothing: the new rate applies as it is.
            self.backoff = RateBackoff::new(BackoffPolicy::default());
        }
        self.user = quota;
        if let Some(mut a) = self.announced {
            let rate = limited_rate(quota.rate(), a.per_second, a.per_minute, a.window);
            a.rate = rate;
            a.lowered = rate < quota.rate();
            self.announced = Some(a);
        }
        self.refresh();
    }

    /// The rate in force without the backoff: the user's, capped by the
    /// announced limits and this page's share of a team budget. The
    /// backoff's ceiling.
    fn ceiling(&self) -> f64 {
        let announced = self.announced.map_or(self.user.rate(), |a| a.rate);
        let team = self.team_share.share().or(self.team);
        team.map_or(announced, |team| announced.min(team))
    }

    /// The rate of the team budget the requests are held to, once a
    /// proxy said so.
    pub fn team_rate(&self) -> Option<f64> {
        self.team
    }

    /// This page's share of the team budget, while the proxy's holds say
    /// the pages behind it ask for more than the team's rate.
    pub fn team_share(&self) -> Option<f64> {
        self.team_share.share()
    }

    /// An answer came back through a team-budget proxy: this page's share
    /// follows (see [`TeamShare`]).
    pub fn on_team_answer(&mut self, answer: TeamAnswer) {
        if self.team_share.on_answer(answer) {
            self.refresh();
        }
    }

    /// Recomputes the quota in force and applies it.
    fn refresh(&mut self) {
        let mut rate = self.ceiling();
        if self.probe.is_none() {
            rate = self.backoff.rate().map_or(rate, |b| b.min(rate));
        }
        self.quota = capped(self.user, rate);
        self.apply();
    }

    /// The earliest instant a send may go.
    pub fn earliest(&self, now: Duration) -> Duration {
        self.aligner.earliest(&self.gcra, now)
    }

    /// Takes permission to send at `now`.
    pub fn check(&mut self, now: Duration) -> Result<(), NotUntil> {
        if self.grid.is_some() {
            // Windows fill only while the sends go at the rate; while the
            // pool holds them back, waiting for a grid point only delays them.
            self.align(if self.sends_reach(now, ALIGN_SHARE) {
                Alignment::OnGrid
            } else {
                Alignment::Free
            });
        }
        self.aligner.check(&mut self.gcra, now)?;
        self.first_send.get_or_insert(now);
        let keep = self.history_span();
        self.history.on_send(now, keep);
        Ok(())
    }

    /// How far back the rate the server admitted is measured: a second (a
    /// Kong window) or [`ESTIMATE_SENDS`] sends, whichever is longer.
    fn estimate_window(&self) -> Duration {
        (self.gcra.interval() * ESTIMATE_SENDS).max(ESTIMATE_SPAN)
    }

    /// How far back the pool's sends are measured: [`POOL_SPAN`] or
    /// [`POOL_SENDS`] sends, whichever is longer.
    fn pool_window(&self) -> Duration {
        (self.gcra.interval() * POOL_SENDS).max(POOL_SPAN)
    }

    /// How far back sends are remembered.
    fn history_span(&self) -> Duration {
        self.pool_window() * HISTORY_POOL_WINDOWS
    }

    /// True when the rate, not the pool of workers, holds the sends back
    /// at `now`: over the pool's window they went at [`BINDING_SHARE`] of
    /// it or more.
    pub(super) fn rate_is_binding(&self, now: Duration) -> bool {
        self.sends_reach(now, BINDING_SHARE)
    }

    /// True when over the pool's window up to `now` sends went at `share`
    /// of the rate or more.
    fn sends_reach(&self, now: Duration, share: f64) -> bool {
        let rate = 1.0 / self.gcra.interval().as_secs_f64();
        self.history.rate_is_binding(
            now,
            self.pool_window() / BINDING_WINDOW_DIVISOR,
            rate,
            share,
        )
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
    ///
    /// A team budget's rate caps the rate too: the proxy would only hold
    /// whatever comes faster. It is not a window (the proxy spaces the
    /// requests itself), so it moves neither the margin nor the grid.
    pub fn on_hint(&mut self, hint: ServerHint, sent_at: Duration) -> Option<AnnouncedLimit> {
        self.hold_for_exhausted_windows(hint, sent_at);
        let team = hint
            .team_interval
            .filter(|i| !i.is_zero())
            .map(|i| 1.0 / i.as_secs_f64());
        if team.is_some() && team != self.team {
            self.team = team;
            self.refresh();
        }
        let per_second = hint.per_second.filter(|n| *n > 0);
        let per_minute = hint.per_minute.filter(|n| *n > 0);
        // Kong's second and minute are read as such; another window is
        // kept when it allows less than they do.
        let kong = limited_rate(f64::INFINITY, per_second, per_minute, None);
        let window = hint
            .window
            .filter(|w| w.rate() < kong * (1.0 - RATE_EPSILON));
        if per_second.is_none() && per_minute.is_none() && window.is_none() {
            // The server still speaks of its windows, and none binds: the
            // rate that one bound before (a spread quota, say) goes.
            if hint.speaks_windows && self.announced.take().is_some() {
                self.refresh();
            }
            return None;
        }
        let rate = limited_rate(self.user.rate(), per_second, per_minute, window);
        let limit = AnnouncedLimit {
            per_second,
            per_minute,
            rate,
            lowered: rate < self.user.rate(),
            window,
        };
        if self.announced == Some(limit) && self.wall_offset == hint.wall_offset {
            return None;
        }
        // New news: other limits, another window binding, or a spread
        // quota's rate moved by a tenth (it moves with every answer).
        let named = |a: &AnnouncedLimit| {
            (
                a.per_second,
                a.per_minute,
                a.window.map(|w| (w.name, w.spread.is_some())),
            )
        };
        let changed = self.announced.is_none_or(|a| {
            named(&a) != named(&limit) || (a.rate - rate).abs() > a.rate * SPREAD_NEWS
        });
        self.announced = Some(limit);
        self.wall_offset = hint.wall_offset;
        self.margin.disable();
        self.refresh();
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

    /// Probes for an unknown limit from the current rate (`None`: stop, and
    /// keep the rate reached as the fixed rate). Either way the fixed rate's
    /// backoff starts afresh.
    pub fn set_probe(&mut self, policy: Option<ProbePolicy>) {
        let start = self
            .backoff
            .rate()
            .map_or(self.user.rate(), |b| b.min(self.user.rate()));
        self.probe = policy.map(|p| RateProbe::new(start, p));
        if self.probe.is_some() {
            self.user = capped(self.user, start);
        }
        self.backoff = RateBackoff::new(BackoffPolicy::default());
        self.refresh();
    }

    /// The 429s heard so far were not the rate's (a concurrency cap
    /// explained them): the rate they brought down comes back. The margin
    /// they widened stays, narrowing as usual; a pause in progress ends
    /// by itself.
    pub fn forget_rate_refusals(&mut self) {
        self.backoff = RateBackoff::new(BackoffPolicy::default());
        self.refresh();
    }

    /// The probe, when the rate is "auto".
    pub fn probe(&self) -> Option<&RateProbe> {
        self.probe.as_ref()
    }

    /// The least gap a transport that times its sends must keep between
    /// a send's timer and the one before it, whatever their planned
    /// instants. Sends handed over ahead are planned before the one before
    /// them went; when that one goes late, the next one still on its plan
    /// would reach a strict server too soon after it.
    ///
    /// The page's own rule for its plan: the spacing less the catch-up
    /// (never below `1/rate`), so a timer late by no more than the
    /// catch-up keeps the schedule, and one later than that pushes the
    /// next send back by the excess. A gap measured from the send's
    /// instant instead made each worker timer's millisecond drift the
    /// whole run. Zero when the pacing lets sends burst (the gap is then
    /// not what the server measures).
    ///
    /// Where the interval is too short for the margin to cover the way's
    /// jitter (see [`SafetyMargin::can_cover`]), a gap of the whole
    /// interval protects no strict server, and each late timer would only
    /// cost rate (an eighth of it at 100/s and more, where the worker's
    /// thread also reads a hundred answers a second). There it is half the
    /// spacing ([`FAST_GAP_FRACTION`]): late sends catch up at twice the
    /// rate, and a stalled worker's overdue sends still go one by one, not
    /// in a burst that outruns the server's.
    pub fn min_send_gap(&self) -> Duration {
        if !self.gcra.tolerance().is_zero() {
            return Duration::ZERO;
        }
        if !self.margin.can_cover(self.quota.emission_interval()) {
            return self.gcra.interval().mul_f64(FAST_GAP_FRACTION);
        }
        let spacing = self.gcra.interval();
        let bare = self.quota.emission_interval().min(spacing);
        spacing.saturating_sub(self.gcra.catch_up()).max(bare)
    }

    /// A send taken for `due` went at `sent`: its lateness is measured for
    /// the margin, and a send later than the catch-up allows keeps the
    /// next one a spacing away from it (a strict server measures the gap
    /// between arrivals, not between plans).
    ///
    /// Only sends that a transport timed are heard here, and such a
    /// transport keeps the next send [`Pacing::min_send_gap`] from this
    /// one: lateness up to the catch-up keeps the schedule, and past it
    /// pushes the next send back. So it counts as jitter only up to the
    /// catch-up (a send held up 13 ms at Start says nothing of the run's
    /// jitter, and would widen the margin to its cap).
    pub fn on_sent(&mut self, due: Duration, sent: Duration) {
        let late = sent.saturating_sub(due);
        let catch_up = self.margin.catch_up(self.quota.emission_interval());
        self.jitter.on_sent(late.min(catch_up));
        if late > catch_up {
            self.gcra.hold_until(sent + self.gcra.interval());
        }
    }

    /// A send taken for `due` and handed to a transport ahead of its
    /// instant was taken back before it went (a 429's pause, a quota that
    /// ran out), as was every send taken after it: its slot is free again,
    /// so the sends after a pause go from its end, not after the slots of
    /// sends that never went. No hold (the pause, a full window) moves.
    pub fn on_withdrawn(&mut self, due: Duration) {
        self.history.forget_send(due);
        self.gcra.give_back(due);
    }

    /// A request was answered `took` after it went: the spread of answer
    /// times bounds how much the way in varies, for the margin.
    pub fn on_answer_time(&mut self, took: Duration) {
        self.jitter.on_answer(took);
    }

    /// A success at `now`: the margin follows the jitter measured (or
    /// shrinks a little), a probing rate grows, a backed-off fixed rate
    /// climbs back.
    pub fn on_success(&mut self, now: Duration) {
        if let Some(probe) = &mut self.probe {
            let rate = probe.on_success(now);
            self.set_user_rate(rate);
            return;
        }
        let interval = self.quota.emission_interval();
        let mut shrunk = self.margin.on_success(interval);
        let need = self.jitter.bound(self.margin.usual_jitter());
        shrunk |= self.margin.on_measured(interval, need);
        let held_by = if self.rate_is_binding(now) {
            HeldBy::Rate
        } else {
            HeldBy::Pool
        };
        let climbed = self.backoff.on_success(now, self.ceiling(), held_by);
        if shrunk || climbed {
            self.refresh();
        }
    }

    /// A rate the probe computed, within the quota's bounds.
    fn set_user_rate(&mut self, rate: f64) {
        if !rate.is_nan() {
            self.set_quota(Quota::clamped(rate).with_burst(self.user.burst()));
        }
    }

    /// A 429 arrived at `now` for a request sent at `sent_at`. Only a request
    /// sent after the latest pause began is new evidence: the others were
    /// already on the wire, so they neither pause the pool again nor grow the
    /// margin. Returns whether this 429 started a pause.
    ///
    /// At a fixed rate the margin grows first; once it cannot (at its cap,
    /// disabled under an announced window, or with a cap under its first
    /// step, above 16.7 req/s) the limit is below the rate, and the backoff
    /// ([`RateBackoff`]) takes over the spacing and brings the rate down. If the
    /// request was the first sent after the latest pause, the pause was too
    /// short (a window still full, a bucket not yet drained): the rate has
    /// already reacted to that 429, so without `Retry-After` the pause
    /// doubles (up to a second, or one spacing if longer); once per such
    /// storm, the rate comes down to what the saturated server admitted
    /// lately, if clearly lower (at most halving it).
    pub fn on_rate_limited(
        &mut self,
        sent_at: Duration,
        now: Duration,
        retry_after: Option<Duration>,
    ) -> bool {
        self.on_refused(sent_at, now, retry_after, Refusal::Spacing)
    }

    /// A network error taken for a 429 without CORS headers (see
    /// [`super::AttemptResult::MaybeRateLimited`]) arrived at `now` for a
    /// request sent at `sent_at`: as [`Pacing::on_rate_limited`] without
    /// `Retry-After` (one pool-wide pause, the fixed rate's backoff or the
    /// auto rate's decrease), with two differences, since it may be a
    /// dropped connection after all:
    ///
    /// - At a fixed rate the backoff ([`RateBackoff`]) reacts at once, not
    ///   the safety margin first. The margin absorbs the send-to-arrival
    ///   jitter that makes a strict bucket refuse one early arrival now and
    ///   then, and remembers the width that drew a 429 as too small for
    ///   good: network errors taken for 429s would ratchet it up for the
    ///   rest of the run. Errors frequent enough to be taken for 429s say
    ///   that a share of the sends is refused: the rate is over the limit.
    /// - The rate never comes below what the server has been seen to let
    ///   through ([`Pacing::admitted_floor`]): a limit admits at least that
    ///   much, and network errors that keep coming whatever the rate would
    ///   otherwise bring it down step by step to nothing. At that floor
    ///   such an error changes nothing (no pause either).
    ///
    /// Returns whether it started a pause.
    pub fn on_maybe_rate_limited(&mut self, sent_at: Duration, now: Duration) -> bool {
        let floor = self.admitted_floor();
        let current = self
            .probe
            .as_ref()
            .map_or(self.quota.rate(), RateProbe::rate);
        if current <= floor * (1.0 + RATE_EPSILON) {
            self.history.on_rejected(sent_at);
            return false;
        }
        let paused = self.on_refused(sent_at, now, None, Refusal::Opaque);
        match &mut self.probe {
            Some(probe) if probe.rate() < floor => {
                let rate = probe.raise_to(floor);
                self.set_user_rate(rate);
            }
            Some(_) => {}
            None => {
                if self.backoff.raise_to(floor) {
                    self.refresh();
                }
            }
        }
        paused
    }

    /// A network error for a request sent at `sent_at` that may be a 429
    /// without CORS headers but is not taken for one (too rare): only
    /// remembered as a send the server did not answer, for
    /// [`Pacing::admitted_floor`].
    pub fn on_unreadable(&mut self, sent_at: Duration) {
        self.history.on_rejected(sent_at);
    }

    /// A request sent at `sent_at` succeeded: measures what the server
    /// lets through, for [`Pacing::admitted_floor`].
    pub fn on_admitted(&mut self, sent_at: Duration) {
        let Some(first) = self.first_send else {
            return;
        };
        let long = self.pool_window();
        let short = self.estimate_window();
        // Not over the run's first second: a fixed window the run started
        // in the middle of, or a bucket's burst, let more through than the
        // limit for a moment. Then over the pool's window once it can be;
        // until then over a second or 20 sends (the most seen so far).
        if sent_at >= first + ADMITTED_SKIP + long {
            let sends = (long.as_secs_f64() / self.gcra.interval().as_secs_f64()) as usize;
            let min = (sends / ADMITTED_SHARE_DIVISOR).max(ADMITTED_MIN_SENDS);
            if let Some(a) = self.history.admitted(sent_at, long, min) {
                let early = !std::mem::replace(&mut self.admitted_settled, true);
                self.admitted_peak = if early { a } else { self.admitted_peak.max(a) };
            }
        } else if !self.admitted_settled && sent_at >= first + ADMITTED_SKIP + short {
            if let Some(a) = self.history.admitted(sent_at, short, ADMITTED_MIN_SENDS) {
                self.admitted_peak = self.admitted_peak.max(a);
            }
        }
    }

    /// The least rate network errors taken for 429s may bring the rate
    /// down to: `hold` × the most the server was seen to let through over
    /// the pool's window (four seconds or 80 sends) after the run's first
    /// second; before that can be measured, over a second (or 20 sends).
    /// 0 until measured.
    pub fn admitted_floor(&self) -> f64 {
        self.admitted_peak * BackoffPolicy::default().hold
    }

    fn on_refused(
        &mut self,
        sent_at: Duration,
        now: Duration,
        retry_after: Option<Duration>,
        refusal: Refusal,
    ) -> bool {
        self.history.on_rejected(sent_at);
        self.backoff.on_refused();
        if self.pause.is_some_and(|p| sent_at < p.from) {
            return false;
        }
        let again = self.pause.filter(|p| {
            self.probe.is_none()
                && sent_at >= p.until
                && self.history.sends_between(p.until, sent_at) == 0
        });
        match (&mut self.probe, again) {
            // Probing: the 429 says the rate is too high, not the spacing too tight.
            (Some(probe), _) => {
                let rate = probe.on_rate_limited();
                self.set_user_rate(rate);
            }
            (None, Some(_)) => {
                if !std::mem::replace(&mut self.storm_read, true) {
                    self.on_saturated(sent_at, now);
                }
            }
            (None, None) => {
                self.storm_read = false;
                // Told to wait longer than the pacing would anyway: the
                // server is full until then (a window until its end).
                let refusal = match refusal {
                    Refusal::Spacing if retry_after.is_some_and(|d| d > self.gcra.interval()) => {
                        Refusal::Full
                    }
                    other => other,
                };
                self.on_fixed_rate_limited(sent_at, now, refusal);
            }
        }
        let wait = match (retry_after, again) {
            (Some(wait), _) => wait,
            (None, Some(p)) => ((p.until - p.from) * REPEAT_PAUSE_GROWTH)
                .min(self.gcra.interval().max(MAX_REPEAT_PAUSE))
                .max(self.gcra.interval()),
            (None, None) => self.gcra.interval(),
        };
        let until = now + wait;
        self.pause = Some(Pause { from: now, until });
        self.pauses += 1;
        self.gcra.hold_until(until);
        true
    }

    /// A new 429 at a fixed rate, for a request sent at `sent_at`: the
    /// margin grows (for a 429 read as one; see
    /// [`Pacing::on_maybe_rate_limited`] for the others), or once it
    /// cannot, the rate comes down. When the server
    /// said it is full for longer than the spacing ([`Refusal::Full`]), what
    /// it admitted lately measures its limit (no capacity was left unused
    /// waiting). While the pool of workers, not the rate, holds the sends
    /// back, answers coming back in clumps go out at the rate: it comes down
    /// to what is actually sent, which costs nothing.
    fn on_fixed_rate_limited(&mut self, sent_at: Duration, now: Duration, refusal: Refusal) {
        let interval = self.quota.emission_interval();
        let readable = refusal != Refusal::Opaque;
        if readable && self.backoff.rate().is_none() && self.margin.can_absorb(interval) {
            self.margin.on_rate_limited(interval);
            self.apply();
            return;
        }
        let full = refusal == Refusal::Full;
        if (full || !self.rate_is_binding(now)) && self.on_saturated(sent_at, now) {
            return;
        }
        self.backoff.on_rate_limited(self.backoff_rate(), now);
        self.hand_over();
    }

    /// What got through up to a 429 for a request sent at `sent_at`
    /// measures the server's limit (it refused the first send after a pause
    /// too, or said it is full for longer than the spacing), or, while the
    /// pool holds the
    /// sends back, what the pool sends: the rate comes down to it if
    /// clearly lower. True if it did.
    fn on_saturated(&mut self, sent_at: Duration, now: Duration) -> bool {
        // The pool sends in clumps: measure it over a longer stretch. The
        // server's limit, over one window and two: pauses (a storm's own)
        // leave some of a short window unused, and an estimate too low
        // costs far more (time well under the limit) than one too high (a
        // 429, then bisection).
        let windows = if self.rate_is_binding(now) {
            let w = self.estimate_window();
            [w, w * 2]
        } else {
            [self.pool_window(); 2]
        };
        let admitted = windows
            .iter()
            .filter_map(|w| self.history.admitted(sent_at, *w, ADMITTED_MIN_SENDS))
            .reduce(f64::max);
        let before = self.backoff.rate();
        self.backoff
            .on_saturated(self.backoff_rate(), admitted, now);
        let cut = self.backoff.rate() != before;
        if cut {
            self.hand_over();
        }
        cut
    }

    /// The rate the backoff starts from: the rate in force once it has
    /// taken over, and before that the rate actually sent at, margin
    /// included (the margin goes to its floor as it takes over).
    fn backoff_rate(&self) -> f64 {
        match self.backoff.rate() {
            Some(_) => self.quota.rate(),
            None => 1.0 / self.gcra.interval().as_secs_f64(),
        }
    }

    /// The backoff's rate now sets the whole spacing (it was computed from
    /// the rate sent at, margin included): the margin goes to its floor.
    fn hand_over(&mut self) {
        self.margin.reset(self.quota.emission_interval());
        self.refresh();
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
            .is_some_and(|n| self.quota.rate() >= f64::from(n) * AT_LIMIT_SHARE);
        self.grid = at_window_limit.then(|| mid_window_anchor(spacing, self.wall_offset));
        self.align(Alignment::OnGrid);
    }

    /// Puts sends on the mid-window grid (if at an announced window limit)
    /// or frees them from it.
    fn align(&mut self, alignment: Alignment) {
        let interval = self.quota.emission_interval();
        let grid = self.grid.filter(|_| alignment == Alignment::OnGrid);
        let catch_up = match grid {
            Some(_) => interval / GRID_CATCH_UP_DIVISOR,
            None => self.margin.catch_up(interval),
        };
        self.gcra.set_catch_up(catch_up);
        self.aligner.set_anchor(grid);
    }
}

/// Whether sends go on the mid-window grid (when there is one).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Alignment {
    /// On the grid: the windows fill, so each send keeps mid-slot.
    OnGrid,
    /// Off it: the pool holds the sends back, and waiting for a grid
    /// point would only delay them further.
    Free,
}

/// What a refusal was, for the fixed rate's reaction to it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Refusal {
    /// A 429 read as one, with no word that the server is full for longer
    /// than the spacing: the spacing was too tight, the margin may absorb it.
    Spacing,
    /// A 429 whose `Retry-After` is longer than the spacing: the server is
    /// full until then (a window until its end), so what it admitted
    /// lately measures its limit.
    Full,
    /// A network error taken for a 429 without CORS headers: maybe a
    /// dropped connection after all, so the margin (which remembers a
    /// width that drew a 429 for good) is left alone.
    Opaque,
}

/// Sends go on the mid-window grid only while they go at this share of
/// the rate or more: while the pool holds them back, waiting for a grid
/// point would only delay them further.
const ALIGN_SHARE: f64 = 0.95;

/// The rate, not the pool of workers, holds the sends back when they went
/// at this share of it or more over the pool's window.
const BINDING_SHARE: f64 = 0.85;

/// The grid is used only when pacing at the announced per-second limit:
/// at this share of it or more (float rounding of a rate set to it).
const AT_LIMIT_SHARE: f64 = 0.999;

/// On the grid, a late send keeps its slot for up to this fraction of the
/// spacing (a quarter: still well inside its window). With only the bare
/// catch-up allowance, a timer firing 3 ms late snapped to the next slot,
/// whose timer fired late again: the run crawled (0.57 of the rate).
const GRID_CATCH_UP_DIVISOR: u32 = 4;

/// The server's admitted rate is measured over this many sends...
const ESTIMATE_SENDS: u32 = 20;
/// ...or this long (a Kong window), whichever is longer.
const ESTIMATE_SPAN: Duration = Duration::from_secs(1);

/// The pool's sends are measured over this many sends...
const POOL_SENDS: u32 = 80;
/// ...or this long (two clumps of answers at up to 2 s of latency),
/// whichever is longer.
const POOL_SPAN: Duration = Duration::from_secs(4);

/// Two rates this close (relatively) are the same (float rounding).
const RATE_EPSILON: f64 = 1e-9;

/// A pause repeated on the first send after one (the server was still
/// full) grows by this factor (doubles)...
const REPEAT_PAUSE_GROWTH: u32 = 2;
/// ...up to this or one spacing, whichever is longer.
const MAX_REPEAT_PAUSE: Duration = Duration::from_secs(1);

/// Sends are remembered over this many pool windows (the admitted rate is
/// measured over one and two of them).
const HISTORY_POOL_WINDOWS: u32 = 2;

/// Whether the rate binds is judged over this fraction of the pool's
/// window (its recent half: answers come back in clumps over the whole).
const BINDING_WINDOW_DIVISOR: u32 = 2;

/// Over the pool's window, the admitted rate is measured from at least
/// this fraction (a half) of the sends the rate allows.
const ADMITTED_SHARE_DIVISOR: usize = 2;

/// The admitted rate is estimated from at least this many sends.
const ADMITTED_MIN_SENDS: usize = 8;

/// What the server admits is not measured over the run's first seconds
/// (see [`Pacing::on_admitted`]).
const ADMITTED_SKIP: Duration = Duration::from_secs(1);

/// A spread quota's rate is news again once it moved by this share.
const SPREAD_NEWS: f64 = 0.1;

/// The lowest of `user`, `per_second`, `per_minute` ÷ 60 and `window`'s rate.
fn limited_rate(
    user: f64,
    per_second: Option<u32>,
    per_minute: Option<u32>,
    window: Option<WindowBinding>,
) -> f64 {
    let second = per_second.map_or(f64::INFINITY, f64::from);
    let minute = per_minute.map_or(f64::INFINITY, |n| f64::from(n) / 60.0);
    let window = window.map_or(f64::INFINITY, |w| w.rate());
    user.min(second).min(minute).min(window)
}

/// `quota` at no more than `rate` (and no less than the least rate).
fn capped(quota: Quota, rate: f64) -> Quota {
    let rate = quota.rate().min(rate);
    if rate.is_nan() {
        return quota;
    }
    Quota::clamped(rate).with_burst(quota.burst())
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
