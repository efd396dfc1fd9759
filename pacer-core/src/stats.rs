//! Live figures of a run: throughput, latency, and its timeline.

use std::time::Duration;

use crate::timeline::{Mark, Timeline};

/// Successful-request figures, updated as answers arrive.
#[derive(Clone, Debug, Default)]
pub struct RunStats {
    first_send: Option<Duration>,
    last_success: Option<Duration>,
    latencies_ms: Vec<f64>,
    sorted: bool,
    timeline: Timeline,
}

impl RunStats {
    /// Nothing measured yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// A request went out at `at`.
    pub fn on_send(&mut self, at: Duration) {
        self.first_send.get_or_insert(at);
        self.timeline.on_send(at);
    }

    /// A request succeeded at `at` after `latency`.
    pub fn on_success(&mut self, at: Duration, latency: Duration) {
        self.timeline.on_answer(at, Mark::Success);
        self.last_success = Some(at);
        self.latencies_ms.push(latency.as_secs_f64() * 1000.0);
        self.sorted = false;
    }

    /// A request failed at `at` (`mark` says how; not a success).
    pub fn on_failure(&mut self, at: Duration, mark: Mark) {
        self.timeline.on_answer(at, mark);
    }

    /// Pacer paced at `rate` requests/s at `at` (for the chart's rate line).
    pub fn sample_rate(&mut self, at: Duration, rate: f64) {
        self.timeline.sample_rate(at, rate);
    }

    /// The run second by second.
    pub fn timeline(&self) -> &Timeline {
        &self.timeline
    }

    /// Successes so far.
    pub fn successes(&self) -> usize {
        self.latencies_ms.len()
    }

    /// Successful requests per second from the first send to `now` while
    /// running, or to the last success once `finished` (the original
    /// client's formula: successes ÷ (last success end − first send)).
    pub fn throughput(&self, now: Duration, finished: bool) -> f64 {
        let Some(first) = self.first_send else {
            return 0.0;
        };
        let end = if finished {
            self.last_success.unwrap_or(now)
        } else {
            now
        };
        let span = end.saturating_sub(first).as_secs_f64();
        if span <= 0.0 {
            0.0
        } else {
            self.successes() as f64 / span
        }
    }

    /// Time from the first send to `now` (running) or to the last success
    /// (`finished`).
    pub fn elapsed(&self, now: Duration, finished: bool) -> Duration {
        let Some(first) = self.first_send else {
            return Duration::ZERO;
        };
        let end = if finished {
            self.last_success.unwrap_or(now)
        } else {
            now
        };
        end.saturating_sub(first)
    }

    /// Mean latency of successes, ms (0 when none).
    pub fn latency_avg_ms(&self) -> f64 {
        if self.latencies_ms.is_empty() {
            0.0
        } else {
            self.latencies_ms.iter().sum::<f64>() / self.latencies_ms.len() as f64
        }
    }

    /// The `q` quantile (0..=1) of success latency, ms, nearest-rank.
    pub fn latency_quantile_ms(&mut self, q: f64) -> f64 {
        if self.latencies_ms.is_empty() {
            return 0.0;
        }
        if !self.sorted {
            // The standard sort, not crate::sort: run long, and sorted on
            // every figures update.
            self.latencies_ms.sort_unstable_by(f64::total_cmp);
            self.sorted = true;
        }
        let n = self.latencies_ms.len();
        let rank = ((q.clamp(0.0, 1.0) * n as f64).ceil() as usize).clamp(1, n);
        self.latencies_ms[rank - 1]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn throughput_uses_first_send_to_last_success_when_finished() {
        let mut s = RunStats::new();
        s.on_send(ms(1000));
        for i in 0..10 {
            s.on_success(ms(1000 + 100 * i + 300), ms(300));
        }
        // 10 successes over 1.2 s.
        assert!((s.throughput(ms(9999), true) - 10.0 / 1.2).abs() < 1e-9);
        assert!((s.throughput(ms(3000), false) - 5.0).abs() < 1e-9);
    }

    #[test]
    fn p95_is_nearest_rank() {
        let mut s = RunStats::new();
        for i in 1..=100 {
            s.on_success(ms(i), ms(i));
        }
        assert_eq!(s.latency_quantile_ms(0.95), 95.0);
        assert_eq!(s.latency_avg_ms(), 50.5);
    }
}
