//! The async side of the shared budget: a [`Coordinator`] that runs one
//! tab's [`Tab`] on a clock and a sleep, posts its messages on a [`Bus`],
//! and a [`Gated`] transport that makes each send wait for its grant.
//!
//! Generic over the clock, the sleep and the bus, so the browser runs it on
//! the shared clock, worker timers and a `BroadcastChannel`, and the tests
//! run several tabs on one fake clock.

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::rc::Rc;
use std::time::Duration;

use futures::channel::oneshot;
use futures::future::{select, Either, LocalBoxFuture};
use futures::FutureExt;

use super::{Ask, Msg, Tab, TabId, HANDOFF};
use crate::driver::{Answer, Signal, Transport};
use crate::schedule::{AttemptResult, ItemId};
use crate::time::{Clock, Sleep};

/// Where messages to the other tabs go.
pub trait Bus {
    /// Sends `msg` to every other tab.
    fn post(&self, msg: &Msg);
}

/// This tab's part in the shared budget, for the page to show.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    /// No other tab runs against the budget (or none yet).
    Alone,
    /// This tab hands out the grants; `others` tabs share.
    Leader {
        /// Other tabs on the budget.
        others: usize,
    },
    /// Another tab hands out the grants; `others` tabs share (the leader
    /// among them).
    Follower {
        /// Other tabs on the budget.
        others: usize,
    },
}

/// Hears the tab's role and the budget's rate.
type RoleListener = Box<dyn Fn(Role, f64)>;

/// What became of the grants, for diagnostics: planned instants beside the
/// moments things happened (all on the shared clock).
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Trace {
    /// This tab, leading, granted `tab` a send at `at` (made at `now`).
    Granted {
        /// The tab granted.
        tab: TabId,
        /// The instant granted.
        at: Duration,
        /// When the grant was made.
        now: Duration,
    },
    /// A grant for this tab at `at` reached it at `now`.
    Received {
        /// The instant granted.
        at: Duration,
        /// When it arrived.
        now: Duration,
    },
    /// A send of `item` granted at `at` went at `now`.
    Sent {
        /// The item.
        item: ItemId,
        /// Its attempt.
        attempt: u32,
        /// The instant granted.
        at: Duration,
        /// When it went.
        now: Duration,
    },
    /// A send's grant at `at` was overtaken (a later grant went first): the
    /// slot is given up and the send asks again.
    Skipped {
        /// The instant granted.
        at: Duration,
        /// When it woke.
        now: Duration,
    },
}

/// Hears every [`Trace`].
type TraceListener = Box<dyn Fn(&Trace)>;

/// One tab's coordinator: its [`Tab`], the sends waiting for a grant, and
/// the loop that makes grants and heartbeats on time ([`Coordinator::run`]).
pub struct Coordinator<C, S> {
    tab: RefCell<Tab>,
    clock: C,
    sleep: S,
    bus: Box<dyn Bus>,
    waiters: RefCell<VecDeque<oneshot::Sender<Duration>>>,
    wake: Signal,
    role: Cell<Role>,
    on_role: RefCell<Option<RoleListener>>,
    on_trace: RefCell<Option<TraceListener>>,
}

impl<C: Clock + 'static, S: Sleep + 'static> Coordinator<C, S> {
    /// A coordinator for a tab `id` running at `rate`, undecided until
    /// [`Coordinator::lead`] or [`Coordinator::follow`].
    pub fn new(id: TabId, rate: f64, clock: C, sleep: S, bus: Box<dyn Bus>) -> Rc<Self> {
        let now = clock.now();
        Rc::new(Self {
            tab: RefCell::new(Tab::new(id, rate, now)),
            clock,
            sleep,
            bus,
            waiters: RefCell::default(),
            wake: Signal::new(),
            role: Cell::new(Role::Alone),
            on_role: RefCell::new(None),
            on_trace: RefCell::new(None),
        })
    }

    /// Calls `f` with the tab's role and the budget's rate whenever they change.
    pub fn on_role(&self, f: impl Fn(Role, f64) + 'static) {
        *self.on_role.borrow_mut() = Some(Box::new(f));
    }

    /// Calls `f` with every [`Trace`] of this tab's grants and sends.
    pub fn on_trace(&self, f: impl Fn(&Trace) + 'static) {
        *self.on_trace.borrow_mut() = Some(Box::new(f));
    }

