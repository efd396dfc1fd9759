//! 429s without CORS headers (issue "3/5 Nothing lost", item 5): the page
//! sees them as bare network errors, no status, no headers. On fake time
//! against the limiter models with `ServerModel::opaque_429`: frequent such
//! errors bring the rate down to what the server allows, as 429s would;
//! rare ones (a flaky network) cost nothing; every item ends done exactly
//! once or failed with a reason.

use std::time::Duration;

use futures::future::LocalBoxFuture;
use futures::FutureExt;
use pacer_core::driver::{Answer, Transport};
use pacer_core::limiter::{Admission, Limiter, LimiterConfig};
use pacer_core::schedule::{AttemptResult, ItemId, ItemStatus, ProbePolicy, Scheduler};
use pacer_core::sim::{run_pool, FakeTime, SimConfig, SimReport, SimServer};

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// `items` at the user's `rate` against a headerless limiter whose 429s
/// carry no CORS headers; 100 ms latency, up to 2 ms send-to-arrival jitter.
fn opaque(items: usize, rate: f64, limiter: LimiterConfig) -> SimConfig {
    let mut c = SimConfig::new(items, rate);
    c.limiter = Some(limiter);
    c.server.rate_headers = false;
    c.server.opaque_429 = true;
    c.server.latency = ms(100);
    c.server.arrival_jitter = ms(2);
    c
}

const GCRA_5: LimiterConfig = LimiterConfig::Gcra {
    rate: 5.0,
    burst: 0,
};

fn fixed_window(limit: u32) -> LimiterConfig {
    LimiterConfig::FixedWindow { limit }
}

/// Each item: at most one 200, never sent again after it, never two sends
/// on the wire at once; done items have their 200, the others failed with
/// a reason (checked through the counts: done + failed = items).
fn accounted_for(report: &SimReport, items: usize) {
    let mut per_item = vec![Vec::new(); items];
    for e in &report.log {
        per_item[e.item].push(*e);
    }
    let mut done = 0;
    for (item, mut entries) in per_item.into_iter().enumerate() {
        entries.sort_by_key(|e| e.sent);
        let ok = entries.iter().filter(|e| e.status == 200).count();
        assert!(ok <= 1, "item {item} succeeded {ok} times: {entries:?}");
        if ok == 1 {
            done += 1;
            assert_eq!(
                entries.last().unwrap().status,
                200,
                "item {item}: {entries:?}"
            );
        }
        assert!(
            entries.windows(2).all(|w| w[1].sent >= w[0].end),
            "item {item} sent while in flight: {entries:?}"
        );
    }
    let c = report.counts;
    assert_eq!(c.done, done);
    assert_eq!(c.done + c.failed, items, "{c:?}");
    assert_eq!((c.queued, c.in_flight, c.cancelled), (0, 0, 0));
    assert_eq!(c.sent, report.log.len());
    assert_eq!(c.rate_limited, 0, "no 429 was ever readable");
}

/// 429s among the sends of the second half of the run (by send time).
fn late_429s(report: &SimReport) -> usize {
    let mut log = report.log.clone();
    log.sort_by_key(|e| e.sent);
    log[log.len() / 2..]
        .iter()
        .filter(|e| e.status == 429)
        .count()
}

#[test]
fn frequent_opaque_errors_bring_the_rate_down_to_a_headerless_gcra_limit() {
    let report = opaque(600, 10.0, GCRA_5).run();
    accounted_for(&report, 600);
    let c = report.counts;
    let tput = report.send_rate_ratio(5.0);
    println!(
        "gcra 5/s at 10/s: {} opaque 429s in {} sends ({} late), {} taken for 429s, \
         {} failed, {:.3} of the limit, pacing at {:.3}/s",
        report.rejected(),
        c.sent,
        late_429s(&report),
        c.maybe_rate_limited,
        c.failed,
        tput,
        report.pacing.quota().rate()
    );
    assert_eq!(
        c.failed, 0,
        "five attempts are plenty once the rate is down"
    );
    assert!(report.rejected() <= 30, "{} opaque 429s", report.rejected());
    assert!(late_429s(&report) <= 3, "{} late", late_429s(&report));
    assert!(tput >= 0.9, "{tput:.3} of the limit");
    let pacing = report.pacing.quota().rate();
    assert!((4.0..=5.05).contains(&pacing), "pacing at {pacing}/s");
    assert!(report.pacing.pauses() >= 1);
}

#[test]
fn frequent_opaque_errors_bring_the_rate_down_to_a_headerless_fixed_window() {
    let report = opaque(600, 10.0, fixed_window(5)).run();
    accounted_for(&report, 600);
    let tput = report.send_rate_ratio(5.0);
    println!(
        "fixed window 5/s at 10/s: {} opaque 429s in {} sends ({} late), {} failed, \
         {tput:.3} of the limit",
        report.rejected(),
        report.counts.sent,
        late_429s(&report),
        report.counts.failed
    );
    assert_eq!(report.counts.failed, 0);
    assert!(report.rejected() <= 30, "{} opaque 429s", report.rejected());
    assert!(late_429s(&report) <= 3, "{} late", late_429s(&report));
    assert!(tput >= 0.9, "{tput:.3} of the limit");
}

