//! One set of limiters per client key (models from `pacer_core::limiter`):
//! an optional concurrency cap, the configured limiter, and Kong-style
//! quota windows per minute, day and month stacked on it. What a decision
//! puts on the response is [`crate::dialect`]'s business.

use crate::dialect::{HeaderStyle, Span};
use pacer_core::limiter::{Admission, FixedWindow, Limiter, LimiterConfig, WindowQuota};
use std::collections::HashMap;
use std::num::NonZeroU32;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// The quota windows stacked on the limiter, and the concurrency cap.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Stack {
    /// Requests per wall-clock minute.
    pub per_minute: Option<NonZeroU32>,
    /// Requests per day (of `day` length).
    pub per_day: Option<NonZeroU32>,
    /// Requests per month (of 30 `day`s).
    pub per_month: Option<NonZeroU32>,
    /// The day's length: a day, or shorter for tests (`--quota-window-s`).
    pub day: Duration,
    /// At most this many requests of a key in flight; more are refused.
    pub max_in_flight: Option<NonZeroU32>,
}

/// A key's limiters.
struct KeyLimiters {
    primary: Box<dyn Limiter + Send>,
    /// The stacked windows, shortest first.
    windows: Vec<(Span, FixedWindow)>,
    /// The key's admitted requests still being answered.
    in_flight: Arc<Mutex<u32>>,
    /// The arrival of the key's last request.
    last_seen: Duration,
}

/// The map is swept for idle keys once it holds this many (and then at
/// twice what the last sweep left), so that a sweep's cost is spread over
/// the insertions that made it necessary.
const FIRST_SWEEP: usize = 1024;

/// A decision with the state of each window it consulted.
#[derive(Debug)]
pub struct Decision {
    /// Admitted only if every limiter admitted.
    pub admission: Admission,
    /// Each window's state and length (the limiter's own as
    /// [`Span::Second`], when it is a fixed window), shortest first.
    pub windows: Vec<(Span, WindowQuota, Duration)>,
    /// Refused by the concurrency cap (no window was consulted).
    pub over_cap: bool,
    /// Held while an admitted request is being answered: it counts
    /// against the concurrency cap until dropped.
    pub slot: Option<InFlight>,
}

/// One admitted request in flight; dropping it frees its place.
#[derive(Debug)]
pub struct InFlight(Arc<Mutex<u32>>);

impl Drop for InFlight {
    fn drop(&mut self) {
        let mut n = self.0.lock().unwrap_or_else(|e| e.into_inner());
        *n = n.saturating_sub(1);
    }
}

/// The per-key limiters of a running emulator.
pub struct Limits {
    config: Option<LimiterConfig>,
    stack: Stack,
    /// How the decisions are announced.
    pub style: HeaderStyle,
    per_key: Mutex<PerKey>,
}

/// The limiters of the keys seen lately, and when to sweep them next.
struct PerKey {
    map: HashMap<String, KeyLimiters>,
    sweep_at: usize,
}

impl Limits {
    /// `config` `None` admits everything (but for the stacked windows).
    pub fn new(config: Option<LimiterConfig>, stack: Stack, style: HeaderStyle) -> Limits {
        Limits {
            config,
            stack,
            style,
            per_key: Mutex::new(PerKey {
                map: HashMap::new(),
                sweep_at: FIRST_SWEEP,
            }),
        }
    }

    /// The limits the flags in `cli` ask for.
    pub fn from_cli(cli: &crate::Cli) -> Limits {
        Limits::new(cli.limiter_config(), cli.stack(), cli.header_style())
    }

    /// The stacked windows and their lengths, shortest first.
    fn spans(&self) -> Vec<(Span, NonZeroU32, Duration)> {
        let s = &self.stack;
        let day = s.day.max(Duration::from_secs(1));
        [
            (Span::Minute, s.per_minute, Duration::from_secs(60)),
            (Span::Day, s.per_day, day),
            (Span::Month, s.per_month, day * 30),
        ]
        .into_iter()
        .filter_map(|(span, n, len)| n.map(|n| (span, n, len)))
        .collect()
    }

