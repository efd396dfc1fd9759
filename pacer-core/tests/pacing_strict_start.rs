//! The start of a run against a strict leaky bucket (nginx `limit_req`
//! burst 0) whose 429s say `Retry-After: 1`, as many gateways do: a single
//! 429 there pauses the run for a whole second, a tenth of a 10 s run. The
//! margin starts at the usual send-to-arrival jitter and follows what the
//! run measures, so no 429 is needed to learn it; these runs check that,
//! and what it costs a server that tolerates early arrivals. On fake time,
//! with the page's default margin policy.

use std::time::Duration;

use pacer_core::limiter::LimiterConfig;
use pacer_core::sim::{SimConfig, SimReport, TimerModel};

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// `images` at `rate`/s with `latency`, send-to-arrival jitter uniform in
/// 0..=`jitter`, against `limiter` (429s with `Retry-After` in whole
/// seconds; a fixed window announces its limit, as the emulator's does).
fn run(
    rate: f64,
    images: usize,
    latency: Duration,
    jitter: Duration,
    limiter: LimiterConfig,
    seed: u64,
) -> SimReport {
    let mut c = SimConfig::new(images, rate);
    c.concurrency = (rate * latency.as_secs_f64() * 1.5) as usize + 2;
    c.limiter = Some(limiter);
    c.server.latency = latency;
    c.server.arrival_jitter = jitter;
    c.server.retry_after = true;
    c.server.retry_after_whole_seconds = true;
    c.server.rate_headers = matches!(limiter, LimiterConfig::FixedWindow { .. });
    // Browser timers: at least 4 ms, and a little late.
    c.timers = TimerModel::Clamped {
        min: ms(4),
        late: Duration::from_micros(500),
    };
    c.seed = seed;
    c.run()
}

const STRICT: fn(f64) -> LimiterConfig = |rate| LimiterConfig::Gcra { rate, burst: 0 };

/// The strict cells, over many seeds and jitters up to 4 ms (what
/// a lone tab's worker sends meet on loopback): no 429 at all, and the
/// send-rate ratio at its target.
#[test]
fn strict_cells_need_no_learning_429() {
    let cells = [(4.0, 60, ms(1000), 0.97), (10.0, 100, ms(300), 0.93)];
    for (rate, images, latency, target) in cells {
        for jitter_us in [0, 1000, 2500, 4000] {
            for seed in 1..=8 {
                let r = run(
                    rate,
                    images,
                    latency,
                    Duration::from_micros(jitter_us),
                    STRICT(rate),
                    seed,
                );
                let label =
                    format!("{rate}/s, {images} images, jitter {jitter_us} µs, seed {seed}");
                assert_eq!(r.successes(), images, "{label}");
                assert!(r.rejected() <= 1, "{label}: {} 429s", r.rejected());
                let ratio = r.send_rate_ratio(rate);
                assert!(ratio >= target, "{label}: ratio {ratio:.3} < {target}");
            }
        }
    }
}

/// What the starting margin costs servers that tolerate early arrivals
/// (burst ≥ 1, fixed windows): the measured jitter over the first 100
/// successes, then nothing; a window that announces its limit turns the
/// margin off with its first answer. Printed with `--nocapture` (with 2.5
/// ms of jitter: burst 4 0.983 at 4/s × 60, 0.990 at 4/s × 200, 0.976 at
/// 10/s × 200; the fixed window 0.992–0.998); the floors are under those.
#[test]
fn what_the_starting_margin_costs_a_tolerant_server() {
    let cells = [
        (4.0, 60, ms(1000)),
        (4.0, 200, ms(1000)),
        (10.0, 200, ms(1000)),
    ];
    for (rate, images, latency) in cells {
        for (name, limiter, floor) in [
            ("gcra burst 4", LimiterConfig::Gcra { rate, burst: 4 }, 0.97),
            (
                "fixed window",
                LimiterConfig::FixedWindow { limit: rate as u32 },
                0.99,
            ),
        ] {
            let r = run(
                rate,
                images,
                latency,
                Duration::from_micros(2500),
                limiter,
                3,
            );
            let ratio = r.send_rate_ratio(rate);
            println!(
                "{name}, {rate}/s, {images} images: ratio {ratio:.4}, {} 429s",
                r.rejected()
            );
            assert_eq!(r.rejected(), 0, "{name} {rate}/s {images}");
            assert!(ratio >= floor, "{name} {rate}/s {images}: {ratio:.3}");
        }
    }
}

/// The same strict server with the margin of old (starting at 1 ms, learnt
/// from 429s): the learning 429 and its second of pause, which the new
/// start avoids.
#[test]
fn from_a_tiny_margin_the_first_429_costs_its_retry_after() {
    let mut worse = 0;
    for seed in 1..=8 {
        let mut c = SimConfig::new(100, 10.0);
        c.concurrency = 7;
        c.limiter = Some(STRICT(10.0));
        c.server.latency = ms(300);
        c.server.arrival_jitter = ms(4);
        c.server.retry_after = true;
        c.server.retry_after_whole_seconds = true;
        c.server.rate_headers = false;
        c.margin = pacer_core::schedule::MarginPolicy {
            start: Duration::ZERO,
            ..Default::default()
        };
        c.seed = seed;
        let r = c.run();
        if r.rejected() > 0 && r.send_rate_ratio(10.0) < 0.93 {
            worse += 1;
        }
    }
    assert!(worse >= 6, "only {worse} of 8 runs paid a learning 429");
}