#[test]
fn the_auto_rate_backs_off_on_frequent_opaque_errors_too() {
    let mut c = opaque(1200, 10.0, GCRA_5);
    c.probe = Some(ProbePolicy::default());
    let report = c.run();
    accounted_for(&report, 1200);
    let tput = report.send_rate_ratio(5.0);
    println!(
        "auto from 10/s against gcra 5/s: {} opaque 429s in {} sends, {} failed, \
         {tput:.3} of the limit",
        report.rejected(),
        report.counts.sent,
        report.counts.failed
    );
    assert_eq!(report.counts.failed, 0);
    // AIMD probes above the limit for ever: a 429 every ~7 s at 5/s.
    assert!(
        report.rejected() <= report.counts.sent / 20,
        "{} opaque 429s",
        report.rejected()
    );
    assert!(tput >= 0.85, "{tput:.3} of the limit");
}

#[test]
fn at_many_rates_over_many_limits_nothing_is_lost_and_the_limit_is_used() {
    for (rate, limit) in [
        (2.0, 1.0),
        (4.0, 3.0),
        (10.0, 5.0),
        (30.0, 15.0),
        (50.0, 20.0),
    ] {
        for limiter in [
            LimiterConfig::Gcra {
                rate: limit,
                burst: 0,
            },
            fixed_window(limit as u32),
        ] {
            let items = ((limit * 120.0) as usize).max(300);
            let mut c = opaque(items, rate, limiter);
            c.concurrency = ((rate * 0.5) as usize + 4).max(8);
            let report = c.run();
            accounted_for(&report, items);
            let tput = report.send_rate_ratio(limit);
            let what = format!(
                "{limiter:?} at {rate}/s: {} opaque 429s in {} sends ({} late), \
                 {} failed, {tput:.3} of the limit",
                report.rejected(),
                report.counts.sent,
                late_429s(&report),
                report.counts.failed
            );
            println!("{what}");
            assert_eq!(report.counts.failed, 0, "{what}");
            assert!(tput >= 0.9, "{what}");
            assert!(report.rejected() <= report.counts.sent / 10, "{what}");
        }
    }
}

/// `items` at `rate` against a server without limit that drops a share
/// `drop` of the answers, `early` (at once, as fast as a refusal) or after
/// the latency (300 ms).
fn flaky(items: usize, rate: f64, drop: f64, early: bool) -> SimReport {
    let mut c = SimConfig::new(items, rate);
    c.server.drop = drop;
    c.server.drop_early = early;
    c.server.latency = ms(300);
    c.concurrency = ((rate * 0.6) as usize + 8).max(8);
    c.seed = 3;
    c.run()
}

#[test]
fn rare_network_errors_do_not_lower_the_rate() {
    for early in [false, true] {
        for rate in [1.0, 4.0, 10.0, 25.0, 100.0] {
            let items = ((rate * 300.0) as usize).clamp(1000, 20_000);
            let report = flaky(items, rate, 0.01, early);
            accounted_for(&report, items);
            let dropped = report.log.iter().filter(|e| e.status == 0).count();
            let tput = report.send_rate_ratio(rate);
            let what = format!(
                "{rate}/s, 1 % dropped (early: {early}): {dropped} network errors in {} \
                 sends, {} taken for 429s, {} pauses, {tput:.4} of the rate, pacing at {:.3}/s",
                report.counts.sent,
                report.counts.maybe_rate_limited,
                report.pacing.pauses(),
                report.pacing.quota().rate()
            );
            println!("{what}");
            assert!(dropped > 0, "{what}");
            assert_eq!(report.counts.failed, 0, "{what}");
            // The drops themselves cost their 1 % of the sends, and the
            // margin's floor its 0.8 % of the rate.
            assert!(tput >= 0.975, "{what}");
            assert!(report.pacing.quota().rate() >= 0.98 * rate, "{what}");
            if !early {
                // As late as a success: never taken for a 429.
                assert_eq!(report.counts.maybe_rate_limited, 0, "{what}");
                assert_eq!(report.pacing.pauses(), 0, "{what}");
            }
        }
    }
}

