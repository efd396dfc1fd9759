//! Table tests of each dialect on fake time, and "never panics" over
//! arbitrary header values through the whole pipeline.

use super::*;
use crate::api::headers::*;
use crate::api::ietf;
use crate::api::quota::{binding_rate, exhausted, Spend};

fn s(n: u64) -> Duration {
    Duration::from_secs(n)
}

/// 2023-11-14T22:13:20Z.
const NOW: u64 = 1_700_000_000;

fn read(pairs: &[(&str, &str)]) -> RateHeaders {
    RateHeaders::from_pairs(pairs)
}

fn w(
    name: &str,
    limit: Option<u32>,
    remaining: Option<u32>,
    reset: Option<u64>,
    length: Option<u64>,
) -> Window {
    Window {
        name: name.into(),
        limit,
        remaining,
        reset: reset.map(s),
        length: length.map(s),
        reset_computed: false,
    }
}

/// `w` with a reset Pacer reckoned itself.
fn computed(w: Window) -> Window {
    Window {
        reset_computed: true,
        ..w
    }
}

#[test]
fn kong_windows_second_to_month() {
    let h = read(&[
        (LIMIT_SECOND, "4"),
        (REMAINING_SECOND, "3"),
        (LIMIT_MINUTE, "100"),
        (REMAINING_MINUTE, "90"),
        (LIMIT_DAY, "5000"),
        (REMAINING_DAY, "0"),
        (LIMIT_MONTH, "100000"),
        (REMAINING_MONTH, "60000"),
    ]);
    // NOW is 80 000 s into its day; 2023-12-01T00:00Z is 1 701 388 800.
    assert_eq!(
        announced_windows(&h, s(NOW)),
        [
            w("second", Some(4), Some(3), None, Some(1)),
            w("minute", Some(100), Some(90), None, Some(60)),
            computed(w("day", Some(5000), Some(0), Some(6_400), Some(86_400))),
            computed(w(
                "month",
                Some(100_000),
                Some(60_000),
                Some(1_388_800),
                Some(30 * 86_400)
            )),
        ]
    );
}

#[test]
fn month_ends_on_the_calendar() {
    let cases = [
        // 2024-01-31T12:00Z → 2024-02-01.
        (1_706_702_400, 43_200),
        // 2024-02-29T00:00Z (leap) → 2024-03-01.
        (1_709_164_800, 86_400),
        // 2023-12-31T23:59:59Z → 2024-01-01.
        (1_704_067_199, 1),
        // 2024-03-01T00:00Z exactly: a whole month (31 days) ahead.
        (1_709_251_200, 31 * 86_400),
    ];
    for (now, want) in cases {
        assert_eq!(until_next_month(s(now)), s(want), "now {now}");
    }
}

#[test]
fn ietf_draft_policies_and_their_state() {
    let h = read(&[
        (
            ietf::POLICY,
            r#""burst";q=100;w=60, "daily";q=5000;w=86400"#,
        ),
        (ietf::RATELIMIT, r#""burst";r=12;t=40, "other";r=1;t=5"#),
    ]);
    assert_eq!(
        announced_windows(&h, s(NOW)),
        [
            w("burst", Some(100), Some(12), Some(40), Some(60)),
            w("daily", Some(5000), None, None, Some(86_400)),
            w("other", None, Some(1), Some(5), None),
        ]
    );
}

#[test]
fn github_style_reset_as_unix_time_or_seconds() {
    let cases = [
        // GitHub: a Unix time, 30 minutes on.
        ("1700001800", s(NOW), 1_800),
        // A wait in seconds.
        ("30", s(NOW), 30),
        // A Unix time already past: no wait.
        ("1699999000", s(NOW), 0),
        // A fractional clock: the wait ends at the whole second.
        ("1700000010", s(NOW) + Duration::from_millis(250), 9),
        // A fake clock near zero: only values from 2001 on are Unix times.
        ("3600", s(50), 3_600),
        ("1000000100", s(50), 32 * 86_400),
        // Absurd values are capped at 32 days.
        ("18446744073709551615", s(NOW), 32 * 86_400),
    ];
    for (value, now, want) in cases {
        let h = read(&[(X_LIMIT, "60"), (X_REMAINING, "0"), (X_RESET, value)]);
        let got = announced_windows(&h, now);
        let want_reset = if want == 9 {
            Duration::from_millis(9_750)
        } else {
            s(want)
        };
        assert_eq!(got.len(), 1, "{value}");
        assert_eq!(got[0].reset, Some(want_reset), "{value} at {now:?}");
        assert_eq!(got[0].limit, Some(60));
    }
}

#[test]
fn older_draft_single_window() {
    let h = read(&[(LIMIT, "10, 10;w=1"), (REMAINING, "7"), (RESET, "1")]);
    assert_eq!(
        announced_windows(&h, s(NOW)),
        [w("window", Some(10), Some(7), Some(1), None)]
    );
    assert!(announced_windows(&RateHeaders::default(), s(NOW)).is_empty());
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(crate::proptest_cases()))]

    /// Whatever a server sends, and whatever the clock, reading the windows
    /// and deciding on them never panics, gives a rate within bounds and
    /// never asks to wait more than 32 days.
    #[test]
    fn dialects_never_panic(
        values in proptest::collection::vec(
            proptest::prop_oneof![
                "\\PC{0,60}",
                "[0-9]{0,25}",
                r#"("[a-z]{0,5}"|[a-z]{1,4})(;[qwrt]=-?[0-9]{1,16}){0,3}(, ("[a-z]{0,5}"|[a-z]{1,4})(;[qwrt]=-?[0-9]{1,16}){0,3}){0,3}"#,
                "[0-9.,; =a-z\"()]{0,30}",
            ],
            EXPOSED_HEADERS.len(),
        ),
        now_s in proptest::prelude::any::<u64>(),
        now_ns in 0u32..1_000_000_000,
        refused in proptest::prelude::any::<bool>(),
        park_s in 0u64..100_000,
    ) {
        let now = Duration::new(now_s, now_ns);
        let h = RateHeaders::from_lookup(|name| {
            let i = EXPOSED_HEADERS.iter().position(|n| *n == name)?;
            Some(values[i].clone())
        });
        let windows = announced_windows(&h, now);
        proptest::prop_assert!(windows.len() <= 4 + 2 * ietf::MAX_POLICIES + 2);
        for win in &windows {
            proptest::prop_assert!(win.reset.is_none_or(|r| r <= ietf::MAX_QUOTA_WAIT));
            proptest::prop_assert!(win.name.len() <= ietf::MAX_NAME);
        }
        for spend in [Spend::AsFastAsAllowed, Spend::Spread] {
            if let Some(b) = binding_rate(&windows, spend) {
                proptest::prop_assert!(b.rate.is_finite());
                proptest::prop_assert!((crate::bounds::MIN_RATE..=crate::bounds::MAX_RATE).contains(&b.rate));
            }
        }
        let retry = h.retry_after.as_deref().and_then(|v| parse_retry_after(v, now));
        if let Some(e) = exhausted(&windows, refused, retry, s(park_s)) {
            proptest::prop_assert!(e.wait <= ietf::MAX_QUOTA_WAIT);
            proptest::prop_assert!(e.wait > s(park_s));
        }
    }
}
