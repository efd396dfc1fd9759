//! Server-side limiter models: the limiters Pacer must live
//! with, as pure state machines whose decision takes `now` as an argument.
//! The emulator enforces them on real time (since the Unix epoch); the
//! fake-clock simulator runs the very same models on fake time.
//!
//! - [`FixedWindow`]: Kong's per-second windows, with rate headers.
//! - [`LeakyBucket`]: nginx `limit_req` (GCRA at millisecond granularity),
//!   no headers.
//! - [`SlidingLog`]: a sliding-window log (Redis sorted-set limiters),
//!   refusals counted, no headers.
//! - [`SlidingCounter`]: a sliding-window counter (HAProxy's
//!   `http_req_rate`), refusals counted, no headers.
//!
//! Nothing here reads a clock or sleeps.

use serde::{Deserialize, Serialize};
use std::num::NonZeroU32;
use std::time::Duration;

mod fixed_window;
mod leaky_bucket;
mod sliding_counter;
mod sliding_log;
#[cfg(test)]
mod tests;

pub use fixed_window::FixedWindow;
pub use leaky_bucket::LeakyBucket;
pub use sliding_counter::SlidingCounter;
pub use sliding_log::{SlidingLog, MAX_LOG};

/// A server-side limiter: decides, for a request arriving at `now`, whether
/// it gets through. `now` must not go backwards by much (small steps back
/// are tolerated the way the modelled server tolerates them).
pub trait Limiter {
    /// Decides on one request arriving at `now` and records it if allowed.
    fn admit(&mut self, now: Duration) -> Admission;
}

/// The answer of a [`Limiter`] to one request.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Admission {
    /// The request goes through.
    Allowed {
        /// The window's state after counting it, for servers that send rate headers.
        quota: Option<WindowQuota>,
    },
    /// The request is refused (429 or 503 on a real server).
    Rejected {
        /// When a request would next be allowed, if the model knows.
        retry_after: Option<Duration>,
        /// The window's state, for servers that send rate headers.
        quota: Option<WindowQuota>,
    },
}

impl Admission {
    /// True for [`Admission::Allowed`].
    pub fn is_allowed(&self) -> bool {
        matches!(self, Admission::Allowed { .. })
    }

    /// The quota carried by either variant.
    pub fn quota(&self) -> Option<WindowQuota> {
        match self {
            Admission::Allowed { quota } | Admission::Rejected { quota, .. } => *quota,
        }
    }
}

/// What a windowed limiter reports (Kong's `X-RateLimit-Limit-Second` and
/// `X-RateLimit-Remaining-Second`).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct WindowQuota {
    /// Requests allowed per window.
    pub limit: u32,
    /// Requests left in the current window, as the server sees it.
    pub remaining: u32,
    /// Time until the current window ends.
    pub reset: Duration,
}

/// Which limiter a server runs, as plain data (CLI flags, simulator setups).
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub enum LimiterConfig {
    /// [`FixedWindow`] with `limit` requests per wall-clock second (0 is
    /// taken as 1).
    FixedWindow {
        /// Requests per second.
        limit: u32,
    },
    /// [`LeakyBucket`] (nginx `limit_req rate=… burst=… nodelay`).
    Gcra {
        /// Requests per second (fractions allowed, millisecond-of-a-request
        /// precision as in nginx).
        rate: f64,
        /// Requests tolerated early, counted like nginx's `burst`.
        burst: u32,
    },
    /// [`SlidingLog`]: `limit` requests in any `window`, refusals counted.
    SlidingLog {
        /// Requests per window (0 is taken as 1).
        limit: u32,
        /// The window's length.
        window: Duration,
    },
    /// [`SlidingCounter`]: `limit` requests per sliding `window` estimated
    /// from two fixed windows' counters, refusals counted.
    SlidingCounter {
        /// Requests per window (0 is taken as 1).
        limit: u32,
        /// The window's length.
        window: Duration,
    },
}

impl LimiterConfig {
    /// A fresh limiter in this configuration (one per client key).
    pub fn build(&self) -> Box<dyn Limiter + Send> {
        match *self {
            LimiterConfig::FixedWindow { limit } => Box::new(FixedWindow::new(
                NonZeroU32::new(limit).unwrap_or(NonZeroU32::MIN),
            )),
            LimiterConfig::Gcra { rate, burst } => Box::new(LeakyBucket::new(rate, burst)),
            LimiterConfig::SlidingLog { limit, window } => Box::new(SlidingLog::new(limit, window)),
            LimiterConfig::SlidingCounter { limit, window } => {
                Box::new(SlidingCounter::new(limit, window))
            }
        }
    }
}
