use super::*;
use crate::dialect::{ceil_secs, HeaderStyle};
use pacer_core::api::headers::{
    LIMIT, LIMIT_MINUTE, LIMIT_SECOND, REMAINING, REMAINING_MINUTE, REMAINING_SECOND, RESET,
    RETRY_AFTER,
};

fn minute(n: u32) -> Stack {
    Stack {
        per_minute: NonZeroU32::new(n),
        day: Duration::from_secs(86_400),
        ..Stack::default()
    }
}

#[test]
fn fixed_window_headers_and_retry_after() {
    let style = HeaderStyle {
        retry_after: true,
        ..HeaderStyle::default()
    };
    let limits = Limits::new(
        Some(LimiterConfig::FixedWindow { limit: 1 }),
        Stack::default(),
        style,
    );
    let t = Duration::from_millis(5_300);
    let ok = limits.admit("k", t);
    let h = hdr(&limits, &ok);
    assert_eq!(h[LIMIT_SECOND], "1");
    assert_eq!(h[REMAINING_SECOND], "0");
    assert!(h.get(RETRY_AFTER).is_none());
    let no = limits.admit("k", t);
    assert_eq!(hdr(&limits, &no)[RETRY_AFTER], "1");
    assert!(
        limits.admit("other", t).admission.is_allowed(),
        "keys are limited separately"
    );
}

#[test]
fn gcra_and_none_send_no_rate_headers() {
    let style = HeaderStyle {
        retry_after: true,
        ..HeaderStyle::default()
    };
    let limits = Limits::new(
        Some(LimiterConfig::Gcra {
            rate: 1.0,
            burst: 0,
        }),
        Stack::default(),
        style,
    );
    let t = Duration::from_secs(9);
    assert!(limits.admit("k", t).admission.is_allowed());
    let no = limits.admit("k", t);
    assert!(!no.admission.is_allowed());
    let h = hdr(&limits, &no);
    assert_eq!(h.len(), 1, "{h:?}");
    assert_eq!(h[RETRY_AFTER], "1", "nginx-style, Retry-After alone");
    let none = Limits::new(None, Stack::default(), style);
    assert!((0..100).all(|_| none.admit("k", t).admission.is_allowed()));
}

#[test]
fn a_minute_limit_stacks_on_the_second_limit_with_its_headers() {
    let style = HeaderStyle {
        retry_after: true,
        older_ietf: true,
        ..HeaderStyle::default()
    };
    let limits = Limits::new(
        Some(LimiterConfig::FixedWindow { limit: 10 }),
        minute(3),
        style,
    );
    let t = Duration::from_secs(1_700_000_085); // 45 s into its minute
    let ok = limits.admit("k", t);
    let h = hdr(&limits, &ok);
    let got: Vec<&str> = [
        LIMIT_SECOND,
        REMAINING_SECOND,
        LIMIT_MINUTE,
        REMAINING_MINUTE,
        LIMIT,
        REMAINING,
        RESET,
    ]
    .iter()
    .map(|n| h[*n].to_str().unwrap())
    .collect();
    assert_eq!(got, ["10", "9", "3", "2", "3", "2", "15"]);
    limits.admit("k", t + Duration::from_secs(1));
    limits.admit("k", t + Duration::from_secs(2));
    let no = limits.admit("k", t + Duration::from_secs(3));
    assert!(!no.admission.is_allowed(), "the minute's 3 are used up");
    assert_eq!(hdr(&limits, &no)[RETRY_AFTER], "12");
}

#[test]
fn idle_keys_are_forgotten_and_busy_ones_kept() {
    let style = HeaderStyle::default();
    let gcra = Some(LimiterConfig::Gcra {
        rate: 2.0,
        burst: 1,
    });
    let limits = Limits::new(gcra, Stack::default(), style);
    let t = Duration::from_secs(1_000);
    // One key keeps sending and is refused; a crowd of keys sends once.
    assert!(limits.admit("busy", t).admission.is_allowed());
    assert!(limits.admit("busy", t).admission.is_allowed(), "burst 1");
    for i in 0..FIRST_SWEEP {
        limits.admit(&format!("k{i}"), t);
    }
    assert_eq!(limits.keys(), FIRST_SWEEP + 1);
    // 0.3 s later the busy key is still refused: its state is kept
    // through the sweep that a new key triggers.
    let later = t + Duration::from_millis(300);
    assert!(!limits.admit("busy", later).admission.is_allowed());
    limits.admit("new", later);
    assert_eq!(
        limits.keys(),
        FIRST_SWEEP + 2,
        "nothing idle yet (drain 1 s + 1 s)"
    );
    // Two more seconds: everyone but the busy key went quiet long
    // enough to be back in a fresh state; the next new key sweeps them.
    let quiet = t + Duration::from_millis(2_950);
    assert!(limits.admit("busy", quiet).admission.is_allowed());
    assert!(limits.admit("busy", quiet).admission.is_allowed());
    for i in 0..FIRST_SWEEP {
        limits.admit(&format!("q{i}"), quiet);
    }
    let swept = limits.keys();
    assert!(swept < FIRST_SWEEP + 10, "{swept} keys kept");
    assert!(
        !limits.admit("busy", quiet).admission.is_allowed(),
        "the busy key kept its state"
    );
}

#[test]
fn ceil_secs_rounds_up() {
    assert_eq!(ceil_secs(Duration::from_millis(1)), 1);
    assert_eq!(ceil_secs(Duration::from_secs(1)), 1);
    assert_eq!(ceil_secs(Duration::from_millis(1001)), 2);
}

fn hdr(l: &Limits, d: &Decision) -> axum::http::HeaderMap {
    l.style.headers(d, Duration::from_secs(1_700_000_000))
}

#[test]
fn a_day_quota_runs_out_and_returns_with_its_window() {
    let stack = Stack {
        per_day: NonZeroU32::new(2),
        day: Duration::from_secs(10),
        ..Stack::default()
    };
    let limits = Limits::new(
        Some(LimiterConfig::FixedWindow { limit: 5 }),
        stack,
        HeaderStyle::default(),
    );
    let t = Duration::from_secs(1_000); // a 10-second "day" starts
    assert!(limits.admit("k", t).admission.is_allowed());
    assert!(limits.admit("k", t).admission.is_allowed());
    let no = limits.admit("k", t + Duration::from_secs(3));
    match no.admission {
        Admission::Rejected { retry_after, .. } => {
            assert_eq!(retry_after, Some(Duration::from_secs(7)))
        }
        other => panic!("{other:?}"),
    }
    assert!(limits
        .admit("k", t + Duration::from_secs(10))
        .admission
        .is_allowed());
}

#[test]
fn the_concurrency_cap_counts_requests_in_flight() {
    let stack = Stack {
        max_in_flight: NonZeroU32::new(2),
        ..Stack::default()
    };
    let limits = Limits::new(None, stack, HeaderStyle::default());
    let t = Duration::from_secs(5);
    let a = limits.admit("k", t);
    let b = limits.admit("k", t);
    assert!(a.slot.is_some() && b.slot.is_some());
    let c = limits.admit("k", t);
    assert!(c.over_cap && !c.admission.is_allowed() && c.slot.is_none());
    assert!(limits.admit("other", t).slot.is_some(), "per key");
    drop(a);
    let d = limits.admit("k", t);
    assert!(d.admission.is_allowed(), "a place was freed");
    assert!(limits.admit("k", t).over_cap);
}
