//! One limiter per client key (models from `pacer_core::limiter`), and the
//! headers a decision puts on the response: Kong's `X-RateLimit-*-Second`
//! for fixed windows (plus `Retry-After` on 429s when asked), nothing for
//! GCRA, as nginx.

use axum::http::{HeaderMap, HeaderValue};
use pacer_core::api::headers::{LIMIT_SECOND, REMAINING_SECOND, RETRY_AFTER};
use pacer_core::limiter::{Admission, Limiter, LimiterConfig};
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

/// The per-key limiters of a running emulator.
pub struct Limits {
    config: Option<LimiterConfig>,
    retry_after: bool,
    per_key: Mutex<HashMap<String, Box<dyn Limiter + Send>>>,
}

impl Limits {
    /// `config` `None` admits everything; `retry_after` adds `Retry-After`
    /// to windowed 429s.
    pub fn new(config: Option<LimiterConfig>, retry_after: bool) -> Limits {
        Limits {
            config,
            retry_after,
            per_key: Mutex::new(HashMap::new()),
        }
    }

    /// Decides on a request of `key` that arrived at `arrival` (since the
    /// Unix epoch). Never awaits: the decision is made on the arrival time.
    pub fn admit(&self, key: &str, arrival: Duration) -> Admission {
        let Some(config) = self.config else {
            return Admission::Allowed { quota: None };
        };
        let mut map = self.per_key.lock().unwrap_or_else(|e| e.into_inner());
        let limiter = map.entry(key.to_string()).or_insert_with(|| config.build());
        limiter.admit(arrival)
    }

    /// The rate headers for a decision: the window's limit and remaining
    /// when the model has a window, and `Retry-After` on a windowed refusal
    /// when enabled.
    pub fn headers(&self, admission: &Admission) -> HeaderMap {
        let mut headers = HeaderMap::new();
        let Some(quota) = admission.quota() else {
            return headers;
        };
        headers.insert(LIMIT_SECOND, HeaderValue::from(quota.limit));
        headers.insert(REMAINING_SECOND, HeaderValue::from(quota.remaining));
        if self.retry_after && !admission.is_allowed() {
            headers.insert(RETRY_AFTER, HeaderValue::from(ceil_secs(quota.reset)));
        }
        headers
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
        let limits = Limits::new(Some(LimiterConfig::FixedWindow { limit: 1 }), true);
        let t = Duration::from_millis(5_300);
        let ok = limits.admit("k", t);
        let h = limits.headers(&ok);
        assert_eq!(h[LIMIT_SECOND], "1");
        assert_eq!(h[REMAINING_SECOND], "0");
        assert!(h.get(RETRY_AFTER).is_none());
        let no = limits.admit("k", t);
        assert_eq!(limits.headers(&no)[RETRY_AFTER], "1");
        assert!(
            limits.admit("other", t).is_allowed(),
            "keys are limited separately"
        );
    }

    #[test]
    fn gcra_and_none_send_no_headers() {
        let limits = Limits::new(
            Some(LimiterConfig::Gcra {
                rate: 1.0,
                burst: 0,
            }),
            true,
        );
        let t = Duration::from_secs(9);
        assert!(limits.admit("k", t).is_allowed());
        let no = limits.admit("k", t);
        assert!(!no.is_allowed());
        assert!(limits.headers(&no).is_empty());
        let none = Limits::new(None, true);
        assert!((0..100).all(|_| none.admit("k", t).is_allowed()));
    }

    #[test]
    fn ceil_secs_rounds_up() {
        assert_eq!(ceil_secs(Duration::from_millis(1)), 1);
        assert_eq!(ceil_secs(Duration::from_secs(1)), 1);
        assert_eq!(ceil_secs(Duration::from_millis(1001)), 2);
    }
}
