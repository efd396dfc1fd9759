//! The scheduler's state machine: which item may be sent now, and what
//! happens to it after its answer. Pure: every call takes `now`.
//!
//! It owns the queue, the items in flight, retries with backoff, the
//! pool-wide pause after a 429 and the pacing ([`Pacing`]). It does not
//! send, sleep or read a clock: the [`crate::driver`] does that.

mod backoff;
mod concurrency;
mod grid;
mod history;
mod jitter;
mod margin;
mod opaque;
mod pacing;
mod probe;
mod retry;
mod team_share;
mod window_hint;

pub use backoff::{BackoffPolicy, HeldBy, RateBackoff};
pub use concurrency::{CapVerdict, ConcurrencyLearner, ConcurrencyPolicy};
pub use grid::GridAligner;
pub use jitter::JitterEstimate;
pub use margin::{MarginPolicy, SafetyMargin};
pub use opaque::{OPAQUE_COUNT, OPAQUE_WINDOW, SLOW_SHARE};
pub use pacing::{AnnouncedLimit, Pacing, Pause, ServerHint};
pub use probe::{ProbePolicy, RateProbe};
pub use retry::RetryPolicy;
pub use team_share::{TeamAnswer, TeamShare};
pub use window_hint::{WindowBinding, WindowName};

use std::cmp::Reverse;
use std::collections::{BinaryHeap, VecDeque};
use std::time::Duration;

use crate::gcra::Quota;
use opaque::{OpaqueErrors, Verdict};

/// Refusals at this many in flight or fewer, while the sends go at the
/// pacing rate, are left to the pacing (see `Scheduler::over_cap`).
const FEW_IN_FLIGHT: usize = 2;

/// Index of a work item in the run.
pub type ItemId = usize;

/// What one request came back with, as the scheduler needs to know it.
#[derive(Clone, Debug, PartialEq)]
pub enum AttemptResult {
    /// Answered with predictions.
    Success,
    /// 429: the item goes back to the queue and the whole pool pauses once.
    RateLimited {
        /// The server's `Retry-After`, if it sent one.
        retry_after: Option<Duration>,
    },
    /// 5xx, network error, timeout, malformed body: try again later.
    Retryable {
        /// Why, for the user.
        reason: String,
    },
    /// No readable answer (a network error) although the server has
    /// answered other requests of the run: maybe a 429 without CORS
    /// headers, maybe a dropped connection. The item is tried again like
    /// [`AttemptResult::Retryable`] (it spends one of its attempts, and
    /// fails with the reason once they are spent). For the pacing, errors
    /// that come back fast (in under [`SLOW_SHARE`] of the typical success
    /// latency: refused up front) are 429s without `Retry-After` once they
    /// have been frequent ([`OPAQUE_COUNT`] among [`OPAQUE_WINDOW`]
    /// consecutive sends): one pool-wide pause and the same rate backoff,
    /// never below what the server was seen to let through (see
    /// [`Pacing::on_maybe_rate_limited`]). Rare ones before that, and slow
    /// ones, touch nothing but the item.
    MaybeRateLimited {
        /// Why, for the user.
        reason: String,
    },
    /// 503: the server is busy (or refuses over its concurrency cap): tried
    /// again like [`AttemptResult::Retryable`], unless the learned cap
    /// explains it, then it spends no attempt.
    Busy {
        /// Why, for the user.
        reason: String,
    },
    /// Retrying cannot help (4xx other than 429).
    Fatal {
        /// Why, for the user.
        reason: String,
    },
    /// The run was cancelled while this request was in flight.
    Aborted,
    /// Handed over to go at a later instant, and taken back before it went
    /// (the run was paused): back to the front of the queue as if it had
    /// never been taken, no attempt spent.
    Withdrawn,
}

/// What the driver should do next.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Decision {
    /// Send this item now; `attempt` counts from 1.
    Send {
        /// The item.
        item: ItemId,
        /// Which attempt this is.
        attempt: u32,
    },
    /// Nothing may go before this instant.
    WaitUntil(Duration),
    /// Nothing to send until an answer arrives or the user acts.
    Idle,
    /// Every item has ended (or the run was cancelled).
    Finished,
}

/// Where one item is.
#[derive(Clone, Debug, PartialEq)]
pub enum ItemStatus {
    /// Waiting for its first send.
    Queued,
    /// Sent back to the queue; not before `not_before`.
    Retrying {
        /// Earliest next send.
        not_before: Duration,
        /// Why the last attempt did not succeed.
        reason: String,
    },
    /// On the wire since `sent_at`.
    InFlight {
        /// When it was sent.
        sent_at: Duration,
    },
    /// Succeeded (exactly once).
    Done,
    /// Ended without success.
    Failed {
        /// Why.
        reason: String,
    },
    /// Never finished: the run was cancelled.
    Cancelled,
}

