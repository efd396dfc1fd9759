//! nginx's `limit_req` (ngx_http_limit_req_module.c), exactly: a leaky
//! bucket / GCRA at millisecond granularity with `burst` early requests
//! tolerated and no rate headers. Models `limit_req … nodelay` (early
//! requests within the burst are served at once, not queued).

use super::{Admission, Limiter};
use std::time::Duration;

/// nginx `limit_req zone=… rate=R burst=B nodelay`, request for request.
///
/// State per key, as in nginx: `excess` in thousandths of a request and the
/// millisecond of the last accepted request. For a request at `now`
/// (truncated to whole milliseconds): `ms = now_ms - last_ms`,
/// `excess' = max(0, excess - rate_milli * ms / 1000 + 1000)` (integer
/// arithmetic); if `excess' > burst * 1000` the request is refused and
/// nothing changes, else `excess = excess'` and `last = now_ms`. The first
/// request of a key starts at `excess = 0`.
///
/// So burst 0 means strictly one request per `1/rate` (one arriving a
/// millisecond early is refused), and burst B lets B+1 through at once.
/// In any interval of length L at most `floor(L * rate) + B + 1` pass.
///
/// Like nginx, the rate is kept as an integer number of requests per 1000
/// seconds (`rate_milli = round(rate * 1000)`, at least 1), so 0.5 r/s is
/// exact (500) and rates are precise to 0.001 r/s.
#[derive(Clone, Debug)]
pub struct LeakyBucket {
    rate_milli: u64,
    burst_milli: u64,
    /// `(excess, last_ms)`; `None` before the first accepted request.
    state: Option<(u64, u64)>,
}

impl LeakyBucket {
    /// `rate_per_second` (fractions allowed; non-finite or tiny rates are
    /// taken as 0.001/s) with `burst` early requests tolerated.
    pub fn new(rate_per_second: f64, burst: u32) -> LeakyBucket {
        let rate_milli = if rate_per_second.is_finite() {
            (rate_per_second * 1000.0).round()
        } else {
            1.0
        };
        LeakyBucket {
            rate_milli: (rate_milli as u64).max(1),
            burst_milli: u64::from(burst) * 1000,
            state: None,
        }
    }

    /// The rate as nginx stores it: requests per 1000 seconds.
    pub fn rate_milli(&self) -> u64 {
        self.rate_milli
    }
}

impl Limiter for LeakyBucket {
    fn admit(&mut self, now: Duration) -> Admission {
        let now_ms = u64::try_from(now.as_millis()).unwrap_or(u64::MAX);
        let Some((excess, last)) = self.state else {
            self.state = Some((0, now_ms));
            return Admission::Allowed { quota: None };
        };
        // nginx: a clock step back of up to a minute counts as 0 ms, more as 1 ms.
        let ms: u64 = match now_ms.checked_sub(last) {
            Some(ms) => ms,
            None if last - now_ms > 60_000 => 1,
            None => 0,
        };
        // Signed arithmetic as in nginx: `excess - rate * ms / 1000 + 1000`, floored at 0.
        let drained = i128::from(self.rate_milli) * i128::from(ms) / 1000;
        let next = (i128::from(excess) - drained + 1000).max(0) as u64;
        if next > self.burst_milli {
            // Refused: state untouched. The first millisecond after `last` at
            // which enough will have drained: rate * m / 1000 >= excess + 1000 - burst.
            let needed = excess + 1000 - self.burst_milli;
            let m = (u128::from(needed) * 1000).div_ceil(u128::from(self.rate_milli));
            let at =
                Duration::from_millis(last.saturating_add(u64::try_from(m).unwrap_or(u64::MAX)));
            return Admission::Rejected {
                retry_after: Some(at.saturating_sub(now)),
                quota: None,
            };
        }
        let new_last = if ms == 0 { last } else { now_ms };
        self.state = Some((next, new_last));
        Admission::Allowed { quota: None }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(v: u64) -> Duration {
        Duration::from_millis(v)
    }

    #[test]
    fn burst_zero_is_one_per_interval_to_the_millisecond() {
        let mut l = LeakyBucket::new(4.0, 0);
        let t0 = Duration::from_secs(1000);
        assert!(l.admit(t0).is_allowed());
        assert!(!l.admit(t0).is_allowed(), "same instant");
        assert!(!l.admit(t0 + ms(249)).is_allowed(), "1 ms early");
        assert!(l.admit(t0 + ms(250)).is_allowed(), "on time");
        // Sub-millisecond parts are ignored, as nginx's msec clock does.
        assert!(!l
            .admit(t0 + ms(499) + Duration::from_micros(999))
            .is_allowed());
        assert!(l.admit(t0 + ms(500)).is_allowed());
    }

    #[test]
    fn rejection_leaves_state_untouched() {
        let mut l = LeakyBucket::new(1.0, 0);
        assert!(l.admit(ms(0)).is_allowed());
        for t in (100..1000).step_by(100) {
            assert!(!l.admit(ms(t)).is_allowed());
        }
        assert!(
            l.admit(ms(1000)).is_allowed(),
            "refusals did not push the next slot back"
        );
    }

    #[test]
    fn burst_b_lets_b_plus_one_through_at_once() {
        let mut l = LeakyBucket::new(2.0, 3);
        let admitted = (0..10).filter(|_| l.admit(ms(5000)).is_allowed()).count();
        assert_eq!(admitted, 4);
        assert!(!l.admit(ms(5499)).is_allowed());
        assert!(
            l.admit(ms(5500)).is_allowed(),
            "one slot drained after 1/rate"
        );
    }

    #[test]
    fn fractional_rate_is_exact() {
        let mut l = LeakyBucket::new(0.5, 0);
        assert_eq!(l.rate_milli(), 500);
        assert!(l.admit(ms(0)).is_allowed());
        assert!(!l.admit(ms(1999)).is_allowed());
        assert!(l.admit(ms(2000)).is_allowed());
    }

    #[test]
    fn retry_after_points_at_the_next_slot() {
        let mut l = LeakyBucket::new(4.0, 0);
        assert!(l.admit(ms(10_000)).is_allowed());
        match l.admit(ms(10_100) + Duration::from_micros(300)) {
            Admission::Rejected {
                retry_after: Some(d),
                quota: None,
            } => {
                assert_eq!(d, ms(150) - Duration::from_micros(300));
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn small_clock_steps_back_count_as_zero() {
        let mut l = LeakyBucket::new(1.0, 1);
        assert!(l.admit(ms(10_000)).is_allowed());
        assert!(l.admit(ms(9_990)).is_allowed(), "uses the burst slot");
        assert!(!l.admit(ms(9_995)).is_allowed());
    }
}
