//! Property tests of the limiter models' invariants, plus [`LimiterConfig`].

use super::*;
use proptest::prelude::*;

/// Increasing arrival times in whole milliseconds, starting near a large epoch.
fn arrivals(max_len: usize) -> impl Strategy<Value = Vec<u64>> {
    (0u64..5_000, prop::collection::vec(0u64..400, 1..max_len)).prop_map(|(start, gaps)| {
        let mut t = 1_700_000_000_000 + start;
        gaps.into_iter()
            .map(|g| {
                t += g;
                t
            })
            .collect()
    })
}

fn admitted_times(l: &mut dyn Limiter, times: &[u64]) -> Vec<u64> {
    times
        .iter()
        .copied()
        .filter(|&t| l.admit(Duration::from_millis(t)).is_allowed())
        .collect()
}

proptest! {
    #[test]
    fn fixed_window_admits_min_of_n_and_arrivals_per_aligned_second(
        n in 1u32..8,
        times in arrivals(200),
    ) {
        let mut l = FixedWindow::new(NonZeroU32::new(n).unwrap());
        let admitted = admitted_times(&mut l, &times);
        let mut seconds: Vec<u64> = times.iter().map(|t| t / 1000).collect();
        seconds.dedup();
        for s in seconds {
            let arrived = times.iter().filter(|t| *t / 1000 == s).count();
            let got = admitted.iter().filter(|t| *t / 1000 == s).count();
            prop_assert_eq!(got, arrived.min(n as usize), "second {}", s);
        }
    }

    #[test]
    fn leaky_bucket_admits_at_most_rate_times_l_plus_burst_plus_one(
        rate in prop::sample::select(vec![0.5, 1.0, 2.5, 3.0, 4.0, 7.0, 10.0]),
        burst in 0u32..5,
        times in arrivals(200),
    ) {
        let mut l = LeakyBucket::new(rate, burst);
        let admitted = admitted_times(&mut l, &times);
        for i in 0..admitted.len() {
            for j in i..admitted.len() {
                let span_s = (admitted[j] - admitted[i]) as f64 / 1000.0;
                let bound = (span_s * rate + 1e-9).floor() as usize + burst as usize + 1;
                let count = j - i + 1;
                prop_assert!(count <= bound, "{} admitted in {} s (bound {})", count, span_s, bound);
            }
        }
    }

    #[test]
    fn leaky_bucket_burst_zero_admits_every_request_after_a_full_interval(
        rate in prop::sample::select(vec![0.5, 1.0, 3.0, 4.0, 10.0]),
        times in arrivals(100),
    ) {
        let mut l = LeakyBucket::new(rate, 0);
        let interval = (1000.0 / rate).ceil() as u64;
        let mut last: Option<u64> = None;
        for t in times {
            let allowed = l.admit(Duration::from_millis(t)).is_allowed();
            let due = last.is_none_or(|l| t - l >= interval);
            prop_assert_eq!(allowed, due, "t={} last={:?}", t, last);
            if allowed {
                last = Some(t);
            }
        }
    }
}

proptest! {
    #[test]
    fn sliding_log_admits_at_most_limit_in_any_window(
        limit in 1u32..6,
        window_ms in prop::sample::select(vec![250u64, 1000, 3000]),
        times in arrivals(200),
    ) {
        let mut l = SlidingLog::new(limit, Duration::from_millis(window_ms));
        let admitted = admitted_times(&mut l, &times);
        for (i, &t) in admitted.iter().enumerate() {
            let in_window = admitted[i..].iter().take_while(|&&u| u < t + window_ms).count();
            prop_assert!(in_window <= limit as usize, "{} in {} ms from {}", in_window, window_ms, t);
        }
    }

    /// Both sliding models: a refusal's `Retry-After` is exact. A request
    /// then (nothing sent meanwhile) passes; one a millisecond earlier does not.
    #[test]
    fn sliding_retry_after_is_when_a_request_passes_again(
        limit in 1u32..6,
        log in any::<bool>(),
        times in arrivals(60),
    ) {
        let window = Duration::from_millis(1000);
        let mut l: Box<dyn Limiter> = if log {
            Box::new(SlidingLog::new(limit, window))
        } else {
            Box::new(SlidingCounter::new(limit, window))
        };
        for (i, &t) in times.iter().enumerate() {
            let now = Duration::from_millis(t);
            if let Admission::Rejected { retry_after: Some(wait), .. } = l.admit(now) {
                prop_assert!(wait <= window * 2, "{:?}", wait);
                let config = if log {
                    LimiterConfig::SlidingLog { limit, window }
                } else {
                    LimiterConfig::SlidingCounter { limit, window }
                };
                // Replay the same arrivals up to this one on two fresh copies.
                let upto = &times[..=i];
                let replay = |extra: Duration| {
                    let mut r = config.build();
                    for &u in upto {
                        r.admit(Duration::from_millis(u));
                    }
                    r.admit(now + extra).is_allowed()
                };
                prop_assert!(replay(wait), "not allowed after {:?}", wait);
                if wait >= Duration::from_millis(1) {
                    prop_assert!(!replay(wait - Duration::from_millis(1)), "allowed before {:?}", wait);
                }
            }
        }
    }
}

#[test]
fn config_builds_each_model() {
    let t = Duration::from_secs(42);
    let mut fw = LimiterConfig::FixedWindow { limit: 2 }.build();
    assert!(fw.admit(t).quota().is_some());
    assert!(fw.admit(t).is_allowed());
    assert!(!fw.admit(t).is_allowed());

    let mut zero = LimiterConfig::FixedWindow { limit: 0 }.build();
    assert!(zero.admit(t).is_allowed(), "limit 0 is taken as 1");

    let mut gcra = LimiterConfig::Gcra {
        rate: 4.0,
        burst: 0,
    }
    .build();
    assert_eq!(gcra.admit(t), Admission::Allowed { quota: None });
    assert!(!gcra.admit(t + Duration::from_millis(249)).is_allowed());
}
