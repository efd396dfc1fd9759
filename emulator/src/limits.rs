//! One limiter per client key (models from `pacer_core::limiter`), and the
//! headers a decision puts on the response: Kong's `X-RateLimit-*-Second`
//! for fixed windows (and `-Minute` with a per-minute limit; plus
//! `Retry-After` on 429s when asked; plus the newer `RateLimit-Limit`,
//! `-Remaining` and `-Reset` when asked), nothing for GCRA, as nginx.

use axum::http::{HeaderMap, HeaderValue};
use pacer_core::api::headers::{
    LIMIT, LIMIT_MINUTE, LIMIT_SECOND, REMAINING, REMAINING_MINUTE, REMAINING_SECOND, RESET,
    RETRY_AFTER,
};
use pacer_core::limiter::{Admission, FixedWindow, Limiter, LimiterConfig, WindowQuota};
use std::collections::HashMap;
use std::num::NonZeroU32;
use std::sync::Mutex;
use std::time::Duration;

/// Which headers a windowed decision carries.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct HeaderStyle {
    /// `Retry-After` on windowed 429s.
    pub retry_after: bool,
    /// `RateLimit-Limit`, `RateLimit-Remaining`, `RateLimit-Reset` (of the
    /// tightest window) beside Kong's `X-RateLimit-*`.
    pub ietf: bool,
}

/// A key's limiters: the configured one and, optionally, a per-minute window.
struct KeyLimiters {
    primary: Box<dyn Limiter + Send>,
    minute: Option<FixedWindow>,
    /// The arrival of the key's last request.
    last_seen: Duration,
}

/// The map is swept for idle keys once it holds this many (and then at
/// twice what the last sweep left), so that a sweep's cost is spread over
/// the insertions that made it necessary.
const FIRST_SWEEP: usize = 1024;

/// A decision with the state of each window it consulted.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Decision {
    /// Admitted only if every limiter admitted.
    pub admission: Admission,
    /// The per-minute window's state, when there is one.
    pub minute: Option<WindowQuota>,
}

/// The per-key limiters of a running emulator.
pub struct Limits {
    config: Option<LimiterConfig>,
    per_minute: Option<NonZeroU32>,
    style: HeaderStyle,
    per_key: Mutex<PerKey>,
}

/// The limiters of the keys seen lately, and when to sweep them next.
struct PerKey {
    map: HashMap<String, KeyLimiters>,
    sweep_at: usize,
}

impl Limits {
    /// `config` `None` admits everything (unless `per_minute`); `per_minute`
    /// adds a Kong per-minute window to every key.
    pub fn new(
        config: Option<LimiterConfig>,
        per_minute: Option<NonZeroU32>,
        style: HeaderStyle,
    ) -> Limits {
        Limits {
            config,
            per_minute,
            style,
            per_key: Mutex::new(PerKey {
                map: HashMap::new(),
                sweep_at: FIRST_SWEEP,
            }),
        }
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
        };
        let minute = match self.per_minute {
            Some(_) => Duration::from_secs(60),
            None => Duration::ZERO,
        };
        // A second more for the window boundaries.
        primary.max(minute) + Duration::from_secs(1)
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
            per_key
                .map
                .retain(|_, k| arrival.saturating_sub(k.last_seen) <= idle);
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
                minute: self
                    .per_minute
                    .map(|n| FixedWindow::new(n).per(Duration::from_secs(60))),
                last_seen: arrival,
            });
        limiters.last_seen = limiters.last_seen.max(arrival);
        let primary = limiters.primary.admit(arrival);
        // The minute window only counts what the per-second limit let through.
        let minute = match (&mut limiters.minute, primary.is_allowed()) {
            (Some(m), true) => Some(m.admit(arrival)),
            _ => None,
        };
        let admission = match minute {
            Some(Admission::Rejected { retry_after, .. }) => Admission::Rejected {
                retry_after,
                quota: primary.quota(),
            },
            _ => primary,
        };
        Decision {
            admission,
            minute: minute.and_then(|m| m.quota()),
        }
    }

    /// The rate headers for a decision: each window's limit and remaining,
    /// `Retry-After` on a windowed refusal when enabled, and the IETF-style
    /// headers (of the window with the fewest requests left) when enabled.
    pub fn headers(&self, decision: &Decision) -> HeaderMap {
        let mut headers = HeaderMap::new();
        let second = decision.admission.quota();
        if let Some(q) = second {
            headers.insert(LIMIT_SECOND, HeaderValue::from(q.limit));
            headers.insert(REMAINING_SECOND, HeaderValue::from(q.remaining));
        }
        if let Some(q) = decision.minute {
            headers.insert(LIMIT_MINUTE, HeaderValue::from(q.limit));
            headers.insert(REMAINING_MINUTE, HeaderValue::from(q.remaining));
        }
        let tightest = [second, decision.minute]
            .into_iter()
            .flatten()
            .min_by_key(|q| q.remaining);
        if let Some(q) = tightest {
            if self.style.ietf {
                headers.insert(LIMIT, HeaderValue::from(q.limit));
                headers.insert(REMAINING, HeaderValue::from(q.remaining));
                headers.insert(RESET, HeaderValue::from(ceil_secs(q.reset)));
            }
        }
        if let Admission::Rejected {
            retry_after: Some(wait),
            ..
        } = decision.admission
        {
            if self.style.retry_after && (second.is_some() || decision.minute.is_some()) {
                headers.insert(RETRY_AFTER, HeaderValue::from(ceil_secs(wait)));
            }
        }
        headers
    }
}

