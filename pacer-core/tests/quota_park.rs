//! The whole pool on fake time against a server with a day quota (a "day"
//! of 60 s here, so that a run spans several): the run parks when the
//! quota is out, sends nothing meanwhile, fails nothing, and goes on by
//! itself when the day turns over; every item is done once. Two dialects:
//! GitHub-style headers announce the end of the quota with its last
//! success; Kong's day ends at a midnight the client reckons itself, so
//! the server's word comes with one 429's `Retry-After` per day.

use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;
use std::time::Duration;

use futures::future::LocalBoxFuture;
use futures::FutureExt;
use pacer_core::api::quota::Spend;
use pacer_core::api::RateHeaders;
use pacer_core::driver::{Answer, Transport};
use pacer_core::schedule::{
    AttemptResult, Counts, ItemId, MarginPolicy, RetryPolicy, Scheduler, ServerHint,
};
use pacer_core::sim::{run_pool, FakeTime};
use pacer_core::{Clock, Quota, Sleep};

/// The fake clock's zero, as wall-clock time: a day starts there.
const EPOCH: Duration = Duration::from_secs(1_700_000_040);
const DAY: Duration = Duration::from_secs(60);
const PER_DAY: u32 = 25;
const LATENCY: Duration = Duration::from_millis(300);

#[derive(Clone, Copy, Debug, PartialEq)]
enum Dialect {
    Github,
    Kong,
}

/// A server with a day quota; every request is logged (arrival, status, item).
#[derive(Clone)]
struct QuotaServer {
    time: FakeTime,
    dialect: Dialect,
    used: Rc<RefCell<HashMap<u64, u32>>>,
    log: Rc<RefCell<Vec<(Duration, u16, ItemId)>>>,
}

impl QuotaServer {
    fn headers(&self, pairs: Vec<(&'static str, String)>) -> RateHeaders {
        RateHeaders::from_pairs(&pairs)
    }
}

impl Transport for QuotaServer {
    type Fut = LocalBoxFuture<'static, Answer>;

    fn send(&self, item: ItemId, _attempt: u32) -> Self::Fut {
        let s = self.clone();
        async move {
            let now = s.time.now();
            let day = now.as_secs() / DAY.as_secs();
            let reset = Duration::from_secs((day + 1) * DAY.as_secs()) - now;
            let used = {
                let mut used = s.used.borrow_mut();
                let n = used.entry(day).or_default();
                if *n < PER_DAY {
                    *n += 1;
                    Some(*n)
                } else {
                    None
                }
            };
            let status = if used.is_some() { 200 } else { 429 };
            s.log.borrow_mut().push((now, status, item));
            if used.is_some() {
                s.time.sleep(LATENCY).await;
            }
            let remaining = PER_DAY - used.unwrap_or(PER_DAY);
            let wall = EPOCH + s.time.now();
            let mut pairs = match s.dialect {
                Dialect::Github => vec![
                    ("X-RateLimit-Limit", PER_DAY.to_string()),
                    ("X-RateLimit-Remaining", remaining.to_string()),
                    (
                        "X-RateLimit-Reset",
                        (EPOCH + now + reset).as_secs().to_string(),
                    ),
                ],
                Dialect::Kong => vec![
                    ("X-RateLimit-Limit-Day", PER_DAY.to_string()),
                    ("X-RateLimit-Remaining-Day", remaining.to_string()),
                ],
            };
            if status == 429 {
                pairs.push(("Retry-After", (reset.as_secs() + 1).to_string()));
            }
            let h = s.headers(pairs);
            let hint = ServerHint::read(&h, status, EPOCH, wall, Spend::AsFastAsAllowed);
            let result = if status == 200 {
                AttemptResult::Success
            } else {
                AttemptResult::RateLimited {
                    retry_after: Some(reset + Duration::from_secs(1)),
                }
            };
            Answer { result, hint }
        }
        .boxed_local()
    }
}

/// Runs `items` at 4/s with 4 tasks against the server; returns the log,
/// the scheduler's counts and its pauses for 429s.
fn run(dialect: Dialect, items: usize) -> (Vec<(Duration, u16, ItemId)>, Counts, usize) {
    let time = FakeTime::new();
    let server = QuotaServer {
        time: time.clone(),
        dialect,
        used: Rc::default(),
        log: Rc::default(),
    };
    let scheduler = Scheduler::new(
        items,
        Quota::per_second(4.0).unwrap(),
        RetryPolicy::default(),
        MarginPolicy::default(),
    );
    let control = run_pool(&time, scheduler, server.clone(), 4);
    let log = server.log.borrow().clone();
    let (counts, pauses) = control.read(|s| (s.counts(), s.pacing().pauses()));
    (log, counts, pauses)
}

fn check(dialect: Dialect, max_429_per_day: usize) {
    // Five days' worth: at 4/s each day's quota is out after ~6 s of 60.
    let items = 5 * PER_DAY as usize - 3;
    let (log, c, pauses) = run(dialect, items);
    assert_eq!(c.done, items, "every item done");
    assert_eq!(c.failed, 0, "nothing failed for a quota");
    let mut done = vec![0; items];
    for &(_, status, item) in &log {
        if status == 200 {
            done[item] += 1;
        }
    }
    assert!(done.iter().all(|&n| n == 1), "every item done once");
    for day in 0..5u64 {
        let of_day: Vec<_> = log
            .iter()
            .filter(|(t, _, _)| t.as_secs() / DAY.as_secs() == day)
            .collect();
        let refused = of_day.iter().filter(|(_, s, _)| *s == 429).count();
        assert!(
            refused <= max_429_per_day,
            "{refused} refusals on day {day}: parked, not sending into the quota"
        );
        // Resumed by itself at the turn of the day (within a spacing or two).
        if day > 0 {
            let first = of_day.first().expect("sends every day").0;
            let start = Duration::from_secs(day * DAY.as_secs());
            assert!(
                first - start <= Duration::from_millis(1_500),
                "day {day} began sending {:?} late",
                first - start
            );
        }
    }
    assert_eq!(pauses, 0, "a quota is no rate: no pause, no backoff");
    println!(
        "{dialect:?}: {} requests, {} refused",
        log.len(),
        c.quota_refused
    );
}

#[test]
fn github_style_the_last_success_parks_the_run() {
    // At most the requests already on the wire when it said so (4/s at
    // 300 ms: two).
    check(Dialect::Github, 2);
}

#[test]
fn kong_style_one_refusal_a_day_says_until_when() {
    // The first refusal, and those already on the wire with it.
    check(Dialect::Kong, 3);
}
