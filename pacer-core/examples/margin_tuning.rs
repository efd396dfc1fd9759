//! Explores the margin policy against a strict leaky bucket (nginx burst 0)
//! and a tolerant one (burst 4) on the simulator: 429 share and send-rate
//! ratio, averaged over seeds. `cargo run --release --example margin_tuning`.
use pacer_core::limiter::LimiterConfig;
use pacer_core::schedule::MarginPolicy;
use pacer_core::sim::{SimConfig, TimerModel};
use std::time::Duration;

fn main() {
    let ms = Duration::from_millis;
    for (step, every, decay) in [(4, 20, 0.95), (6, 20, 0.95), (6, 10, 0.9), (8, 20, 0.95)] {
        let policy = MarginPolicy {
            step: ms(step),
            decay_every: every,
            decay,
            ..MarginPolicy::default()
        };
        let mut line = format!("step {step} every {every} decay {decay}:");
        for (burst, rate, n, jitter) in [
            (0, 4.0, 60, 4),
            (0, 4.0, 200, 8),
            (0, 10.0, 200, 6),
            (4, 10.0, 200, 8),
        ] {
            let (mut limited, mut sent, mut ratio) = (0, 0, 0.0);
            for seed in 0..10 {
                let mut c = SimConfig::new(n, rate);
                c.seed = seed;
                c.margin = policy;
                c.limiter = Some(LimiterConfig::Gcra { rate, burst });
                c.server.arrival_jitter = ms(jitter);
                c.server.latency = ms(1000);
                c.timers = TimerModel::Clamped {
                    min: ms(4),
                    late: Duration::from_micros(1500),
                };
                let r = c.run();
                limited += r.rejected();
                sent += r.log.len();
                ratio += r.send_rate_ratio(rate) / 10.0;
            }
            let bound = 1.0 / (1.0 + jitter as f64 / 1000.0 * rate);
            line += &format!(
                "  b{burst} r{rate} n{n} J{jitter}: 429 {:.1}% ratio {ratio:.3} ({:.3} of bound)",
                100.0 * limited as f64 / sent as f64,
                if burst == 0 { ratio / bound } else { ratio }
            );
        }
        println!("{line}");
    }
}
