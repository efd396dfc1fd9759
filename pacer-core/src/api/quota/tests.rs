//! Table tests of the binding rate and of quota exhaustion.

use super::*;

fn s(n: u64) -> Duration {
    Duration::from_secs(n)
}

fn w(
    name: &str,
    limit: Option<u32>,
    remaining: Option<u32>,
    reset: Option<u64>,
    length: Option<u64>,
) -> Window {
    Window {
        name: name.into(),
        limit,
        remaining,
        reset: reset.map(s),
        length: length.map(s),
        reset_computed: false,
    }
}

/// Windows, how to spend, and the rate, window name and kind wanted.
type RateCase<'a> = (Vec<Window>, Spend, Option<(f64, &'a str, BindingKind)>);
/// Windows, refused, `Retry-After` (s), and the window name and wait (s) wanted.
type QuotaCase<'a> = (
    Vec<Window>,
    bool,
    Option<u64>,
    Option<(Option<&'a str>, u64)>,
);

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() < 1e-9 * b.max(1.0)
}

#[test]
fn binding_rate_table() {
    let second = w("second", Some(4), Some(3), None, Some(1));
    let minute = w("minute", Some(100), Some(90), None, Some(60));
    let burst = w("burst", Some(100), Some(12), Some(40), Some(60));
    // 5000 a day, 3600 left with 10 hours to go: 0.1/s spread.
    let daily = w("daily", Some(5000), Some(3600), Some(36_000), Some(86_400));
    let daily_unknown = w("daily", Some(8640), None, None, Some(86_400));
    let github = w("window", Some(5000), Some(1800), Some(1800), None);
    let spent = w("day", Some(5000), Some(0), Some(6_400), Some(86_400));
    use BindingKind::*;
    use Spend::*;
    let cases: Vec<RateCase> = vec![
        (vec![], AsFastAsAllowed, None),
        (
            vec![second.clone()],
            AsFastAsAllowed,
            Some((4.0, "second", Limit)),
        ),
        // 100 a minute (1.67/s) binds below 4 a second.
        (
            vec![second.clone(), minute.clone()],
            AsFastAsAllowed,
            Some((100.0 / 60.0, "minute", Limit)),
        ),
        // A day's quota does not bind when spending as fast as allowed...
        (
            vec![second.clone(), daily.clone()],
            AsFastAsAllowed,
            Some((4.0, "second", Limit)),
        ),
        // ...but spread, what is left over the time left does.
        (
            vec![second.clone(), daily.clone()],
            Spread,
            Some((0.1, "daily", SpreadRemaining)),
        ),
        // Spread without the window's state: limit over length.
        (
            vec![burst.clone(), daily_unknown],
            Spread,
            Some((0.1, "daily", Limit)),
        ),
        (
            vec![burst.clone()],
            Spread,
            Some((100.0 / 60.0, "burst", Limit)),
        ),
        // GitHub-style: no length, so only spread gives it a rate.
        (vec![github.clone()], AsFastAsAllowed, None),
        (
            vec![github, second.clone()],
            Spread,
            Some((1.0, "window", SpreadRemaining)),
        ),
        // A spent quota gives no rate (see `exhausted`).
        (
            vec![spent, second.clone()],
            Spread,
            Some((4.0, "second", Limit)),
        ),
        // Tiny rates are clamped to Pacer's lowest.
        (
            vec![w("m", Some(1), Some(1), Some(10_000_000), Some(2_592_000))],
            Spread,
            Some((crate::bounds::MIN_RATE, "m", SpreadRemaining)),
        ),
        // Zero lengths and zero resets give no rate rather than infinity.
        (
            vec![w("z", Some(5), Some(5), Some(0), Some(0))],
            Spread,
            None,
        ),
    ];
    for (windows, spend, want) in cases {
        let got = binding_rate(&windows, spend);
        match (&got, want) {
            (None, None) => {}
            (Some(b), Some((rate, name, kind))) => {
                assert!(close(b.rate, rate), "{windows:?} {spend:?}: {b:?}");
                assert_eq!(b.window.name, name, "{windows:?}");
                assert_eq!(b.kind, kind, "{windows:?}");
            }
            _ => panic!("{windows:?} {spend:?}: got {got:?}, want {want:?}"),
        }
    }
}

