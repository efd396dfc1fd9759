//! The emulator's limits and header dialects over real HTTP, read back with
//! pacer-core's own readers: sliding-window limiters, day and month quotas
//! (with a shortened "day" so tests need not wait one), Kong, IETF draft,
//! GitHub and no headers, `Retry-After` in seconds or as a date, and a
//! concurrency cap answered with 429 or 503.

mod common;

use common::*;
use pacer_core::api::quota::{exhausted, RATE_WINDOW};
use pacer_core::api::windows::announced_windows;
use pacer_core::api::{parse_retry_after, RateHeaders};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

fn now() -> Duration {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap()
}

/// Sleeps until just after the next multiple of `secs` since the epoch,
/// so a quick burst lands in one window of that length.
async fn align_to(secs: u64) {
    let n = now();
    let into = Duration::from_nanos((n.as_nanos() % (u128::from(secs) * 1_000_000_000)) as u64);
    tokio::time::sleep(Duration::from_secs(secs) - into + Duration::from_millis(20)).await;
}

/// Status and rate headers of `n` quick requests of `key`.
async fn burst(base: &str, key: &str, n: usize) -> Vec<(u16, RateHeaders)> {
    let url = predict_url(base, key, &["re_logo"], "http://x/a.jpg");
    let c = client();
    let mut out = Vec::new();
    for _ in 0..n {
        let res = c.get(&url).send().await.unwrap();
        let h = RateHeaders::from_lookup(|name| header(&res, name));
        out.push((res.status().as_u16(), h));
    }
    out
}

#[tokio::test]
async fn sliding_log_counts_refusals_too() {
    let base = emulator(&["--limiter", "sliding-log", "--limit", "2", "--retry-after"]).await;
    let got = burst(&base, "s", 3).await;
    let statuses: Vec<u16> = got.iter().map(|(s, _)| *s).collect();
    assert_eq!(statuses, [200, 200, 429]);
    assert_eq!(got[2].1.retry_after.as_deref(), Some("1"));
    assert!(
        got[0].1.limit_second.is_none(),
        "HAProxy-style: no rate headers"
    );
    // Refused again 600 ms on: the refusal itself is in the window.
    tokio::time::sleep(Duration::from_millis(600)).await;
    let again = burst(&base, "s", 1).await;
    assert_eq!(again[0].0, 429);
}

#[tokio::test]
async fn sliding_counter_refuses_over_its_estimate() {
    let base = emulator(&["--limiter", "sliding-counter", "--limit", "2"]).await;
    align_to(1).await;
    let statuses: Vec<u16> = burst(&base, "c", 4).await.iter().map(|(s, _)| *s).collect();
    assert_eq!(statuses, [200, 200, 429, 429]);
}

/// The test server's "day", in seconds: long, so that waiting for a fresh
/// one is rarely needed (see [`day_with_room`]).
const TEST_DAY_S: u64 = 1800;

/// Waits, when needed, until the test day has more than a rate window left:
/// a reset nearer than that is a rate's pause, not a quota's park, and the
/// test would read the wrong thing at the end of a day.
async fn day_with_room() {
    let left = TEST_DAY_S - now().as_secs() % TEST_DAY_S;
    if left <= RATE_WINDOW.as_secs() + 10 {
        tokio::time::sleep(Duration::from_secs(left)).await;
    }
}

#[tokio::test]
async fn a_day_quota_in_each_dialect_runs_out_and_says_until_when() {
    for dialect in ["kong", "ietf-draft", "github", "none"] {
        let base = emulator(&[
            "--limit",
            "50",
            "--limit-day",
            "2",
            "--quota-window-s",
            &TEST_DAY_S.to_string(),
            "--headers",
            dialect,
            "--retry-after",
        ])
        .await;
        day_with_room().await;
        align_to(1).await;
        let t = now();
        let got = burst(&base, "q", 3).await;
        let statuses: Vec<u16> = got.iter().map(|(s, _)| *s).collect();
        assert_eq!(statuses, [200, 200, 429], "{dialect}");
        let day_left = TEST_DAY_S - t.as_secs() % TEST_DAY_S;
        let (_, last_ok) = &got[1];
        let (_, refused) = &got[2];
        let windows = announced_windows(last_ok, t);
        let retry = refused
            .retry_after
            .as_deref()
            .and_then(|v| parse_retry_after(v, t))
            .expect("Retry-After");
        assert!(
            retry.as_secs().abs_diff(day_left) <= 1,
            "{dialect}: {retry:?}"
        );
        let park = exhausted(
            &announced_windows(refused, t),
            true,
            Some(retry),
            RATE_WINDOW,
        )
        .expect("parked");
        assert!(
            park.wait.as_secs().abs_diff(day_left) <= 1,
            "{dialect}: {park:?}"
        );
        match dialect {
            "kong" => {
                assert_eq!(
                    (last_ok.limit_day, last_ok.remaining_day),
                    (Some(2), Some(0))
                );
                assert_eq!(last_ok.limit_second, Some(50));
            }
            "ietf-draft" => {
                let day = windows
                    .iter()
                    .find(|w| w.name == "day")
                    .expect("day policy");
                assert_eq!(day.limit, Some(2));
                assert_eq!(day.remaining, Some(0));
                assert_eq!(day.length, Some(Duration::from_secs(TEST_DAY_S)));
                assert!(day.reset.unwrap().as_secs().abs_diff(day_left) <= 1);
                let second = windows.iter().find(|w| w.name == "second").unwrap();
                assert_eq!(second.limit, Some(50));
                // Parked as soon as the last one was used up.
                let at_once = exhausted(&windows, false, None, RATE_WINDOW).expect("parked");
                assert_eq!(at_once.window.unwrap().name, "day");
            }
            "github" => {
                assert_eq!((last_ok.x_limit, last_ok.x_remaining), (Some(2), Some(0)));
                let reset = last_ok.x_reset.unwrap();
                assert!(reset > 1_000_000_000, "a Unix time: {reset}");
                assert!(windows[0].reset.unwrap().as_secs().abs_diff(day_left) <= 1);
            }
            _ => assert!(windows.is_empty(), "none: {windows:?}"),
        }
    }
}

