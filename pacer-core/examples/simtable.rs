//! Prints a few simulated cells (a sanity look at the simulator's figures).
use pacer_core::limiter::LimiterConfig;
use pacer_core::sim::{SimConfig, TimerModel};
use std::time::Duration;

fn main() {
    for (name, lim, rate, jitter) in [
        (
            "gcra b0 4/s J5",
            Some(LimiterConfig::Gcra {
                rate: 4.0,
                burst: 0,
            }),
            4.0,
            5,
        ),
        (
            "gcra b0 10/s J5",
            Some(LimiterConfig::Gcra {
                rate: 10.0,
                burst: 0,
            }),
            10.0,
            5,
        ),
        (
            "gcra b4 10/s J5",
            Some(LimiterConfig::Gcra {
                rate: 10.0,
                burst: 4,
            }),
            10.0,
            5,
        ),
        (
            "fixed 10/s J5",
            Some(LimiterConfig::FixedWindow { limit: 10 }),
            10.0,
            5,
        ),
        (
            "fixed 10/s user 12",
            Some(LimiterConfig::FixedWindow { limit: 10 }),
            12.0,
            1,
        ),
    ] {
        let mut c = SimConfig::new(200, rate);
        c.limiter = lim;
        c.server.arrival_jitter = Duration::from_millis(jitter);
        c.timers = TimerModel::Clamped {
            min: Duration::from_millis(4),
            late: Duration::from_micros(500),
        };
        let r = c.run();
        println!(
            "{name:22} ok {} 429 {} ratio {:.3} margin {:?} pauses {}",
            r.successes(),
            r.rejected(),
            r.send_rate_ratio(rate.min(10.0)),
            r.pacing.margin(),
            r.pacing.pauses()
        );
    }
}
