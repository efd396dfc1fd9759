//! Pacing: pauses, margins, announced limits and window alignment.

use super::*;

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

fn pacing(rate: f64) -> Pacing {
    let policy = MarginPolicy {
        start: Duration::ZERO,
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
        ..ServerHint::default()
    };
    assert_eq!(
        p.on_hint(hint, ms(0)),
        Some(AnnouncedLimit {
            per_second: Some(4),
            per_minute: None,
            rate: 4.0,
            lowered: true,
            window: None,
        })
    );
    assert_eq!(p.on_hint(hint, ms(0)), None, "said once");
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
        ..ServerHint::default()
    };
    p.on_hint(hint, ms(0));
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
        p.on_success(ms(0));
    }
    assert!(p.interval() < grown);
}

#[test]
fn second_and_minute_limits_are_both_honoured() {
    let mut p = pacing(10.0);
    let hint = ServerHint {
        per_second: Some(10),
        per_minute: Some(300),
        ..ServerHint::default()
    };
    let a = p.on_hint(hint, ms(0)).unwrap();
    assert_eq!(
        (a.per_second, a.per_minute, a.rate, a.lowered),
        (Some(10), Some(300), 5.0, true)
    );
    assert_eq!(p.interval(), ms(200));
    // A rate change keeps both caps.
    p.set_quota(Quota::per_second(2.0).unwrap());
    assert_eq!(p.interval(), ms(500));
    p.set_quota(Quota::per_second(50.0).unwrap());
    assert_eq!(p.interval(), ms(200));
}

#[test]
fn remaining_zero_holds_until_the_window_of_the_request_ends() {
    let mut p = pacing(100.0);
    // Wall = clock + 0.25 s. A request sent at 2.5 s (wall 2.75 s) used the
    // second's last request: nothing before wall 3.0 s = clock 2.75 s.
    let hint = ServerHint {
        per_second: Some(100),
        remaining_second: Some(0),
        wall_offset: ms(250),
        ..ServerHint::default()
    };
    p.on_hint(hint, ms(2500));
    assert!(p.check(ms(2600)).is_err());
    assert!(p.earliest(ms(2600)) >= ms(2750));
    // The minute: sent at 61 s wall, exhausted: nothing before wall 120 s.
    let hint = ServerHint {
        per_minute: Some(100),
        remaining_minute: Some(0),
        ..ServerHint::default()
    };
    p.on_hint(hint, ms(61_000));
    assert!(p.earliest(ms(62_000)) >= ms(120_000));
}

#[test]
fn ietf_remaining_zero_holds_for_reset() {
    let mut p = pacing(10.0);
    let hint = ServerHint {
        remaining: Some(0),
        reset: Some(ms(2000)),
        ..ServerHint::default()
    };
    assert_eq!(p.on_hint(hint, ms(1000)), None, "no window limit announced");
    assert!(p.earliest(ms(1500)) >= ms(3000));
}

#[test]
fn a_429_the_margin_cannot_absorb_brings_the_rate_down_and_quota_shows_it() {
    // 20/s: the margin's cap (5 ms) is under its first step (6 ms).
    let mut p = pacing(20.0);
    p.check(ms(0)).unwrap();
    assert!(p.on_rate_limited(ms(0), ms(5), None));
    assert_eq!(p.margin(), Duration::ZERO);
    assert!(
        (p.quota().rate() - 19.8).abs() < 1e-6,
        "{}",
        p.quota().rate()
    );
    assert!(p.backoff().rate().is_some());
}

#[test]
fn under_an_announced_window_a_429_brings_the_rate_below_the_limit() {
    let mut p = pacing(10.0);
    let hint = ServerHint {
        per_second: Some(4),
        ..ServerHint::default()
    };
    p.on_hint(hint, ms(0));
    // On the mid-window grid: the first send waits for a grid point.
    let at = p.earliest(ms(1000));
    p.check(at).unwrap();
    p.on_rate_limited(at, at + ms(10), None);
    assert!(
        (p.quota().rate() - 3.96).abs() < 1e-6,
        "{}",
        p.quota().rate()
    );
    assert_eq!(p.announced().unwrap().rate, 4.0, "what the server allows");
}

#[test]
fn a_429_for_the_first_send_after_a_pause_doubles_the_pause_and_cuts_nothing_more() {
    let mut p = pacing(20.0);
    p.check(ms(0)).unwrap();
    p.check(ms(50)).unwrap();
    p.on_rate_limited(ms(50), ms(52), None);
    let rate = p.quota().rate();
    let first = p.pause().unwrap();
    // The first send after the pause is refused too: a full window.
    p.check(first.until).unwrap();
    assert!(p.on_rate_limited(first.until, first.until + ms(2), None));
    let second = p.pause().unwrap();
    assert_eq!(second.until - second.from, (first.until - first.from) * 2);
    assert_eq!(p.quota().rate(), rate);
}

