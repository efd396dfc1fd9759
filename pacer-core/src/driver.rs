//! The worker pool: N async workers pulling from one [`Scheduler`].
//!
//! Generic over the clock, the sleep, the transport and an observer, so the
//! browser runs it on `performance.now()`, `setTimeout` and `fetch`, and the
//! simulator runs the very same code on fake time against a model server.
//!
//! Only one worker at a time waits on the pacing timer (the *waiter*); the
//! others wait on a [`Signal`]. So a send costs one timer wake-up, not one
//! per worker, and the decision is always re-made from the clock on waking.

mod signal;

pub use signal::{Listener, Signal};

use std::cell::{Cell, RefCell};
use std::future::Future;
use std::rc::Rc;
use std::time::Duration;

use futures::channel::oneshot;
use futures::future::{select, Either};

use crate::schedule::{
    AnnouncedLimit, AttemptResult, Decision, ItemId, ItemStatus, Scheduler, ServerHint,
};
use crate::time::{Clock, Sleep};

/// What one request came back with: the outcome and what the answer's
/// headers said about the server's limit.
#[derive(Clone, Debug, PartialEq)]
pub struct Answer {
    /// The outcome, for the scheduler.
    pub result: AttemptResult,
    /// The server's rate-limit headers, when it sent any.
    pub hint: Option<ServerHint>,
}

impl From<AttemptResult> for Answer {
    fn from(result: AttemptResult) -> Self {
        Self { result, hint: None }
    }
}

/// Sends one request. `send` must start the request before it returns (the
/// send instant is the call), then the future resolves with its outcome.
pub trait Transport {
    /// The pending answer.
    type Fut: Future<Output = Answer>;
    /// Sends `item`'s request, its `attempt`-th.
    fn send(&self, item: ItemId, attempt: u32) -> Self::Fut;

    /// Sends `item`'s request at `due` on the caller's clock (at once if
    /// that has passed) rather than now: for a transport that times a send
    /// more exactly than its caller's own wake-ups can (in the browser, a
    /// worker whose thread no page work holds up). The transport keeps it at
    /// least `min_gap` after the last request it made (later than `due` if
    /// that one went late: the pacing planned this one before knowing).
    /// `sent` hears the instant
    /// the request went, on the same clock; it is dropped unsent if the
    /// request never went (aborted first). The future must be polled for
    /// the send to happen. `None`: this transport cannot time its sends,
    /// and the caller sleeps until `due` and calls [`Transport::send`].
    fn send_at(
        &self,
        _item: ItemId,
        _attempt: u32,
        _due: Duration,
        _min_gap: Duration,
        _sent: oneshot::Sender<Duration>,
    ) -> Option<Self::Fut> {
        None
    }

    /// How far ahead of its instant the pool hands a send over
    /// ([`Transport::send_at`]); `None` when this transport cannot time its
    /// sends (the pool then wakes at the instant and calls
    /// [`Transport::send`]).
    fn handoff(&self) -> Option<Duration> {
        None
    }
}

/// Sends are handed over this many spacings ahead (plus the transport's
/// handoff): the page's Start took a second and more on a loaded machine,
/// during which the sends already handed over still went on time.
pub const AHEAD_SPACINGS: u32 = 2;

/// A send is never handed over further ahead than this: once handed over
/// it can no longer be held back by a 429's pause heard meanwhile.
pub const MAX_AHEAD: Duration = Duration::from_millis(1000);

/// Hears what the pool does, to update a UI or a log.
pub trait Observer {
    /// `item` was sent at `at`.
    fn on_send(&self, _item: ItemId, _attempt: u32, _at: Duration) {}
    /// `item`'s answer was recorded at `at`; `status` is where it is now.
    fn on_complete(&self, _item: ItemId, _status: &ItemStatus, _at: Duration) {}
    /// The server announced a (new) limit, which the pacing now follows.
    fn on_announced(&self, _limit: AnnouncedLimit) {}
}

