//! Hostile and skewed tab messages: any code of the origin can post on the
//! budget's channel, and another tab's clock may be off. Whatever messages
//! arrive, in whatever order, a tab never panics, and none of them holds
//! the budget for longer than its bounds allow.

use std::time::Duration;

use pacer_core::shared::{Msg, Tab, TabId, BEAT, LEAD, SKEW};
use proptest::prelude::*;

const ME: TabId = 2;

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

fn tab_id() -> impl Strategy<Value = TabId> {
    prop_oneof![
        Just(1),
        Just(ME),
        Just(3),
        Just(0),
        Just(u64::MAX),
        any::<u64>()
    ]
}

fn count() -> impl Strategy<Value = u64> {
    prop_oneof![0u64..50, Just(u64::MAX), Just(u64::MAX - 1), any::<u64>()]
}

fn rate() -> impl Strategy<Value = f64> {
    prop_oneof![
        Just(0.0),
        Just(-1.0),
        Just(1e-300),
        Just(1e-20),
        Just(f64::MIN_POSITIVE),
        Just(f64::MAX),
        Just(f64::INFINITY),
        Just(f64::NAN),
        0.0005f64..0.002,
        0.5f64..200.0,
        9_000.0f64..20_000.0,
        any::<f64>(),
    ]
}

/// Durations near the run's clock (the realistic ones) and anywhere up to
/// `Duration::MAX` (the hostile ones).
fn duration() -> impl Strategy<Value = Duration> {
    prop_oneof![
        4 => (0u64..20_000_000).prop_map(Duration::from_micros),
        1 => (any::<u64>(), 0u32..1_000_000_000).prop_map(|(s, n)| Duration::new(s, n)),
        1 => Just(Duration::MAX),
        1 => (u64::MAX - 10..=u64::MAX).prop_map(Duration::from_secs),
    ]
}

fn msg() -> impl Strategy<Value = Msg> {
    prop_oneof![
        (tab_id(), count(), count(), count(), rate()).prop_map(|(tab, asked, got, ok, rate)| {
            Msg::Want {
                tab,
                asked,
                got,
                ok,
                rate,
            }
        }),
        (tab_id(), duration()).prop_map(|(tab, at)| Msg::Grant { tab, at }),
        (
            tab_id(),
            rate(),
            duration(),
            proptest::option::of(duration())
        )
            .prop_map(|(leader, rate, margin, last)| Msg::Lead {
                leader,
                rate,
                margin,
                last
            }),
        (tab_id(), duration(), duration()).prop_map(|(tab, at, sent)| Msg::Sent { tab, at, sent }),
        (tab_id(), duration(), proptest::option::of(duration())).prop_map(
            |(tab, at, retry_after)| Msg::Limited {
                tab,
                at,
                retry_after
            }
        ),
        (
            tab_id(),
            any::<bool>(),
            proptest::option::of(duration()),
            proptest::option::of(duration())
        )
            .prop_map(|(tab, gone, last, margin)| Msg::Bye {
                tab,
                gone,
                last,
                margin
            }),
    ]
}

/// One thing that happens to a tab: a message, or one of its own calls.
#[derive(Clone, Debug)]
enum Op {
    Message(Msg),
    /// Time passes (µs), then the tab is polled.
    Poll(u64),
    Ask,
    Withdraw,
    /// The oldest permit is sent on, this many µs late.
    Send(u64),
    /// The oldest permit found no send.
    Unused,
    Succeeded,
    Limited(Option<Duration>),
    SetRate(f64),
    Lead,
    Follow,
    StepDown,
    Leave,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        8 => msg().prop_map(Op::Message),
        4 => (0u64..2_000_000).prop_map(Op::Poll),
        2 => Just(Op::Ask),
        1 => Just(Op::Withdraw),
        2 => (0u64..50_000).prop_map(Op::Send),
        1 => Just(Op::Unused),
        1 => Just(Op::Succeeded),
        1 => proptest::option::of(duration()).prop_map(Op::Limited),
        1 => rate().prop_map(Op::SetRate),
        1 => Just(Op::Lead),
        1 => Just(Op::Follow),
        1 => Just(Op::StepDown),
        1 => Just(Op::Leave),
    ]
}

