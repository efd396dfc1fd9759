//! Redis's clock as seen from this proxy. Slots are decided on Redis's
//! clock; a proxy must send at the same instant on its own. Counting a
//! slot's wait from when the answer came (or when the call went) shifts it
//! by however long the call took one way, which on a busy machine can be
//! an interval or more, and two proxies' sends then bunch. Instead each
//! call's Redis time is paired with the midpoint of the call on the local
//! clock, and the pair from the quickest call (its error is at most half
//! its round trip) maps Redis instants to local ones. Pure: the caller
//! passes the local instants.

use std::time::Duration;

/// A pair older than this is replaced by any newer one (clocks drift).
const FRESH_FOR: Duration = Duration::from_secs(10);

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Pair {
    round_trip: Duration,
    /// Redis µs minus local µs.
    offset: i64,
    at: Duration,
}

/// The best pairing of Redis's clock with the local one so far.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Clock(Option<Pair>);

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
        let better = match self.0 {
            None => true,
            Some(best) => {
                round_trip <= best.round_trip || after.saturating_sub(best.at) > FRESH_FOR
            }
        };
        if better {
            self.0 = Some(pair);
        }
    }

    /// Whether the pairing is within `error` (half its round trip).
    pub fn within(&self, error: Duration) -> bool {
        self.0.is_some_and(|p| p.round_trip / 2 <= error)
    }

    /// Redis's clock at the local instant `local`, once there is a pairing.
    pub fn redis(&self, local: Duration) -> Option<i64> {
        Some(micros(local).saturating_add(self.0?.offset))
    }

    /// The local instant of `redis_us`, once there is a pairing.
    pub fn local(&self, redis_us: i64) -> Option<Duration> {
        let pair = self.0?;
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
        // A slower one later does not, unless the pairing has gone stale.
        c.sample(MS(900), MS(950), 1_000_950_000);
        assert_eq!(c.local(1_000_600_000), Some(Duration::from_micros(600_000)));
        c.sample(MS(20_000), MS(20_010), 1_020_010_000);
        assert_eq!(c.local(1_020_100_000), Some(MS(20_095)));
    }
}