    fn trace(&self, event: Trace) {
        if let Some(f) = &*self.on_trace.borrow() {
            f(&event);
        }
    }

    /// Reads the tab's state.
    pub fn read<R>(&self, f: impl FnOnce(&Tab) -> R) -> R {
        f(&self.tab.borrow())
    }

    fn update<R>(&self, f: impl FnOnce(&mut Tab, Duration) -> R) -> R {
        let now = self.clock.now();
        let r = f(&mut self.tab.borrow_mut(), now);
        self.flush();
        self.wake.notify_all();
        r
    }

    /// Another tab may already pace this budget: sends wait for the
    /// election ([`Tab::expect_others`]).
    pub fn expect_others(&self) {
        self.tab.borrow_mut().expect_others();
    }

    /// The election made this tab the leader.
    pub fn lead(&self) {
        self.update(|t, now| t.lead(now));
    }

    /// Another tab leads.
    pub fn follow(&self) {
        self.update(|t, now| t.follow(now));
    }

    /// Stops leading (the page is being frozen).
    pub fn step_down(&self) {
        self.update(|t, now| t.step_down(now));
    }

    /// Leaves the budget (run over, page left): sends waiting for a grant
    /// are answered as retryable.
    pub fn leave(&self) {
        self.update(|t, _| t.leave());
        self.waiters.borrow_mut().clear();
    }

    /// True after [`Coordinator::leave`].
    pub fn is_gone(&self) -> bool {
        self.tab.borrow().is_gone()
    }

    /// The user changed the rate.
    pub fn set_rate(&self, rate: f64) {
        self.update(|t, now| t.set_rate(rate, now));
    }

    /// Takes in a message from another tab.
    pub fn on_message(&self, msg: Msg) {
        self.update(|t, now| t.on_message(msg, now));
    }

    /// Posts the outbox, hands arrived grants to waiting sends, tells the
    /// page when the role changed.
    fn flush(&self) {
        let (out, permits) = {
            let mut tab = self.tab.borrow_mut();
            (tab.take_outbox(), tab.take_permits())
        };
        for msg in &out {
            self.bus.post(msg);
        }
        if self.on_trace.borrow().is_some() {
            let now = self.clock.now();
            for msg in &out {
                if let Msg::Grant { tab, at } = *msg {
                    self.trace(Trace::Granted { tab, at, now });
                }
            }
            for &at in &permits {
                self.trace(Trace::Received { at, now });
            }
        }
        for granted in permits {
            let mut at = Some(granted);
            while let Some(tx) = self.waiters.borrow_mut().pop_front() {
                match tx.send(at.take().unwrap_or_default()) {
                    Ok(()) => break,
                    Err(back) => at = Some(back),
                }
            }
            if at.is_some() {
                self.tab.borrow_mut().unused(granted);
            }
        }
        let (role, rate) = {
            let tab = self.tab.borrow();
            let others = tab.others();
            let role = match (tab.is_shared(), tab.is_leader()) {
                (false, _) => Role::Alone,
                (true, true) => Role::Leader { others },
                (true, false) => Role::Follower {
                    others: others.max(1),
                },
            };
            (role, tab.shared_rate())
        };
        if role != self.role.replace(role) {
            if let Some(f) = &*self.on_role.borrow() {
                f(role, rate);
            }
        }
    }

    /// A send wants to go: `None` to go now, else the grant's instant to
    /// wait for.
    fn ask(&self) -> Option<oneshot::Receiver<Duration>> {
        self.ask_at(self.clock.now())
    }

    /// [`Coordinator::ask`] for a send that goes at `at` (now or later).
    fn ask_at(&self, at: Duration) -> Option<oneshot::Receiver<Duration>> {
        let (tx, rx) = oneshot::channel();
        // The waiter is queued before the flush: `ask` may hand out the
        // permit at once (a lone leader spacing its sends).
        let ask = self.tab.borrow_mut().ask(at);
        let rx = match ask {
            Ask::Now => None,
            Ask::Wait => {
                self.waiters.borrow_mut().push_back(tx);
                Some(rx)
            }
        };
        self.flush();
        self.wake.notify_all();
        rx
    }