/// Plays `ops` on a tab at `rate` starting at `start`: never panics, and a
/// tab that is not gone always asks to be polled again within a beat.
fn play(rate: f64, start: Duration, ops: Vec<Op>) {
    let mut now = start;
    let mut tab = Tab::new(ME, rate, now);
    let mut permits: Vec<Duration> = Vec::new();
    for op in ops {
        match op {
            Op::Message(m) => tab.on_message(m, now),
            Op::Poll(us) => {
                now += Duration::from_micros(us);
                let wake = tab.poll(now);
                if let Some(wake) = wake {
                    assert!(wake <= now + BEAT, "wake {wake:?} at {now:?}");
                }
            }
            Op::Ask => {
                tab.ask(now);
            }
            Op::Withdraw => tab.withdraw(now),
            Op::Send(late) => {
                if !permits.is_empty() {
                    let at = permits.remove(0);
                    if let Some(due) = tab.send_time(at) {
                        let sent = due.max(now) + Duration::from_micros(late);
                        tab.sent(at, sent);
                    }
                }
            }
            Op::Unused => {
                if !permits.is_empty() {
                    let at = permits.remove(0);
                    tab.unused(at);
                }
            }
            Op::Succeeded => tab.succeeded(now),
            Op::Limited(retry_after) => {
                let at = permits.first().copied().unwrap_or(now);
                tab.limited(at, retry_after, now);
            }
            Op::SetRate(r) => tab.set_rate(r, now),
            Op::Lead => tab.lead(now),
            Op::Follow => tab.follow(now),
            Op::StepDown => tab.step_down(now),
            Op::Leave => tab.leave(),
        }
        permits.extend(tab.take_permits());
        for out in tab.take_outbox() {
            // What this tab says is within the bounds it holds others to.
            assert!(out.clone().bounded().is_ok(), "{out:?}");
        }
        let _ = tab.shared_rate();
        if let Some(leader) = tab.leader() {
            let _ = (leader.interval(), leader.margin());
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 4000, ..ProptestConfig::default() })]

    /// Arbitrary messages and calls, in any order, never panic a tab.
    #[test]
    fn no_sequence_of_messages_panics_a_tab(
        rate in rate(),
        start in prop_oneof![
            Just(Duration::ZERO),
            (0u64..(1 << 35)).prop_map(Duration::from_millis),
        ],
        ops in proptest::collection::vec(op(), 0..60),
    ) {
        play(rate, start, ops);
    }

    /// Any text read as a message either fails or gives a message within
    /// bounds; it never panics.
    #[test]
    fn reading_any_text_as_a_message_never_panics(text in ".{0,200}") {
        if let Ok(m) = serde_json::from_str::<Msg>(&text) {
            prop_assert!(m.bounded().is_ok());
        }
    }

    /// Any message written and read back is refused or within bounds.
    #[test]
    fn any_message_written_reads_back_within_bounds(m in msg()) {
        if let Ok(text) = serde_json::to_string(&m) {
            if let Ok(back) = serde_json::from_str::<Msg>(&text) {
                prop_assert!(back.clone().bounded().is_ok(), "{back:?}");
            }
        }
    }
}

/// The follower's word: it wants many grants, and has had none.
fn want() -> Msg {
    Msg::Want {
        tab: 1,
        asked: 1000,
        got: 0,
        ok: 0,
        rate: 10.0,
    }
}

/// A leader at 10/s with one follower that wants grants.
fn leader_with_a_follower(now: Duration) -> Tab {
    let mut tab = Tab::new(ME, 10.0, now);
    tab.lead(now);
    tab.on_message(want(), now);
    tab.take_outbox();
    tab
}