impl ItemStatus {
    /// Done, failed or cancelled: nothing more will happen to it.
    pub fn is_terminal(&self) -> bool {
        matches!(self, Self::Done | Self::Failed { .. } | Self::Cancelled)
    }
}

/// Counts of a run, for the figures the page shows.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Counts {
    /// Items waiting (first send or retry).
    pub queued: usize,
    /// Requests on the wire.
    pub in_flight: usize,
    /// Items done.
    pub done: usize,
    /// Items failed.
    pub failed: usize,
    /// Items cancelled.
    pub cancelled: usize,
    /// Requests sent in all.
    pub sent: usize,
    /// 429 answers in all.
    pub rate_limited: usize,
    /// Network errors taken for 429s without CORS headers (see
    /// [`AttemptResult::MaybeRateLimited`]); not in `rate_limited`, which
    /// counts the 429s the page could read.
    pub maybe_rate_limited: usize,
    /// Sends that were not an item's first (retries after 429s or errors).
    pub retries: usize,
    /// 429s while a quota was run out (in `rate_limited` too): they spend
    /// no attempt and do not slow the pacing.
    pub quota_refused: usize,
    /// Refusals (429 or 503) over the learned concurrency cap: they spend
    /// no attempt and do not slow the pacing.
    pub cap_refused: usize,
}

/// A run parked until a quota returns.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct QuotaPark {
    /// Nothing is sent before this instant.
    pub until: Duration,
    /// The window that ran out, when one said so.
    pub window: Option<WindowName>,
}

/// The run's scheduler.
#[derive(Debug)]
pub struct Scheduler {
    pacing: Pacing,
    retry: RetryPolicy,
    seed: u64,
    ready: VecDeque<ItemId>,
    delayed: BinaryHeap<Reverse<(Duration, ItemId)>>,
    status: Vec<ItemStatus>,
    attempts: Vec<u32>,
    limited: Vec<u32>,
    /// Each item's latest send, numbered from 1 in the order of sends.
    send_seq: Vec<u64>,
    opaque: OpaqueErrors,
    counts: Counts,
    held: bool,
    cancelled: bool,
    /// The latest park for a quota (past ones too, until replaced).
    park: Option<QuotaPark>,
    /// Each item's 429s while parked.
    quota_refused: Vec<u32>,
    /// In flight (itself included) when each item was last sent.
    in_flight_at: Vec<usize>,
    /// The server's concurrency cap, learnt from refusals.
    learner: ConcurrencyLearner,
    /// The item whose answer [`Scheduler::observe`] last read headers of.
    hinted: Option<ItemId>,
}

impl Scheduler {
    /// A scheduler for `items` work items, all queued.
    pub fn new(items: usize, quota: Quota, retry: RetryPolicy, margin: MarginPolicy) -> Self {
        Self {
            pacing: Pacing::new(quota, margin),
            retry,
            seed: 0x5eed,
            ready: (0..items).collect(),
            delayed: BinaryHeap::new(),
            status: vec![ItemStatus::Queued; items],
            attempts: vec![0; items],
            limited: vec![0; items],
            send_seq: vec![0; items],
            opaque: OpaqueErrors::default(),
            counts: Counts {
                queued: items,
                ..Counts::default()
            },
            held: false,
            cancelled: false,
            park: None,
            quota_refused: vec![0; items],
            in_flight_at: vec![0; items],
            learner: ConcurrencyLearner::default(),
            hinted: None,
        }
    }

    /// The park for a quota in force at `now`, if any.
    pub fn quota_park(&self, now: Duration) -> Option<QuotaPark> {
        self.park.filter(|p| p.until > now)
    }

    /// Sends nothing before `until` (a quota ran out; or a saved run's
    /// park, taken up after a reload). A later park wins.
    pub fn park_until(&mut self, until: Duration, window: Option<WindowName>) {
        if self.park.is_none_or(|p| p.until < until) {
            self.park = Some(QuotaPark { until, window });
        }
    }

    /// The server's concurrency cap, once learnt: at most this many
    /// requests are put in flight.
    pub fn concurrency_cap(&self) -> Option<usize> {
        match self.learner.verdict() {
            CapVerdict::Cap(n) => Some(n),
            _ => None,
        }
    }

    /// The pacing state (rate, margin, pause), for display and live changes.
    pub fn pacing(&self) -> &Pacing {
        &self.pacing
    }

