//! A simulated API server: a limiter model from [`crate::limiter`], network
//! jitter on the way in, latency on the way out, and a log of what arrived.

use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::time::Duration;

use futures::future::LocalBoxFuture;
use futures::FutureExt;

use super::fake_time::FakeTime;
use crate::driver::{Answer, Transport};
use crate::limiter::{Admission, Limiter};
use crate::schedule::{AttemptResult, ItemId, ServerHint};
use crate::time::{Clock, Sleep};

/// What the simulated network and server do, apart from the limiter.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ServerModel {
    /// Latency of an admitted request: `latency ± latency_jitter` (uniform).
    pub latency: Duration,
    /// Half-width of the latency's spread.
    pub latency_jitter: Duration,
    /// Send-to-arrival delay: uniform in `0..=arrival_jitter`.
    pub arrival_jitter: Duration,
    /// How long a 429 takes to come back after arrival.
    pub reject_latency: Duration,
    /// Whether 429s carry `Retry-After` (until the limiter would admit).
    pub retry_after: bool,
    /// ...in whole seconds, rounded up, as the header carries it (many
    /// gateways send `Retry-After: 1` for a wait of a few ms).
    pub retry_after_whole_seconds: bool,
    /// Added to the clock before the limiter sees it (moves window edges).
    pub phase: Duration,
    /// Whether the client can read the limiter's rate headers (CORS-exposed).
    pub rate_headers: bool,
    /// Whether 429s come without CORS headers: the client sees a bare
    /// network error (no status, no headers, no `Retry-After`), as a
    /// browser does (`--no-cors-on-429` of the emulator).
    pub opaque_429: bool,
    /// Probability that the answer to an admitted request is lost (a
    /// dropped connection, after its latency): a network error for the
    /// client, status 0 in the log (`--drop` of the emulator).
    pub drop: f64,
    /// Whether such a drop comes at once on arrival, as fast as a refusal
    /// (a connection reset up front), instead of after the latency.
    pub drop_early: bool,
}

impl Default for ServerModel {
    fn default() -> Self {
        Self {
            latency: Duration::from_millis(300),
            latency_jitter: Duration::ZERO,
            arrival_jitter: Duration::ZERO,
            reject_latency: Duration::ZERO,
            retry_after: false,
            retry_after_whole_seconds: false,
            phase: Duration::ZERO,
            rate_headers: true,
            opaque_429: false,
            drop: 0.0,
            drop_early: false,
        }
    }
}

/// One request as the server saw it.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LogEntry {
    /// The item.
    pub item: ItemId,
    /// When the client sent it.
    pub sent: Duration,
    /// When it reached the server.
    pub arrival: Duration,
    /// When the answer reached the client.
    pub end: Duration,
    /// 200 or 429, or 0 for an answer that was lost (dropped).
    pub status: u16,
}

/// The simulated server; its [`Transport`] impl is what the pool sends to.
#[derive(Clone)]
pub struct SimServer {
    time: FakeTime,
    model: ServerModel,
    limiter: Rc<RefCell<Box<dyn Limiter>>>,
    rng: Rc<RefCell<fastrand::Rng>>,
    log: Rc<RefCell<Vec<LogEntry>>>,
    /// The client has read an answer (what the browser transport calls
    /// `answered`): a network error before that is a CORS refusal to it.
    answered: Rc<Cell<bool>>,
}

impl SimServer {
    /// A server on `time` (its network timers are always exact).
    pub fn new(time: &FakeTime, model: ServerModel, limiter: Box<dyn Limiter>, seed: u64) -> Self {
        Self {
            time: time.exact(),
            model,
            limiter: Rc::new(RefCell::new(limiter)),
            rng: Rc::new(RefCell::new(fastrand::Rng::with_seed(seed))),
            log: Rc::default(),
            answered: Rc::default(),
        }
    }

    /// Every request so far, in the order answers came back.
    pub fn log(&self) -> Vec<LogEntry> {
        self.log.borrow().clone()
    }

    fn uniform(&self, max: Duration) -> Duration {
        if max.is_zero() {
            return Duration::ZERO;
        }
        let nanos = max.as_nanos() as u64;
        Duration::from_nanos(self.rng.borrow_mut().u64(0..=nanos))
    }

    /// What the browser transport makes of a network error: plain
    /// retryable before any readable answer (the CORS-policy case), maybe a
    /// 429 without CORS headers after.
    fn network_error(&self) -> AttemptResult {
        let reason = "network error (no readable answer)".to_owned();
        if self.answered.get() {
            AttemptResult::MaybeRateLimited { reason }
        } else {
            AttemptResult::Retryable { reason }
        }
    }

    fn latency(&self) -> Duration {
        let spread = self.uniform(self.model.latency_jitter * 2);
        (self.model.latency + spread).saturating_sub(self.model.latency_jitter)
    }
}

impl Transport for SimServer {
    type Fut = LocalBoxFuture<'static, Answer>;

    fn send(&self, item: ItemId, _attempt: u32) -> Self::Fut {
        let server = self.clone();
        let sent = self.time.now();
        async move {
            let jitter = server.uniform(server.model.arrival_jitter);
            server.time.sleep(jitter).await;
            let arrival = server.time.now();
            let admission = server
                .limiter
                .borrow_mut()
                .admit(arrival + server.model.phase);
            let hint = admission.quota().map(|q| ServerHint {
                per_second: Some(q.limit),
                remaining_second: Some(q.remaining),
                wall_offset: server.model.phase,
                ..ServerHint::default()
            });
            let hint = hint.filter(|_| server.model.rate_headers);
            let (status, result) = match admission {
                Admission::Allowed { .. } => {
                    let model = server.model;
                    let dropped = model.drop > 0.0 && server.rng.borrow_mut().f64() < model.drop;
                    if !(dropped && model.drop_early) {
                        server.time.sleep(server.latency()).await;
                    }
                    if dropped {
                        (0, server.network_error())
                    } else {
                        (200, AttemptResult::Success)
                    }
                }
                Admission::Rejected { retry_after, .. } => {
                    server.time.sleep(server.model.reject_latency).await;
                    if server.model.opaque_429 {
                        (429, server.network_error())
                    } else {
                        let retry_after =
                            retry_after
                                .filter(|_| server.model.retry_after)
                                .map(|d| match server.model.retry_after_whole_seconds {
                                    true => Duration::from_secs(
                                        d.as_secs() + u64::from(d.subsec_nanos() > 0),
                                    ),
                                    false => d,
                                });
                        (429, AttemptResult::RateLimited { retry_after })
                    }
                }
            };
            // A network error carries no headers either.
            let readable = !matches!(
                result,
                AttemptResult::Retryable { .. } | AttemptResult::MaybeRateLimited { .. }
            );
            let hint = hint.filter(|_| readable);
            if readable {
                server.answered.set(true);
            }
            let end = server.time.now();
            server.log.borrow_mut().push(LogEntry {
                item,
                sent,
                arrival,
                end,
                status,
            });
            Answer { result, hint }
        }
        .boxed_local()
    }
}
