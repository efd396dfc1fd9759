//! The browser transport: one multipredict `fetch` per send, its outcome
//! classified for the scheduler and kept (predictions, timings) for the UI.
//!
//! Every request is a form `POST`, the key in its body. An endpoint that
//! refuses POST (a 405, or an error naming a missing parameter, on the
//! run's first answers) is switched to `GET` for the rest of the run, the
//! item sent again at once, and the user told that the key now travels in
//! URLs. Failure reasons are scrubbed of the key before they are kept.

use std::cell::{Cell, RefCell};
use std::collections::{HashMap, HashSet};
use std::rc::Rc;
use std::time::Duration;

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine;
use futures::channel::oneshot;
use futures::future::LocalBoxFuture;
use futures::FutureExt;
use pacer_core::api::quota::Spend;
use pacer_core::api::{
    classify_at, multipredict_body, multipredict_post_url, multipredict_url, post_refused,
    scrub_secrets, ApiError, Image, Method, Prediction, RateHeaders,
};
use pacer_core::driver::Answer;
use pacer_core::schedule::{AttemptResult, ItemId, ServerHint};
use pacer_core::shared::HANDOFF;
use pacer_core::stats::RunStats;
use pacer_core::timeline::Mark;

use super::model::Settings;
use super::record::{AttemptRecord, RunRecord};
use super::team::{self, TeamWatch};
use super::work::Work;
use crate::browser::{
    answers_at_all, page_origin, unix_now, worker_timers, AbortHandle, FetchError, HttpAnswer,
    PendingFetch, MAX_BODY_BYTES,
};

/// A request on the wire: how to abort it, and what to record if the page
/// is left before it is answered.
struct OnWire {
    abort: AbortHandle,
    attempt: u32,
    /// When it went (or is due to go), ms since the Unix epoch.
    sent_unix_ms: f64,
}

/// The last answer that spoke of the server's limits, as it came: read
/// again when the way to spend a quota changes mid-run.
struct LastLimits {
    headers: RateHeaders,
    status: u16,
    /// When it was read, and when its request went (the run's clock is
    /// wall-clock time).
    read_at: Duration,
    sent: Duration,
}

/// Sends requests for one run and remembers what came back.
pub struct FetchTransport {
    settings: Settings,
    /// The images and the items cut from them: local images are POSTed as
    /// `image_base64`, URLs as `image_url` (or sent with GET, see `method`).
    work: Rc<Work>,
    /// How image URLs go to the endpoint: POST until it refuses POST.
    method: Cell<Method>,
    /// A POST got an answer that was not a refusal of POST: the endpoint
    /// takes POST, no switch to GET any more.
    post_taken: Cell<bool>,
    in_flight: RefCell<HashMap<ItemId, OnWire>>,
    /// Sends handed to the timer worker and taken back before their
    /// instant (a pause): answered as withdrawn, not as aborted.
    withdrawn: RefCell<HashSet<ItemId>>,
    /// Set when the page is being left: aborts then mean "send again
    /// later", not "cancelled".
    leaving: Cell<bool>,
    /// Some request of this run got an HTTP answer the page could read.
    answered: Cell<bool>,
    /// Network errors were already explained: before any readable answer
    /// (`.0`), after one (`.1`).
    explained: (Cell<bool>, Cell<bool>),
    /// A message for the user about network errors, taken by the run's
    /// ticker (see [`FetchTransport::take_trouble`]).
    trouble: Rc<RefCell<Option<String>>>,
    /// Shared with the UI: figures and per-item records.
    pub stats: Rc<RefCell<RunStats>>,
    /// Per-item attempts, results and timings.
    pub record: Rc<RefCell<RunRecord>>,
    /// What a team-budget proxy said of its budget, answer by answer.
    pub team: RefCell<TeamWatch>,
    /// Spread a long quota over its time left: the form's choice, which
    /// the user may change mid-run.
    spread_quota: Cell<bool>,
    last_limits: RefCell<Option<LastLimits>>,
}

