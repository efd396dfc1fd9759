//! Rate-limit response headers: which ones exist (Kong's
//! `X-RateLimit-*-Second/-Minute/-Day/-Month`, GitHub-style plain
//! `X-RateLimit-Limit/-Remaining/-Reset`, the IETF draft's older
//! `RateLimit-*` and newer `RateLimit`/`RateLimit-Policy` fields,
//! `Retry-After`), reading them into [`RateHeaders`], and parsing
//! `Retry-After`. Knows nothing about how headers are fetched;
//! [`super::windows`] turns what was read into one model of every window.

use std::time::{Duration, UNIX_EPOCH};

use super::ietf::{self, IetfLimit, IetfPolicy};
use crate::bounds::{duration_from_secs, MAX_SERVER_WAIT};

/// `X-RateLimit-Limit-Second` (Kong).
pub const LIMIT_SECOND: &str = "X-RateLimit-Limit-Second";
/// `X-RateLimit-Remaining-Second` (Kong).
pub const REMAINING_SECOND: &str = "X-RateLimit-Remaining-Second";
/// `X-RateLimit-Limit-Minute` (Kong).
pub const LIMIT_MINUTE: &str = "X-RateLimit-Limit-Minute";
/// `X-RateLimit-Remaining-Minute` (Kong).
pub const REMAINING_MINUTE: &str = "X-RateLimit-Remaining-Minute";
/// `X-RateLimit-Limit-Day` (Kong).
pub const LIMIT_DAY: &str = "X-RateLimit-Limit-Day";
/// `X-RateLimit-Remaining-Day` (Kong).
pub const REMAINING_DAY: &str = "X-RateLimit-Remaining-Day";
/// `X-RateLimit-Limit-Month` (Kong).
pub const LIMIT_MONTH: &str = "X-RateLimit-Limit-Month";
/// `X-RateLimit-Remaining-Month` (Kong).
pub const REMAINING_MONTH: &str = "X-RateLimit-Remaining-Month";
/// `X-RateLimit-Limit`: GitHub-style, a window without a name.
pub const X_LIMIT: &str = "X-RateLimit-Limit";
/// `X-RateLimit-Remaining` (GitHub-style).
pub const X_REMAINING: &str = "X-RateLimit-Remaining";
/// `X-RateLimit-Reset` (GitHub-style): seconds to wait, or the Unix time
/// of the reset (GitHub's), told apart by magnitude.
pub const X_RESET: &str = "X-RateLimit-Reset";
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
    LIMIT_DAY,
    REMAINING_DAY,
    LIMIT_MONTH,
    REMAINING_MONTH,
    X_LIMIT,
    X_REMAINING,
    X_RESET,
    ietf::POLICY,
    ietf::RATELIMIT,
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
    /// `X-RateLimit-Limit-Day`.
    pub limit_day: Option<u32>,
    /// `X-RateLimit-Remaining-Day`.
    pub remaining_day: Option<u32>,
    /// `X-RateLimit-Limit-Month`.
    pub limit_month: Option<u32>,
    /// `X-RateLimit-Remaining-Month`.
    pub remaining_month: Option<u32>,
    /// `X-RateLimit-Limit` (GitHub-style).
    pub x_limit: Option<u32>,
    /// `X-RateLimit-Remaining` (GitHub-style).
    pub x_remaining: Option<u32>,
    /// `X-RateLimit-Reset` as sent, in seconds: a wait or a Unix time
    /// ([`super::windows::reset_from_number`] needs "now" to tell).
    pub x_reset: Option<u64>,
    /// `RateLimit-Policy` (draft -08 on).
    pub policies: Vec<IetfPolicy>,
    /// `RateLimit` (draft -08 on).
    pub limits: Vec<IetfLimit>,
}

impl RateHeaders {
    /// Reads headers given as name/value pairs, names in any case (a
    /// recorded answer, a test's fixture).
    pub fn from_pairs<V: AsRef<str>>(pairs: &[(&str, V)]) -> RateHeaders {
        Self::from_lookup(|n| {
            pairs
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(n))
                .map(|(_, v)| v.as_ref().to_string())
        })
    }

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
                .filter(|v| !v.is_empty() && v.len() <= 64),
            limit_day: num(LIMIT_DAY),
            remaining_day: num(REMAINING_DAY),
            limit_month: num(LIMIT_MONTH),
            remaining_month: num(REMAINING_MONTH),
            x_limit: num(X_LIMIT),
            x_remaining: num(X_REMAINING),
            x_reset: get(X_RESET).and_then(|v| parse_seconds(&v)),
            policies: get(ietf::POLICY)
                .map(|v| ietf::parse_policies(&v))
                .unwrap_or_default(),
            limits: get(ietf::RATELIMIT)
                .map(|v| ietf::parse_limits(&v))
                .unwrap_or_default(),
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

/// A whole number of seconds (`X-RateLimit-Reset`); a fraction is
/// rounded up, as some gateways send `"1.5"`.
fn parse_seconds(value: &str) -> Option<u64> {
    let value = value.trim();
    if let Ok(n) = value.parse::<u64>() {
        return Some(n);
    }
    let d = parse_delta_seconds(value)?;
    // Only short fractions can come through `parse_delta_seconds` uncapped.
    (d < MAX_SERVER_WAIT).then(|| d.as_secs() + u64::from(d.subsec_nanos() > 0))
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
            (LIMIT_DAY, "5000"),
            (REMAINING_DAY, "4999"),
            (LIMIT_MONTH, "100000"),
            (REMAINING_MONTH, "0"),
            (X_LIMIT, "60"),
            (X_REMAINING, "59"),
            (X_RESET, "1700000000"),
            (ietf::POLICY, r#""burst";q=100;w=60"#),
            (ietf::RATELIMIT, r#""burst";r=12;t=40"#),
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
                limit_day: Some(5000),
                remaining_day: Some(4999),
                limit_month: Some(100_000),
                remaining_month: Some(0),
                x_limit: Some(60),
                x_remaining: Some(59),
                x_reset: Some(1_700_000_000),
                policies: vec![IetfPolicy {
                    name: "burst".into(),
                    quota: Some(100),
                    window: Some(Duration::from_secs(60)),
                }],
                limits: vec![IetfLimit {
                    name: "burst".into(),
                    remaining: Some(12),
                    reset: Some(Duration::from_secs(40)),
                }],
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
    fn x_reset_takes_whole_and_fractional_seconds() {
        let read = |v: &str| RateHeaders::from_lookup(|n| (n == X_RESET).then(|| v.to_string()));
        assert_eq!(read("30").x_reset, Some(30));
        assert_eq!(read(" 1.2 ").x_reset, Some(2));
        assert_eq!(read("18446744073709551615").x_reset, Some(u64::MAX));
        assert_eq!(read("-3").x_reset, None);
        assert_eq!(read("soon").x_reset, None);
    }

    #[test]
    fn reset_is_capped_at_a_day() {
        let h = RateHeaders::from_lookup(|n| (n == RESET).then(|| "4294967295".to_string()));
        assert_eq!(h.reset, Some(MAX_SERVER_WAIT));
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(crate::proptest_cases()))]

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