    /// Runs the tab's timers (grants when it leads, heartbeats) until it
    /// leaves.
    pub async fn run(self: Rc<Self>) {
        loop {
            let listener = self.wake.listen();
            let now = self.clock.now();
            let next = self.tab.borrow_mut().poll(now);
            self.flush();
            let Some(at) = next else { return };
            let timer = self.sleep.sleep(at.saturating_sub(now));
            let _ = select(Box::pin(timer), listener).await;
        }
    }
}

/// Withdraws a waiting send's request if it is dropped before its grant.
struct Withdraw<'a, C: Clock + 'static, S: Sleep + 'static> {
    coord: &'a Coordinator<C, S>,
    armed: bool,
}

impl<C: Clock + 'static, S: Sleep + 'static> Drop for Withdraw<'_, C, S> {
    fn drop(&mut self) {
        if self.armed {
            self.coord.update(|t, now| t.withdraw(now));
        }
    }
}

/// A transport whose sends each wait for a grant of the shared budget
/// (when there is more than one tab on it; otherwise they go at once).
///
/// When `inner` can time its sends ([`Transport::send_at`]), a granted send
/// is handed to it [`HANDOFF`] before its instant, and goes at that instant
/// however busy the tab's own thread is then; otherwise the tab wakes at
/// the instant and sends.
pub struct Gated<T, C, S> {
    inner: T,
    coord: Option<Rc<Coordinator<C, S>>>,
    /// `inner` said it cannot time its sends: wake at the instant instead.
    untimed: Rc<Cell<bool>>,
}

impl<T, C, S> Gated<T, C, S> {
    /// `inner`, gated by `coord` (`None`: never gated).
    pub fn new(inner: T, coord: Option<Rc<Coordinator<C, S>>>) -> Self {
        Self {
            inner,
            coord,
            untimed: Rc::default(),
        }
    }
}

impl<T, C, S> Transport for Gated<T, C, S>
where
    T: Transport + Clone + 'static,
    T::Fut: 'static,
    C: Clock + 'static,
    S: Sleep + 'static,
{
    type Fut = LocalBoxFuture<'static, Answer>;

    fn send(&self, item: ItemId, attempt: u32) -> Self::Fut {
        let Some(coord) = &self.coord else {
            return self.inner.send(item, attempt).boxed_local();
        };
        let Some(first) = coord.ask() else {
            // A lone tab's send, at once (traced as granted for now).
            let now = coord.clock.now();
            let answer = self.inner.send(item, attempt);
            coord.trace(Trace::Sent {
                item,
                attempt,
                at: now,
                now,
            });
            return answer.boxed_local();
        };
        self.granted(first, item, attempt, None)
    }

    /// A lone tab's send goes to `inner` to be made at `due`; once tabs
    /// share, at its grant's instant instead (which the budget's leader
    /// paces), and `sent` hears when it went all the same.
    fn send_at(
        &self,
        item: ItemId,
        attempt: u32,
        due: Duration,
        min_gap: Duration,
        sent: oneshot::Sender<Duration>,
    ) -> Option<Self::Fut> {
        let Some(coord) = &self.coord else {
            return Some(
                self.inner
                    .send_at(item, attempt, due, min_gap, sent)?
                    .boxed_local(),
            );
        };
        // Asked for its instant, not now: alone, the tab records the send
        // as the budget's latest, for a tab that joins to continue from.
        let Some(first) = coord.ask_at(due.max(coord.clock.now())) else {
            // Traced when it went, not when handed over: a send taken back
            // before its instant (a pause, a 429) never went.
            let (went_tx, went) = oneshot::channel();
            let answer = self
                .inner
                .send_at(item, attempt, due, min_gap, went_tx)?
                .boxed_local();
            let coord = Rc::clone(coord);
            return Some(
                async move {
                    match select(went, answer).await {
                        Either::Left((Ok(now), answer)) => {
                            let _ = sent.send(now);
                            coord.trace(Trace::Sent {
                                item,
                                attempt,
                                at: due,
                                now,
                            });
                            answer.await
                        }
                        Either::Left((Err(_), answer)) => answer.await,
                        Either::Right((answer, _)) => answer,
                    }
                }
                .boxed_local(),
            );
        };
        Some(self.granted(first, item, attempt, Some(sent)))
    }

    fn handoff(&self) -> Option<Duration> {
        self.inner.handoff()
    }
}

