//! Redis's clock as seen from this proxy. Slots are decided on Redis's
//! clock; a proxy must send at the same instant on its own. Counting a
//! slot's wait from when the answer came (or when the call went) shifts it
//! by however long the call took one way, which on a busy machine can be
//! an interval or more, and two proxies' sends then bunch. Instead each
//! call's Redis time is paired with the midpoint of the call on the local
//! clock, and the pair from the quickest call (its error is at most half
//! its round trip) maps Redis instants to local ones. Pure: the caller
//! passes the local instants.
//!
//! The quickest call is looked for among the recent ones only (clocks
//! drift), but a recent slow call never replaces a quick one that is still
//! recent: it once did, as soon as the quick one was 10 s old, and a run
//! starting then had its first slots mapped with a pairing off by a slow
//! call's half round trip (up to 120 ms on a loaded machine), which sent
//! them late and bunched them with the next ones.

use std::time::Duration;

/// How long a pair is used: a quicker one within this span wins. Clocks
/// drift by tens of µs a second at most, far less than a round trip.
const FRESH_FOR: Duration = Duration::from_secs(30);
/// The most pairs kept (the slowest go first).
const KEPT: usize = 32;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Pair {
    round_trip: Duration,
    /// Redis µs minus local µs.
    offset: i64,
    at: Duration,
}

/// The best recent pairing of Redis's clock with the local one.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Clock {
    /// Recent pairs, oldest first.
    pairs: Vec<Pair>,
    /// The quickest of them.
    best: Option<Pair>,
}

fn micros(d: Duration) -> i64 {
    i64::try_from(d.as_micros()).unwrap_or(i64::MAX / 4)
}

impl Clock {
    /// A call sent at `before` and answered at `after` (local) read
    /// `redis_us` on Redis's clock.
    pub fn sample(&mut self, before: Duration, after: Duration, redis_us: i64) {
        let round_trip = after.saturating_sub(before);
        let mid = micros(before) + micros(round_trip) / 2;
        let pair = Pair {
            round_trip,
            offset: redis_us.saturating_sub(mid),
            at: after,
        };
        self.pairs
            .retain(|p| after.saturating_sub(p.at) <= FRESH_FOR && p.at <= after);
        if self.pairs.len() >= KEPT {
            // The slowest goes: it would never be the best while the others last.
            if let Some(slowest) = (0..self.pairs.len()).max_by_key(|&i| self.pairs[i].round_trip) {
                self.pairs.remove(slowest);
            }
        }
        self.pairs.push(pair);
        self.best = self.pairs.iter().copied().min_by_key(|p| p.round_trip);
    }

    /// Whether the pairing is within `error` (half its round trip).
    pub fn within(&self, error: Duration) -> bool {
        self.best.is_some_and(|p| p.round_trip / 2 <= error)
    }

    /// Redis's clock at the local instant `local`, once there is a pairing.
    pub fn redis(&self, local: Duration) -> Option<i64> {
        Some(micros(local).saturating_add(self.best?.offset))
    }

    /// The local instant of `redis_us`, once there is a pairing.
    pub fn local(&self, redis_us: i64) -> Option<Duration> {
        let pair = self.best?;
        let local = redis_us.saturating_sub(pair.offset).max(0);
        Some(Duration::from_micros(local.unsigned_abs()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: fn(u64) -> Duration = Duration::from_millis;

    #[test]
    fn the_quickest_call_sets_the_pairing() {
        let mut c = Clock::default();
        assert_eq!(c.local(5), None);
        assert!(!c.within(MS(100)));
        // Redis is 1 000 s ahead. A slow call (120 ms out, 0 back) reads
        // Redis at its own end: its midpoint is 60 ms off.
        c.sample(MS(100), MS(220), 1_000_220_000);
        assert_eq!(c.local(1_000_300_000), Some(MS(240)));
        assert!(c.within(MS(60)) && !c.within(MS(59)));
        // A quick call replaces it: 1 ms round trip, 0.5 ms off at most.
        c.sample(MS(500), MS(501), 1_000_500_500);
        assert_eq!(c.local(1_000_600_000), Some(Duration::from_micros(600_000)));
        assert_eq!(c.redis(Duration::from_micros(600_000)), Some(1_000_600_000));
        // A slower one later does not, while the quick one is recent...
        c.sample(MS(900), MS(950), 1_000_950_000);
        assert_eq!(c.local(1_000_600_000), Some(Duration::from_micros(600_000)));
        c.sample(MS(20_000), MS(20_040), 1_020_040_000);
        assert_eq!(c.local(1_000_600_000), Some(Duration::from_micros(600_000)));
        // ...and once it is not, the quickest of the recent ones is used.
        c.sample(MS(30_600), MS(30_700), 1_030_700_000);
        assert_eq!(c.local(1_020_100_000), Some(MS(20_080)));
        assert!(c.within(MS(20)) && !c.within(MS(19)));
    }

    #[test]
    fn a_slow_call_never_replaces_a_quick_recent_one() {
        // Regression: once the quick pairing was 10 s old, any slower call
        // replaced it, and slots were mapped 100 ms off.
        let mut c = Clock::default();
        c.sample(MS(0), MS(2), 1_000_001_000);
        for i in 1..70u64 {
            // Slow calls (200 ms) that read Redis at their very end.
            let at = MS(i * 500);
            c.sample(
                at,
                at + MS(200),
                1_000_000_000 + (i * 500 + 200) as i64 * 1000,
            );
            if at + MS(200) <= MS(30_002) {
                assert!(c.within(MS(1)), "at {at:?}");
            }
        }
        // Past 30 s the quick one is gone; the slow ones bound the error at 100 ms.
        assert!(c.within(MS(100)) && !c.within(MS(99)));
        assert!(c.pairs.len() <= KEPT);
    }
}
