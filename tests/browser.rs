//! Browser tests of the fetch, timer and clock layer and of the worker pool
//! on real browser time, against the real emulator (started by
//! `scripts/test.sh` on `PACER_EMULATOR_URL`, default http://127.0.0.1:18080,
//! with `--limiter fixed-window --limit 1000 --latency-ms 50`).
//!
//! Run with `wasm-pack test --headless --chrome` and `--firefox` (both in
//! `scripts/test.sh`); the same bounds hold in both engines, no
//! engine-specific tolerance (Firefox ESR 153's `performance.now()` ticks
//! in 20 µs here, finer than any bound below).
#![cfg(target_arch = "wasm32")]

use std::cell::RefCell;
use std::rc::Rc;
use std::time::Duration;

use pacer::browser::{lowercase, unix_now, FetchError, PendingFetch, PerformanceClock, TimerSleep};
use pacer_core::api::{classify, multipredict_url};
use pacer_core::driver::{Answer, Pool, RunControl, Transport};
use pacer_core::schedule::{AttemptResult, MarginPolicy, RetryPolicy, Scheduler};
use pacer_core::{Clock, Quota, Sleep};
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

fn emulator() -> &'static str {
    option_env!("PACER_EMULATOR_URL").unwrap_or("http://127.0.0.1:18080")
}

fn url(image: &str) -> String {
    let models = vec![
        "re_roomtype_global_v2".to_string(),
        "re_features_v4".to_string(),
    ];
    multipredict_url(emulator(), "browser-test", &models, image)
}

#[wasm_bindgen_test]
async fn fetch_gets_a_prediction_with_readable_rate_headers() {
    let answer = PendingFetch::get(&url("https://example.com/a.jpg"), Duration::from_secs(10))
        .unwrap()
        .finish()
        .await
        .expect("an answer");
    assert_eq!(answer.status, 200);
    assert!(
        answer.headers.limit_second.is_some(),
        "exposed X-RateLimit-Limit-Second"
    );
    let prediction = classify(answer.status, &answer.body, None).expect("contract JSON");
    assert_eq!(prediction.solutions.len(), 2);
    assert!(prediction.solutions[0].top.is_some());
}

#[wasm_bindgen_test]
async fn fetch_times_out_and_aborts() {
    // The emulator answers after 50 ms; 5 ms is too short.
    let started = PerformanceClock.now();
    let r = PendingFetch::get(
        &url("https://example.com/slow.jpg"),
        Duration::from_millis(5),
    )
    .unwrap()
    .finish()
    .await;
    assert_eq!(r, Err(FetchError::Timeout));
    assert!(PerformanceClock.now() - started < Duration::from_millis(45));
}

#[wasm_bindgen_test]
async fn fetch_can_be_aborted_by_its_handle() {
    let pending =
        PendingFetch::get(&url("https://example.com/b.jpg"), Duration::from_secs(10)).unwrap();
    pending.abort_handle().abort();
    assert_eq!(pending.finish().await, Err(FetchError::Aborted));
}

#[wasm_bindgen_test]
async fn a_refused_connection_is_a_network_error() {
    let r = PendingFetch::get(
        "http://127.0.0.1:9/vision/v2/multipredict",
        Duration::from_secs(5),
    )
    .unwrap()
    .finish()
    .await;
    assert!(matches!(r, Err(FetchError::Network(_))), "{r:?}");
}

#[wasm_bindgen_test]
async fn a_send_handed_to_the_worker_goes_at_its_instant_with_a_readable_answer() {
    let due = unix_now() + Duration::from_millis(40);
    let mut pending = PendingFetch::start_at(
        &url("https://example.com/timed.jpg"),
        None,
        Duration::from_secs(10),
        due,
        Duration::ZERO,
    )
    .expect("a timer worker");
    let sent = pending.sent().await.expect("it went");
    // Never before its instant (2 ms: the page's and the worker's clocks
    // are read apart), and not held back either.
    assert!(sent + Duration::from_millis(2) >= due, "{sent:?} < {due:?}");
    assert!(sent < due + Duration::from_millis(30), "{sent:?} ≫ {due:?}");
    let answer = pending.finish().await.expect("an answer");
    assert_eq!(answer.status, 200);
    assert!(answer.headers.limit_second.is_some(), "exposed headers");
    let prediction = classify(answer.status, &answer.body, None).expect("contract JSON");
    assert_eq!(prediction.solutions.len(), 2);
}

/// The page plans a send before the one before it went: the worker keeps
/// the gap from the one it actually made.
#[wasm_bindgen_test]
async fn the_worker_keeps_a_send_its_gap_from_the_last_one_it_made() {
    let first_due = unix_now() + Duration::from_millis(20);
    let gap = Duration::from_millis(150);
    let start = |name: &str, due| {
        PendingFetch::start_at(&url(name), None, Duration::from_secs(10), due, gap)
            .expect("a timer worker")
    };
    let mut first = start("https://example.com/gap-1.jpg", first_due);
    let mut second = start(
        "https://example.com/gap-2.jpg",
        first_due + Duration::from_millis(10),
    );
    let first_sent = first.sent().await.expect("it went");
    let second_sent = second.sent().await.expect("it went");
    // The gap is kept between the worker's timers; each stamp is taken
    // once its `fetch()` call has returned, which takes a few ms of its
    // own (the first call in a worker more). On its plan alone the second
    // would go 10 ms after the first.
    let slack = Duration::from_millis(20);
    assert!(
        second_sent + slack >= first_sent + gap,
        "{second_sent:?} < {first_sent:?} + {gap:?} - {slack:?}"
    );
    assert_eq!(first.finish().await.expect("an answer").status, 200);
    assert_eq!(second.finish().await.expect("an answer").status, 200);
}

