//! Bounds on the numbers that reach Pacer from outside: the form, a link's
//! query string, job files, saved runs and servers' headers. Each reader
//! checks against these before a number becomes a rate or a [`Duration`],
//! so that no input can panic the page (`Duration::from_secs_f64` panics
//! past `u64::MAX` seconds) or make it wait for ever.
//!
//! Pure: "now" is an argument wherever it matters.

use std::time::Duration;

/// The lowest rate Pacer sends at, requests per second (one every
/// 16 minutes 40 s).
pub const MIN_RATE: f64 = 0.001;
/// The highest rate Pacer sends at, requests per second: far above what a
/// browser tab can send, far below where pacing arithmetic gets coarse.
pub const MAX_RATE: f64 = 10_000.0;
/// The longest a server's answer (`Retry-After`, `RateLimit-Reset`) can
/// make Pacer wait: a day, as a daily quota's window.
pub const MAX_SERVER_WAIT: Duration = Duration::from_secs(86_400);
/// The longest an attempt's latency can plausibly be, ms (a day).
pub const MAX_LATENCY_MS: f64 = 86_400_000.0;
/// The earliest plausible send time, ms since the Unix epoch
/// (2001-09-09): older clocks are wrong, not history.
pub const EARLIEST_UNIX_MS: f64 = 1.0e12;
/// The latest plausible send time, ms since the Unix epoch (2100-01-01).
pub const LATEST_UNIX_MS: f64 = 4_102_444_800_000.0;
/// The most fetch tasks a run may use.
pub const MAX_CONCURRENCY: usize = 256;
/// The shortest per-request timeout, seconds.
pub const MIN_TIMEOUT_S: f64 = 0.1;
/// The longest per-request timeout, seconds.
pub const MAX_TIMEOUT_S: f64 = 600.0;
/// The most sends per item.
pub const MAX_ATTEMPTS: u32 = 20;
/// The longest duration made from an outside number of ms: 100 years,
/// far beyond any plausible run and far below `Duration`'s limit.
pub const MAX_DURATION: Duration = Duration::from_secs(100 * 365 * 86_400);

/// Checks a rate (requests per second): the rate itself, or why Pacer
/// cannot pace at it, in words for the user.
pub fn check_rate(rate: f64) -> Result<f64, String> {
    if !rate.is_finite() {
        return Err("The rate must be a number of requests per second.".into());
    }
    let shown = number_text(rate);
    if rate < MIN_RATE {
        return Err(format!(
            "A rate of {shown} requests/second is below the lowest Pacer sends at, \
             {MIN_RATE} (one request every 1000 s)."
        ));
    }
    if rate > MAX_RATE {
        return Err(format!(
            "A rate of {shown} requests/second is above the highest Pacer sends at, {MAX_RATE}."
        ));
    }
    Ok(rate)
}

/// A number as a message shows it: `1e-20` and `1e300`, not forty digits.
pub fn number_text(x: f64) -> String {
    if x != 0.0 && !(1e-4..1e7).contains(&x.abs()) {
        format!("{x:e}")
    } else {
        format!("{x}")
    }
}

/// `rate` brought into `MIN_RATE..=MAX_RATE` (not a number gives the
/// lowest: the safe end).
pub fn clamp_rate(rate: f64) -> f64 {
    if rate.is_nan() {
        MIN_RATE
    } else {
        rate.clamp(MIN_RATE, MAX_RATE)
    }
}

/// A number of milliseconds from outside as a [`Duration`]: negative or
/// not a number gives zero, anything longer than [`MAX_DURATION`] gives
/// that. Never panics.
pub fn duration_from_ms(ms: f64) -> Duration {
    duration_from_secs(ms / 1000.0)
}

/// A number of seconds from outside as a [`Duration`], as
/// [`duration_from_ms`].
pub fn duration_from_secs(secs: f64) -> Duration {
    if secs.is_nan() || secs <= 0.0 {
        return Duration::ZERO;
    }
    if secs >= MAX_DURATION.as_secs_f64() {
        return MAX_DURATION;
    }
    Duration::try_from_secs_f64(secs).unwrap_or(MAX_DURATION)
}

/// Whether `sent_unix_ms` can be a real send time: between
/// [`EARLIEST_UNIX_MS`] and [`LATEST_UNIX_MS`]. A run whose times straddle
/// a clock fixed years later is still charted (the timeline keeps only the
/// seconds that saw answers).
pub fn plausible_send_time(sent_unix_ms: f64) -> bool {
    (EARLIEST_UNIX_MS..=LATEST_UNIX_MS).contains(&sent_unix_ms)
}

/// Whether `latency_ms` can be an attempt's latency.
pub fn plausible_latency(latency_ms: f64) -> bool {
    latency_ms.is_finite() && (0.0..=MAX_LATENCY_MS).contains(&latency_ms)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn rate_table() {
        for ok in [0.001, 0.5, 4.0, 10_000.0] {
            assert_eq!(check_rate(ok), Ok(ok));
        }
        for (bad, says) in [
            (1e-20, "below"),
            (0.0, "below"),
            (-4.0, "below"),
            (10_000.5, "above"),
            (1e300, "above"),
            (f64::NAN, "number"),
            (f64::INFINITY, "number"),
        ] {
            let err = check_rate(bad).unwrap_err();
            assert!(err.contains(says), "{bad}: {err}");
        }
        assert!(check_rate(1e-20).unwrap_err().contains("A rate of 1e-20 "));
        assert!(check_rate(1e300).unwrap_err().contains("A rate of 1e300 "));
        assert!(check_rate(-4.0).unwrap_err().contains("A rate of -4 "));
        assert_eq!(clamp_rate(1e-20), MIN_RATE);
        assert_eq!(clamp_rate(f64::NAN), MIN_RATE);
        assert_eq!(clamp_rate(f64::INFINITY), MAX_RATE);
        assert_eq!(clamp_rate(2.5), 2.5);
    }

    #[test]
    fn durations_saturate() {
        assert_eq!(duration_from_ms(1500.0), Duration::from_millis(1500));
        assert_eq!(duration_from_ms(-3.0), Duration::ZERO);
        assert_eq!(duration_from_ms(f64::NAN), Duration::ZERO);
        assert_eq!(duration_from_ms(1e300), MAX_DURATION);
        assert_eq!(duration_from_ms(f64::INFINITY), MAX_DURATION);
        assert_eq!(duration_from_secs(1.8e19), MAX_DURATION);
    }

    #[test]
    fn send_times() {
        assert!(plausible_send_time(1.7e12));
        assert!(!plausible_send_time(1e300));
        assert!(!plausible_send_time(0.0));
        assert!(!plausible_send_time(-1.7e12));
        assert!(!plausible_send_time(f64::NAN));
        assert!(plausible_latency(300.0));
        assert!(!plausible_latency(-1.0));
        assert!(!plausible_latency(1e300));
    }

    proptest! {
        #[test]
        fn no_number_panics(x in any::<f64>()) {
            let _ = check_rate(x);
            let r = clamp_rate(x);
            prop_assert!((MIN_RATE..=MAX_RATE).contains(&r));
            prop_assert!(duration_from_ms(x) <= MAX_DURATION);
            prop_assert!(duration_from_secs(x) <= MAX_DURATION);
            let _ = plausible_send_time(x);
            let _ = plausible_latency(x);
        }
    }
}
