//! The "auto" rate against unannounced limits, on the simulator: how fast it
//! converges, how close it holds, how many 429s it costs.
//! `cargo run --release -p pacer-core --example aimd`
use pacer_core::limiter::LimiterConfig;
use pacer_core::schedule::ProbePolicy;
use pacer_core::sim::SimConfig;
use std::time::Duration;

fn main() {
    for (name, limiter) in [
        (
            "fixed 10/s, headers hidden",
            LimiterConfig::FixedWindow { limit: 10 },
        ),
        (
            "gcra 10/s burst 4",
            LimiterConfig::Gcra {
                rate: 10.0,
                burst: 4,
            },
        ),
        (
            "gcra 10/s burst 0",
            LimiterConfig::Gcra {
                rate: 10.0,
                burst: 0,
            },
        ),
    ] {
        let mut c = SimConfig::new(900, 2.0);
        c.limiter = Some(limiter);
        c.server.rate_headers = false;
        c.server.latency = Duration::from_millis(1000);
        c.server.arrival_jitter = Duration::from_millis(5);
        c.concurrency = 40;
        c.probe = Some(ProbePolicy::default());
        let r = c.run();
        let conv = r.convergence(10.0);
        println!(
            "{name}: within 10 % after {:?}, then {:.3} of the limit; 429s {} of {} sends ({:.1} %)",
            conv.at,
            conv.held,
            r.rejected(),
            r.log.len(),
            100.0 * r.rejected() as f64 / r.log.len() as f64
        );
    }
}