/// The first grant the leader makes from `now` on, within a minute.
fn next_grant(tab: &mut Tab, mut now: Duration) -> Option<Duration> {
    let end = now + Duration::from_secs(60);
    while now < end {
        let wake = tab.poll(now)?;
        for m in tab.take_outbox() {
            if let Msg::Grant { at, .. } = m {
                return Some(at);
            }
        }
        now = wake.max(now + ms(1));
    }
    None
}

#[test]
fn the_messages_that_stalled_the_budget_hold_it_a_second_at_most() {
    let now = Duration::from_secs(1_700_000_000);
    let far = Duration::from_secs(1 << 32);
    let hostile = [
        Msg::Grant { tab: 1, at: far },
        Msg::Grant {
            tab: 77,
            at: now + ms(500),
        },
        Msg::Lead {
            leader: 5,
            rate: 10.0,
            margin: ms(1),
            last: Some(far),
        },
        Msg::Sent {
            tab: 1,
            at: far,
            sent: far,
        },
        Msg::Limited {
            tab: 1,
            at: far,
            retry_after: None,
        },
        Msg::Bye {
            tab: 5,
            gone: true,
            last: Some(far),
            margin: None,
        },
        Msg::Want {
            tab: 9,
            asked: u64::MAX,
            got: 0,
            ok: u64::MAX,
            rate: 0.0,
        },
        Msg::Want {
            tab: 9,
            asked: 1,
            got: 0,
            ok: 0,
            rate: 1e-300,
        },
    ];
    for msg in hostile {
        let mut tab = leader_with_a_follower(now);
        tab.on_message(msg.clone(), now);
        let at = next_grant(&mut tab, now).unwrap_or_else(|| panic!("no grant after {msg:?}"));
        // A second of skew, an interval and a margin after the hostile
        // instant, planned LEAD ahead.
        assert!(
            at <= now + SKEW + ms(100) + ms(5) + LEAD,
            "{msg:?}: next grant at +{:?}",
            at - now
        );
        assert_eq!(tab.shared_rate(), 10.0, "{msg:?}");
    }
}

#[test]
fn a_retry_after_over_a_day_holds_the_budget_a_day() {
    let now = Duration::from_secs(1_700_000_000);
    let mut tab = leader_with_a_follower(now);
    tab.on_message(
        Msg::Limited {
            tab: 1,
            at: now,
            retry_after: Some(Duration::from_secs(u64::MAX / 2)),
        },
        now,
    );
    let mut t = now;
    let mut granted = None;
    for _ in 0..100 {
        // The follower still says it waits.
        tab.on_message(want(), t);
        let wake = tab.poll(t).unwrap();
        if let Some(at) = tab.take_outbox().into_iter().find_map(|m| match m {
            Msg::Grant { at, .. } => Some(at),
            _ => None,
        }) {
            granted = Some(at);
            break;
        }
        t = wake.max(t + Duration::from_secs(3600));
    }
    let at = granted.expect("a grant after the day");
    assert!(at >= now + Duration::from_secs(86_400));
    assert!(at <= now + Duration::from_secs(86_400 + 3600));
}

/// A grant for a tab that never said it runs against the budget (forged,
/// or of another budget) is not taken as the latest grant: a tab that
/// leads next starts from the grants it knows were made.
#[test]
fn a_grant_for_a_tab_not_on_the_budget_is_ignored() {
    let now = ms(10_000);
    let mut tab = Tab::new(ME, 10.0, now);
    tab.follow(now);
    tab.on_message(want(), now);
    tab.on_message(
        Msg::Grant {
            tab: 3,
            at: now + ms(900),
        },
        now,
    );
    tab.lead(now);
    let at = next_grant(&mut tab, now).expect("a grant");
    assert!(at <= now + LEAD, "next grant at +{:?}", at - now);
}