/// An observer that hears nothing.
impl Observer for () {}

/// A run's shared state: the scheduler and the signal that wakes workers.
/// Controls (pause, cancel, rate) go through it so idle workers re-decide.
#[derive(Clone)]
pub struct RunControl {
    scheduler: Rc<RefCell<Scheduler>>,
    wake: Signal,
}

impl RunControl {
    /// Wraps a scheduler.
    pub fn new(scheduler: Scheduler) -> Self {
        Self {
            scheduler: Rc::new(RefCell::new(scheduler)),
            wake: Signal::new(),
        }
    }

    /// Reads or changes the scheduler, then wakes every worker to re-decide.
    pub fn update<R>(&self, f: impl FnOnce(&mut Scheduler) -> R) -> R {
        let r = f(&mut self.scheduler.borrow_mut());
        self.wake.notify_all();
        r
    }

    /// Reads the scheduler.
    pub fn read<R>(&self, f: impl FnOnce(&Scheduler) -> R) -> R {
        f(&self.scheduler.borrow())
    }
}

/// The pool: everything a worker needs, shared by all of them.
pub struct Pool<C, S, T, O> {
    control: RunControl,
    clock: C,
    sleep: S,
    transport: T,
    observer: O,
    waiter: Cell<bool>,
    target: Cell<usize>,
    alive: Cell<usize>,
}

impl<C: Clock, S: Sleep, T: Transport, O: Observer> Pool<C, S, T, O> {
    /// A pool over `control`'s scheduler.
    pub fn new(control: RunControl, clock: C, sleep: S, transport: T, observer: O) -> Rc<Self> {
        Rc::new(Self {
            control,
            clock,
            sleep,
            transport,
            observer,
            waiter: Cell::new(false),
            target: Cell::new(usize::MAX),
            alive: Cell::new(0),
        })
    }

    /// Workers running now.
    pub fn alive(&self) -> usize {
        self.alive.get()
    }

    /// Sets how many workers should run (at least 1), at once: extra ones
    /// retire as soon as they are idle (in-flight requests finish first).
    /// Returns how many new workers the caller must start.
    pub fn set_concurrency(&self, n: usize) -> usize {
        let n = n.max(1);
        self.target.set(n);
        self.control.wake.notify_all();
        n.saturating_sub(self.alive.get())
    }

    /// The run's control.
    pub fn control(&self) -> &RunControl {
        &self.control
    }

    /// One worker: loops until the scheduler says the run is finished, or
    /// the pool has more workers than it should.
    pub async fn worker(self: Rc<Self>) {
        self.alive.set(self.alive.get() + 1);
        self.work().await;
        self.alive.set(self.alive.get() - 1);
    }

    async fn work(&self) {
        loop {
            if self.alive.get() > self.target.get() {
                return;
            }
            let listener = self.control.wake.listen();
            let now = self.clock.now();
            let decision = self.control.scheduler.borrow_mut().poll(now);
            match decision {
                Decision::Finished => {
                    self.control.wake.notify_all();
                    return;
                }
                Decision::Send { item, attempt } => {
                    drop(listener);
                    if self.transport.handoff().is_some() {
                        // Due now: still made by the transport's own timer
                        // (the run's first send, at Start, when this thread
                        // has the page to draw), which fetches at once.
                        self.send_timed(item, attempt, now).await;
                    } else {
                        self.send(item, attempt, now).await;
                    }
                }
                Decision::WaitUntil(at) if !self.waiter.get() => {
                    let ahead = self.ahead();
                    if ahead > Duration::ZERO && at <= now + ahead {
                        // Close enough: the send is taken for its instant
                        // and handed over, so that whatever holds this
                        // thread up then does not move it.
                        drop(listener);
                        self.send_ahead(at).await;
                        continue;
                    }
                    self.waiter.set(true);
                    let timer = self.sleep.sleep(at.saturating_sub(now + ahead));
                    let _ = select(Box::pin(timer), listener).await;
                    self.waiter.set(false);
                }
                Decision::WaitUntil(_) | Decision::Idle => listener.await,
            }
        }
    }

