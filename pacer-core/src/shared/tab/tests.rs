//! One message (or call) in, the messages and permits out.

use super::*;

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

const A: TabId = 1;
const B: TabId = 2;

fn want(tab: TabId, asked: u64, got: u64, rate: f64) -> Msg {
    Msg::Want {
        tab,
        asked,
        got,
        ok: 0,
        rate,
    }
}

/// The grants in `out`, as (tab, instant).
fn grants(out: &[Msg]) -> Vec<(TabId, Duration)> {
    out.iter()
        .filter_map(|m| match *m {
            Msg::Grant { tab, at } => Some((tab, at)),
            _ => None,
        })
        .collect()
}

/// B leads at 10/s and has heard A ask for `asked` sends.
fn leading_b(asked: u64) -> Tab {
    let mut b = Tab::new(B, 10.0, ms(0));
    b.lead(ms(0));
    b.on_message(want(A, asked, 0, 10.0), ms(1));
    b.take_outbox();
    b
}

#[test]
fn a_lone_tab_sends_at_once_and_says_nothing() {
    let mut a = Tab::new(A, 10.0, ms(0));
    a.lead(ms(0));
    a.take_outbox();
    assert_eq!(a.ask(ms(5)), Ask::Now);
    assert_eq!(a.ask(ms(20)), Ask::Now);
    assert!(!a.is_shared());
    a.poll(ms(30));
    assert!(grants(&a.take_outbox()).is_empty());
}

#[test]
fn a_tab_that_expects_others_waits_for_the_election() {
    let mut a = Tab::new(A, 10.0, ms(0));
    a.expect_others();
    assert_eq!(a.ask(ms(0)), Ask::Wait);
    assert_eq!(a.ask(ms(0)), Ask::Wait);
    a.lead(ms(40));
    // Alone after all: both go, a spacing apart.
    let permits = a.take_permits();
    assert_eq!(permits.len(), 2);
    assert_eq!(permits[1] - permits[0], ms(101));
}

#[test]
fn a_follower_asks_with_a_want_and_sends_on_its_grant() {
    let mut a = Tab::new(A, 10.0, ms(0));
    a.follow(ms(0));
    a.take_outbox();
    assert_eq!(a.ask(ms(5)), Ask::Wait);
    assert_eq!(a.take_outbox(), vec![want(A, 1, 0, 10.0)]);
    a.on_message(want(B, 0, 0, 10.0), ms(6));
    a.on_message(Msg::Grant { tab: A, at: ms(60) }, ms(10));
    assert_eq!(a.take_permits(), vec![ms(60)]);
    assert_eq!(a.send_time(ms(60)), Some(ms(60)));
    a.sent(ms(60), ms(61));
    assert_eq!(
        a.take_outbox(),
        vec![Msg::Sent {
            tab: A,
            at: ms(60),
            sent: ms(61)
        }]
    );
}

#[test]
fn a_grant_twice_across_a_change_of_leader_is_wasted() {
    let mut a = Tab::new(A, 10.0, ms(0));
    a.follow(ms(0));
    a.ask(ms(0));
    a.on_message(Msg::Grant { tab: A, at: ms(50) }, ms(1));
    a.on_message(Msg::Grant { tab: A, at: ms(50) }, ms(2));
    assert_eq!(a.take_permits(), vec![ms(50)]);
    assert_eq!(a.wasted(), 1);
}

#[test]
fn the_leader_grants_round_robin_a_spacing_apart_within_the_lead() {
    let mut b = leading_b(5);
    assert_eq!(b.ask(ms(2)), Ask::Wait);
    b.poll(ms(2));
    let g = grants(&b.take_outbox());
    // Only grants due within LEAD are made now: one, for A (first id).
    assert_eq!(g, vec![(A, ms(2) + MIN_LEAD)]);
    b.poll(ms(100));
    let g = grants(&b.take_outbox());
    assert_eq!(g, vec![(B, ms(10 + 101))]);
    assert_eq!(b.take_permits(), vec![ms(111)]);
}

#[test]
fn a_late_send_moves_the_next_grant_by_as_much() {
    let mut b = leading_b(5);
    b.poll(ms(2));
    let (_, first) = grants(&b.take_outbox())[0];
    // A's send went 30 ms late: the next grant keeps a spacing after it.
    b.on_message(
        Msg::Sent {
            tab: A,
            at: first,
            sent: first + ms(30),
        },
        first + ms(31),
    );
    b.poll(first + ms(100));
    let g = grants(&b.take_outbox());
    assert_eq!(g, vec![(A, first + ms(30 + 101))]);
}

#[test]
fn a_429_reported_by_a_follower_widens_the_leaders_spacing() {
    let mut b = leading_b(1);
    let before = b.leader().unwrap().interval();
    b.on_message(
        Msg::Limited {
            tab: A,
            at: ms(10),
            retry_after: None,
        },
        ms(500),
    );
    assert!(b.leader().unwrap().interval() > before);
}

