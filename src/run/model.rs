//! Plain data a run shows: settings, per-item rows, states and figures.

use std::rc::Rc;
use std::sync::Arc;

use pacer_core::api::Prediction;

/// What the user chose for a run. The key lives only here, in memory
/// (its `Debug` hides it, so no log line can carry it).
#[derive(Clone, PartialEq)]
pub struct Settings {
    /// API base URL, e.g. `http://127.0.0.1:8080` or `https://api-us.restb.ai`.
    pub endpoint: String,
    /// The client key; never persisted, logged or exported.
    pub key: String,
    /// Model ids sent with every call.
    pub models: Vec<String>,
    /// One call per image × model (each asking for one model) instead of
    /// one multipredict call per image.
    pub per_model: bool,
    /// Allotted requests per second (> 0, fractions allowed).
    pub rate: f64,
    /// Number of async fetch tasks.
    pub concurrency: usize,
    /// Probe for the server's limit from `rate` upward (AIMD) instead of
    /// keeping to `rate`.
    pub auto_rate: bool,
    /// Spread a long quota's remaining calls over its time left ("spread
    /// the day's quota") instead of spending them as fast as allowed.
    pub spread_quota: bool,
    /// Per-request timeout in milliseconds.
    pub timeout_ms: u32,
    /// Sends per item before a retryable failure (5xx, network, timeout,
    /// bad answer) becomes final.
    pub max_attempts: u32,
}

impl std::fmt::Debug for Settings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Settings")
            .field("endpoint", &self.endpoint)
            .field("key", &"[hidden]")
            .field("models", &self.models)
            .field("per_model", &self.per_model)
            .field("rate", &self.rate)
            .field("concurrency", &self.concurrency)
            .field("auto_rate", &self.auto_rate)
            .field("spread_quota", &self.spread_quota)
            .field("timeout_ms", &self.timeout_ms)
            .field("max_attempts", &self.max_attempts)
            .finish()
    }
}

/// Where a run is, as shown by `data-testid="run-state"`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RunState {
    /// Nothing started yet (or results cleared).
    Idle,
    /// Sending.
    Running,
    /// Holding: nothing new is sent.
    Paused,
    /// Every item is done or failed.
    Done,
    /// The user cancelled.
    Cancelled,
    /// A saved run was found after a reload and waits for resume.
    Interrupted,
    /// Parked until an exhausted quota returns: nothing is sent, and the
    /// run goes on by itself at the reset.
    WaitingForQuota,
}

impl RunState {
    /// The exact text of the test interface.
    pub fn as_str(self) -> &'static str {
        match self {
            RunState::Idle => "idle",
            RunState::Running => "running",
            RunState::Paused => "paused",
            RunState::Done => "done",
            RunState::Cancelled => "cancelled",
            RunState::Interrupted => "interrupted",
            RunState::WaitingForQuota => "waiting-for-quota",
        }
    }

    /// A run that this tab is carrying out now (sending, or paused with
    /// requests possibly on the wire): it cannot be cleared, replaced or
    /// imported over.
    pub fn is_active(self) -> bool {
        matches!(
            self,
            RunState::Running | RunState::Paused | RunState::WaitingForQuota
        )
    }
}

/// One item's state, as `data-state` of its `result-row`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ItemState {
    /// Waiting for its turn.
    Queued,
    /// A request is on the wire.
    InFlight,
    /// Answered with predictions.
    Done,
    /// Ended without predictions; the reason is in its result.
    Failed,
    /// Sent back to the queue after a 429 or a retryable error.
    Retrying,
    /// Never finished because the run was cancelled.
    Cancelled,
}

impl ItemState {
    /// The exact text of the test interface.
    pub fn as_str(self) -> &'static str {
        match self {
            ItemState::Queued => "queued",
            ItemState::InFlight => "in-flight",
            ItemState::Done => "done",
            ItemState::Failed => "failed",
            ItemState::Retrying => "retrying",
            ItemState::Cancelled => "cancelled",
        }
    }
}

/// How an item ended.
#[derive(Clone, Debug, PartialEq)]
pub enum ItemResult {
    /// The API's predictions (shared with the run's record).
    Ok(Arc<Prediction>),
    /// Why it failed, in words for the user (the API's own message when given).
    Err(String),
}

/// One work item as its `result-row` shows it: plain data, kept in
/// [`super::ItemRows`] and redrawn by the run's ticker, so that a list of
/// 100 000 items costs one vector, not 100 000 sets of signals.
#[derive(Clone, Debug, PartialEq)]
pub struct ItemRow {
    /// Position in the run (0-based).
    pub id: usize,
    /// The image URL as the user gave it, or a local file's name.
    pub source: Arc<str>,
    /// What the thumbnail shows: the URL, or a local file's object URL.
    pub thumb: Arc<str>,
    /// The one model this item asks for, with per-model calls.
    pub model: Option<Arc<str>>,
    /// Current state.
    pub state: ItemState,
    /// Requests sent for this item so far.
    pub attempts: u32,
    /// Latency of the last answered request, in ms.
    pub latency_ms: Option<f64>,
    /// The outcome, once there is one.
    pub result: Option<ItemResult>,
}

impl ItemRow {
    /// A fresh, queued row for `source`.
    pub fn queued(id: usize, source: &str) -> Self {
        let source: Arc<str> = source.into();
        Self {
            id,
            thumb: Arc::clone(&source),
            source,
            model: None,
            state: ItemState::Queued,
            attempts: 0,
            latency_ms: None,
            result: None,
        }
    }
}

/// A local image of a run, as uploaded: its JPEG (already downscaled and
/// re-encoded) and an object URL of it for thumbnails.
#[derive(Clone, Debug, PartialEq)]
pub struct Upload {
    /// The JPEG sent as `image_base64`.
    pub jpeg: Rc<[u8]>,
    /// `blob:` URL of the JPEG.
    pub thumb_url: String,
}

/// How loud a notice is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NoticeLevel {
    /// Good to know.
    Info,
    /// Something holds the run back.
    Warning,
    /// Something stopped the run or an input is wrong.
    Error,
}

/// The page's current message (`data-testid="notice"`).
#[derive(Clone, Debug, PartialEq)]
pub struct Notice {
    /// How loud.
    pub level: NoticeLevel,
    /// What to tell the user.
    pub text: String,
}

/// Live figures of a run (`stat-*` test ids).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct StatsView {
    /// Items answered with predictions.
    pub done: usize,
    /// Items ended with a failure.
    pub failed: usize,
    /// Items waiting (queued or retrying).
    pub queued: usize,
    /// Requests on the wire now.
    pub in_flight: usize,
    /// 429 answers seen.
    pub rate_limited: usize,
    /// Sends that were retries.
    pub retries: usize,
    /// Requests sent in all.
    pub sent: usize,
    /// Successful requests per second since the first send.
    pub throughput: f64,
    /// Mean latency of successful requests, ms.
    pub latency_avg_ms: f64,
    /// 95th percentile latency of successful requests, ms.
    pub latency_p95_ms: f64,
    /// Median latency of successful requests, ms.
    pub latency_p50_ms: f64,
    /// 99th percentile latency of successful requests, ms.
    pub latency_p99_ms: f64,
    /// Seconds since the run started.
    pub elapsed_s: f64,
    /// Total items in the run.
    pub total: usize,
    /// The rate Pacer paces at now (the user's, an announced limit, or the
    /// probe's), requests per second.
    pub pacing_rate: f64,
    /// Requests cut off by leaving the page: the server may have counted
    /// (and billed) them although no answer was read.
    pub possibly_charged: usize,
}
