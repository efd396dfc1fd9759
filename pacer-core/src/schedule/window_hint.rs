//! Reading every announced window into the scheduler's [`ServerHint`]:
//! the window that binds the rate (any dialect, any length) and, when a
//! quota ran out, how long the run must park. The names of windows are
//! kept as numbers (a limit and a length), so a hint stays a small `Copy`
//! value and the page names the window in its own words.

use std::time::Duration;

use super::pacing::ServerHint;
use crate::api::quota::{binding_rate, parks, BindingKind, Spend};
use crate::api::windows::{announced_windows, Window};
use crate::api::{parse_retry_after, RateHeaders};

/// A window as the page names it: its limit and its length, either of
/// which a server may leave out.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct WindowName {
    /// Requests per window.
    pub limit: Option<u32>,
    /// The window's length.
    pub length: Option<Duration>,
}

impl WindowName {
    fn of(w: &Window) -> Self {
        Self {
            limit: w.limit,
            length: w.length,
        }
    }
}

/// The announced window that sets the rate.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WindowBinding {
    /// Which window.
    pub name: WindowName,
    /// The spacing it allows (1 / its rate).
    pub interval: Duration,
    /// Set when the rate spreads what is left of a quota over its time
    /// left ("spread the day's quota"): (requests left, time left).
    pub spread: Option<(u32, Duration)>,
}

impl WindowBinding {
    /// Requests per second it allows.
    pub fn rate(&self) -> f64 {
        1.0 / self.interval.as_secs_f64()
    }
}

impl ServerHint {
    /// Everything an answer with `status` and headers `h` says about the
    /// server's limits, at `now_unix` (wall-clock time since the Unix
    /// epoch, for Unix-time resets and Kong's day): Kong's second and
    /// minute as [`ServerHint::from_headers`] reads them, the window of any
    /// dialect that binds the rate (`spend` says whether long quotas are
    /// spread over their time left), and whether a quota ran out
    /// ([`parks`]). `None` when they say nothing of limits.
    pub fn read(
        h: &RateHeaders,
        status: u16,
        wall_offset: Duration,
        now_unix: Duration,
        spend: Spend,
    ) -> Option<Self> {
        let windows = announced_windows(h, now_unix);
        let window = binding_rate(&windows, spend).and_then(|b| {
            let interval = Duration::try_from_secs_f64(1.0 / b.rate).ok()?;
            let spread = match b.kind {
                BindingKind::SpreadRemaining => b.window.remaining.zip(b.window.reset),
                BindingKind::Limit => None,
            };
            Some(WindowBinding {
                name: WindowName::of(&b.window),
                interval,
                spread,
            })
        });
        let refused = status == 429;
        let retry_after = h
            .retry_after
            .as_deref()
            .and_then(|v| parse_retry_after(v, now_unix));
        let parked = parks(&windows, refused, retry_after);
        let base = Self::from_headers(h, wall_offset).unwrap_or(Self {
            wall_offset,
            ..Self::default()
        });
        let hint = Self {
            window,
            speaks_windows: !windows.is_empty(),
            quota_wait: parked.as_ref().map(|p| p.wait),
            quota_window: parked.and_then(|p| p.window.as_ref().map(WindowName::of)),
            ..base
        };
        (hint
            != Self {
                wall_offset,
                ..Self::default()
            })
        .then_some(hint)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(pairs: &[(&str, &str)], status: u16, spend: Spend) -> Option<ServerHint> {
        let h = RateHeaders::from_pairs(pairs);
        ServerHint::read(
            &h,
            status,
            Duration::ZERO,
            Duration::from_secs(1_700_000_000),
            spend,
        )
    }

    #[test]
    fn the_binding_window_of_any_dialect() {
        let policy = r#""burst";q=120;w=60, "daily";q=8640;w=86400"#;
        let state = r#""burst";r=100;t=30, "daily";r=360;t=3600"#;
        let pairs = [("RateLimit-Policy", policy), ("RateLimit", state)];
        // As fast as allowed: 2/s by the minute's 120.
        let fast = read(&pairs, 200, Spend::AsFastAsAllowed).unwrap();
        let w = fast.window.unwrap();
        assert_eq!(w.name.length, Some(Duration::from_secs(60)));
        assert!((w.rate() - 2.0).abs() < 1e-9);
        assert_eq!(w.spread, None);
        assert_eq!(fast.quota_wait, None);
        // Spread: 360 left over an hour, 0.1/s, the day binds.
        let spread = read(&pairs, 200, Spend::Spread).unwrap().window.unwrap();
        assert_eq!(spread.name.limit, Some(8640));
        assert_eq!(spread.spread, Some((360, Duration::from_secs(3600))));
        assert!((spread.rate() - 0.1).abs() < 1e-9);
    }

    #[test]
    fn a_quota_run_out_says_how_long_to_park() {
        // GitHub-style: the Unix time of the reset, 40 s on.
        let pairs = [
            ("X-RateLimit-Limit", "50"),
            ("X-RateLimit-Remaining", "0"),
            ("X-RateLimit-Reset", "1700000040"),
        ];
        let hint = read(&pairs, 200, Spend::AsFastAsAllowed).unwrap();
        assert_eq!(hint.quota_wait, Some(Duration::from_secs(40)));
        assert_eq!(hint.quota_window.unwrap().limit, Some(50));
        // A 429 with nothing but a Retry-After of an hour, as an HTTP date.
        let date = "Tue, 14 Nov 2023 23:13:20 GMT";
        let hint = read(&[("Retry-After", date)], 429, Spend::AsFastAsAllowed).unwrap();
        assert_eq!(hint.quota_wait, Some(Duration::from_secs(3600)));
        assert_eq!(hint.quota_window, None);
        // Nothing about limits at all.
        assert_eq!(read(&[], 200, Spend::AsFastAsAllowed), None);
        assert_eq!(read(&[("Retry-After", "2")], 429, Spend::Spread), None);
    }
}
