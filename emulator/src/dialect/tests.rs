use super::*;
use crate::limits::{Limits, Stack};
use pacer_core::limiter::LimiterConfig;
use std::num::NonZeroU32;

fn style(dialect: Dialect) -> HeaderStyle {
    HeaderStyle {
        dialect,
        retry_after: true,
        ..HeaderStyle::default()
    }
}

fn stack(day: u32) -> Stack {
    Stack {
        per_day: NonZeroU32::new(day),
        day: Duration::from_secs(86_400),
        ..Stack::default()
    }
}

/// 2023-11-14T22:13:20Z, 80 000 s into its day.
const NOW: u64 = 1_700_000_000;

fn texts(h: &HeaderMap) -> Vec<(String, String)> {
    let mut v: Vec<(String, String)> = h
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_str().unwrap().to_string()))
        .collect();
    v.sort();
    v
}

fn pairs(p: &[(&str, &str)]) -> Vec<(String, String)> {
    let mut v: Vec<(String, String)> = p
        .iter()
        .map(|(k, v)| (k.to_ascii_lowercase(), v.to_string()))
        .collect();
    v.sort();
    v
}

#[test]
fn each_dialect_announces_the_second_and_the_day() {
    let now = Duration::from_secs(NOW);
    let cases: Vec<(Dialect, Vec<(&str, &str)>)> = vec![
        (
            Dialect::Kong,
            vec![
                (LIMIT_SECOND, "5"),
                (REMAINING_SECOND, "4"),
                (LIMIT_DAY, "2"),
                (REMAINING_DAY, "1"),
            ],
        ),
        (
            Dialect::IetfDraft,
            vec![
                (POLICY, r#""second";q=5;w=1, "day";q=2;w=86400"#),
                (RATELIMIT, r#""second";r=4;t=1, "day";r=1;t=6400"#),
            ],
        ),
        // The day has fewest left: its reset as a Unix time.
        (
            Dialect::Github,
            vec![(X_LIMIT, "2"), (X_REMAINING, "1"), (X_RESET, "1700006400")],
        ),
        (Dialect::None, vec![]),
    ];
    for (dialect, want) in cases {
        let limits = Limits::new(
            Some(LimiterConfig::FixedWindow { limit: 5 }),
            stack(2),
            style(dialect),
        );
        let d = limits.admit("k", now);
        assert!(d.admission.is_allowed());
        assert_eq!(
            texts(&limits.style.headers(&d, now)),
            pairs(&want),
            "{dialect:?}"
        );
    }
}

#[test]
fn retry_after_in_seconds_or_as_a_date_for_every_limiter() {
    let now = Duration::from_millis(NOW * 1000 + 300);
    for (config, seconds) in [
        (LimiterConfig::FixedWindow { limit: 1 }, "1"),
        (
            LimiterConfig::Gcra {
                rate: 0.25,
                burst: 0,
            },
            "4",
        ),
        (
            LimiterConfig::SlidingLog {
                limit: 1,
                window: Duration::from_secs(10),
            },
            "10",
        ),
    ] {
        for date in [false, true] {
            let mut s = style(Dialect::None);
            s.retry_after_date = date;
            let limits = Limits::new(Some(config), Stack::default(), s);
            assert!(limits.admit("k", now).admission.is_allowed());
            let no = limits.admit("k", now);
            let h = limits.style.headers(&no, now);
            let got = h[RETRY_AFTER].to_str().unwrap().to_string();
            if date {
                let at = httpdate::parse_http_date(&got).unwrap();
                let wait = at.duration_since(UNIX_EPOCH).unwrap().as_secs() - NOW;
                // The date is a whole second: now + wait, rounded up.
                let want: u64 = seconds.parse().unwrap();
                assert_eq!(
                    wait,
                    want + u64::from(config != LimiterConfig::FixedWindow { limit: 1 }),
                    "{config:?} {got}"
                );
            } else {
                assert_eq!(got, seconds, "{config:?}");
            }
        }
    }
}

#[test]
fn older_ietf_fields_beside_kongs() {
    let mut s = style(Dialect::Kong);
    s.older_ietf = true;
    let limits = Limits::new(Some(LimiterConfig::FixedWindow { limit: 5 }), stack(2), s);
    let now = Duration::from_secs(NOW);
    let d = limits.admit("k", now);
    let h = limits.style.headers(&d, now);
    assert_eq!(h[LIMIT], "2");
    assert_eq!(h[REMAINING], "1");
    assert_eq!(h[RESET], "6400");
}