impl FetchTransport {
    /// A transport for the items of `work` with `settings`.
    pub fn new(settings: Settings, work: Rc<Work>, record: Rc<RefCell<RunRecord>>) -> Self {
        Self {
            spread_quota: Cell::new(settings.spread_quota),
            last_limits: RefCell::default(),
            settings,
            work,
            method: Cell::new(Method::Post),
            post_taken: Cell::new(false),
            in_flight: RefCell::default(),
            withdrawn: RefCell::default(),
            leaving: Cell::new(false),
            answered: Cell::new(false),
            explained: (Cell::new(false), Cell::new(false)),
            trouble: Rc::default(),
            stats: Rc::default(),
            record,
            team: RefCell::default(),
        }
    }

    /// Aborts every request on the wire because the page is being left;
    /// each is answered as retryable, so it is sent again on resume (or
    /// after [`FetchTransport::stay`] if the page was not left after all).
    /// The server may well have counted them already: each is recorded at
    /// once (the page may not live to hear the abort) as possibly charged.
    /// Returns the items cut off, to be saved.
    pub fn abort_for_leaving(&self) -> Vec<ItemId> {
        self.leaving.set(true);
        let now = unix_now().as_secs_f64() * 1000.0;
        let cut: Vec<(ItemId, OnWire)> = self.in_flight.borrow_mut().drain().collect();
        let mut record = self.record.borrow_mut();
        let mut items = Vec::with_capacity(cut.len());
        for (item, wire) in cut {
            // A worker send due well after now never left this page; one
            // due about now may have gone before the worker read the abort
            // (an unload can stall the page), so it counts as possibly
            // charged: shown, never silently sent twice.
            if wire.sent_unix_ms <= now + ABORT_RACE_MS {
                record.add(
                    item,
                    AttemptRecord {
                        attempt: wire.attempt,
                        sent_unix_ms: wire.sent_unix_ms,
                        latency_ms: now - wire.sent_unix_ms,
                        status: None,
                        error: Some(LEFT_ON_THE_WIRE.to_owned()),
                        possibly_charged: true,
                        held_ms: None,
                    },
                    None,
                );
                items.push(item);
            }
            wire.abort.abort();
        }
        items
    }

    /// What the user should know about this run's network errors, once.
    pub fn take_trouble(&self) -> Option<String> {
        self.trouble.borrow_mut().take()
    }

    /// After a network error: says once what it probably means. Before any
    /// readable answer, asks the server with a `no-cors` request whether it
    /// answers at all: if so, its CORS policy is what blocks the page.
    fn explain_network_error(self: &Rc<Self>) {
        let answered = self.answered.get();
        let explained = if answered {
            &self.explained.1
        } else {
            &self.explained.0
        };
        if explained.replace(true) {
            return;
        }
        let endpoint = self.settings.endpoint.clone();
        if answered {
            *self.trouble.borrow_mut() = Some(format!(
                "Some requests to {endpoint} got no readable answer although others did. The \
                 server may be refusing them with 429s that carry no CORS headers (the browser \
                 hides such answers from the page), or dropping connections. Pacer sends each \
                 of them again, and when such errors come back fast and often it takes them \
                 for rate limiting: it pauses and slows down (never below what the server let \
                 through), as it would for a 429 it could read. If it keeps happening, lower \
                 the rate."
            ));
            return;
        }
        let this = Rc::clone(self);
        let origin = page_origin();
        wasm_bindgen_futures::spawn_local(async move {
            let reachable = answers_at_all(&format!("{endpoint}/"), Duration::from_secs(5)).await;
            if this.answered.get() {
                // A readable answer came meanwhile: the CORS policy admits
                // the page after all (the error was something else, e.g. an
                // early 429 without CORS headers, explained as such).
                return;
            }
            *this.trouble.borrow_mut() = Some(if reachable {
                format!(
                    "{endpoint} answers, but its CORS policy does not let this page ({origin}) \
                     read the answers, so every request fails. Ask the API's provider to allow \
                     this origin (Access-Control-Allow-Origin), use an endpoint that does, or \
                     open Pacer from an origin the API allows. Or run Pacer's bundled server as \
                     a proxy that adds the CORS headers, `pacer-emulator --proxy-to {endpoint}` \
                     (or `scripts/run.sh --proxy-to {endpoint}`), then use \
                     http://127.0.0.1:8080 as the endpoint."
                )
            } else {
                format!(
                    "No answer from {endpoint}: the server refused the connection or cannot be \
                     reached. Check the endpoint (and that the server is running); Pacer retries \
                     each image a few times, then marks it failed."
                )
            });
        });
    }