    /// Changes the allotted rate now, without a burst.
    pub fn set_quota(&mut self, quota: Quota) {
        self.pacing.set_quota(quota);
    }

    /// Finds the server's limit by probing from the current rate (AIMD);
    /// `None` goes back to the fixed rate.
    pub fn set_probe(&mut self, policy: Option<ProbePolicy>) {
        self.pacing.set_probe(policy);
    }

    /// Reads again what an answer to a request sent at `sent_at` said of
    /// the server's limits, now read another way (the user changed how a
    /// long quota is spent); returns the announced limits when they are
    /// new. Unlike [`Scheduler::observe`], it parks nothing: that answer
    /// was heard once already.
    pub fn reread(&mut self, hint: ServerHint, sent_at: Duration) -> Option<AnnouncedLimit> {
        self.pacing.on_hint(hint, sent_at)
    }

    /// Where `item` is.
    pub fn status(&self, item: ItemId) -> &ItemStatus {
        &self.status[item]
    }

    /// Requests sent for `item` so far.
    pub fn attempts(&self, item: ItemId) -> u32 {
        self.attempts[item]
    }

    /// The run's counts.
    pub fn counts(&self) -> Counts {
        self.counts
    }

    /// True once every item has ended, or after [`Scheduler::cancel`].
    pub fn is_finished(&self) -> bool {
        self.cancelled
            || self.counts.done + self.counts.failed + self.counts.cancelled == self.status.len()
    }

    /// Sends nothing new until [`Scheduler::resume`]; in-flight requests finish.
    pub fn hold(&mut self) {
        self.held = true;
    }

    /// Lifts [`Scheduler::hold`].
    pub fn resume(&mut self) {
        self.held = false;
    }

    /// Puts every failed item back in the queue with a fresh attempt budget
    /// (the user's "retry failed"); returns how many.
    pub fn retry_failed(&mut self) -> usize {
        if self.cancelled {
            return 0;
        }
        let mut n = 0;
        for item in 0..self.status.len() {
            if matches!(self.status[item], ItemStatus::Failed { .. }) {
                self.status[item] = ItemStatus::Queued;
                self.attempts[item] = 0;
                self.limited[item] = 0;
                self.ready.push_back(item);
                n += 1;
            }
        }
        self.counts.failed -= n;
        self.counts.queued += n;
        n
    }

    /// Before the first poll: takes over items that ended in an earlier
    /// session of the same run (a run saved before a reload). Each
    /// `(item, status, attempts)` with a terminal status leaves the queue
    /// and keeps its status and attempt count; other statuses are ignored,
    /// so those items are sent again.
    pub fn restore(&mut self, ended: impl IntoIterator<Item = (ItemId, ItemStatus, u32)>) {
        for (item, status, attempts) in ended {
            if item >= self.status.len()
                || !status.is_terminal()
                || self.status[item] != ItemStatus::Queued
            {
                continue;
            }
            match status {
                ItemStatus::Done => self.counts.done += 1,
                ItemStatus::Failed { .. } => self.counts.failed += 1,
                _ => self.counts.cancelled += 1,
            }
            self.counts.queued -= 1;
            self.status[item] = status;
            self.attempts[item] = attempts;
        }
        let status = &self.status;
        self.ready
            .retain(|&item| status[item] == ItemStatus::Queued);
    }

    /// Ends the run: every item not done or failed becomes cancelled
    /// (in-flight ones too — their answers, if any, are ignored).
    pub fn cancel(&mut self) {
        self.cancelled = true;
        for s in &mut self.status {
            if !s.is_terminal() {
                *s = ItemStatus::Cancelled;
                self.counts.cancelled += 1;
            }
        }
        self.counts.queued = 0;
        self.counts.in_flight = 0;
        self.ready.clear();
        self.delayed.clear();
    }