#[test]
fn frequent_drops_after_the_work_are_not_taken_for_429s() {
    // A share of the connections dropped as the answer goes out (the
    // emulator's --drop): as slow as a success, so not a refusal, however
    // frequent. The rate stays; each drop costs only its retry.
    for drop in [0.05, 0.1, 0.2] {
        let report = flaky(3000, 20.0, drop, false);
        accounted_for(&report, 3000);
        let tput = report.send_rate_ratio(20.0);
        let what = format!(
            "20/s, {drop} dropped late: {} taken for 429s, {} pauses, {} failed, \
             {tput:.3} of the rate",
            report.counts.maybe_rate_limited,
            report.pacing.pauses(),
            report.counts.failed
        );
        println!("{what}");
        assert_eq!(report.counts.maybe_rate_limited, 0, "{what}");
        assert_eq!(report.pacing.pauses(), 0, "{what}");
        assert_eq!(report.pacing.quota().rate(), 20.0, "{what}");
        assert!(tput >= 0.97 * (1.0 - drop), "{what}");
    }
}

#[test]
fn frequent_fast_drops_never_bring_the_rate_below_what_got_through() {
    // Connections reset up front, as fast as a refusal and frequent:
    // indistinguishable from a limit a few % under the rate, so taken for
    // 429s. But the rate never comes below what the server let through
    // (its floor): it costs about the share dropped, not the whole rate.
    // (From 10 % on, cuts made in the run's first two seconds, before the
    // floor is measured, can cost up to half the rate.)
    for (drop, least) in [(0.02, 0.95), (0.05, 0.88)] {
        let report = flaky(3000, 20.0, drop, true);
        accounted_for(&report, 3000);
        let tput = report.send_rate_ratio(20.0);
        let what = format!(
            "20/s, {drop} dropped at once: {} taken for 429s, {} pauses, floor {:.2}/s, \
             pacing at {:.2}/s, {tput:.3} of the rate",
            report.counts.maybe_rate_limited,
            report.pacing.pauses(),
            report.pacing.admitted_floor(),
            report.pacing.quota().rate()
        );
        println!("{what}");
        assert!(report.counts.maybe_rate_limited > 0, "{what}");
        assert!(tput >= least, "{what}");
    }
}

/// Refuses everything.
struct RefuseAll;

impl Limiter for RefuseAll {
    fn admit(&mut self, _now: Duration) -> Admission {
        Admission::Rejected {
            retry_after: None,
            quota: None,
        }
    }
}

#[test]
fn network_errors_before_any_answer_are_a_cors_refusal_not_a_limit() {
    // Not one answer the page could read: nothing says the server limits
    // it (its CORS policy refuses the page). Per-item retries only, then
    // each item fails with the reason.
    let config = opaque(20, 10.0, GCRA_5);
    let report = config.run_with(Box::new(RefuseAll));
    accounted_for(&report, 20);
    assert_eq!(report.counts.failed, 20);
    assert_eq!(report.counts.sent, 100, "five attempts each");
    assert_eq!(report.counts.maybe_rate_limited, 0);
    assert_eq!(report.pacing.pauses(), 0);
}

/// The same pool with the transport of before: every network error plain
/// retryable, no pool-wide slow-down.
#[derive(Clone)]
struct WithoutSlowDown(SimServer);

impl Transport for WithoutSlowDown {
    type Fut = LocalBoxFuture<'static, Answer>;

    fn send(&self, item: ItemId, attempt: u32) -> Self::Fut {
        let answer = self.0.send(item, attempt);
        async move {
            let mut a = answer.await;
            if let AttemptResult::MaybeRateLimited { reason } = a.result {
                a.result = AttemptResult::Retryable { reason };
            }
            a
        }
        .boxed_local()
    }
}

#[test]
fn the_slow_down_spares_most_of_the_429s_of_per_item_backoff_alone() {
    let config = opaque(600, 10.0, GCRA_5);
    let with = config.run();
    let time = FakeTime::with_timers(config.timers);
    let limiter: Box<dyn Limiter> = GCRA_5.build();
    let server = SimServer::new(&time, config.server, limiter, config.seed);
    let scheduler = Scheduler::new(config.items, config.quota, config.retry, config.margin);
    let transport = WithoutSlowDown(server.clone());
    let control = run_pool(&time, scheduler, transport, config.concurrency);
    let without = SimReport::new(
        server.log(),
        control.read(|s| s.counts()),
        control.read(|s| s.pacing().clone()),
    );
    let failed = (0..config.items)
        .filter(|i| {
            matches!(
                control.read(|s| s.status(*i).clone()),
                ItemStatus::Failed { .. }
            )
        })
        .count();
    println!(
        "600 images at 10/s, gcra 5/s, opaque 429s: with the slow-down {} 429s, {} failed, \
         {:.3} of the limit; per-item backoff only {} 429s, {failed} failed, {:.3} of the limit",
        with.rejected(),
        with.counts.failed,
        with.send_rate_ratio(5.0),
        without.rejected(),
        without.send_rate_ratio(5.0),
    );
    assert!(with.rejected() * 5 < without.rejected());
    assert!(with.counts.failed <= failed);
}