    /// The page was not left after all.
    pub fn stay(&self) {
        self.leaving.set(false);
    }

    /// Takes back the sends handed to the timer worker whose instant has
    /// not come (a pause holds new sends, and these are not sent yet): each
    /// goes back to the queue without spending an attempt.
    pub fn withdraw_unsent(&self) {
        let now_ms = unix_now().as_secs_f64() * 1000.0;
        for (item, wire) in self.in_flight.borrow().iter() {
            if wire.sent_unix_ms > now_ms {
                self.withdrawn.borrow_mut().insert(*item);
                wire.abort.abort();
            }
        }
    }

    /// Aborts every request on the wire (cancel).
    pub fn abort_all(&self) {
        for (_, wire) in self.in_flight.borrow_mut().drain() {
            wire.abort.abort();
        }
    }

    /// How to spend a long quota, as the form says.
    fn spend(&self) -> Spend {
        if self.spread_quota.get() {
            Spend::Spread
        } else {
            Spend::AsFastAsAllowed
        }
    }

    /// The user changed how to spend a long quota: what the last answer
    /// that spoke of limits says under the new choice, and when its
    /// request went, for the pacing to follow at once (a spread rate may
    /// be a request a minute: the next answer could be far off).
    pub fn set_spread_quota(&self, spread: bool) -> Option<(ServerHint, Duration)> {
        self.spread_quota.set(spread);
        let last = self.last_limits.borrow();
        let last = last.as_ref()?;
        let hint = ServerHint::read(
            &last.headers,
            last.status,
            Duration::ZERO,
            last.read_at,
            self.spend(),
        )?;
        Some((hint, last.sent))
    }

    /// The endpoint the run sends to.
    pub fn endpoint(&self) -> &str {
        &self.settings.endpoint
    }

    fn timeout(&self) -> Duration {
        Duration::from_millis(u64::from(self.settings.timeout_ms))
    }
}

impl FetchTransport {
    /// Item `item`'s request by `method`: its URL, and the form body of a
    /// POST or `None` (a GET of its URL); for all the run's models, or for
    /// the item's one model with per-model calls. Local images always go
    /// by POST.
    fn request(&self, item: ItemId, method: Method) -> (String, Option<String>) {
        let s = &self.settings;
        let one;
        let models = match self.work.model_of(item) {
            Some(model) => {
                one = [model.to_owned()];
                &one[..]
            }
            None => &s.models[..],
        };
        let post = |image| {
            let body = multipredict_body(&s.key, models, image);
            (multipredict_post_url(&s.endpoint), Some(body))
        };
        match (self.work.upload_of(item), method) {
            (Some(upload), _) => post(Image::Base64(&BASE64.encode(&upload.jpeg))),
            (None, Method::Post) => post(Image::Url(self.work.source_of(item))),
            (None, Method::Get) => (
                multipredict_url(&s.endpoint, &s.key, models, self.work.source_of(item)),
                None,
            ),
        }
    }

    /// Puts item `item`'s request on the wire now, by `method`.
    fn start(&self, item: ItemId, method: Method) -> Result<PendingFetch, FetchError> {
        let (url, body) = self.request(item, method);
        PendingFetch::send(&url, body.as_deref(), self.timeout())
    }

    /// Whether `answer`, to a POST of item `item`, says the endpoint takes
    /// no POST, so that the run switches to GET (once; never for local
    /// images, which only POST can carry). An answer that is not such a
    /// refusal settles it: the endpoint takes POST.
    fn switch_to_get(&self, item: ItemId, answer: &HttpAnswer) -> bool {
        if self.post_taken.get() || self.work.upload_of(item).is_some() {
            return false;
        }
        if !post_refused(answer.status, &answer.body) {
            self.post_taken.set(true);
            return false;
        }
        if self.method.replace(Method::Get) == Method::Post {
            let endpoint = &self.settings.endpoint;
            *self.trouble.borrow_mut() = Some(format!(
                "{endpoint} refused a POST request (HTTP {}), so Pacer sends the rest of this \
                 run with GET. With GET the client key travels in each request's URL, where \
                 the browser's console, proxies and the server's logs can show it.",
                answer.status
            ));
        }
        true
    }