    /// How far ahead of its instant a send is handed over: the transport's
    /// handoff plus [`AHEAD_SPACINGS`] spacings ([`MAX_AHEAD`] at most), so
    /// that when one send goes the next ones are already with the
    /// transport, and a page busy for a while (Start drawing its rows, a
    /// big list) does not hold them back; zero when the transport cannot
    /// time its sends.
    fn ahead(&self) -> Duration {
        let Some(handoff) = self.transport.handoff() else {
            return Duration::ZERO;
        };
        let spacing = self.control.read(|s| s.pacing().interval());
        (handoff + spacing * AHEAD_SPACINGS)
            .min(MAX_AHEAD)
            .max(handoff)
    }

    /// Takes the send due at `due` now and hands it to the transport to
    /// make at that instant; if the scheduler has nothing to send then
    /// after all (paused, cancelled meanwhile), nothing happens.
    async fn send_ahead(&self, due: Duration) {
        let decision = self.control.scheduler.borrow_mut().poll(due);
        let Decision::Send { item, attempt } = decision else {
            // Nothing to send at that instant after all: wait for it before
            // deciding again, never spin on a plan that does not hold.
            let now = self.clock.now();
            if due > now {
                self.sleep.sleep(due - now).await;
            }
            return;
        };
        self.send_timed(item, attempt, due).await;
    }

    /// Hands `item`'s send, taken for `due`, to the transport to make then.
    async fn send_timed(&self, item: ItemId, attempt: u32, due: Duration) {
        let (tx, rx) = oneshot::channel();
        let min_gap = self.control.read(|s| s.pacing().min_send_gap());
        let Some(answer) = self.transport.send_at(item, attempt, due, min_gap, tx) else {
            // It cannot time this one after all: wake at the instant.
            self.control.wake.notify_one();
            let now = self.clock.now();
            if due > now {
                self.sleep.sleep(due - now).await;
            }
            let now = self.clock.now();
            return self.send(item, attempt, now).await;
        };
        self.control.wake.notify_one();
        let answer = match select(rx, Box::pin(answer)).await {
            Either::Left((Ok(sent), answer)) => {
                self.control.scheduler.borrow_mut().sent_at(item, due, sent);
                self.observer.on_send(item, attempt, sent);
                answer.await
            }
            // Never went (aborted first).
            Either::Left((Err(_), answer)) => answer.await,
            Either::Right((answer, _)) => answer,
        };
        self.conclude(item, answer);
    }

    async fn send(&self, item: ItemId, attempt: u32, now: Duration) {
        let answer = self.transport.send(item, attempt);
        self.observer.on_send(item, attempt, now);
        // Someone else must now watch the pacing timer.
        self.control.wake.notify_one();
        self.conclude(item, answer.await);
    }

    /// Records `item`'s answer.
    fn conclude(&self, item: ItemId, answer: Answer) {
        let Answer { result, hint } = answer;
        let at = self.clock.now();
        let (announced, status) = {
            let mut scheduler = self.control.scheduler.borrow_mut();
            let announced = hint.and_then(|h| scheduler.observe(item, h, at));
            (announced, scheduler.complete(item, result, at).clone())
        };
        if let Some(limit) = announced {
            self.observer.on_announced(limit);
        }
        self.observer.on_complete(item, &status, at);
    }

    /// Runs `concurrency` workers to the end of the run, on the caller's
    /// executor (the browser spawns workers one by one instead).
    pub async fn run(self: Rc<Self>, concurrency: usize) {
        let start = self.set_concurrency(concurrency);
        let workers = (0..start).map(|_| Rc::clone(&self).worker());
        futures::future::join_all(workers).await;
    }
}