    /// Decides what to do at `now`; a `Send` is a commitment: the item is in
    /// flight from this instant.
    pub fn poll(&mut self, now: Duration) -> Decision {
        if self.is_finished() {
            return Decision::Finished;
        }
        while let Some(&Reverse((at, item))) = self.delayed.peek() {
            if at > now {
                break;
            }
            self.delayed.pop();
            self.ready.push_front(item);
        }
        if self.held {
            return Decision::Idle;
        }
        if let Some(p) = self.quota_park(now) {
            return if self.counts.queued > 0 {
                Decision::WaitUntil(p.until)
            } else {
                Decision::Idle
            };
        }
        if self
            .concurrency_cap()
            .is_some_and(|cap| self.counts.in_flight >= cap)
        {
            return Decision::Idle;
        }
        let Some(&item) = self.ready.front() else {
            return match self.delayed.peek() {
                Some(&Reverse((at, _))) => Decision::WaitUntil(self.pacing.earliest(now).max(at)),
                None => Decision::Idle,
            };
        };
        if let Err(crate::NotUntil(at)) = self.pacing.check(now) {
            return Decision::WaitUntil(at);
        }
        self.ready.pop_front();
        self.status[item] = ItemStatus::InFlight { sent_at: now };
        self.attempts[item] += 1;
        self.counts.queued -= 1;
        self.counts.in_flight += 1;
        self.in_flight_at[item] = self.counts.in_flight;
        self.counts.sent += 1;
        self.send_seq[item] = self.counts.sent as u64;
        if self.attempts[item] > 1 {
            self.counts.retries += 1;
        }
        Decision::Send {
            item,
            attempt: self.attempts[item],
        }
    }

    /// `item`'s request, taken for `due`, went at `sent` (a transport that
    /// times its sends says when, see [`crate::driver::Transport::send_at`]):
    /// its latency is measured from then, and the pacing hears how late
    /// it went.
    pub fn sent_at(&mut self, item: ItemId, due: Duration, sent: Duration) {
        if let ItemStatus::InFlight { sent_at } = &mut self.status[item] {
            *sent_at = sent;
            self.pacing.on_sent(due, sent);
        }
    }

    /// Takes in what the headers of the answer to `item` said about the
    /// server's limits (call before [`Scheduler::complete`]); returns the
    /// announced limits when they are new.
    pub fn observe(
        &mut self,
        item: ItemId,
        hint: ServerHint,
        now: Duration,
    ) -> Option<AnnouncedLimit> {
        let sent_at = match self.status[item] {
            ItemStatus::InFlight { sent_at } => sent_at,
            _ => now,
        };
        self.hinted = Some(item);
        if let (Some(interval), Some(hold)) = (hint.team_interval, hint.team_hold) {
            // A zero interval makes no finite rate, which the share ignores.
            self.pacing.on_team_answer(TeamAnswer {
                sent: sent_at,
                at: now,
                hold,
                team_rate: 1.0 / interval.as_secs_f64(),
                proxies: hint.team_proxies,
                left: self.counts.queued,
            });
        }
        if let Some(wait) = hint.quota_wait {
            self.park_until(now + wait, hint.quota_window);
        }
        self.pacing.on_hint(hint, sent_at)
    }

    /// Records the answer to `item`'s request at `now` and returns its new status.
    pub fn complete(&mut self, item: ItemId, result: AttemptResult, now: Duration) -> &ItemStatus {
        let ItemStatus::InFlight { sent_at } = self.status[item] else {
            // Cancelled meanwhile, or a stray answer: never count it twice.
            return &self.status[item];
        };
        self.counts.in_flight -= 1;
        let hinted = self.hinted.take() == Some(item);
        let in_flight = self.in_flight_at[item];
        let next = match result {
            AttemptResult::RateLimited { .. } if self.quota_park(now).is_some() => {
                // The quota ran out: not the item's fault, nor the rate's.
                self.counts.rate_limited += 1;
                self.counts.quota_refused += 1;
                self.quota_refused[item] += 1;
                self.requeue(item, now, "waiting for the quota to return".into())
            }
            AttemptResult::RateLimited { .. } | AttemptResult::Busy { .. }
                if self.over_cap(in_flight, hinted, now) =>
            {
                if matches!(result, AttemptResult::RateLimited { .. }) {
                    self.counts.rate_limited += 1;
                }
                self.counts.cap_refused += 1;
                self.quota_refused[item] += 1;
                self.requeue(item, now, "over the server's concurrency cap".into())
            }
            AttemptResult::Busy { reason } => self.retry_later(item, now, reason),
            AttemptResult::Success => {
                self.pacing.on_answer_time(now.saturating_sub(sent_at));
                self.learner.on_success(in_flight);
                self.pacing.on_success(now);
                self.pacing.on_admitted(sent_at);
                self.opaque.on_success(now.saturating_sub(sent_at));
                self.counts.done += 1;
                ItemStatus::Done
            }
            AttemptResult::Aborted => {
                self.counts.cancelled += 1;
                ItemStatus::Cancelled
            }
            AttemptResult::Withdrawn => {
                self.pacing.on_withdrawn(sent_at);
                if self.attempts[item] > 1 {
                    self.counts.retries = self.counts.retries.saturating_sub(1);
                }
                self.attempts[item] = self.attempts[item].saturating_sub(1);
                self.counts.sent = self.counts.sent.saturating_sub(1);
                self.put_back(item);
                self.counts.queued += 1;
                if self.attempts[item] == 0 {
                    ItemStatus::Queued
                } else {
                    ItemStatus::Retrying {
                        not_before: now,
                        reason: "taken back at the pause, before it went".into(),
                    }
                }
            }
            AttemptResult::Fatal { reason } => self.fail(reason),
            AttemptResult::RateLimited { retry_after } => {
                self.counts.rate_limited += 1;
                self.limited[item] += 1;
                self.pacing.on_rate_limited(sent_at, now, retry_after);
                if self.limited[item] >= self.retry.max_rate_limited {
                    self.fail(format!("rate limited (429) {} times", self.limited[item]))
                } else {
                    self.requeue(item, now, "rate limited (429)".into())
                }
            }
            AttemptResult::Retryable { reason } => self.retry_later(item, now, reason),
            AttemptResult::MaybeRateLimited { reason } => {
                let latency = now.saturating_sub(sent_at);
                match self.opaque.on_error(self.send_seq[item], sent_at, latency) {
                    Verdict::Frequent(confirmed) => {
                        self.counts.maybe_rate_limited += confirmed.len();
                        // Oldest first: the first one sent after the latest
                        // pause began pauses the pool and is the evidence;
                        // the others, sent before that new pause, are only
                        // counted (like 429s of requests already on the wire).
                        for sent in confirmed {
                            self.pacing.on_maybe_rate_limited(sent, now);
                        }
                    }
                    Verdict::Rare => self.pacing.on_unreadable(sent_at),
                    Verdict::Slow => {}
                }
                self.retry_later(item, now, reason)
            }
        };
        self.status[item] = next;
        &self.status[item]
    }