/// Admits everything (`--limiter none`).
struct Unlimited;

impl Limiter for Unlimited {
    fn admit(&mut self, _now: Duration) -> Admission {
        Admission::Allowed { quota: None }
    }
}

/// Whole seconds, rounded up.
fn ceil_secs(d: Duration) -> u64 {
    d.as_secs() + u64::from(d.subsec_nanos() > 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fixed_window_headers_and_retry_after() {
        let style = HeaderStyle {
            retry_after: true,
            ietf: false,
        };
        let limits = Limits::new(Some(LimiterConfig::FixedWindow { limit: 1 }), None, style);
        let t = Duration::from_millis(5_300);
        let ok = limits.admit("k", t);
        let h = limits.headers(&ok);
        assert_eq!(h[LIMIT_SECOND], "1");
        assert_eq!(h[REMAINING_SECOND], "0");
        assert!(h.get(RETRY_AFTER).is_none());
        let no = limits.admit("k", t);
        assert_eq!(limits.headers(&no)[RETRY_AFTER], "1");
        assert!(
            limits.admit("other", t).admission.is_allowed(),
            "keys are limited separately"
        );
    }

    #[test]
    fn gcra_and_none_send_no_headers() {
        let style = HeaderStyle {
            retry_after: true,
            ietf: false,
        };
        let limits = Limits::new(
            Some(LimiterConfig::Gcra {
                rate: 1.0,
                burst: 0,
            }),
            None,
            style,
        );
        let t = Duration::from_secs(9);
        assert!(limits.admit("k", t).admission.is_allowed());
        let no = limits.admit("k", t);
        assert!(!no.admission.is_allowed());
        assert!(limits.headers(&no).is_empty());
        let none = Limits::new(None, None, style);
        assert!((0..100).all(|_| none.admit("k", t).admission.is_allowed()));
    }

    #[test]
    fn a_minute_limit_stacks_on_the_second_limit_with_its_headers() {
        let style = HeaderStyle {
            retry_after: true,
            ietf: true,
        };
        let limits = Limits::new(
            Some(LimiterConfig::FixedWindow { limit: 10 }),
            NonZeroU32::new(3),
            style,
        );
        let t = Duration::from_secs(1_700_000_085); // 45 s into its minute
        let ok = limits.admit("k", t);
        let h = limits.headers(&ok);
        let got: Vec<&str> = [
            LIMIT_SECOND,
            REMAINING_SECOND,
            LIMIT_MINUTE,
            REMAINING_MINUTE,
            LIMIT,
            REMAINING,
            RESET,
        ]
        .iter()
        .map(|n| h[*n].to_str().unwrap())
        .collect();
        assert_eq!(got, ["10", "9", "3", "2", "3", "2", "15"]);
        limits.admit("k", t + Duration::from_secs(1));
        limits.admit("k", t + Duration::from_secs(2));
        let no = limits.admit("k", t + Duration::from_secs(3));
        assert!(!no.admission.is_allowed(), "the minute's 3 are used up");
        assert_eq!(limits.headers(&no)[RETRY_AFTER], "12");
    }

    #[test]
    fn idle_keys_are_forgotten_and_busy_ones_kept() {
        let style = HeaderStyle::default();
        let gcra = Some(LimiterConfig::Gcra {
            rate: 2.0,
            burst: 1,
        });
        let limits = Limits::new(gcra, None, style);
        let t = Duration::from_secs(1_000);
        // One key keeps sending and is refused; a crowd of keys sends once.
        assert!(limits.admit("busy", t).admission.is_allowed());
        assert!(limits.admit("busy", t).admission.is_allowed(), "burst 1");
        for i in 0..FIRST_SWEEP {
            limits.admit(&format!("k{i}"), t);
        }
        assert_eq!(limits.keys(), FIRST_SWEEP + 1);
        // 0.3 s later the busy key is still refused: its state is kept
        // through the sweep that a new key triggers.
        let later = t + Duration::from_millis(300);
        assert!(!limits.admit("busy", later).admission.is_allowed());
        limits.admit("new", later);
        assert_eq!(
            limits.keys(),
            FIRST_SWEEP + 2,
            "nothing idle yet (drain 1 s + 1 s)"
        );
        // Two more seconds: everyone but the busy key went quiet long
        // enough to be back in a fresh state; the next new key sweeps them.
        let quiet = t + Duration::from_millis(2_950);
        assert!(limits.admit("busy", quiet).admission.is_allowed());
        assert!(limits.admit("busy", quiet).admission.is_allowed());
        for i in 0..FIRST_SWEEP {
            limits.admit(&format!("q{i}"), quiet);
        }
        let swept = limits.keys();
        assert!(swept < FIRST_SWEEP + 10, "{swept} keys kept");
        assert!(
            !limits.admit("busy", quiet).admission.is_allowed(),
            "the busy key kept its state"
        );
    }

    #[test]
    fn ceil_secs_rounds_up() {
        assert_eq!(ceil_secs(Duration::from_millis(1)), 1);
        assert_eq!(ceil_secs(Duration::from_secs(1)), 1);
        assert_eq!(ceil_secs(Duration::from_millis(1001)), 2);
    }
}