    /// Waits for `pending`'s answer (sent at `sent`, on the page's clock),
    /// classifies it, and keeps what came back.
    async fn conclude(
        self: Rc<Self>,
        item: ItemId,
        attempt: u32,
        (pending, method): (Result<PendingFetch, FetchError>, Method),
        mut sent: Duration,
    ) -> Answer {
        let mut answer = match pending {
            Ok(p) => p.finish().await,
            Err(e) => Err(e),
        };
        if let (Method::Post, Ok(refusal)) = (method, &answer) {
            if self.switch_to_get(item, refusal) {
                // Sent again at once by GET; the refused POST stays on the
                // item's record.
                self.keep_attempt(item, attempt, sent, Some(refusal.status), "refused POST");
                sent = unix_now();
                let again = self.start(item, Method::Get);
                if let Ok(p) = &again {
                    let wire = OnWire {
                        abort: p.abort_handle(),
                        attempt,
                        sent_unix_ms: sent.as_secs_f64() * 1000.0,
                    };
                    self.in_flight.borrow_mut().insert(item, wire);
                }
                answer = match again {
                    Ok(p) => p.finish().await,
                    Err(e) => Err(e),
                };
            }
        }
        let sent_unix = sent;
        self.in_flight.borrow_mut().remove(&item);
        let now = unix_now();
        let latency = now.saturating_sub(sent);
        // A team-budget proxy's hold is part of the wait, not the API's latency.
        let team = answer.as_ref().ok().and_then(|a| a.team);
        let held = team.map(|t| t.hold.min(latency));
        if let Some(t) = &team {
            self.team.borrow_mut().note(t);
        }
        let mut recorded = false;
        let (result, status, outcome, hint) = match answer {
            Ok(a) => {
                self.answered.set(true);
                let retry_after = a.headers.retry_after.as_deref();
                let parsed = classify_at(a.status, &a.body, retry_after, unix_now());
                let result = to_attempt(&parsed);
                // The run's clock is wall-clock time already: no offset.
                let read_at = unix_now();
                let hint =
                    ServerHint::read(&a.headers, a.status, Duration::ZERO, read_at, self.spend());
                if hint.is_some() {
                    *self.last_limits.borrow_mut() = Some(LastLimits {
                        headers: a.headers.clone(),
                        status: a.status,
                        read_at,
                        sent,
                    });
                }
                let hint = team::with_team(hint, a.team.as_ref(), Duration::ZERO);
                (result, Some(a.status), Some(parsed), hint)
            }
            Err(FetchError::Aborted) if self.leaving.get() => {
                // Recorded when it was cut off (see `abort_for_leaving`).
                recorded = true;
                let reason = "aborted while the page was being left".to_owned();
                (AttemptResult::Retryable { reason }, None, None, None)
            }
            Err(e) => {
                // Read before explaining: a network error after a
                // readable answer may be a 429 without CORS headers;
                // before any, it is the CORS policy (or no server).
                let answered = self.answered.get();
                if matches!(e, FetchError::Network(_)) {
                    self.explain_network_error();
                }
                (
                    from_fetch_error(&e, self.timeout(), answered),
                    None,
                    None,
                    None,
                )
            }
        };
        // A refusal, or a quota that ran out, stops the sends for a while:
        // those already handed to the timer worker would only be refused
        // too, so they are taken back before they go.
        if matches!(result, AttemptResult::RateLimited { .. })
            || hint.as_ref().is_some_and(|h| h.quota_wait.is_some())
        {
            self.withdraw_unsent();
        }
        {
            let mut stats = self.stats.borrow_mut();
            match &result {
                AttemptResult::Success => {
                    stats.on_success(now, latency.saturating_sub(held.unwrap_or_default()))
                }
                AttemptResult::RateLimited { .. } => stats.on_failure(now, Mark::RateLimited),
                AttemptResult::MaybeRateLimited { .. }
                | AttemptResult::Retryable { .. }
                | AttemptResult::Busy { .. }
                | AttemptResult::Fatal { .. } => stats.on_failure(now, Mark::Failure),
                AttemptResult::Aborted | AttemptResult::Withdrawn => {}
            }
        }
        let result = self.scrubbed(result);
        let error = match &result {
            AttemptResult::Success | AttemptResult::Aborted | AttemptResult::Withdrawn => None,
            AttemptResult::RateLimited { .. } => Some("rate limited (429)".to_string()),
            AttemptResult::Retryable { reason }
            | AttemptResult::MaybeRateLimited { reason }
            | AttemptResult::Busy { reason }
            | AttemptResult::Fatal { reason } => Some(reason.clone()),
        };
        let prediction = outcome.and_then(Result::ok);
        if recorded {
            return Answer { result, hint };
        }
        self.record.borrow_mut().add(
            item,
            AttemptRecord {
                attempt,
                sent_unix_ms: sent_unix.as_secs_f64() * 1000.0,
                latency_ms: latency.as_secs_f64() * 1000.0,
                status,
                error,
                possibly_charged: false,
                held_ms: held.map(|h| h.as_secs_f64() * 1000.0),
            },
            prediction,
        );
        Answer { result, hint }
    }