    /// How long after its last request a key's limiters are back in the
    /// state of a key never seen: a window has ended, a bucket has drained
    /// its burst. Forgetting the key then changes no decision, and keeps
    /// the map from growing with every key ever sent.
    fn idle_after(&self) -> Duration {
        let primary = match self.config {
            Some(LimiterConfig::FixedWindow { .. }) | None => Duration::from_secs(1),
            Some(LimiterConfig::Gcra { rate, burst }) => {
                // Validated positive; a rate so low that the drain time
                // overflows a Duration keeps keys for about 30 years.
                Duration::try_from_secs_f64(f64::from(burst) / rate + 1.0 / rate)
                    .unwrap_or(Duration::from_secs(1 << 30))
            }
            Some(LimiterConfig::SlidingLog { window, .. })
            | Some(LimiterConfig::SlidingCounter { window, .. }) => window * 2,
        };
        let windows = self.spans().into_iter().map(|(_, _, len)| len).max();
        // A second more for the window boundaries.
        primary.max(windows.unwrap_or_default()) + Duration::from_secs(1)
    }

    /// How many keys have limiters kept (for tests and diagnostics).
    pub fn keys(&self) -> usize {
        self.per_key
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .map
            .len()
    }

    /// Decides on a request of `key` that arrived at `arrival` (since the
    /// Unix epoch). Never awaits: the decision is made on the arrival time.
    pub fn admit(&self, key: &str, arrival: Duration) -> Decision {
        let mut per_key = self.per_key.lock().unwrap_or_else(|e| e.into_inner());
        if per_key.map.len() >= per_key.sweep_at && !per_key.map.contains_key(key) {
            let idle = self.idle_after();
            // A key with requests in flight is kept whatever its age.
            per_key.map.retain(|_, k| {
                arrival.saturating_sub(k.last_seen) <= idle
                    || *k.in_flight.lock().unwrap_or_else(|e| e.into_inner()) > 0
            });
            per_key.sweep_at = (per_key.map.len() * 2).max(FIRST_SWEEP);
        }
        let limiters = per_key
            .map
            .entry(key.to_string())
            .or_insert_with(|| KeyLimiters {
                primary: match self.config {
                    Some(config) => config.build(),
                    None => Box::new(Unlimited),
                },
                windows: self
                    .spans()
                    .into_iter()
                    .map(|(span, n, len)| (span, FixedWindow::new(n).per(len)))
                    .collect(),
                in_flight: Arc::default(),
                last_seen: arrival,
            });
        limiters.last_seen = limiters.last_seen.max(arrival);
        if let Some(cap) = self.stack.max_in_flight {
            let n = *limiters.in_flight.lock().unwrap_or_else(|e| e.into_inner());
            if n >= cap.get() {
                return Decision {
                    admission: Admission::Rejected {
                        retry_after: None,
                        quota: None,
                    },
                    windows: Vec::new(),
                    over_cap: true,
                    slot: None,
                };
            }
        }
        let mut admission = limiters.primary.admit(arrival);
        let mut windows: Vec<(Span, WindowQuota, Duration)> = admission
            .quota()
            .map(|q| (Span::Second, q, Duration::from_secs(1)))
            .into_iter()
            .collect();
        // Each window counts only what the shorter ones let through.
        for (span, window) in &mut limiters.windows {
            if !admission.is_allowed() {
                break;
            }
            let got = window.admit(arrival);
            if let Some(q) = got.quota() {
                windows.push((*span, q, window.length()));
            }
            if let Admission::Rejected { retry_after, .. } = got {
                admission = Admission::Rejected {
                    retry_after,
                    quota: admission.quota(),
                };
            }
        }
        let slot = admission.is_allowed().then(|| {
            let mut n = limiters.in_flight.lock().unwrap_or_else(|e| e.into_inner());
            *n += 1;
            InFlight(limiters.in_flight.clone())
        });
        Decision {
            admission,
            windows,
            over_cap: false,
            slot,
        }
    }
}

/// Admits everything (`--limiter none`).
struct Unlimited;

impl Limiter for Unlimited {
    fn admit(&mut self, _now: Duration) -> Admission {
        Admission::Allowed { quota: None }
    }
}

#[cfg(test)]
mod tests;
