//! Several tabs on one rate budget (issue "5/5", item 1), on fake time:
//! two or three simulated tabs, each with its own scheduler and pool of
//! workers, elect a leader (a FIFO lock, as Web Locks grant), exchange
//! messages over a simulated `BroadcastChannel` with a delay, and send to
//! one simulated server running the real limiter models (nginx burst 0,
//! Kong fixed window). The server's log is the ground truth: combined
//! arrivals never over the limit, 429s at most 1 %, combined throughput at
//! least 0.97 of the limit, every tab progresses, and closing the leading
//! tab mid-run leaves no gap between arrivals longer than one extra
//! interval.

use std::cell::RefCell;
use std::collections::VecDeque;
use std::rc::Rc;
use std::time::Duration;

use futures::future::{join_all, select, Either, LocalBoxFuture};
use futures::FutureExt;
use pacer_core::driver::{Answer, Pool, RunControl, Transport};
use pacer_core::limiter::{FixedWindow, LeakyBucket, Limiter};
use pacer_core::schedule::{ItemId, MarginPolicy, RetryPolicy, Scheduler};
use pacer_core::shared::{Bus, Coordinator, Gated, Msg, Role};
use pacer_core::sim::{FakeTime, LogEntry, ServerModel, SimServer, TimerModel};
use pacer_core::{Clock, Quota, Sleep};

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

type Coord = Coordinator<FakeTime, FakeTime>;

/// A `BroadcastChannel` on fake time: every message reaches every other
/// tab `delay` (+ a little per message) after it was posted.
#[derive(Default)]
struct Net {
    tabs: RefCell<Vec<Rc<Coord>>>,
    queue: RefCell<VecDeque<(Duration, usize, Msg)>>,
    wake: pacer_core::driver::Signal,
}

struct Port {
    net: Rc<Net>,
    me: usize,
    time: FakeTime,
    delay: Duration,
    spread: RefCell<fastrand_lite::Rng>,
}

mod fastrand_lite {
    /// A tiny xorshift, to vary the delivery delay deterministically.
    pub struct Rng(pub u64);
    impl Rng {
        pub fn below(&mut self, n: u64) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            if n == 0 {
                0
            } else {
                self.0 % n
            }
        }
    }
}

impl Bus for Port {
    fn post(&self, msg: &Msg) {
        let extra = Duration::from_micros(
            self.spread
                .borrow_mut()
                .below(self.delay.as_micros() as u64 + 1),
        );
        let at = self.time.now() + self.delay + extra;
        let mut q = self.net.queue.borrow_mut();
        // Same sender: in order, like a real channel.
        let at = q
            .iter()
            .filter(|(_, from, _)| *from == self.me)
            .map(|(t, _, _)| *t)
            .fold(at, Duration::max);
        q.push_back((at, self.me, msg.clone()));
        drop(q);
        self.net.wake.notify_all();
    }
}

impl Net {
    async fn run(self: Rc<Self>, time: FakeTime) {
        loop {
            let listener = self.wake.listen();
            let now = time.now();
            let due: Vec<_> = {
                let mut q = self.queue.borrow_mut();
                let (due, rest): (Vec<_>, Vec<_>) = q.drain(..).partition(|(t, _, _)| *t <= now);
                q.extend(rest);
                due
            };
            for (_, from, msg) in due {
                let tabs = self.tabs.borrow().clone();
                for (i, tab) in tabs.iter().enumerate() {
                    if i != from && !tab.is_gone() {
                        tab.on_message(msg.clone());
                    }
                }
            }
            let next = self.queue.borrow().iter().map(|(t, _, _)| *t).min();
            match next {
                Some(at) => {
                    let _ = select(Box::pin(time.sleep(at.saturating_sub(now))), listener).await;
                }
                None => listener.await,
            }
        }
    }
}

/// Web Locks, as far as the election needs: one holder, a FIFO queue.
#[derive(Default)]
struct Lock {
    holder: RefCell<Option<usize>>,
    queue: RefCell<VecDeque<usize>>,
}

impl Lock {
    fn request(&self, net: &Net, me: usize) {
        let tab = net.tabs.borrow()[me].clone();
        if self.holder.borrow().is_none() {
            *self.holder.borrow_mut() = Some(me);
            tab.lead();
        } else {
            self.queue.borrow_mut().push_back(me);
            tab.follow();
        }
    }