    /// `result` with the key (and any URL credentials) out of its reason:
    /// a reason goes on to the page, IndexedDB, exports and job files.
    fn scrubbed(&self, result: AttemptResult) -> AttemptResult {
        let clean = |reason: String| scrub_secrets(&reason, &self.settings.key);
        match result {
            AttemptResult::Retryable { reason } => AttemptResult::Retryable {
                reason: clean(reason),
            },
            AttemptResult::MaybeRateLimited { reason } => AttemptResult::MaybeRateLimited {
                reason: clean(reason),
            },
            AttemptResult::Fatal { reason } => AttemptResult::Fatal {
                reason: clean(reason),
            },
            AttemptResult::Busy { reason } => AttemptResult::Busy {
                reason: clean(reason),
            },
            other => other,
        }
    }

    /// Keeps an attempt that the scheduler never hears of (a refused POST
    /// sent again by GET at once).
    fn keep_attempt(
        &self,
        item: ItemId,
        attempt: u32,
        sent: Duration,
        status: Option<u16>,
        error: &str,
    ) {
        let now = unix_now();
        let sent_unix = sent;
        self.stats.borrow_mut().on_failure(now, Mark::Failure);
        self.record.borrow_mut().add(
            item,
            AttemptRecord {
                attempt,
                sent_unix_ms: sent_unix.as_secs_f64() * 1000.0,
                latency_ms: now.saturating_sub(sent).as_secs_f64() * 1000.0,
                status,
                error: Some(error.to_owned()),
                possibly_charged: false,
                held_ms: None,
            },
            None,
        );
    }
}

/// The transport is shared between the pool and the run handle.
#[derive(Clone)]
pub struct SharedTransport(pub Rc<FetchTransport>);

impl pacer_core::driver::Transport for SharedTransport {
    type Fut = LocalBoxFuture<'static, Answer>;

    fn send(&self, item: ItemId, attempt: u32) -> Self::Fut {
        let this = Rc::clone(&self.0);
        if this.leaving.get() {
            return not_sent();
        }
        let method = this.method.get();
        let pending = this.start(item, method);
        let sent = unix_now();
        if let Ok(p) = &pending {
            let sent_unix_ms = sent.as_secs_f64() * 1000.0;
            let wire = OnWire {
                abort: p.abort_handle(),
                attempt,
                sent_unix_ms,
            };
            this.in_flight.borrow_mut().insert(item, wire);
        }
        this.conclude(item, attempt, (pending, method), sent)
            .boxed_local()
    }

