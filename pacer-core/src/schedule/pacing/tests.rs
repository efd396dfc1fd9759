//! Pacing: pauses, margins, announced limits and window alignment.

use super::*;

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

fn pacing(rate: f64) -> Pacing {
    let policy = MarginPolicy {
        initial: Duration::ZERO,
        ..MarginPolicy::default()
    };
    Pacing::new(Quota::per_second(rate).unwrap(), policy)
}

#[test]
fn a_429_pauses_once_for_requests_already_in_flight() {
    let mut p = pacing(10.0);
    assert!(p.on_rate_limited(ms(0), ms(50), None));
    // Sent before the pause began: no second pause, no second growth.
    assert!(!p.on_rate_limited(ms(10), ms(60), None));
    assert_eq!(p.pauses(), 1);
    assert_eq!(p.margin(), MarginPolicy::default().step);
}

#[test]
fn retry_after_sets_the_pause_length() {
    let mut p = pacing(10.0);
    p.on_rate_limited(ms(0), ms(100), Some(Duration::from_secs(3)));
    assert_eq!(p.check(ms(2000)), Err(NotUntil(ms(3100))));
    assert_eq!(p.check(ms(3100)), Ok(()));
}

#[test]
fn an_announced_lower_limit_is_adopted_and_the_margin_dropped() {
    let mut p = pacing(10.0);
    p.on_rate_limited(ms(0), ms(1), None);
    assert!(p.margin() > Duration::ZERO);
    let hint = ServerHint {
        per_second: Some(4),
        wall_offset: Duration::ZERO,
    };
    assert_eq!(
        p.on_hint(hint),
        Some(AnnouncedLimit {
            per_second: 4,
            lowered: true
        })
    );
    assert_eq!(p.on_hint(hint), None, "said once");
    assert_eq!(p.quota().rate(), 4.0);
    assert_eq!(p.margin(), Duration::ZERO);
    assert_eq!(p.interval(), ms(250));
}

#[test]
fn under_a_window_limit_sends_sit_mid_slot_of_wall_clock_seconds() {
    let mut p = pacing(4.0);
    // Wall clock = scheduler clock + 10.3 s: whole seconds at 0.7, 1.7, ...
    let hint = ServerHint {
        per_second: Some(4),
        wall_offset: ms(10_300),
    };
    p.on_hint(hint);
    let mut now = ms(1000);
    let mut sends = Vec::new();
    while sends.len() < 8 {
        match p.check(now) {
            Ok(()) => sends.push(now),
            Err(NotUntil(t)) => now = t,
        }
    }
    for s in sends {
        let into_second = (s + ms(10_300)).as_millis() % 1000;
        assert!(
            [125, 375, 625, 875].contains(&into_second),
            "{into_second} ms into its second"
        );
    }
}

#[test]
fn margin_decays_on_successes() {
    let mut p = pacing(10.0);
    p.on_rate_limited(ms(0), ms(1), None);
    let grown = p.interval();
    for _ in 0..100 {
        p.on_success();
    }
    assert!(p.interval() < grown);
}