#[test]
fn a_new_user_rate_keeps_a_backed_off_rate_unless_it_limited_nothing() {
    let mut p = pacing(20.0);
    p.check(ms(0)).unwrap();
    p.on_rate_limited(ms(0), ms(5), None);
    let learned = p.quota().rate();
    p.set_quota(Quota::per_second(30.0).unwrap());
    assert_eq!(
        p.quota().rate(),
        learned,
        "the server's limit did not change"
    );
    p.set_quota(Quota::per_second(10.0).unwrap());
    assert_eq!(p.quota().rate(), 10.0);
    // At 10/s the learned 19.8 limited nothing: a higher rate applies as is.
    p.set_quota(Quota::per_second(30.0).unwrap());
    assert_eq!(p.quota().rate(), 30.0);
}

/// What a response's headers say, read as the page reads them.
fn read_hint(pairs: &[(&str, &str)], spend: crate::api::quota::Spend) -> ServerHint {
    let h = crate::api::RateHeaders::from_pairs(pairs);
    ServerHint::read(
        &h,
        200,
        Duration::ZERO,
        Duration::from_secs(1_700_000_000),
        spend,
    )
    .unwrap()
}

#[test]
fn the_lowest_rate_among_every_announced_window_is_kept() {
    use crate::api::quota::Spend;
    let mut p = pacing(10.0);
    // Kong's 4/s, and an IETF policy of 120 a minute: 2/s binds.
    let pairs = [
        ("X-RateLimit-Limit-Second", "4"),
        (
            "RateLimit-Policy",
            r#""burst";q=120;w=60, "daily";q=8640;w=86400"#,
        ),
        ("RateLimit", r#""burst";r=100;t=30, "daily";r=720;t=3600"#),
    ];
    let a = p
        .on_hint(read_hint(&pairs, Spend::AsFastAsAllowed), ms(0))
        .unwrap();
    assert!((a.rate - 2.0).abs() < 1e-9 && a.lowered);
    assert_eq!(a.window.unwrap().name.limit, Some(120));
    assert!((p.quota().rate() - 2.0).abs() < 1e-9);
    // Spreading the day's quota: 720 left over an hour, 0.2/s.
    let mut p = pacing(10.0);
    let a = p.on_hint(read_hint(&pairs, Spend::Spread), ms(0)).unwrap();
    assert!((a.rate - 0.2).abs() < 1e-9);
    assert_eq!(
        a.window.unwrap().spread,
        Some((720, Duration::from_secs(3600)))
    );
    // A spread rate that moves a little is no news; by a tenth, it is.
    let later = |left: &str| {
        let state = format!(r#""burst";r=100;t=30, "daily";r={left};t=3600"#);
        let pairs = [
            ("X-RateLimit-Limit-Second", "4"),
            (
                "RateLimit-Policy",
                r#""burst";q=120;w=60, "daily";q=8640;w=86400"#,
            ),
            ("RateLimit", state.as_str()),
        ];
        read_hint(&pairs, Spend::Spread)
    };
    assert_eq!(p.on_hint(later("710"), ms(100)), None);
    assert!(
        (p.quota().rate() - 710.0 / 3600.0).abs() < 1e-9,
        "paced at it all the same"
    );
    assert!(p.on_hint(later("600"), ms(200)).is_some());
}

#[test]
fn a_team_budget_caps_the_rate_without_a_margin_or_a_notice() {
    let mut p = pacing(12.0);
    let team = ServerHint {
        team_interval: Some(ms(100)),
        ..ServerHint::default()
    };
    // Not a window limit: nothing to announce, but the rate is capped.
    assert_eq!(p.on_hint(team, ms(0)), None);
    assert_eq!(p.team_rate(), Some(10.0));
    assert_eq!(p.quota().rate(), 10.0);
    assert_eq!(p.announced(), None);
    // A lower user rate stays as it is; a higher one is capped again.
    p.set_quota(Quota::per_second(4.0).unwrap());
    assert_eq!(p.quota().rate(), 4.0);
    p.set_quota(Quota::per_second(50.0).unwrap());
    assert_eq!(p.quota().rate(), 10.0);
    // An answer without the team's fields leaves the cap; a new team rate moves it.
    p.on_hint(ServerHint::default(), ms(10));
    assert_eq!(p.quota().rate(), 10.0);
    let slower = ServerHint {
        team_interval: Some(ms(200)),
        ..ServerHint::default()
    };
    p.on_hint(slower, ms(20));
    assert_eq!(p.quota().rate(), 5.0);
    // A per-second limit below the team's binds as ever.
    let kong = ServerHint {
        per_second: Some(3),
        team_interval: Some(ms(200)),
        ..ServerHint::default()
    };
    assert!(p.on_hint(kong, ms(30)).is_some());
    assert_eq!(p.quota().rate(), 3.0);
}

#[test]
fn long_holds_at_a_team_proxy_bring_the_rate_down_to_the_pages_share() {
    let mut p = pacing(12.0);
    let team = ServerHint {
        team_interval: Some(ms(100)),
        ..ServerHint::default()
    };
    p.on_hint(team, ms(0));
    assert_eq!(p.quota().rate(), 10.0);
    // Answers come back at 5/s, each held 900 ms at the proxy: another
    // page takes the other half of the team's 10/s.
    for i in 0..4 {
        let now = ms(2_000 + i * 200);
        p.on_team_answer(TeamAnswer {
            sent: now - ms(1_200),
            at: now,
            hold: ms(900),
            team_rate: 10.0,
            proxies: None,
            left: 100,
        });
    }
    let share = p.team_share().expect("a share");
    assert!(share < 5.0, "{share}");
    assert_eq!(p.quota().rate(), share);
    assert_eq!(p.team_rate(), Some(10.0));
    // The user's lower rate still binds.
    p.set_quota(Quota::per_second(2.0).unwrap());
    assert_eq!(p.quota().rate(), 2.0);
}

#[test]
fn a_timed_send_keeps_the_spacing_less_the_catch_up_and_at_least_one_over_the_rate() {
    // The default policy: a 6 ms margin from the start, a 3 ms catch-up.
    let mut p = Pacing::new(Quota::per_second(10.0).unwrap(), MarginPolicy::default());
    p.check(ms(0)).unwrap();
    assert_eq!(p.interval(), ms(106));
    assert_eq!(p.min_send_gap(), ms(103));
    // With no margin, the catch-up cannot take a gap below 1/rate.
    let mut bare = pacing(10.0);
    bare.check(ms(0)).unwrap();
    assert_eq!(bare.min_send_gap(), ms(100));
    // A pacing that lets sends burst keeps no gap.
    let mut bursty = Pacing::new(
        Quota::per_second(10.0)
            .unwrap()
            .with_burst(std::num::NonZeroU32::new(4).unwrap()),
        MarginPolicy::default(),
    );
    bursty.check(ms(0)).unwrap();
    assert_eq!(bursty.min_send_gap(), Duration::ZERO);
    // Where the margin cannot cover the way's jitter (over 16.7/s): half
    // the spacing, so late sends catch up without a burst.
    let mut fast = pacing(100.0);
    fast.check(ms(0)).unwrap();
    assert_eq!(fast.min_send_gap(), fast.interval() / 2);
    // A margin widened to its cap by 429s still keeps the gap.
    let mut p = Pacing::new(Quota::per_second(10.0).unwrap(), MarginPolicy::default());
    for at in [0, 200] {
        p.check(ms(at)).unwrap();
        p.on_rate_limited(ms(at), ms(at + 5), None);
    }
    assert_eq!(p.margin(), ms(10), "at its cap");
    assert!(p.min_send_gap() >= ms(100));
}

#[test]
fn a_quota_no_longer_spread_stops_binding_the_rate() {
    use crate::api::quota::Spend;
    let mut p = pacing(10.0);
    let pairs = [
        ("RateLimit-Policy", r#""daily";q=8640;w=86400"#),
        ("RateLimit", r#""daily";r=720;t=3600"#),
    ];
    let spread = p.on_hint(read_hint(&pairs, Spend::Spread), ms(0)).unwrap();
    assert!((spread.rate - 0.2).abs() < 1e-9);
    assert!((p.quota().rate() - 0.2).abs() < 1e-9);
    // The same answer read as fast as allowed: the day binds nothing (it
    // parks the run when it runs out), so the user's rate is back.
    assert_eq!(
        p.on_hint(read_hint(&pairs, Spend::AsFastAsAllowed), ms(100)),
        None
    );
    assert_eq!(p.announced(), None);
    assert_eq!(p.quota().rate(), 10.0);
    // Answers that say nothing of windows leave an announced limit alone.
    p.on_hint(read_hint(&pairs, Spend::Spread), ms(200));
    let team = ServerHint {
        team_interval: Some(ms(50)),
        ..ServerHint::default()
    };
    p.on_hint(team, ms(300));
    assert!((p.quota().rate() - 0.2).abs() < 1e-9);
}
