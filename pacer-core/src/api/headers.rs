//! Rate-limit response headers: which ones exist (Kong's
//! `X-RateLimit-*-Second/-Minute`, the IETF draft's `RateLimit-*`,
//! `Retry-After`), reading them into [`RateHeaders`], and parsing
//! `Retry-After`. Knows nothing about how headers are fetched.

use std::time::{Duration, UNIX_EPOCH};

use crate::bounds::{duration_from_secs, MAX_SERVER_WAIT};

/// `X-RateLimit-Limit-Second` (Kong).
pub const LIMIT_SECOND: &str = "X-RateLimit-Limit-Second";
/// `X-RateLimit-Remaining-Second` (Kong).
pub const REMAINING_SECOND: &str = "X-RateLimit-Remaining-Second";
/// `X-RateLimit-Limit-Minute` (Kong).
pub const LIMIT_MINUTE: &str = "X-RateLimit-Limit-Minute";
/// `X-RateLimit-Remaining-Minute` (Kong).
pub const REMAINING_MINUTE: &str = "X-RateLimit-Remaining-Minute";
/// `RateLimit-Limit` (IETF draft, newer gateways).
pub const LIMIT: &str = "RateLimit-Limit";
/// `RateLimit-Remaining` (IETF draft).
pub const REMAINING: &str = "RateLimit-Remaining";
/// `RateLimit-Reset`: delta-seconds until the window resets (IETF draft).
pub const RESET: &str = "RateLimit-Reset";
/// `Retry-After`: delta-seconds or an HTTP-date.
pub const RETRY_AFTER: &str = "Retry-After";

/// Every rate-limit header Pacer reads, in canonical spelling. A server
/// must list these in `Access-Control-Expose-Headers` for a page on another
/// origin to see them (the emulator's CORS layer uses this list).
pub const EXPOSED_HEADERS: &[&str] = &[
    LIMIT_SECOND,
    REMAINING_SECOND,
    LIMIT_MINUTE,
    REMAINING_MINUTE,
    LIMIT,
    REMAINING,
    RESET,
    RETRY_AFTER,
];

/// The rate-limit headers of one response; `None` where a header was
/// absent (or hidden by CORS) or did not parse.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RateHeaders {
    /// `X-RateLimit-Limit-Second`.
    pub limit_second: Option<u32>,
    /// `X-RateLimit-Remaining-Second`.
    pub remaining_second: Option<u32>,
    /// `X-RateLimit-Limit-Minute`.
    pub limit_minute: Option<u32>,
    /// `X-RateLimit-Remaining-Minute`.
    pub remaining_minute: Option<u32>,
    /// `RateLimit-Limit` (the first number when it carries a policy list).
    pub limit: Option<u32>,
    /// `RateLimit-Remaining`.
    pub remaining: Option<u32>,
    /// `RateLimit-Reset`, delta-seconds, at most a day
    /// ([`MAX_SERVER_WAIT`]).
    pub reset: Option<Duration>,
    /// `Retry-After`, raw (parse with [`parse_retry_after`], which needs "now"
    /// for the HTTP-date form).
    pub retry_after: Option<String>,
}

impl RateHeaders {
    /// Reads the headers through `get`, which is called with the canonical
    /// names of [`EXPOSED_HEADERS`] (e.g. `X-RateLimit-Limit-Second`).
    ///
    /// HTTP header names are case-insensitive: `get` must match names
    /// without regard to case, as `web_sys::Headers::get`,
    /// `http::HeaderMap::get` and reqwest already do.
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> RateHeaders {
        let num = |name: &str| get(name).and_then(|v| parse_count(&v));
        RateHeaders {
            limit_second: num(LIMIT_SECOND),
            remaining_second: num(REMAINING_SECOND),
            limit_minute: num(LIMIT_MINUTE),
            remaining_minute: num(REMAINING_MINUTE),
            limit: num(LIMIT),
            remaining: num(REMAINING),
            reset: get(RESET)
                .and_then(|v| parse_count(&v))
                .map(|s| Duration::from_secs(s.into()).min(MAX_SERVER_WAIT)),
            retry_after: get(RETRY_AFTER)
                .map(|v| v.trim().to_string())
                .filter(|v| !v.is_empty()),
        }
    }

    /// True when no rate-limit header was seen at all.
    pub fn is_empty(&self) -> bool {
        *self == RateHeaders::default()
    }
}

/// A non-negative integer header value; for a list such as
/// `RateLimit-Limit: 10, 10;w=1` the first number counts.
fn parse_count(value: &str) -> Option<u32> {
    let first = value.split([',', ';']).next()?.trim();
    first.parse().ok()
}

/// Parses a `Retry-After` value: delta-seconds (`"2"`, leniently also
/// `"1.5"`) or an HTTP-date (`"Wed, 21 Oct 2015 07:28:00 GMT"`), which is
/// turned into a wait from `now_since_unix_epoch` (a date in the past gives
/// zero). Either form is capped at a day ([`MAX_SERVER_WAIT`]): a server
/// saying "the year 9999" must not park the run for good. Anything else
/// gives `None`.
pub fn parse_retry_after(value: &str, now_since_unix_epoch: Duration) -> Option<Duration> {
    let value = value.trim();
    if let Some(d) = parse_delta_seconds(value) {
        return Some(d);
    }
    let at = httpdate::parse_http_date(value).ok()?;
    let at = at.duration_since(UNIX_EPOCH).ok()?;
    Some(at.saturating_sub(now_since_unix_epoch).min(MAX_SERVER_WAIT))
}