    /// A retryable failure of `item` at `now`: it spends one of the item's
    /// attempts, and goes back to the queue after a jittered backoff, or
    /// fails with `reason` once its attempts are spent.
    fn retry_later(&mut self, item: ItemId, now: Duration, reason: String) -> ItemStatus {
        let attempts = self.attempts[item] - self.limited[item] - self.quota_refused[item];
        if attempts >= self.retry.max_attempts {
            return self.fail(format!("{reason} (after {attempts} attempts)"));
        }
        let at = now + self.retry.backoff(self.seed, item, attempts);
        self.delayed.push(Reverse((at, item)));
        self.counts.queued += 1;
        ItemStatus::Retrying {
            not_before: at,
            reason,
        }
    }

    /// A refusal (429 or 503) of a request sent with `in_flight` in flight,
    /// arriving at `now`: told to the concurrency learner, unless its
    /// headers spoke of rate limits (`hinted`: a rate limiter's) or, with
    /// [`FEW_IN_FLIGHT`] or fewer in flight, the sends were going at the
    /// pacing rate: then a rate limit explains it as well, and with so few
    /// in flight the learner's count of admitted sends around it is too
    /// thin to tell (above that, a rate limiter admits most sends at the
    /// counts it refuses some at, which the learner checks). True when the
    /// learnt cap explains it.
    fn over_cap(&mut self, in_flight: usize, hinted: bool, now: Duration) -> bool {
        if hinted {
            return false;
        }
        if in_flight <= FEW_IN_FLIGHT
            && self.concurrency_cap().is_none()
            && self.pacing.rate_is_binding(now)
        {
            return false;
        }
        let known = self.concurrency_cap().is_some();
        self.learner.on_refused(in_flight);
        let explained = self.learner.explains(in_flight);
        if explained && !known {
            // The refusals that taught the cap were read as a rate's until
            // now: the rate they brought down was never the limit.
            self.pacing.forget_rate_refusals();
        }
        explained
    }

    fn fail(&mut self, reason: String) -> ItemStatus {
        self.counts.failed += 1;
        ItemStatus::Failed { reason }
    }

    /// Puts an item whose send was taken back before it went at the front
    /// of the queue, behind the front items sent before it (the refused
    /// image, sends taken back earlier): whatever order the taken-back
    /// sends come back in, they go again in the order they were taken.
    fn put_back(&mut self, item: ItemId) {
        let seq = self.send_seq[item];
        let at = self
            .ready
            .iter()
            .take_while(|&&other| (1..seq).contains(&self.send_seq[other]))
            .count();
        self.ready.insert(at, item);
    }

    fn requeue(&mut self, item: ItemId, now: Duration, reason: String) -> ItemStatus {
        self.ready.push_front(item);
        self.counts.queued += 1;
        ItemStatus::Retrying {
            not_before: now,
            reason,
        }
    }
}

#[cfg(test)]
mod tests;