#[test]
fn a_leader_that_joins_says_it_leads_and_a_follower_hears_its_margin() {
    let mut b = leading_b(0);
    b.on_message(want(3, 0, 0, 10.0), ms(2));
    let out = b.take_outbox();
    assert!(
        out.iter().any(|m| matches!(m, Msg::Lead { leader: B, .. })),
        "{out:?}"
    );
    let mut a = Tab::new(A, 10.0, ms(0));
    a.follow(ms(0));
    a.on_message(
        Msg::Lead {
            leader: B,
            rate: 10.0,
            margin: ms(4),
            last: Some(ms(900)),
        },
        ms(3),
    );
    // A new leader is news: the follower says what it wants again.
    assert!(a
        .take_outbox()
        .iter()
        .any(|m| matches!(m, Msg::Want { tab: A, .. })));
    // Its sends keep the leader's spacing after a late one.
    a.on_message(
        Msg::Sent {
            tab: B,
            at: ms(900),
            sent: ms(910),
        },
        ms(911),
    );
    assert_eq!(a.send_time(ms(950)), Some(ms(910 + 104)));
    assert_eq!(a.send_time(ms(800)), None, "overtaken");
}

#[test]
fn a_leader_that_leaves_hands_its_last_grant_and_margin_over() {
    let mut a = Tab::new(A, 10.0, ms(0));
    a.follow(ms(0));
    a.ask(ms(0));
    a.on_message(want(B, 0, 0, 10.0), ms(1));
    a.on_message(
        Msg::Lead {
            leader: B,
            rate: 10.0,
            margin: ms(3),
            last: None,
        },
        ms(1),
    );
    a.on_message(
        Msg::Bye {
            tab: B,
            gone: true,
            last: Some(ms(500)),
            margin: Some(ms(3)),
        },
        ms(450),
    );
    a.lead(ms(460));
    assert_eq!(a.others(), 0);
    let leader = a.leader().unwrap();
    assert_eq!(leader.margin(), ms(3));
    a.poll(ms(560));
    assert_eq!(a.take_permits(), vec![ms(500 + 103)]);
}

#[test]
fn stepping_down_says_bye_with_the_margin_and_keeps_sharing() {
    let mut b = leading_b(1);
    b.step_down(ms(5));
    let out = b.take_outbox();
    assert!(matches!(
        out.as_slice(),
        [Msg::Bye {
            tab: B,
            gone: false,
            margin: Some(_),
            ..
        }]
    ));
    assert!(!b.is_leader() && b.is_shared());
    assert_eq!(b.ask(ms(6)), Ask::Wait);
}

#[test]
fn leaving_says_bye_once_and_then_ignores_everything() {
    let mut a = Tab::new(A, 10.0, ms(0));
    a.leave();
    a.leave();
    assert_eq!(a.take_outbox().len(), 1);
    a.on_message(want(B, 1, 0, 10.0), ms(1));
    assert_eq!(a.poll(ms(2)), None);
    assert_eq!(a.ask(ms(3)), Ask::Now);
    assert!(a.take_outbox().is_empty());
}

#[test]
fn a_silent_tab_is_forgotten() {
    let mut b = leading_b(1);
    assert_eq!(b.others(), 1);
    b.poll(ms(4000));
    assert_eq!(b.others(), 0);
}

#[test]
fn the_budget_goes_at_the_lowest_rate_of_its_tabs() {
    let mut b = leading_b(0);
    b.on_message(want(3, 0, 0, 2.0), ms(2));
    assert_eq!(b.shared_rate(), 2.0);
    b.on_message(
        Msg::Bye {
            tab: 3,
            gone: true,
            last: None,
            margin: None,
        },
        ms(3),
    );
    assert_eq!(b.shared_rate(), 10.0);
}

/// Regression: a new leader adopted the old one's 1 ms margin as its
/// floor; the budget's rate then went to 50/s (cap 0.8 ms) and the
/// margin's clamp panicked (floor over cap).
#[test]
fn a_rate_change_after_adopting_a_wider_margin_does_not_panic() {
    let mut b = Tab::new(2, 50.0, ms(0));
    b.follow(ms(0));
    b.on_message(want(1, 0, 0, 4.0), ms(1));
    b.on_message(
        Msg::Lead {
            leader: 1,
            rate: 4.0,
            margin: ms(1),
            last: None,
        },
        ms(2),
    );
    b.lead(ms(10)); // the lock arrives before the goodbye
    b.on_message(
        Msg::Bye {
            tab: 1,
            gone: true,
            last: None,
            margin: Some(ms(1)),
        },
        ms(11),
    );
    b.poll(ms(12));
    let leader = b.leader().expect("b leads");
    assert_eq!(leader.rate(), 50.0);
    assert!(leader.margin() <= Duration::from_micros(800));
}

/// The leader paces at the rate it says (a slower tab this follower has
/// not heard of yet): a send after a late one keeps that spacing.
#[test]
fn a_follower_keeps_the_spacing_at_the_rate_the_leader_says() {
    let mut a = Tab::new(A, 10.0, ms(0));
    a.follow(ms(0));
    a.on_message(
        Msg::Lead {
            leader: B,
            rate: 4.0,
            margin: ms(2),
            last: None,
        },
        ms(1),
    );
    a.on_message(
        Msg::Sent {
            tab: B,
            at: ms(100),
            sent: ms(120),
        },
        ms(121),
    );
    assert_eq!(a.send_time(ms(150)), Some(ms(120 + 250 + 2)));
    // Once that leader is gone, the budget's rate as this tab knows it.
    a.on_message(
        Msg::Bye {
            tab: B,
            gone: true,
            last: Some(ms(100)),
            margin: Some(ms(2)),
        },
        ms(130),
    );
    assert_eq!(a.send_time(ms(150)), Some(ms(120 + 100 + 2)));
}