    fn release(&self, net: &Net, me: usize) {
        self.queue.borrow_mut().retain(|&t| t != me);
        if *self.holder.borrow() != Some(me) {
            return;
        }
        let next = self.queue.borrow_mut().pop_front();
        *self.holder.borrow_mut() = next;
        if let Some(next) = next {
            let tab = net.tabs.borrow()[next].clone();
            tab.lead();
        }
    }
}

/// The server, with each tab's items numbered apart.
#[derive(Clone)]
struct TabServer {
    server: SimServer,
    base: usize,
    time: FakeTime,
    /// Every send (instant, tab), answered or not (a closed tab's
    /// requests on the wire are never answered, but they arrived).
    sends: Rc<RefCell<Vec<(Duration, usize)>>>,
}

impl Transport for TabServer {
    type Fut = LocalBoxFuture<'static, Answer>;
    fn send(&self, item: ItemId, attempt: u32) -> Self::Fut {
        self.sends
            .borrow_mut()
            .push((self.time.now(), self.base / BASE));
        self.server.send(self.base + item, attempt)
    }
}

const BASE: usize = 100_000;

#[derive(Clone, Copy)]
struct Setup {
    tabs: usize,
    items: usize,
    rate: f64,
    /// When each tab starts (tab i at i × stagger).
    stagger: Duration,
    /// Close this tab at this instant (pagehide: it leaves, the lock goes).
    close: Option<(usize, Duration)>,
    /// Message delivery delay between tabs (+ up to as much again).
    bus_delay: Duration,
    timers: TimerModel,
    arrival_jitter: Duration,
    gated: bool,
}

impl Setup {
    fn new(tabs: usize, items: usize) -> Self {
        Self {
            tabs,
            items,
            rate: 10.0,
            stagger: ms(300),
            close: None,
            bus_delay: ms(1),
            timers: TimerModel::Exact,
            arrival_jitter: Duration::ZERO,
            gated: true,
        }
    }
}

struct Outcome {
    log: Vec<LogEntry>,
    sends: Vec<(Duration, usize)>,
    roles: Vec<Vec<Role>>,
}

fn run(setup: Setup, limiter: Box<dyn Limiter>) -> Outcome {
    let time = FakeTime::with_timers(setup.timers);
    let server = SimServer::new(
        &time,
        ServerModel {
            latency: ms(1000),
            arrival_jitter: setup.arrival_jitter,
            ..ServerModel::default()
        },
        limiter,
        7,
    );
    let sends: Rc<RefCell<Vec<(Duration, usize)>>> = Rc::default();
    let net = Rc::new(Net::default());
    let lock = Rc::new(Lock::default());
    let roles: Rc<RefCell<Vec<Vec<Role>>>> = Rc::new(RefCell::new(vec![Vec::new(); setup.tabs]));
    let mut coords = Vec::new();
    for i in 0..setup.tabs {
        let port = Port {
            net: Rc::clone(&net),
            me: i,
            time: time.clone(),
            delay: setup.bus_delay,
            spread: RefCell::new(fastrand_lite::Rng(0x9e37_79b9 + i as u64)),
        };
        let coord = Coord::new(
            1000 + i as u64 * 7919,
            setup.rate,
            time.clone(),
            time.clone(),
            Box::new(port),
        );
        let roles = Rc::clone(&roles);
        coord.on_role(move |role, _| roles.borrow_mut()[i].push(role));
        coords.push(coord);
    }
    *net.tabs.borrow_mut() = coords.clone();
    let tabs = (0..setup.tabs).map(|i| {
        let coord = Rc::clone(&coords[i]);
        let time = time.clone();
        let server = server.clone();
        let sends = Rc::clone(&sends);
        let net = Rc::clone(&net);
        let lock = Rc::clone(&lock);
        async move {
            time.sleep(setup.stagger * i as u32).await;
            let scheduler = Scheduler::new(
                setup.items,
                Quota::per_second(setup.rate).unwrap(),
                RetryPolicy::default(),
                MarginPolicy::default(),
            );
            let control = RunControl::new(scheduler);
            let transport = Gated::new(
                TabServer {
                    server,
                    base: i * BASE,
                    time: time.clone(),
                    sends,
                },
                setup.gated.then(|| Rc::clone(&coord)),
            );
            let pool = Pool::new(control, time.clone(), time.clone(), transport, ());
            if setup.gated {
                lock.request(&net, i);
            }
            let pump = Rc::clone(&coord).run();
            let work = pool.run(16);
            let closing = async {
                match setup.close {
                    Some((tab, at)) if tab == i => time.sleep(at.saturating_sub(time.now())).await,
                    _ => futures::future::pending::<()>().await,
                }
            };
            let work = select(Box::pin(work), Box::pin(closing));
            match select(work, Box::pin(pump)).await {
                Either::Left(_) | Either::Right(_) => {}
            }
            coord.leave();
            lock.release(&net, i);
        }
        .boxed_local()
    });
    let all = join_all(tabs);
    let bus = Rc::clone(&net).run(time.clone());
    time.block_on(async {
        match select(Box::pin(all), Box::pin(bus)).await {
            Either::Left(_) => {}
            Either::Right(_) => unreachable!(),
        }
    });
    let mut log = server.log();
    log.sort_by_key(|e| e.arrival);
    let roles = roles.borrow().clone();
    let mut sends = sends.borrow().clone();
    sends.sort();
    Outcome { log, sends, roles }
}