impl<T, C, S> Gated<T, C, S>
where
    T: Transport + Clone + 'static,
    T::Fut: 'static,
    C: Clock + 'static,
    S: Sleep + 'static,
{
    /// A send that waits for its grant (`first`, asked already); `told`
    /// hears when it went.
    fn granted(
        &self,
        first: oneshot::Receiver<Duration>,
        item: ItemId,
        attempt: u32,
        told: Option<oneshot::Sender<Duration>>,
    ) -> LocalBoxFuture<'static, Answer> {
        let Some(coord) = &self.coord else {
            return self.inner.send(item, attempt).boxed_local();
        };
        let coord = Rc::clone(coord);
        let inner = self.inner.clone();
        let untimed = Rc::clone(&self.untimed);
        async move {
            let mut grant = Some(first);
            let at = loop {
                let Some(rx) = grant.take() else {
                    // No longer shared: go at once.
                    break None;
                };
                let mut guard = Withdraw {
                    coord: &coord,
                    armed: true,
                };
                let granted = rx.await;
                guard.armed = false;
                drop(guard);
                let Ok(at) = granted else {
                    return Answer::from(AttemptResult::Retryable {
                        reason: "the tab stopped sharing the rate budget before this send's turn"
                            .into(),
                    });
                };
                // Waits for the grant's instant, and as long as a late send
                // of another tab (heard meanwhile) says; gives the slot up
                // only if a later grant went first.
                // Or, with a transport that times its sends, until
                // HANDOFF before that instant (then hands the send over).
                let overtaken = loop {
                    let now = coord.clock.now();
                    let ahead = if untimed.get() {
                        Duration::ZERO
                    } else {
                        HANDOFF
                    };
                    match coord.read(|t| t.send_time(at)) {
                        _ if coord.is_gone() => break false,
                        None => break true,
                        Some(due) if due > now + ahead => {
                            coord.sleep.sleep(due - ahead - now).await;
                        }
                        Some(_) => break false,
                    }
                };
                if !overtaken {
                    break Some(at);
                }
                coord.trace(Trace::Skipped {
                    at,
                    now: coord.clock.now(),
                });
                coord.update(|t, _| t.unused(at));
                grant = coord.ask();
            };
            let Some(at) = at else {
                let answer = inner.send(item, attempt);
                if let Some(tx) = told {
                    let _ = tx.send(coord.clock.now());
                }
                return answer.await;
            };
            if coord.is_gone() {
                // The tab left meanwhile: its slot is given back, not used.
                return Answer::from(AttemptResult::Retryable {
                    reason: "the tab stopped sharing the rate budget before this send's turn"
                        .into(),
                });
            }
            // The word to the other tabs, once the request went.
            let mut told = told;
            let mut went = |sent: Duration| {
                if let Some(tx) = told.take() {
                    let _ = tx.send(sent);
                }
                coord.update(|t, _| t.sent(at, sent));
                coord.trace(Trace::Sent {
                    item,
                    attempt,
                    at,
                    now: sent,
                });
            };
            let due = coord.read(|t| t.send_time(at)).unwrap_or(at);
            let (tx, rx) = oneshot::channel();
            // No gap of this tab's own: the budget's sends are spaced by the
            // leader's grants, whichever tab makes them.
            let answer = match inner.send_at(item, attempt, due, Duration::ZERO, tx) {
                // The transport says when the request went (driven
                // meanwhile), then answers.
                Some(answer) => match select(rx, Box::pin(answer)).await {
                    Either::Left((Ok(sent), answer)) => {
                        went(sent);
                        answer.await
                    }
                    // Never sent (aborted first): the slot went unused.
                    Either::Left((Err(_), answer)) => answer.await,
                    Either::Right((answer, _)) => answer,
                },
                None => {
                    untimed.set(true);
                    let now = coord.clock.now();
                    if due > now {
                        coord.sleep.sleep(due - now).await;
                    }
                    // The request first (the fetch starts when it is made).
                    let now = coord.clock.now();
                    let answer = inner.send(item, attempt);
                    went(now);
                    answer.await
                }
            };
            match &answer.result {
                AttemptResult::Success => coord.update(|t, now| t.succeeded(now)),
                AttemptResult::RateLimited { retry_after } => {
                    let retry_after = *retry_after;
                    coord.update(|t, now| t.limited(at, retry_after, now));
                }
                _ => {}
            }
            answer
        }
        .boxed_local()
    }
}

#[cfg(test)]
mod tests;
