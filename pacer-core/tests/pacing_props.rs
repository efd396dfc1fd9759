//! Property tests of the pacing invariants over wide ranges of rate,
//! concurrency and latency, on fake time against an unlimited server: never
//! more than `rate × (window + catch-up) + 1` sends in any window (the
//! catch-up allowance, ≤ 3 ms and ≤ 10 % of the interval, is what lets a
//! timer fire late without costing rate; with exact timers the bound is
//! `rate × window + 1`, see tests/pacing.rs), and at least 98 % of what the
//! rate and the pool allow, less what the starting safety margin costs
//! before answers measure the jitter (tests/pacing_strict_start.rs).

use std::time::Duration;

use pacer_core::sim::{max_in_window, SimConfig, TimerModel};
use proptest::prelude::*;

fn timers() -> impl Strategy<Value = TimerModel> {
    prop_oneof![
        Just(TimerModel::Exact),
        // Browser timers fire up to ~2 ms late, which catch-up absorbs.
        (0u64..=2000).prop_map(|late_us| TimerModel::Clamped {
            min: Duration::from_millis(4),
            late: Duration::from_micros(late_us),
        }),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, ..ProptestConfig::default() })]

    #[test]
    fn never_over_the_rate_and_close_to_what_is_possible(
        rate in 0.2f64..500.0,
        concurrency in 1usize..200,
        latency_ms in 5u64..5000,
        timers in timers(),
    ) {
        let latency = Duration::from_millis(latency_ms);
        // Enough items for ~20 s of sending at the expected pace, at least 40.
        let pool_rate = concurrency as f64 / latency.as_secs_f64();
        let expected = rate.min(pool_rate);
        let items = ((expected * 20.0) as usize).clamp(40, 3000);
        let mut config = SimConfig::new(items, rate);
        config.concurrency = concurrency;
        config.server.latency = latency;
        // Late timers are only applied where one timer per send can keep up
        // (≥ 20 ms apart); above that a burst of 1 cannot absorb browser
        // timer lateness (the pacer sizes its burst for high rates).
        if rate <= 50.0 {
            config.timers = timers;
        }
        let report = config.run();
        prop_assert_eq!(report.successes(), items);

        let sends = report.sends();
        for window in [Duration::from_secs_f64(1.0 / rate), Duration::from_secs(1)] {
            // A send up to `catch_up` late keeps its slot (so late timers
            // cost no rate), which lets the next gap be that much shorter:
            // the bound is over the window stretched by it.
            let catch_up = (0.003f64).min(0.1 / rate);
            let bound = (rate * (window.as_secs_f64() + catch_up) + 1e-9).floor() as usize + 1;
            let most = max_in_window(&sends, window);
            prop_assert!(most <= bound, "{} sends in {:?}, bound {}", most, window, bound);
        }
        let span = (*sends.last().unwrap() - sends[0]).as_secs_f64();
        let achieved = (sends.len() - 1) as f64 / span;
        // Timers that fire late cost at most their lateness once the pool, not
        // the pacer, is what waits; allow for it in the pool-bound case.
        let floor = if pool_rate < rate { 0.95 } else { 0.98 };
        // Until its answers show the jitter, the safety margin starts at
        // the usual jitter, at most 6 % of the spacing (below 16.7/s):
        // what a tolerant server pays for no learning 429 at a strict one,
        // over the first latency and dozen answers of the run.
        let unmeasured = latency.as_secs_f64() + 12.0 / rate;
        let start_cost = 0.06 * (unmeasured / span).min(1.0);
        let floor = floor * (1.0 - start_cost);
        prop_assert!(achieved >= floor * expected, "achieved {achieved:.3} of expected {expected:.3}");
    }
}