fn strict(rate: f64) -> Box<dyn Limiter> {
    Box::new(LeakyBucket::new(rate, 0))
}

fn window(limit: u32) -> Box<dyn Limiter> {
    Box::new(FixedWindow::new(limit.try_into().unwrap()))
}

/// Figures of a run from the server's log.
struct Figures {
    successes: usize,
    rejected: usize,
    sends: usize,
    /// Successes per second over the span all tabs ran together.
    throughput: f64,
    per_tab: Vec<usize>,
    max_in_second: usize,
    min_gap: Duration,
}

fn figures(log: &[LogEntry], tabs: usize) -> Figures {
    let ok: Vec<&LogEntry> = log.iter().filter(|e| e.status == 200).collect();
    let arrivals: Vec<Duration> = ok.iter().map(|e| e.arrival).collect();
    let span = arrivals.last().unwrap().saturating_sub(arrivals[0]);
    let mut per_tab = vec![0; tabs];
    for e in &ok {
        per_tab[e.item / BASE] += 1;
    }
    let max_in_second = pacer_core::sim::SimReport::max_in(&arrivals, Duration::from_secs(1));
    let min_gap = arrivals
        .windows(2)
        .map(|w| w[1] - w[0])
        .min()
        .unwrap_or_default();
    Figures {
        successes: ok.len(),
        rejected: log.iter().filter(|e| e.status == 429).count(),
        sends: log.len(),
        throughput: (ok.len() - 1) as f64 / span.as_secs_f64(),
        per_tab,
        max_in_second,
        min_gap,
    }
}

fn check_shared(f: &Figures, rate: f64, label: &str) {
    eprintln!(
        "{label}: {} ok, {} × 429 of {} sends, {:.3}/s ({:.3} of {rate}), per tab {:?}, max {} in 1 s, min gap {:?}",
        f.successes,
        f.rejected,
        f.sends,
        f.throughput,
        f.throughput / rate,
        f.per_tab,
        f.max_in_second,
        f.min_gap
    );
    assert!(
        f.rejected as f64 <= 0.01 * f.sends as f64,
        "{label}: {} 429s of {} sends",
        f.rejected,
        f.sends
    );
    assert!(
        f.throughput >= 0.97 * rate,
        "{label}: {:.3}/s is under 0.97 × {rate}",
        f.throughput
    );
    assert!(
        f.throughput <= rate * 1.001,
        "{label}: {:.3}/s is over the limit {rate}",
        f.throughput
    );
    assert!(
        f.max_in_second <= rate as usize + 1,
        "{label}: {} successes in one second",
        f.max_in_second
    );
}

#[test]
fn two_and_three_tabs_share_a_strict_limit() {
    for tabs in [2, 3] {
        let setup = Setup::new(tabs, 150);
        let out = run(setup, strict(10.0));
        let f = figures(&out.log, tabs);
        check_shared(&f, 10.0, &format!("{tabs} tabs, nginx burst 0"));
        // Strictly one per 100 ms at the server (ms granularity).
        assert!(f.min_gap >= ms(99), "{:?}", f.min_gap);
        for (i, n) in f.per_tab.iter().enumerate() {
            assert_eq!(*n, 150, "tab {i} finished");
        }
        // Every tab shared, and exactly one led at a time.
        for r in &out.roles {
            assert!(r
                .iter()
                .any(|r| matches!(r, Role::Leader { .. } | Role::Follower { .. })));
        }
    }
}