/// The delta-seconds form of `Retry-After` alone (no clock needed).
pub(crate) fn parse_delta_seconds(value: &str) -> Option<Duration> {
    let value = value.trim();
    if value.is_empty() || !value.bytes().all(|b| b.is_ascii_digit() || b == b'.') {
        return None;
    }
    let secs: f64 = value.parse().ok()?;
    // Cap absurd values at a day rather than overflow.
    (secs.is_finite() && secs >= 0.0).then(|| duration_from_secs(secs).min(MAX_SERVER_WAIT))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    #[test]
    fn retry_after_table() {
        // 2015-10-21T07:28:00Z
        let date_secs = 1_445_412_480;
        let now = Duration::from_secs(date_secs - 5);
        let cases: &[(&str, Option<Duration>)] = &[
            ("0", Some(Duration::ZERO)),
            ("2", Some(Duration::from_secs(2))),
            (" 120 ", Some(Duration::from_secs(120))),
            ("1.5", Some(Duration::from_millis(1500))),
            (
                "Wed, 21 Oct 2015 07:28:00 GMT",
                Some(Duration::from_secs(5)),
            ),
            ("Wed, 21 Oct 2015 07:27:00 GMT", Some(Duration::ZERO)),
            ("-1", None),
            ("soon", None),
            ("", None),
            ("1e3", None),
            // Far-off answers are capped at a day, in either form.
            ("99999999999", Some(MAX_SERVER_WAIT)),
            ("Fri, 31 Dec 9999 23:59:59 GMT", Some(MAX_SERVER_WAIT)),
        ];
        for (value, want) in cases {
            assert_eq!(parse_retry_after(value, now), *want, "value {value:?}");
        }
    }

    #[test]
    fn from_lookup_reads_every_header() {
        let map: HashMap<&str, &str> = [
            (LIMIT_SECOND, "4"),
            (REMAINING_SECOND, "3"),
            (LIMIT_MINUTE, "100"),
            (REMAINING_MINUTE, " 98 "),
            (LIMIT, "10, 10;w=1"),
            (REMAINING, "7"),
            (RESET, "1"),
            (RETRY_AFTER, "2"),
        ]
        .into_iter()
        .collect();
        let h = RateHeaders::from_lookup(|n| map.get(n).map(|v| v.to_string()));
        assert_eq!(
            h,
            RateHeaders {
                limit_second: Some(4),
                remaining_second: Some(3),
                limit_minute: Some(100),
                remaining_minute: Some(98),
                limit: Some(10),
                remaining: Some(7),
                reset: Some(Duration::from_secs(1)),
                retry_after: Some("2".into()),
            }
        );
        assert!(!h.is_empty());
    }

    #[test]
    fn from_lookup_tolerates_missing_and_garbage() {
        let h = RateHeaders::from_lookup(|n| (n == LIMIT_SECOND).then(|| "lots".to_string()));
        assert!(h.is_empty());
    }

    #[test]
    fn reset_is_capped_at_a_day() {
        let h = RateHeaders::from_lookup(|n| (n == RESET).then(|| "4294967295".to_string()));
        assert_eq!(h.reset, Some(MAX_SERVER_WAIT));
    }

    fn cases() -> u32 {
        std::env::var("PROPTEST_CASES")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(4096)
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(cases()))]

        /// Whatever a server sends, reading the headers never panics and
        /// never asks for a wait beyond a day.
        #[test]
        fn headers_never_panic(
            values in proptest::collection::vec(
                proptest::prop_oneof![
                    "\\PC{0,40}",
                    "[0-9.,; =a-z]{0,24}",
                    "(Mon|Fri), [0-9]{1,2} (Jan|Dec) [0-9]{1,5} [0-9:]{8} GMT",
                ],
                EXPOSED_HEADERS.len(),
            ),
            now_s in proptest::prelude::any::<u64>(),
        ) {
            let now = Duration::from_secs(now_s);
            let h = RateHeaders::from_lookup(|name| {
                let i = EXPOSED_HEADERS.iter().position(|n| *n == name)?;
                Some(values[i].clone())
            });
            proptest::prop_assert!(h.reset.is_none_or(|r| r <= MAX_SERVER_WAIT));
            for v in &values {
                let wait = parse_retry_after(v, now);
                proptest::prop_assert!(wait.is_none_or(|w| w <= MAX_SERVER_WAIT));
            }
        }
    }

    #[test]
    fn exposed_headers_are_distinct() {
        let mut names: Vec<String> = EXPOSED_HEADERS
            .iter()
            .map(|h| h.to_ascii_lowercase())
            .collect();
        names.sort();
        names.dedup();
        assert_eq!(names.len(), EXPOSED_HEADERS.len());
    }
}
