//! A lone tab's pool hands each send to a transport that times its sends
//! (the browser's timer worker) ahead of its instant: however late the
//! pool's own wake-ups (a page busy at Start), the sends go on their slots.
//! On fake time, against the simulated server.

use std::cell::RefCell;
use std::rc::Rc;
use std::time::Duration;

use futures::channel::oneshot;
use futures::future::{select, Either, LocalBoxFuture};
use futures::FutureExt;
use pacer_core::driver::{Answer, RunControl, Transport};
use pacer_core::limiter::{Admission, Limiter, LimiterConfig, SlidingLog};
use pacer_core::schedule::{AttemptResult, ItemId, MarginPolicy, RetryPolicy, Scheduler};
use pacer_core::sim::{run_pool, FakeTime, ServerModel, SimServer, TimedSends, TimerModel};
use pacer_core::{Clock, Quota};

const HANDOFF: Duration = Duration::from_millis(30);

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// A worker: exact timers of its own, so a send goes at its instant (or
/// its gap after the last one).
#[derive(Clone)]
struct Worker {
    time: FakeTime,
    timing: TimedSends,
    server: SimServer,
    /// (due, when it was handed over) per timed send.
    handed: Rc<RefCell<Vec<(Duration, Duration)>>>,
    /// Sends handed over and not made yet: their instants, and what takes
    /// each back (dropped, it resolves the send as withdrawn).
    waiting: Rc<RefCell<Vec<Waiting>>>,
}

/// A send handed over: its instant, and what takes it back.
type Waiting = (Duration, oneshot::Sender<()>);

impl Worker {
    fn new(time: &FakeTime, timing: TimedSends, server: SimServer) -> Self {
        Self {
            time: time.exact(),
            timing,
            server,
            handed: Rc::default(),
            waiting: Rc::default(),
        }
    }
}

impl Transport for Worker {
    type Fut = LocalBoxFuture<'static, Answer>;

    fn send(&self, item: ItemId, attempt: u32) -> Self::Fut {
        self.server.send(item, attempt)
    }

    fn send_at(
        &self,
        item: ItemId,
        attempt: u32,
        due: Duration,
        min_gap: Duration,
        sent: oneshot::Sender<Duration>,
    ) -> Option<Self::Fut> {
        let (timing, server) = (self.timing.clone(), self.server.clone());
        let (time, waiting) = (self.time.clone(), Rc::clone(&self.waiting));
        self.handed.borrow_mut().push((due, self.time.now()));
        let (take_back, taken_back) = oneshot::channel();
        self.waiting.borrow_mut().push((due, take_back));
        Some(
            async move {
                let made = Box::pin(timing.wait(due, min_gap));
                let Either::Left((at, _)) = select(made, taken_back).await else {
                    return Answer::from(AttemptResult::Withdrawn);
                };
                waiting.borrow_mut().retain(|(d, _)| *d != due);
                let answer = server.send(item, attempt);
                let _ = sent.send(at);
                let answer = answer.await;
                // As the browser's transport does: a refusal takes back
                // the sends handed over whose instant has not come.
                if matches!(answer.result, AttemptResult::RateLimited { .. }) {
                    let now = time.now();
                    waiting.borrow_mut().retain(|(d, _)| *d <= now);
                }
                answer
            }
            .boxed_local(),
        )
    }

    fn handoff(&self) -> Option<Duration> {
        Some(HANDOFF)
    }
}

/// Runs `items` at `rate` through `worker` with a pool of 8, the margin
/// starting at `margin` (else the default policy), to the end.
fn pace(time: &FakeTime, worker: &Worker, items: usize, rate: f64, margin: Duration) -> RunControl {
    let margin = MarginPolicy {
        start: margin,
        ..MarginPolicy::default()
    };
    let quota = Quota::per_second(rate).unwrap();
    let scheduler = Scheduler::new(items, quota, RetryPolicy::default(), margin);
    run_pool(time, scheduler, worker.clone(), 8)
}

/// 40 images at 10/s from a pool whose own timers fire `late` late.
fn run(late: Duration) -> (Vec<Duration>, Vec<(Duration, Duration)>, usize) {
    let time = FakeTime::with_timers(TimerModel::Clamped { min: ms(4), late });
    let timing = TimedSends::new(&time);
    run_with(&time, timing)
}

/// 40 images at 10/s against a strict GCRA, the sends timed by `timing`.
fn run_with(
    time: &FakeTime,
    timing: TimedSends,
) -> (Vec<Duration>, Vec<(Duration, Duration)>, usize) {
    let model = ServerModel {
        latency: ms(300),
        ..ServerModel::default()
    };
    let limiter = LimiterConfig::Gcra {
        rate: 10.0,
        burst: 0,
    };
    let server = SimServer::new(time, model, limiter.build(), 1);
    let worker = Worker::new(time, timing, server.clone());
    pace(time, &worker, 40, 10.0, ms(2));
    let mut sends: Vec<_> = server.log().iter().map(|e| e.sent).collect();
    sends.sort();
    let rejected = server.log().iter().filter(|e| e.status == 429).count();
    let handed = worker.handed.borrow().clone();
    (sends, handed, rejected)
}

