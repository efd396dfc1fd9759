//! How often and how late a failed item is tried again.

use std::time::Duration;

/// Exponential backoff with full jitter, bounded by a number of attempts.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RetryPolicy {
    /// Sends per item before a retryable failure becomes final (≥ 1).
    pub max_attempts: u32,
    /// Backoff before the second attempt; doubles each time.
    pub base: Duration,
    /// Upper bound of one backoff.
    pub cap: Duration,
    /// 429 answers tolerated per item before it fails. A 429 is a pacing
    /// signal, not the item's fault, so it has its own, larger budget.
    pub max_rate_limited: u32,
}

impl Default for RetryPolicy {
    /// 5 attempts, 500 ms doubling up to 30 s, 50 429s per item.
    fn default() -> Self {
        Self {
            max_attempts: 5,
            base: Duration::from_millis(500),
            cap: Duration::from_secs(30),
            max_rate_limited: 50,
        }
    }
}

impl RetryPolicy {
    /// The wait before attempt `attempt + 1`, after `attempt` sends (≥ 1):
    /// uniform in `0..=min(cap, base × 2^(attempt-1))` ("full jitter"),
    /// drawn from a hash of `(seed, item, attempt)` so runs are reproducible.
    pub fn backoff(&self, seed: u64, item: usize, attempt: u32) -> Duration {
        let exp = self
            .base
            .saturating_mul(1u32 << attempt.saturating_sub(1).min(20));
        let ceiling = exp.min(self.cap);
        let fraction = unit_hash(seed ^ (item as u64).rotate_left(32) ^ u64::from(attempt));
        ceiling.mul_f64(fraction)
    }
}

/// SplitMix64's finaliser, mapped to `[0, 1)`.
fn unit_hash(x: u64) -> f64 {
    let mut z = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^= z >> 31;
    (z >> 11) as f64 / (1u64 << 53) as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_stays_under_the_doubling_ceiling() {
        let p = RetryPolicy::default();
        for attempt in 1..10 {
            let ceiling = (p.base * (1 << (attempt - 1))).min(p.cap);
            for item in 0..200 {
                assert!(p.backoff(7, item, attempt) <= ceiling);
            }
        }
    }

    #[test]
    fn backoff_is_jittered_and_reproducible() {
        let p = RetryPolicy::default();
        let a: Vec<_> = (0..50).map(|i| p.backoff(1, i, 3)).collect();
        let b: Vec<_> = (0..50).map(|i| p.backoff(1, i, 3)).collect();
        assert_eq!(a, b);
        let distinct: std::collections::BTreeSet<_> = a.iter().collect();
        assert!(distinct.len() > 40, "full jitter spreads the waits");
    }
}