#[tokio::test]
async fn a_month_quota_stacks_on_the_day() {
    let base = emulator(&[
        "--limit-day",
        "5",
        "--limit-month",
        "1",
        "--quota-window-s",
        "100",
    ])
    .await;
    let got = burst(&base, "m", 2).await;
    assert_eq!(got[0].0, 200);
    assert_eq!(got[0].1.limit_month, Some(1));
    assert_eq!(got[0].1.remaining_month, Some(0));
    assert_eq!(got[0].1.remaining_day, Some(4));
    assert_eq!(got[1].0, 429);
}

#[tokio::test]
async fn retry_after_as_an_http_date_and_for_gcra() {
    let base = emulator(&["--limiter", "gcra", "--limit", "0.2", "--retry-after-date"]).await;
    let t = now();
    let got = burst(&base, "d", 2).await;
    assert_eq!(got[1].0, 429);
    let value = got[1].1.retry_after.clone().unwrap();
    assert!(value.ends_with(" GMT"), "{value}");
    let wait = parse_retry_after(&value, t).unwrap();
    assert!((4..=6).contains(&wait.as_secs()), "{value}: {wait:?}");

    let base = emulator(&["--limiter", "gcra", "--limit", "0.4", "--retry-after"]).await;
    let got = burst(&base, "g", 2).await;
    // 2.5 s to the next slot, rounded up.
    assert_eq!(got[1].1.retry_after.as_deref(), Some("3"));

    // A strict 10/s bucket refuses a request a few ms early with a whole
    // second, as gateways that round up do: the wait a client pays.
    let base = emulator(&[
        "--limiter",
        "gcra",
        "--limit",
        "10",
        "--burst",
        "0",
        "--retry-after",
    ])
    .await;
    let got = burst(&base, "s", 2).await;
    assert_eq!(got[1].0, 429);
    assert_eq!(got[1].1.retry_after.as_deref(), Some("1"));
}

#[tokio::test]
async fn ietf_headers_flag_still_adds_the_older_fields_to_kongs() {
    let base = emulator(&["--limit", "3", "--ietf-headers"]).await;
    align_to(1).await;
    let got = burst(&base, "i", 1).await;
    let h = &got[0].1;
    assert_eq!((h.limit_second, h.remaining_second), (Some(3), Some(2)));
    assert_eq!((h.limit, h.remaining), (Some(3), Some(2)));
    assert_eq!(h.reset, Some(Duration::from_secs(1)));
}

#[tokio::test]
async fn a_concurrency_cap_refuses_the_one_too_many_with_429_or_503() {
    for (status, flags) in [(429u16, vec![]), (503, vec!["--cap-status", "503"])] {
        let mut args = vec![
            "--limiter",
            "none",
            "--latency-ms",
            "600",
            "--max-in-flight",
            "2",
        ];
        args.extend(flags);
        let base = emulator(&args).await;
        let url = predict_url(&base, "cap", &["re_logo"], "http://x/a.jpg");
        let c = client();
        let firsts: Vec<_> = (0..2)
            .map(|_| {
                let req = c.get(&url).send();
                tokio::spawn(async move { req.await.unwrap().status().as_u16() })
            })
            .collect();
        tokio::time::sleep(Duration::from_millis(200)).await;
        let third = c.get(&url).send().await.unwrap();
        assert_eq!(third.status().as_u16(), status);
        assert!(RateHeaders::from_lookup(|n| header(&third, n)).is_empty());
        for first in firsts {
            assert_eq!(first.await.unwrap(), 200);
        }
        // Both answered: room again.
        assert_eq!(c.get(&url).send().await.unwrap().status(), 200);
    }
}