#[test]
fn sends_go_on_their_slots_however_late_the_pool_wakes() {
    let (on_time, _, _) = run(Duration::ZERO);
    // A page whose wake-ups come 25 ms late: the sends do not move.
    // (Once the margin narrows, on answers the busy pool reads later, the
    // two runs part by fractions of a millisecond.)
    let (busy, handed, rejected) = run(ms(25));
    assert_eq!(busy[..14], on_time[..14]);
    assert_eq!(rejected, 0);
    assert!(busy.windows(2).all(|w| w[1] - w[0] >= ms(100)));
    assert_eq!(busy.len(), 40);
    // The 2nd send goes one spacing (1/rate + the 2 ms margin) after the 1st.
    assert_eq!(busy[1] - busy[0], ms(102));
    // Every send went through the worker: the first at once (the page is
    // busy drawing at Start), the others ahead of their instant.
    assert_eq!(handed.len(), 40);
    assert_eq!(handed[0].0, handed[0].1);
    for &(due, at) in &handed[1..] {
        assert!(at < due, "handed over at {at:?} for {due:?}");
    }
}

#[test]
fn without_a_timed_transport_a_late_pool_sends_late() {
    let time = FakeTime::with_timers(TimerModel::Clamped {
        min: ms(4),
        late: ms(25),
    });
    let server = SimServer::new(
        &time,
        ServerModel::default(),
        LimiterConfig::Gcra {
            rate: 10.0,
            burst: 0,
        }
        .build(),
        1,
    );
    let scheduler = Scheduler::new(
        10,
        Quota::per_second(10.0).unwrap(),
        RetryPolicy::default(),
        MarginPolicy::default(),
    );
    run_pool(&time, scheduler, server.clone(), 4);
    let mut sends: Vec<_> = server.log().iter().map(|e| e.sent).collect();
    sends.sort();
    // The catch-up keeps the average, but the 2nd send is 25 ms late.
    assert!(sends[1] - sends[0] >= ms(125), "{:?}", sends[1] - sends[0]);
}

/// Sends handed over ahead were planned before the one before them went.
/// When that one goes late (the first, at a busy Start; any, when the
/// worker's thread is held up), the next one on its plan would reach a
/// strict server less than a spacing after it, and draw a 429. The worker
/// keeps the gap the pacing asks for from the send it actually made.
#[test]
fn a_late_send_pushes_the_next_one_back_by_its_lateness() {
    let late_sends = |timing: &TimedSends| {
        timing.delay(0, ms(13));
        timing.delay(9, ms(7));
        timing.delay(23, ms(4));
    };
    let time = FakeTime::new();
    let timing = TimedSends::new(&time);
    late_sends(&timing);
    let (sends, _, rejected) = run_with(&time, timing);
    assert_eq!(rejected, 0, "sends {sends:?}");
    assert!(sends.windows(2).all(|w| w[1] - w[0] >= ms(100)));
    // The gap is kept from the late send, not added to every one after
    // it: the run ends within the lateness of on time, with a margin that
    // took in at most the catch-up (3 ms) of it as jitter.
    let span = *sends.last().unwrap() - sends[0];
    assert!(span < ms(39 * 103 + 24), "span {span:?} sends {sends:?}");

    // A worker that only knows instants sends the next one too soon.
    let time = FakeTime::new();
    let timing = TimedSends::ignoring_gaps(&time);
    late_sends(&timing);
    let (_, _, rejected) = run_with(&time, timing);
    assert!(
        rejected >= 1,
        "no 429 without the gap: the test shows nothing"
    );
}

/// A sliding log that refuses one arrival whatever it counts (as a
/// send-to-arrival hiccup would make it), and counts the refusal.
struct RefusesOnce {
    log: SlidingLog,
    arrivals: usize,
    refused: usize,
}

impl Limiter for RefusesOnce {
    fn admit(&mut self, now: Duration) -> Admission {
        self.arrivals += 1;
        let admission = self.log.admit(now);
        if self.arrivals == self.refused {
            return Admission::Rejected {
                retry_after: None,
                quota: None,
            };
        }
        admission
    }
}

/// A 429 takes back the sends already handed over (they would be refused
/// too), and their slots come back: against a sliding log that counts the
/// refusal, the next send goes one spacing after the 429, and the refused
/// image goes first, the others in their order. (Kept, the slots of the
/// sends taken back held the next one two spacings longer.)
#[test]
fn a_429_takes_back_the_sends_handed_over_and_frees_their_slots() {
    let time = FakeTime::new();
    let model = ServerModel {
        latency: ms(1000),
        ..ServerModel::default()
    };
    let limiter = RefusesOnce {
        log: SlidingLog::new(4, ms(1000)),
        arrivals: 0,
        refused: 12,
    };
    let server = SimServer::new(&time, model, Box::new(limiter), 1);
    let worker = Worker::new(&time, TimedSends::new(&time), server.clone());
    let control = pace(&time, &worker, 20, 4.0, Duration::ZERO);
    let mut log = server.log();
    log.sort_by_key(|e| e.arrival);
    let statuses: Vec<_> = log.iter().map(|e| e.status).collect();
    assert_eq!(
        statuses.iter().filter(|&&s| s == 429).count(),
        1,
        "{statuses:?}"
    );
    assert_eq!(log.len(), 21);
    let refused = log.iter().position(|e| e.status == 429).unwrap();
    let spacing = control.read(|s| s.pacing().interval());
    let after = log[refused + 1].sent - log[refused].end;
    assert!(
        after <= spacing,
        "the next send went {after:?} after the 429"
    );
    let order: Vec<_> = log[refused..].iter().map(|e| e.item).collect();
    let first = log[refused].item;
    assert_eq!(order[1], first, "the refused image goes first again");
    assert!(order[2..].windows(2).all(|w| w[0] < w[1]), "{order:?}");
}
