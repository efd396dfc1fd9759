//! The rate headers a decision puts on the response, in the dialect the
//! flags ask for: Kong's `X-RateLimit-{Limit,Remaining}-{Second,Minute,Day,Month}`
//! (plus, with `--ietf-headers`, the older draft's `RateLimit-Limit`,
//! `-Remaining`, `-Reset` of the window with the fewest requests left), the
//! IETF draft's structured `RateLimit-Policy` and `RateLimit` (-08 on),
//! GitHub's `X-RateLimit-Limit`, `-Remaining`, `-Reset` (a Unix time), or
//! none; and `Retry-After` on refusals when asked, in seconds (rounded up)
//! or as an HTTP date. Limiters without windows (GCRA, sliding) announce
//! nothing, as nginx and HAProxy.

use crate::limits::Decision;
use axum::http::{HeaderMap, HeaderValue};
use clap::ValueEnum;
use pacer_core::api::headers::{
    LIMIT, LIMIT_DAY, LIMIT_MINUTE, LIMIT_MONTH, LIMIT_SECOND, REMAINING, REMAINING_DAY,
    REMAINING_MINUTE, REMAINING_MONTH, REMAINING_SECOND, RESET, RETRY_AFTER, X_LIMIT, X_REMAINING,
    X_RESET,
};
use pacer_core::api::ietf::{POLICY, RATELIMIT};
use pacer_core::limiter::Admission;
use std::time::{Duration, UNIX_EPOCH};

/// Which window a quota belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Span {
    /// The fixed-window limiter's own second.
    Second,
    /// The stacked per-minute window.
    Minute,
    /// The stacked per-day window.
    Day,
    /// The stacked per-month window.
    Month,
}

impl Span {
    /// The name the IETF policies use.
    fn name(self) -> &'static str {
        match self {
            Span::Second => "second",
            Span::Minute => "minute",
            Span::Day => "day",
            Span::Month => "month",
        }
    }

    /// Kong's limit and remaining header names.
    fn kong(self) -> (&'static str, &'static str) {
        match self {
            Span::Second => (LIMIT_SECOND, REMAINING_SECOND),
            Span::Minute => (LIMIT_MINUTE, REMAINING_MINUTE),
            Span::Day => (LIMIT_DAY, REMAINING_DAY),
            Span::Month => (LIMIT_MONTH, REMAINING_MONTH),
        }
    }
}

/// The rate-header dialect (`--headers`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, ValueEnum)]
pub enum Dialect {
    /// Kong: `X-RateLimit-Limit-Second`, `-Remaining-Second`, and so on
    /// for `-Minute`, `-Day`, `-Month`.
    #[default]
    Kong,
    /// The IETF draft (-08 on): `RateLimit-Policy: "day";q=N;w=S` and
    /// `RateLimit: "day";r=N;t=S` for every window.
    IetfDraft,
    /// GitHub: `X-RateLimit-Limit`, `-Remaining`, `-Reset` (a Unix time)
    /// of the window with the fewest requests left.
    Github,
    /// No rate headers at all.
    None,
}

/// How decisions are announced.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HeaderStyle {
    /// The rate-header dialect.
    pub dialect: Dialect,
    /// With Kong's: the older draft's `RateLimit-Limit/-Remaining/-Reset`.
    pub older_ietf: bool,
    /// `Retry-After` on refusals whose limiter knows when.
    pub retry_after: bool,
    /// ...as an HTTP date rather than seconds.
    pub retry_after_date: bool,
    /// The status of a refusal by the concurrency cap (429 or 503).
    pub cap_status: u16,
}

impl Default for HeaderStyle {
    fn default() -> Self {
        Self {
            dialect: Dialect::Kong,
            older_ietf: false,
            retry_after: false,
            retry_after_date: false,
            cap_status: 429,
        }
    }
}

impl HeaderStyle {
    /// The headers for `decision`, made at `now` (since the Unix epoch).
    pub fn headers(&self, decision: &Decision, now: Duration) -> HeaderMap {
        let mut h = HeaderMap::new();
        let windows = &decision.windows;
        let tightest = windows
            .iter()
            .min_by_key(|(_, q, _)| (q.remaining, std::cmp::Reverse(q.reset)));
        match self.dialect {
            Dialect::Kong => {
                for (span, q, _) in windows {
                    let (limit, remaining) = span.kong();
                    h.insert(limit, HeaderValue::from(q.limit));
                    h.insert(remaining, HeaderValue::from(q.remaining));
                }
                if let (true, Some((_, q, _))) = (self.older_ietf, tightest) {
                    h.insert(LIMIT, HeaderValue::from(q.limit));
                    h.insert(REMAINING, HeaderValue::from(q.remaining));
                    h.insert(RESET, HeaderValue::from(ceil_secs(q.reset)));
                }
            }
            Dialect::IetfDraft if !windows.is_empty() => {
                let policy: Vec<String> = windows
                    .iter()
                    .map(|(s, q, len)| {
                        format!("\"{}\";q={};w={}", s.name(), q.limit, ceil_secs(*len))
                    })
                    .collect();
                let state: Vec<String> = windows
                    .iter()
                    .map(|(s, q, _)| {
                        format!(
                            "\"{}\";r={};t={}",
                            s.name(),
                            q.remaining,
                            ceil_secs(q.reset)
                        )
                    })
                    .collect();
                insert_text(&mut h, POLICY, &policy.join(", "));
                insert_text(&mut h, RATELIMIT, &state.join(", "));
            }
            Dialect::Github => {
                if let Some((_, q, _)) = tightest {
                    h.insert(X_LIMIT, HeaderValue::from(q.limit));
                    h.insert(X_REMAINING, HeaderValue::from(q.remaining));
                    h.insert(X_RESET, HeaderValue::from(ceil_secs(now + q.reset)));
                }
            }
            Dialect::IetfDraft | Dialect::None => {}
        }
        if let Admission::Rejected {
            retry_after: Some(wait),
            ..
        } = decision.admission
        {
            if self.retry_after {
                let value = if self.retry_after_date {
                    let at = UNIX_EPOCH + Duration::from_secs(ceil_secs(now + wait));
                    httpdate::fmt_http_date(at)
                } else {
                    ceil_secs(wait).to_string()
                };
                insert_text(&mut h, RETRY_AFTER, &value);
            }
        }
        h
    }
}

/// Inserts a header whose value the emulator made (always visible ASCII).
fn insert_text(h: &mut HeaderMap, name: &'static str, value: &str) {
    if let Ok(v) = HeaderValue::from_str(value) {
        h.insert(name, v);
    }
}

/// Whole seconds, rounded up.
pub fn ceil_secs(d: Duration) -> u64 {
    d.as_secs() + u64::from(d.subsec_nanos() > 0)
}

#[cfg(test)]
mod tests;