    /// Hands the request to the timer worker, to go at `due` on the run's
    /// clock (time since the Unix epoch, [`crate::browser::SharedClock`],
    /// which the pool and the tabs' gate both run on).
    fn send_at(
        &self,
        item: ItemId,
        attempt: u32,
        due: Duration,
        min_gap: Duration,
        sent_tx: oneshot::Sender<Duration>,
    ) -> Option<Self::Fut> {
        let this = Rc::clone(&self.0);
        if this.leaving.get() {
            return Some(not_sent());
        }
        let method = this.method.get();
        let (url, form) = this.request(item, method);
        let mut pending =
            PendingFetch::start_at(&url, form.as_deref(), this.timeout(), due, min_gap)?;
        let wire = OnWire {
            abort: pending.abort_handle(),
            attempt,
            sent_unix_ms: due.as_secs_f64() * 1000.0,
        };
        this.in_flight.borrow_mut().insert(item, wire);
        Some(
            async move {
                let sent = match pending.sent().await {
                    Some(unix) => {
                        this.withdrawn.borrow_mut().remove(&item);
                        let _ = sent_tx.send(unix);
                        unix
                    }
                    None if this.withdrawn.borrow_mut().remove(&item) => {
                        // Taken back at a pause before it went.
                        this.in_flight.borrow_mut().remove(&item);
                        return Answer::from(AttemptResult::Withdrawn);
                    }
                    // Never went (aborted first): no word to the caller.
                    None => unix_now(),
                };
                this.conclude(item, attempt, (Ok(pending), method), sent)
                    .await
            }
            .boxed_local(),
        )
    }

    /// Sends go from the timer worker when there is one: handed over
    /// [`HANDOFF`] ahead of their instant, the page's own long tasks
    /// (Start, a big list, a restore) no longer move them.
    fn handoff(&self) -> Option<Duration> {
        worker_timers().then_some(HANDOFF)
    }
}

/// How soon a send handed to the timer worker may be due and still have
/// gone before the worker hears that the page is being left, in ms.
const ABORT_RACE_MS: f64 = 250.0;

/// Why an attempt cut off by leaving the page has no answer.
const LEFT_ON_THE_WIRE: &str =
    "cut off: the page was left while this request was on the wire (the server may have counted it)";

/// A send that a tab being left does not make (a shared budget's grant
/// can still come between `beforeunload` and `pagehide`): sent again on
/// resume, like the requests aborted then.
fn not_sent() -> LocalBoxFuture<'static, Answer> {
    let reason = "not sent: the page was being left".to_owned();
    futures::future::ready(Answer::from(AttemptResult::Retryable { reason })).boxed_local()
}

fn to_attempt(parsed: &Result<Prediction, ApiError>) -> AttemptResult {
    match parsed {
        Ok(_) => AttemptResult::Success,
        Err(ApiError::RateLimited { retry_after, .. }) => AttemptResult::RateLimited {
            retry_after: *retry_after,
        },
        // A 503 may be a refusal over a concurrency cap: the scheduler
        // learns that from how many were in flight.
        Err(e) if e.status() == Some(503) => AttemptResult::Busy {
            reason: e.to_string(),
        },
        Err(e) if e.is_retryable() => AttemptResult::Retryable {
            reason: e.to_string(),
        },
        Err(e) => AttemptResult::Fatal {
            reason: e.to_string(),
        },
    }
}

/// A failed fetch for the scheduler. A network error once the server has
/// `answered` the page (its CORS policy admits it) may be a 429 without
/// CORS headers: the scheduler takes such errors for rate limiting when
/// they come back fast and often. Before any answer it is the CORS policy
/// or an unreachable server: retried, never a reason to slow down.
fn from_fetch_error(e: &FetchError, timeout: Duration, answered: bool) -> AttemptResult {
    match e {
        FetchError::Aborted => AttemptResult::Aborted,
        FetchError::TooLarge => AttemptResult::Fatal {
            reason: format!(
                "the answer was larger than {} MB; Pacer does not read it",
                MAX_BODY_BYTES / (1024 * 1024)
            ),
        },
        FetchError::Timeout => AttemptResult::Retryable {
            reason: format!("no answer within {} s (timed out)", timeout.as_secs_f64()),
        },
        FetchError::Network(detail) if answered => AttemptResult::MaybeRateLimited {
            reason: format!(
                "network error: no readable answer, maybe a 429 without CORS headers or a dropped connection ({detail})"
            ),
        },
        FetchError::Network(detail) => AttemptResult::Retryable {
            reason: format!(
                "network error: the request was refused, dropped or blocked by the server's CORS policy ({detail})"
            ),
        },
    }
}
