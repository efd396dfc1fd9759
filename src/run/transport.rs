//! The browser transport: one multipredict `fetch` per send, its outcome
//! classified for the scheduler and kept (predictions, timings) for the UI.

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::rc::Rc;
use std::time::Duration;

use futures::future::LocalBoxFuture;
use futures::FutureExt;
use pacer_core::api::{classify_at, multipredict_url, ApiError, Prediction};
use pacer_core::driver::Answer;
use pacer_core::schedule::{AttemptResult, ItemId, ServerHint};
use pacer_core::stats::RunStats;
use pacer_core::Clock;
use web_sys::AbortController;

use super::model::Settings;
use super::record::{AttemptRecord, RunRecord};
use crate::browser::{unix_now, FetchError, PendingFetch, PerformanceClock};

/// Sends requests for one run and remembers what came back.
pub struct FetchTransport {
    settings: Settings,
    sources: Rc<Vec<String>>,
    in_flight: RefCell<HashMap<ItemId, AbortController>>,
    /// Set when the page is being left: aborts then mean "send again
    /// later", not "cancelled".
    leaving: Cell<bool>,
    /// Shared with the UI: figures and per-item records.
    pub stats: Rc<RefCell<RunStats>>,
    /// Per-item attempts, results and timings.
    pub record: Rc<RefCell<RunRecord>>,
}

impl FetchTransport {
    /// A transport for `sources` with `settings`.
    pub fn new(
        settings: Settings,
        sources: Rc<Vec<String>>,
        record: Rc<RefCell<RunRecord>>,
    ) -> Self {
        Self {
            settings,
            sources,
            in_flight: RefCell::default(),
            leaving: Cell::new(false),
            stats: Rc::default(),
            record,
        }
    }

    /// Aborts every request on the wire because the page is being left;
    /// each is answered as retryable, so it is sent again on resume (or
    /// after [`FetchTransport::stay`] if the page was not left after all).
    pub fn abort_for_leaving(&self) {
        self.leaving.set(true);
        self.abort_all();
    }

    /// The page was not left after all.
    pub fn stay(&self) {
        self.leaving.set(false);
    }

    /// Aborts every request on the wire (cancel).
    pub fn abort_all(&self) {
        for (_, c) in self.in_flight.borrow_mut().drain() {
            c.abort();
        }
    }

    fn timeout(&self) -> Duration {
        Duration::from_millis(u64::from(self.settings.timeout_ms))
    }
}

/// The transport is shared between the pool and the run handle.
#[derive(Clone)]
pub struct SharedTransport(pub Rc<FetchTransport>);

impl pacer_core::driver::Transport for SharedTransport {
    type Fut = LocalBoxFuture<'static, Answer>;

    fn send(&self, item: ItemId, attempt: u32) -> Self::Fut {
        let this = Rc::clone(&self.0);
        let s = &this.settings;
        let url = multipredict_url(&s.endpoint, &s.key, &s.models, &this.sources[item]);
        let sent = PerformanceClock.now();
        let sent_unix = PerformanceClock.wall_offset() + sent;
        let pending = PendingFetch::get(&url, this.timeout());
        async move {
            let answer = match pending {
                Ok(p) => {
                    this.in_flight.borrow_mut().insert(item, p.abort_handle());
                    let a = p.finish().await;
                    this.in_flight.borrow_mut().remove(&item);
                    a
                }
                Err(e) => Err(e),
            };
            let now = PerformanceClock.now();
            let latency = now.saturating_sub(sent);
            let (result, status, outcome, hint) = match answer {
                Ok(a) => {
                    let retry_after = a.headers.retry_after.as_deref();
                    let parsed = classify_at(a.status, &a.body, retry_after, unix_now());
                    let result = to_attempt(&parsed);
                    let hint = ServerHint::from_headers(&a.headers, PerformanceClock.wall_offset());
                    (result, Some(a.status), Some(parsed), hint)
                }
                Err(FetchError::Aborted) if this.leaving.get() => {
                    let reason = "aborted while the page was being left".to_owned();
                    (AttemptResult::Retryable { reason }, None, None, None)
                }
                Err(e) => (from_fetch_error(&e, this.timeout()), None, None, None),
            };
            if matches!(result, AttemptResult::Success) {
                this.stats.borrow_mut().on_success(now, latency);
            }
            let error = match &result {
                AttemptResult::Success | AttemptResult::Aborted => None,
                AttemptResult::RateLimited { .. } => Some("rate limited (429)".to_string()),
                AttemptResult::Retryable { reason } | AttemptResult::Fatal { reason } => {
                    Some(reason.clone())
                }
            };
            let prediction = outcome.and_then(Result::ok);
            this.record.borrow_mut().add(
                item,
                AttemptRecord {
                    attempt,
                    sent_unix_ms: sent_unix.as_secs_f64() * 1000.0,
                    latency_ms: latency.as_secs_f64() * 1000.0,
                    status,
                    error,
                },
                prediction,
            );
            Answer { result, hint }
        }
        .boxed_local()
    }
}

fn to_attempt(parsed: &Result<Prediction, ApiError>) -> AttemptResult {
    match parsed {
        Ok(_) => AttemptResult::Success,
        Err(ApiError::RateLimited { retry_after, .. }) => AttemptResult::RateLimited {
            retry_after: *retry_after,
        },
        Err(e) if e.is_retryable() => AttemptResult::Retryable {
            reason: e.to_string(),
        },
        Err(e) => AttemptResult::Fatal {
            reason: e.to_string(),
        },
    }
}

fn from_fetch_error(e: &FetchError, timeout: Duration) -> AttemptResult {
    match e {
        FetchError::Aborted => AttemptResult::Aborted,
        FetchError::Timeout => AttemptResult::Retryable {
            reason: format!("no answer within {} s (timed out)", timeout.as_secs_f64()),
        },
        FetchError::Network(detail) => AttemptResult::Retryable {
            reason: format!(
                "network error: the request was refused, dropped or blocked by the server's CORS policy ({detail})"
            ),
        },
    }
}
