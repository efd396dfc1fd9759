//! The async shell on fake time: one tab's coordinator, a bus that keeps
//! what it posts, and a transport that answers at once.

use std::cell::RefCell;
use std::rc::Rc;
use std::time::Duration;

use futures::future::{join, ready, select, Either, Ready};

use super::*;
use crate::sim::FakeTime;

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

const ME: TabId = 1;
const LEADER: TabId = 2;

/// Keeps every message posted.
#[derive(Clone, Default)]
struct Kept(Rc<RefCell<Vec<Msg>>>);

impl Bus for Kept {
    fn post(&self, msg: &Msg) {
        self.0.borrow_mut().push(msg.clone());
    }
}

/// Records when each send went; answers with `result` at once.
#[derive(Clone)]
struct Answers {
    time: FakeTime,
    sends: Rc<RefCell<Vec<(ItemId, Duration)>>>,
    result: AttemptResult,
}

impl Transport for Answers {
    type Fut = Ready<Answer>;
    fn send(&self, item: ItemId, _attempt: u32) -> Self::Fut {
        self.sends.borrow_mut().push((item, self.time.now()));
        ready(Answer::from(self.result.clone()))
    }
}

struct Setup {
    time: FakeTime,
    bus: Kept,
    coord: Rc<Coordinator<FakeTime, FakeTime>>,
    gated: Gated<Answers, FakeTime, FakeTime>,
    sends: Rc<RefCell<Vec<(ItemId, Duration)>>>,
}

fn setup(result: AttemptResult) -> Setup {
    let time = FakeTime::new();
    let bus = Kept::default();
    let coord = Coordinator::new(ME, 10.0, time.clone(), time.clone(), Box::new(bus.clone()));
    let sends = Rc::default();
    let inner = Answers {
        time: time.clone(),
        sends: Rc::clone(&sends),
        result,
    };
    let gated = Gated::new(inner, Some(Rc::clone(&coord)));
    Setup {
        time,
        bus,
        coord,
        gated,
        sends,
    }
}

/// Runs `fut` with the coordinator's timers going (until the tab leaves).
fn drive<F: std::future::Future>(s: &Setup, fut: F) -> F::Output {
    let pump = Rc::clone(&s.coord).run();
    s.time.block_on(async {
        match select(Box::pin(fut), Box::pin(pump)).await {
            Either::Left((out, _)) => out,
            // It stops once the tab leaves; what is left still ends.
            Either::Right(((), fut)) => fut.await,
        }
    })
}

/// The leader's word that `ME` may send at `at`, `after` from now.
async fn grant_after(s: &Setup, after: Duration, at: Duration) {
    s.time.sleep(after).await;
    s.coord.on_message(Msg::Grant { tab: ME, at });
}

#[test]
fn alone_a_send_goes_at_once() {
    let s = setup(AttemptResult::Success);
    s.coord.lead();
    let answer = drive(&s, s.gated.send(7, 1));
    assert_eq!(answer.result, AttemptResult::Success);
    assert_eq!(*s.sends.borrow(), vec![(7, ms(0))]);
    assert!(s
        .bus
        .0
        .borrow()
        .iter()
        .all(|m| !matches!(m, Msg::Sent { .. })));
}

#[test]
fn a_follower_sends_at_its_grant_and_says_so() {
    let s = setup(AttemptResult::Success);
    s.coord.follow();
    let (answer, ()) = drive(
        &s,
        join(s.gated.send(3, 1), grant_after(&s, ms(20), ms(70))),
    );
    assert_eq!(answer.result, AttemptResult::Success);
    assert_eq!(*s.sends.borrow(), vec![(3, ms(70))]);
    let bus = s.bus.0.borrow();
    assert!(bus.contains(&Msg::Sent {
        tab: ME,
        at: ms(70),
        sent: ms(70)
    }));
    assert!(bus.iter().any(|m| matches!(
        m,
        Msg::Want {
            tab: ME,
            asked: 1,
            ..
        }
    )));
}

#[test]
fn a_429_on_a_follower_is_reported_to_the_leader() {
    let s = setup(AttemptResult::RateLimited {
        retry_after: Some(ms(1000)),
    });
    s.coord.follow();
    drive(&s, join(s.gated.send(3, 1), grant_after(&s, ms(5), ms(40))));
    assert!(s.bus.0.borrow().contains(&Msg::Limited {
        tab: ME,
        at: ms(40),
        retry_after: Some(ms(1000))
    }));
}

#[test]
fn leaving_answers_a_waiting_send_as_retryable() {
    let s = setup(AttemptResult::Success);
    s.coord.follow();
    let leave = async {
        s.time.sleep(ms(10)).await;
        s.coord.leave();
    };
    let (answer, ()) = drive(&s, join(s.gated.send(3, 1), leave));
    assert!(matches!(answer.result, AttemptResult::Retryable { .. }));
    assert!(s.sends.borrow().is_empty());
    assert!(s.coord.is_gone());
}

#[test]
fn the_role_is_heard_as_it_changes() {
    let s = setup(AttemptResult::Success);
    let roles: Rc<RefCell<Vec<Role>>> = Rc::default();
    let heard = Rc::clone(&roles);
    s.coord
        .on_role(move |role, _| heard.borrow_mut().push(role));
    s.coord.follow();
    s.coord.on_message(Msg::Want {
        tab: LEADER,
        asked: 0,
        got: 0,
        ok: 0,
        rate: 4.0,
    });
    assert_eq!(*roles.borrow(), vec![Role::Follower { others: 1 }]);
    assert_eq!(s.coord.read(|t| t.shared_rate()), 4.0);
}

#[test]
fn an_out_of_bounds_message_changes_nothing() {
    let s = setup(AttemptResult::Success);
    s.coord.follow();
    s.coord.on_message(Msg::Want {
        tab: LEADER,
        asked: 1,
        got: 0,
        ok: 0,
        rate: 0.0,
    });
    assert_eq!(s.coord.read(|t| (t.others(), t.shared_rate())), (0, 10.0));
}