#[test]
fn tabs_share_fairly_while_they_run_together() {
    let setup = Setup::new(3, 200);
    let out = run(setup, strict(10.0));
    // Over the first 20 s, when all three are running, each gets about a third.
    let mut per_tab = [0usize; 3];
    for e in out
        .log
        .iter()
        .filter(|e| e.status == 200 && e.arrival < ms(20_000))
    {
        if e.arrival > ms(2_000) {
            per_tab[e.item / BASE] += 1;
        }
    }
    let total: usize = per_tab.iter().sum();
    eprintln!("2–20 s: {per_tab:?}");
    for n in per_tab {
        assert!((n as f64 - total as f64 / 3.0).abs() <= 3.0, "{per_tab:?}");
    }
}

#[test]
fn tabs_share_a_fixed_window_limit() {
    for tabs in [2, 3] {
        let setup = Setup::new(tabs, 150);
        let out = run(setup, window(10));
        let f = figures(&out.log, tabs);
        check_shared(&f, 10.0, &format!("{tabs} tabs, fixed window"));
    }
}

#[test]
fn browser_like_timers_and_jitter_cost_at_most_one_percent() {
    for tabs in [2, 3] {
        let setup = Setup {
            timers: TimerModel::Clamped {
                min: ms(0),
                late: Duration::from_micros(1500),
            },
            arrival_jitter: ms(2),
            bus_delay: ms(2),
            ..Setup::new(tabs, 150)
        };
        let out = run(setup, strict(10.0));
        let f = figures(&out.log, tabs);
        check_shared(&f, 10.0, &format!("{tabs} tabs, late timers, 2 ms jitter"));
    }
}

/// The largest gap between consecutive arrivals in `[from, to]`.
fn largest_gap(sends: &[(Duration, usize)], from: Duration, to: Duration) -> (Duration, Duration) {
    let arrivals: Vec<Duration> = sends
        .iter()
        .map(|e| e.0)
        .filter(|&a| a >= from && a <= to)
        .collect();
    arrivals
        .windows(2)
        .map(|w| (w[1] - w[0], w[0]))
        .max()
        .unwrap_or_default()
}

#[test]
fn closing_the_leader_mid_run_hands_over_without_burst_or_stall() {
    for tabs in [2, 3] {
        for close_ms in [5_000, 5_037, 5_050, 5_075, 5_099] {
            let close = ms(close_ms);
            let setup = Setup {
                close: Some((0, close)),
                ..Setup::new(tabs, 150)
            };
            let out = run(setup, strict(10.0));
            let f = figures(&out.log, tabs);
            let (gap, at) = largest_gap(&out.sends, close - ms(2_000), close + ms(2_000));
            eprintln!(
                "{tabs} tabs, leader closed at {close:?}: largest gap {gap:?} at {at:?}; {} × 429",
                f.rejected
            );
            assert_eq!(f.rejected, 0, "no burst at the handover");
            assert!(f.min_gap >= ms(99));
            // One interval (+ the margin, + the new leader's lead time):
            // no stall longer than one emission interval beyond the normal.
            assert!(gap <= ms(200), "gap {gap:?} at {at:?}");
            // The others finished everything.
            for (i, n) in f.per_tab.iter().enumerate().skip(1) {
                assert_eq!(*n, 150, "tab {i}");
            }
            assert!(
                out.roles[1]
                    .iter()
                    .any(|r| matches!(r, Role::Leader { .. }))
                    || tabs == 3
            );
        }
    }
}

#[test]
fn a_lone_tab_sends_exactly_as_without_sharing() {
    let run_one = |gated: bool| {
        let setup = Setup {
            gated,
            timers: TimerModel::Clamped {
                min: ms(1),
                late: Duration::from_micros(700),
            },
            ..Setup::new(1, 80)
        };
        run(setup, strict(10.0)).log
    };
    let with = run_one(true);
    let without = run_one(false);
    let a: Vec<_> = with.iter().map(|e| (e.arrival, e.status)).collect();
    let b: Vec<_> = without.iter().map(|e| (e.arrival, e.status)).collect();
    assert_eq!(a, b);
}

#[test]
fn a_tab_that_joins_a_lone_one_gets_no_burst() {
    // The first tab runs alone for 3 s (ungated), then a second one joins.
    let setup = Setup {
        stagger: ms(3_033),
        ..Setup::new(2, 100)
    };
    let out = run(setup, strict(10.0));
    let f = figures(&out.log, 2);
    check_shared(&f, 10.0, "join after 3 s");
    assert_eq!(f.rejected, 0);
    assert!(f.min_gap >= ms(99), "{:?}", f.min_gap);
}