#[wasm_bindgen_test]
async fn a_send_handed_to_the_worker_can_be_called_off_before_it_goes() {
    let due = unix_now() + Duration::from_millis(200);
    let mut pending = PendingFetch::start_at(
        &url("https://example.com/never.jpg"),
        None,
        Duration::from_secs(10),
        due,
        Duration::ZERO,
    )
    .expect("a timer worker");
    pending.abort_handle().abort();
    assert_eq!(pending.sent().await, None);
    assert_eq!(pending.finish().await, Err(FetchError::Aborted));
}

#[wasm_bindgen_test]
async fn a_worker_send_times_out_and_is_refused_like_the_page_s_own() {
    let slow = PendingFetch::start_at(
        &url("https://example.com/slow-timed.jpg"),
        None,
        Duration::from_millis(5),
        unix_now(),
        Duration::ZERO,
    )
    .expect("a timer worker");
    assert_eq!(slow.finish().await, Err(FetchError::Timeout));
    let refused = PendingFetch::start_at(
        "http://127.0.0.1:9/vision/v2/multipredict",
        None,
        Duration::from_secs(5),
        unix_now(),
        Duration::ZERO,
    )
    .expect("a timer worker")
    .finish()
    .await;
    assert!(
        matches!(refused, Err(FetchError::Network(_))),
        "{refused:?}"
    );
}

#[wasm_bindgen_test]
async fn timer_sleep_never_wakes_early() {
    for ms in [1u64, 7, 30] {
        let t0 = PerformanceClock.now();
        TimerSleep.sleep(Duration::from_millis(ms)).await;
        assert!(PerformanceClock.now() - t0 >= Duration::from_millis(ms));
    }
}

/// Sends through real `fetch`, recording send instants.
#[derive(Clone)]
struct Recorder {
    sends: Rc<RefCell<Vec<Duration>>>,
}

impl Transport for Recorder {
    type Fut = futures::future::LocalBoxFuture<'static, Answer>;

    fn send(&self, item: usize, _attempt: u32) -> Self::Fut {
        self.sends.borrow_mut().push(PerformanceClock.now());
        let pending = PendingFetch::get(
            &url(&format!("https://example.com/{item}.jpg")),
            Duration::from_secs(10),
        );
        Box::pin(async move {
            let result = match pending.unwrap().finish().await {
                Ok(a) if a.status == 200 => AttemptResult::Success,
                other => AttemptResult::Fatal {
                    reason: format!("{other:?}"),
                },
            };
            Answer::from(result)
        })
    }
}

#[wasm_bindgen_test]
async fn the_pool_paces_real_fetches_on_browser_time() {
    let rate = 20.0;
    let n = 30;
    let sched = Scheduler::new(
        n,
        Quota::per_second(rate).unwrap(),
        RetryPolicy::default(),
        MarginPolicy::default(),
    );
    let control = RunControl::new(sched);
    let recorder = Recorder {
        sends: Rc::default(),
    };
    let pool = Pool::new(
        control.clone(),
        PerformanceClock,
        TimerSleep,
        recorder.clone(),
        (),
    );
    pool.run(6).await;
    assert_eq!(control.read(|s| s.counts().done), n);
    let sends = recorder.sends.borrow();
    let interval = 1.0 / rate;
    for pair in sends.windows(2) {
        let gap = (pair[1] - pair[0]).as_secs_f64();
        // Never closer than the interval less the 3 ms catch-up allowance.
        assert!(gap >= interval - 0.0031, "gap {gap}");
    }
    let span = (sends[n - 1] - sends[0]).as_secs_f64();
    let achieved = (n - 1) as f64 / span;
    assert!(achieved <= rate * 1.001, "achieved {achieved}");
    assert!(achieved >= rate * 0.8, "stalled: achieved {achieved}");
}

/// `browser::lowercase` hands non-ASCII text to the browser's
/// `toLowerCase`: it must agree with `str::to_lowercase`, final sigma and
/// all (the results filter relies on it).
#[wasm_bindgen_test]
fn lowercase_agrees_with_rust_on_unicode() {
    for text in [
        "Kitchen_ISLAND https://X/1.JPG",
        "ÉTAGE Straße İstanbul",
        "ΟΔΟΣ ΣΑΣ",
        "ПРИХОЖАЯ",
        "ǅ ǈ Ａ",
        "",
    ] {
        assert_eq!(lowercase(text), text.to_lowercase(), "{text}");
    }
}
