//! One model of every window a server announced, whatever the dialect:
//! Kong's named windows (`-Second`, `-Minute`, `-Day`, `-Month`), the IETF
//! draft's named policies (`RateLimit-Policy` with `RateLimit`), the older
//! draft's single window (`RateLimit-Limit/-Remaining/-Reset`) and the
//! GitHub-style one (`X-RateLimit-Limit/-Remaining/-Reset`).
//!
//! Pure: "now" (wall-clock time since the Unix epoch) is an argument, needed
//! for a `Reset` given as a Unix time and for the ends of Kong's aligned
//! day and month windows. [`super::quota`] decides on the windows.

use std::time::Duration;

use super::headers::RateHeaders;
use super::ietf::MAX_QUOTA_WAIT;

/// A day.
pub const DAY: Duration = Duration::from_secs(86_400);
/// A month as Pacer takes it for a rate (30 days); its end is the calendar's.
pub const MONTH: Duration = Duration::from_secs(30 * 86_400);

/// One announced window. Every field but `name` may be unknown.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Window {
    /// What the server calls it: `second`, `minute`, `day`, `month` (Kong),
    /// the policy's own name (IETF, e.g. `burst`), or `window` for the
    /// unnamed one of the older draft and GitHub-style headers.
    pub name: String,
    /// Requests allowed per window.
    pub limit: Option<u32>,
    /// Requests left in the current window.
    pub remaining: Option<u32>,
    /// Time until the current window resets (at most 32 days).
    pub reset: Option<Duration>,
    /// The window's length.
    pub length: Option<Duration>,
    /// True when `reset` is Pacer's own reckoning, not the server's word
    /// (Kong's day and month end at midnight UTC, so Pacer computes them; a
    /// server whose day is not the calendar's will say so in a 429's
    /// `Retry-After`).
    pub reset_computed: bool,
}

/// Every window the headers announce, in a fixed order: Kong's (second,
/// minute, day, month), the IETF policies, then the unnamed ones. A window
/// is listed when any of its fields was sent.
pub fn announced_windows(h: &RateHeaders, now_unix: Duration) -> Vec<Window> {
    let mut out = Vec::new();
    let kong = [
        (
            "second",
            h.limit_second,
            h.remaining_second,
            Duration::from_secs(1),
        ),
        (
            "minute",
            h.limit_minute,
            h.remaining_minute,
            Duration::from_secs(60),
        ),
        ("day", h.limit_day, h.remaining_day, DAY),
        ("month", h.limit_month, h.remaining_month, MONTH),
    ];
    for (name, limit, remaining, length) in kong {
        if limit.is_none() && remaining.is_none() {
            continue;
        }
        let reset = match name {
            "day" => Some(until_next_multiple(now_unix, DAY)),
            "month" => Some(until_next_month(now_unix)),
            _ => None,
        };
        out.push(Window {
            name: name.into(),
            limit,
            remaining,
            reset_computed: reset.is_some(),
            reset,
            length: Some(length),
        });
    }
    for p in &h.policies {
        let state = h.limits.iter().find(|l| l.name == p.name);
        out.push(Window {
            name: p.name.clone(),
            limit: p.quota,
            remaining: state.and_then(|l| l.remaining),
            reset: state.and_then(|l| l.reset),
            length: p.window,
            reset_computed: false,
        });
    }
    // `RateLimit` entries without a policy still say what is left.
    for l in &h.limits {
        if !h.policies.iter().any(|p| p.name == l.name) {
            out.push(Window {
                name: l.name.clone(),
                limit: None,
                remaining: l.remaining,
                reset: l.reset,
                length: None,
                reset_computed: false,
            });
        }
    }
    if h.limit.is_some() || h.remaining.is_some() {
        out.push(Window {
            name: "window".into(),
            limit: h.limit,
            remaining: h.remaining,
            reset: h.reset,
            length: None,
            reset_computed: false,
        });
    }
    if h.x_limit.is_some() || h.x_remaining.is_some() {
        out.push(Window {
            name: "window".into(),
            limit: h.x_limit,
            remaining: h.x_remaining,
            reset: h.x_reset.map(|n| reset_from_number(n, now_unix)),
            length: None,
            reset_computed: false,
        });
    }
    out
}

/// A `Reset` number: the Unix time of the reset when it is nearer to `now`
/// than to zero (GitHub's `X-RateLimit-Reset: 1700000000`), else seconds to
/// wait (`X-RateLimit-Reset: 30`). A clock before 2001 (a test's fake
/// clock) cannot tell by that, so then anything from 10⁹ (2001) on is a
/// Unix time: no window is 31 years long. Capped at 32 days; a Unix time
/// in the past is no wait.
pub fn reset_from_number(n: u64, now_unix: Duration) -> Duration {
    let now = now_unix.as_secs();
    let unix_time = if now >= 1_000_000_000 {
        n > now / 2
    } else {
        n >= 1_000_000_000
    };
    let wait = if unix_time {
        Duration::from_secs(n.saturating_sub(now))
            .saturating_sub(Duration::from_nanos(u64::from(now_unix.subsec_nanos())))
    } else {
        Duration::from_secs(n)
    };
    wait.min(MAX_QUOTA_WAIT)
}

/// Time from `now` to the next whole multiple of `length` since the epoch
/// (Kong's windows start at such multiples).
fn until_next_multiple(now: Duration, length: Duration) -> Duration {
    let len = length.as_nanos();
    let into = now.as_nanos() % len;
    Duration::from_nanos(u64::try_from(len - into).unwrap_or(u64::MAX))
}

/// Time from `now` to the start of the next calendar month, UTC (Kong's
/// month window).
fn until_next_month(now: Duration) -> Duration {
    let days = now.as_secs() / 86_400;
    let (y, m, _) = crate::calendar::civil_from_days(days);
    let (ny, nm) = if m == 12 { (y + 1, 1) } else { (y, m + 1) };
    let next = Duration::from_secs(crate::calendar::first_of_month(ny, nm) * 86_400);
    next.saturating_sub(now).min(MAX_QUOTA_WAIT)
}

#[cfg(test)]
mod tests;
