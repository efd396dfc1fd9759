//! What a simulated run measured, computed the way the benchmark computes
//! it from the emulator's access log.

use std::time::Duration;

use super::server::LogEntry;
use crate::schedule::{Counts, Pacing};

/// The outcome of a simulated run.
#[derive(Clone, Debug)]
pub struct SimReport {
    /// Every request, in order of answer.
    pub log: Vec<LogEntry>,
    /// The scheduler's final counts.
    pub counts: Counts,
    /// The pacing state at the end (margin, pauses).
    pub pacing: Pacing,
}

impl SimReport {
    /// Wraps a finished run's records.
    pub fn new(log: Vec<LogEntry>, counts: Counts, pacing: Pacing) -> Self {
        Self {
            log,
            counts,
            pacing,
        }
    }

    /// Requests answered 200.
    pub fn successes(&self) -> usize {
        self.log.iter().filter(|e| e.status == 200).count()
    }

    /// Requests answered 429.
    pub fn rejected(&self) -> usize {
        self.log.iter().filter(|e| e.status == 429).count()
    }

    /// Client send instants, sorted.
    pub fn sends(&self) -> Vec<Duration> {
        let mut s: Vec<_> = self.log.iter().map(|e| e.sent).collect();
        s.sort();
        s
    }

    /// The benchmark's send-rate ratio: (successes − 1) ÷ (last successful
    /// arrival − first successful arrival) ÷ rate. 1.0 is a perfect pacer.
    pub fn send_rate_ratio(&self, rate: f64) -> f64 {
        let arrivals = self.success_arrivals();
        match (arrivals.first(), arrivals.last()) {
            (Some(first), Some(last)) if arrivals.len() > 1 && last > first => {
                (arrivals.len() - 1) as f64 / (*last - *first).as_secs_f64() / rate
            }
            _ => 0.0,
        }
    }

    /// Arrivals at the server of the requests answered 200, sorted.
    pub fn success_arrivals(&self) -> Vec<Duration> {
        let mut ok: Vec<_> = self
            .log
            .iter()
            .filter(|e| e.status == 200)
            .map(|e| e.arrival)
            .collect();
        ok.sort();
        ok
    }
}

/// How an "auto" rate approached a limit.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Convergence {
    /// When the successes of the last 3 s first reached 90 % of the limit.
    pub at: Option<Duration>,
    /// From then on, the mean successes per second over the limit.
    pub held: f64,
}

impl SimReport {
    /// Successes per sliding 3 s window (sampled every 0.5 s) against `limit`.
    pub fn convergence(&self, limit: f64) -> Convergence {
        let window = Duration::from_secs(3);
        let ok = self.success_arrivals();
        let Some(&end) = ok.last() else {
            return Convergence {
                at: None,
                held: 0.0,
            };
        };
        let (mut at, mut held) = (None, Vec::new());
        let mut t = Duration::ZERO;
        while t + window <= end {
            let n = ok.iter().filter(|a| **a >= t && **a < t + window).count();
            let rate = n as f64 / window.as_secs_f64();
            if at.is_none() && rate >= 0.9 * limit {
                at = Some(t + window);
            }
            if at.is_some() {
                held.push(rate);
            }
            t += Duration::from_millis(500);
        }
        let mean = held.iter().sum::<f64>() / held.len().max(1) as f64;
        Convergence {
            at,
            held: mean / limit,
        }
    }
}

/// The most of `sorted` instants within any half-open window `[t, t + w)`.
pub fn max_in_window(sorted: &[Duration], window: Duration) -> usize {
    let mut best = 0;
    let mut lo = 0;
    for hi in 0..sorted.len() {
        while sorted[hi] - sorted[lo] >= window {
            lo += 1;
        }
        best = best.max(hi - lo + 1);
    }
    best
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn window_counting_is_half_open() {
        let ms = Duration::from_millis;
        let s = [ms(0), ms(100), ms(999), ms(1000), ms(1001)];
        assert_eq!(max_in_window(&s, ms(1000)), 4);
        assert_eq!(max_in_window(&s, ms(2)), 2);
    }
}