#[test]
fn exhausted_table() {
    let park = RATE_WINDOW;
    let second_out = w("second", Some(4), Some(0), None, Some(1));
    let minute_out = w("minute", Some(100), Some(0), Some(30), Some(60));
    let day_out = w("day", Some(5000), Some(0), Some(6_400), Some(86_400));
    let day_left = w("day", Some(5000), Some(1), Some(6_400), Some(86_400));
    let month_out = w("month", Some(9), Some(0), Some(900_000), Some(2_592_000));
    let github_out = w("window", Some(60), Some(0), None, None);
    let cases: Vec<QuotaCase> = vec![
        (vec![], false, None, None),
        // A rate's window at zero is a pause, not a quota.
        (vec![second_out.clone()], true, Some(1), None),
        (vec![minute_out.clone()], true, Some(30), None),
        // The day ran out: announced on a 200 already.
        (
            vec![second_out.clone(), day_out.clone()],
            false,
            None,
            Some((Some("day"), 6_400)),
        ),
        (vec![day_left.clone()], false, None, None),
        // A 429 that says "tomorrow" without naming a window.
        (vec![], true, Some(7_200), Some((None, 7_200))),
        // ...is not a quota on a success (a stray header).
        (vec![], false, Some(7_200), None),
        // A 429 with a window at zero without reset: Retry-After tells when.
        (
            vec![github_out],
            true,
            Some(3_000),
            Some((Some("window"), 3_000)),
        ),
        // Several out: the one that returns last.
        (
            vec![day_out.clone(), month_out.clone()],
            false,
            None,
            Some((Some("month"), 900_000)),
        ),
        // On a 429, its Retry-After is the server's word, longer...
        (
            vec![day_out.clone()],
            true,
            Some(9_000),
            Some((Some("day"), 9_000)),
        ),
        // ...or shorter than a reset (Kong's computed midnight).
        (
            vec![day_out, month_out],
            true,
            Some(300),
            Some((Some("month"), 300)),
        ),
    ];
    for (windows, refused, retry, want) in cases {
        let got = exhausted(&windows, refused, retry.map(s), park);
        let got = got.map(|e| (e.window.map(|w| w.name), e.wait));
        let want = want.map(|(n, wait)| (n.map(String::from), s(wait)));
        assert_eq!(got, want, "{windows:?} refused {refused} retry {retry:?}");
    }
}

#[test]
fn park_beyond_is_the_callers_choice() {
    // A test server with a 5-second "day": parked only when asked to park
    // beyond less than that.
    let day = w("day", Some(3), Some(0), Some(5), Some(5));
    assert_eq!(
        exhausted(std::slice::from_ref(&day), true, Some(s(5)), RATE_WINDOW),
        None
    );
    let e = exhausted(&[day], true, Some(s(5)), s(2)).unwrap();
    assert_eq!(e.wait, s(5));
}

/// What, windows, refused, `Retry-After` (s), and the wait wanted (s).
type ParkCase = (&'static str, Vec<Window>, bool, Option<u64>, Option<u64>);

#[test]
fn what_parks_a_run() {
    let kong_day = |remaining| Window {
        reset_computed: true,
        ..w("day", Some(6), Some(remaining), Some(50_000), Some(86_400))
    };
    let github = |remaining, reset| w("window", Some(6), Some(remaining), Some(reset), None);
    let minute = w("minute", Some(60), Some(0), Some(40), Some(60));
    // (windows, refused, Retry-After, wait wanted)
    let cases: Vec<ParkCase> = vec![
        (
            "the last success of a stated window parks until its reset",
            vec![github(0, 25)],
            false,
            None,
            Some(25),
        ),
        (
            "a window at zero resetting within a pause does not park",
            vec![github(0, 3)],
            false,
            None,
            None,
        ),
        (
            "Kong's reckoned midnight does not park a success",
            vec![kong_day(0)],
            false,
            None,
            None,
        ),
        (
            "...but a refusal, with the server's Retry-After",
            vec![kong_day(0)],
            true,
            Some(20),
            Some(20),
        ),
        (
            "...or without one, until the reckoned midnight",
            vec![kong_day(0)],
            true,
            None,
            Some(50_000),
        ),
        (
            "a minute window at zero is a rate: paced, not parked",
            vec![minute],
            true,
            Some(40),
            None,
        ),
        (
            "a short Retry-After with no quota at zero is a rate's pause",
            vec![],
            true,
            Some(30),
            None,
        ),
        (
            "a long one parks by itself",
            vec![],
            true,
            Some(3_600),
            Some(3_600),
        ),
        (
            "a quota with some left does not park",
            vec![github(2, 25), kong_day(5)],
            true,
            Some(1),
            None,
        ),
    ];
    for (what, windows, refused, retry, want) in cases {
        let got = parks(&windows, refused, retry.map(s)).map(|e| e.wait);
        assert_eq!(got, want.map(s), "{what}");
    }
}
