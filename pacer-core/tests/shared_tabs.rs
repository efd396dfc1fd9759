//! Several tabs on one rate budget, on fake time:
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

use futures::channel::oneshot;
use futures::future::{join_all, select, Either, LocalBoxFuture};
use futures::FutureExt;
use pacer_core::driver::{Answer, Pool, RunControl, Transport};
use pacer_core::limiter::{FixedWindow, LeakyBucket, Limiter};
use pacer_core::schedule::{ItemId, MarginPolicy, RetryPolicy, Scheduler};
use pacer_core::shared::{Bus, Coordinator, Gated, Msg, Role};
use pacer_core::sim::{FakeTime, LogEntry, ServerModel, SimServer, TimedSends, TimerModel};
use pacer_core::{Clock, Quota, Sleep};

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

type Coord = Coordinator<FakeTime, BusySleep>;

/// How a busy browser holds things up: each event is `0..=late` late, and
/// one in `stall_every` is held up `stall.0..=stall.1` more (a long task on
/// the page's main thread, or on a loaded machine the network stack).
#[derive(Clone, Copy, Debug)]
struct Busy {
    late: Duration,
    stall_every: u64,
    stall: (Duration, Duration),
}

impl Busy {
    const NONE: Busy = Busy {
        late: Duration::ZERO,
        stall_every: 0,
        stall: (Duration::ZERO, Duration::ZERO),
    };

    fn draw(&self, rng: &mut fastrand_lite::Rng) -> Duration {
        let mut d = Duration::from_micros(rng.below(self.late.as_micros() as u64 + 1));
        if self.stall_every > 0 && rng.below(self.stall_every) == 0 {
            let (lo, hi) = self.stall;
            let span = hi.saturating_sub(lo).as_micros() as u64;
            d += lo + Duration::from_micros(rng.below(span + 1));
        }
        d
    }
}

/// A tab's timers on a busy main thread: every wake-up is late by a draw of
/// [`Busy`].
#[derive(Clone)]
struct BusySleep {
    time: FakeTime,
    busy: Busy,
    rng: Rc<RefCell<fastrand_lite::Rng>>,
}

impl Sleep for BusySleep {
    type Fut = pacer_core::sim::FakeSleep;
    fn sleep(&self, d: Duration) -> Self::Fut {
        let extra = self.busy.draw(&mut self.rng.borrow_mut());
        self.time.sleep(d + extra)
    }
}

/// A `BroadcastChannel` on fake time: every message reaches every other
/// tab `delay` (+ a little per message) after it was posted, and later
/// when the receiving tab's main thread is busy.
#[derive(Default)]
struct Net {
    tabs: RefCell<Vec<Rc<Coord>>>,
    /// Whether each tab's channel is open yet (in the browser it opens once
    /// the budget's name is hashed): messages to or from a tab whose
    /// channel is closed go nowhere.
    open: RefCell<Vec<bool>>,
    /// (due, from, to, message)
    queue: RefCell<VecDeque<(Duration, usize, usize, Msg)>>,
    wake: pacer_core::driver::Signal,
}

struct Port {
    net: Rc<Net>,
    me: usize,
    time: FakeTime,
    delay: Duration,
    busy: Busy,
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
        if !self.net.open.borrow()[self.me] {
            return;
        }
        let tabs = self.net.tabs.borrow().len();
        let mut rng = self.spread.borrow_mut();
        let extra = Duration::from_micros(rng.below(self.delay.as_micros() as u64 + 1));
        let mut q = self.net.queue.borrow_mut();
        for to in (0..tabs).filter(|&to| to != self.me) {
            let at = self.time.now() + self.delay + extra + self.busy.draw(&mut rng);
            // Same sender, same receiver: in order, like a real channel.
            let at = q
                .iter()
                .filter(|(_, from, t, _)| *from == self.me && *t == to)
                .map(|(t, _, _, _)| *t)
                .fold(at, Duration::max);
            q.push_back((at, self.me, to, msg.clone()));
        }
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
                let (due, rest): (Vec<_>, Vec<_>) = q.drain(..).partition(|(t, _, _, _)| *t <= now);
                q.extend(rest);
                due
            };
            for (_, _, to, msg) in due {
                let tab = self.tabs.borrow()[to].clone();
                if !tab.is_gone() && self.open.borrow()[to] {
                    tab.on_message(msg);
                }
            }
            let next = self.queue.borrow().iter().map(|(t, _, _, _)| *t).min();
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
    /// Send-to-arrival delays beyond the server model's own jitter.
    net: Busy,
    rng: Rc<RefCell<fastrand_lite::Rng>>,
    /// Times its own sends (the browser's worker): a send handed over goes
    /// at its instant, whatever the tab's main thread is doing.
    timing: Option<TimedSends>,
}

impl Transport for TabServer {
    type Fut = LocalBoxFuture<'static, Answer>;
    fn send(&self, item: ItemId, attempt: u32) -> Self::Fut {
        self.sends
            .borrow_mut()
            .push((self.time.now(), self.base / BASE));
        let delay = self.net.draw(&mut self.rng.borrow_mut());
        if delay.is_zero() {
            return self.server.send(self.base + item, attempt);
        }
        let (time, server, item) = (self.time.clone(), self.server.clone(), self.base + item);
        async move {
            time.sleep(delay).await;
            server.send(item, attempt).await
        }
        .boxed_local()
    }

    fn send_at(
        &self,
        item: ItemId,
        attempt: u32,
        due: Duration,
        min_gap: Duration,
        sent: oneshot::Sender<Duration>,
    ) -> Option<Self::Fut> {
        let timing = self.timing.clone()?;
        let this = self.clone();
        Some(
            async move {
                // The worker's own timer, which no page work holds up.
                let at = timing.wait(due, min_gap).await;
                let answer = this.send(item, attempt);
                let _ = sent.send(at);
                answer.await
            }
            .boxed_local(),
        )
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
    /// How long after its start a tab opens its channel and asks for the
    /// lock (in the browser: hashing the budget's name, then the lock's
    /// answer), while its pool already sends.
    elect_after: Duration,
    /// Every tab starts expecting others (in the browser: a leader of the
    /// origin, maybe of another budget, said so lately); otherwise a tab
    /// does when the lock is held at its start.
    expect_others: bool,
    /// Close this tab at this instant (pagehide: it leaves, the lock goes).
    close: Option<(usize, Duration)>,
    /// Message delivery delay between tabs (+ up to as much again).
    bus_delay: Duration,
    timers: TimerModel,
    arrival_jitter: Duration,
    /// Each tab's main thread: how late its timers wake it.
    wake: Busy,
    /// Each tab's main thread: how late it takes in a message.
    inbox: Busy,
    /// Send-to-arrival spikes.
    net: Busy,
    gated: bool,
    /// The transport times its sends ([`Transport::send_at`]).
    timed: bool,
    /// Each tab's own rate (tab i at `rates[i]`), where given; `rate` else.
    rates: &'static [f64],
    /// (tab, instant, rate): the user sets that tab's rate then.
    rate_changes: &'static [(usize, Duration, f64)],
    /// The server's latency for an admitted request.
    latency: Duration,
}

impl Setup {
    fn new(tabs: usize, items: usize) -> Self {
        Self {
            tabs,
            items,
            rate: 10.0,
            stagger: ms(300),
            elect_after: Duration::ZERO,
            expect_others: false,
            close: None,
            bus_delay: ms(1),
            timers: TimerModel::Exact,
            arrival_jitter: Duration::ZERO,
            wake: Busy::NONE,
            inbox: Busy::NONE,
            net: Busy::NONE,
            gated: true,
            timed: false,
            rates: &[],
            rate_changes: &[],
            latency: ms(1000),
        }
    }

    fn rate_of(&self, tab: usize) -> f64 {
        self.rates.get(tab).copied().unwrap_or(self.rate)
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
            latency: setup.latency,
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
            busy: setup.inbox,
            spread: RefCell::new(fastrand_lite::Rng(0x9e37_79b9 + i as u64)),
        };
        let sleep = BusySleep {
            time: time.clone(),
            busy: setup.wake,
            rng: Rc::new(RefCell::new(fastrand_lite::Rng(0x5bd1_e995 + i as u64))),
        };
        let coord = Coord::new(
            1000 + i as u64 * 7919,
            setup.rate_of(i),
            time.clone(),
            sleep,
            Box::new(port),
        );
        let roles = Rc::clone(&roles);
        coord.on_role(move |role, _| roles.borrow_mut()[i].push(role));
        coords.push(coord);
    }
    *net.tabs.borrow_mut() = coords.clone();
    *net.open.borrow_mut() = vec![!setup.gated; setup.tabs];
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
                Quota::per_second(setup.rate_of(i)).unwrap(),
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
                    net: setup.net,
                    rng: Rc::new(RefCell::new(fastrand_lite::Rng(0x27d4_eb2d + i as u64))),
                    timing: setup.timed.then(|| TimedSends::new(&time)),
                },
                setup.gated.then(|| Rc::clone(&coord)),
            );
            let pool = Pool::new(control, time.clone(), time.clone(), transport, ());
            let elect = |net: Rc<Net>, lock: Rc<Lock>| {
                net.open.borrow_mut()[i] = true;
                lock.request(&net, i);
            };
            if setup.expect_others || lock.holder.borrow().is_some() {
                coord.expect_others();
            }
            let late_election = setup.gated && !setup.elect_after.is_zero();
            if setup.gated && !late_election {
                elect(Rc::clone(&net), Rc::clone(&lock));
            }
            let elect = {
                let (net, lock, time) = (Rc::clone(&net), Rc::clone(&lock), time.clone());
                async move {
                    if late_election {
                        time.sleep(setup.elect_after).await;
                        elect(net, lock);
                    }
                }
            };
            let rate_changes = {
                let (pool, coord, time) = (Rc::clone(&pool), Rc::clone(&coord), time.clone());
                async move {
                    for &(_, at, rate) in setup.rate_changes.iter().filter(|c| c.0 == i) {
                        time.sleep(at.saturating_sub(time.now())).await;
                        // As the page does: the tab's own pacing, then the budget.
                        let quota = Quota::per_second(rate).unwrap();
                        pool.control().update(|s| s.set_quota(quota));
                        coord.set_rate(rate);
                    }
                }
            };
            let pump = Rc::clone(&coord).run();
            let work = futures::future::join3(pool.run(16), elect, rate_changes);
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
    let max_in_second = pacer_core::sim::max_in_window(&arrivals, Duration::from_secs(1));
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

/// A busy main thread, as measured in headless Chromium with two and three
/// tabs on a loaded 2-core machine (e2e/tests/multitab.spec.ts prints these
/// diagnostics): sends woke 1–2 ms after their grant's instant, and a grant
/// planned 25 ms ahead reached its tab late about one time in 20, by up to
/// tens of ms. The old protocol gave such a grant's slot up (a lost
/// interval each time) and let a late send bunch against the next one:
/// 0.67–0.84 of the limit and 3–7 % 429s in the browser, 0.91 and 1.1 %
/// here.
const LATE_WAKE: Busy = Busy {
    late: Duration::from_micros(1000),
    stall_every: 0,
    stall: (Duration::ZERO, Duration::ZERO),
};
const SLOW_INBOX: Busy = Busy {
    late: Duration::from_micros(1000),
    stall_every: 20,
    stall: (Duration::from_millis(10), Duration::from_millis(40)),
};
/// Besides, one wake-up in 25 held up 10–50 ms by a long task of the page.
const STALLING_WAKE: Busy = Busy {
    stall_every: 25,
    stall: (Duration::from_millis(10), Duration::from_millis(50)),
    ..LATE_WAKE
};

fn busy(tabs: usize, wake: Busy) -> Figures {
    busy_timed(tabs, wake, false)
}

fn busy_timed(tabs: usize, wake: Busy, timed: bool) -> Figures {
    let setup = Setup {
        wake,
        inbox: SLOW_INBOX,
        arrival_jitter: ms(2),
        timed,
        ..Setup::new(tabs, 150)
    };
    let out = run(setup, strict(10.0));
    figures(&out.log, tabs)
}

#[test]
fn late_grants_on_a_busy_main_thread_cost_no_interval() {
    for tabs in [2, 3] {
        let f = busy(tabs, LATE_WAKE);
        check_shared(&f, 10.0, &format!("{tabs} tabs, late grants"));
    }
}

#[test]
fn a_main_thread_held_up_by_long_tasks_costs_what_it_holds_up() {
    // A send held up by a long task goes that much later, and so does
    // every send after it (a strict limiter counts from the last arrival):
    // one in 25 held up 30 ms on average costs 1.2 %, besides the margin
    // and the late wake-ups. It must not cost whole intervals.
    for tabs in [2, 3] {
        let f = busy(tabs, STALLING_WAKE);
        eprintln!(
            "{tabs} tabs, long tasks: {:.3} of the limit, {} × 429 of {}",
            f.throughput / 10.0,
            f.rejected,
            f.sends
        );
        assert!(f.throughput >= 0.95 * 10.0, "{:.3}/s", f.throughput);
        assert!(f.rejected as f64 <= 0.01 * f.sends as f64);
        assert!(f.throughput <= 10.0 * 1.001);
    }
}

#[test]
fn sends_a_worker_times_go_on_time_however_busy_the_page() {
    // The same long tasks, but each granted send is handed to a transport
    // that times it (the browser's worker) 30 ms ahead: only a wake-up
    // held up longer than that still goes late.
    for tabs in [2, 3] {
        let page = busy(tabs, STALLING_WAKE);
        let f = busy_timed(tabs, STALLING_WAKE, true);
        eprintln!(
            "{tabs} tabs, long tasks, timed sends: {:.3} of the limit (sent by the page: {:.3}), {} × 429 of {}",
            f.throughput / 10.0,
            page.throughput / 10.0,
            f.rejected,
            f.sends
        );
        assert!(f.throughput >= 0.97 * 10.0, "{:.3}/s", f.throughput);
        assert!(f.throughput > page.throughput);
        assert!(f.rejected as f64 <= 0.01 * f.sends as f64);
        assert!(f.max_in_second <= 11);
        assert!(f.per_tab.iter().all(|&n| n == 150));
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

/// What the bench does: the tabs start a few tens of ms apart, and each
/// opens its channel and gets the lock's answer some ms after its pool
/// started sending (the budget's name is hashed first). Measured in the
/// bench before the fix: a third or more of the 429s in the first 1.5 s.
#[test]
fn tabs_that_start_close_together_get_no_burst() {
    let mut failed = Vec::new();
    // One tab too: its first sends wait for the election, the next keep
    // the spacing after them.
    for tabs in [1, 2, 3] {
        for (stagger, elect) in [(40, 5), (60, 20), (120, 30), (250, 60)] {
            let setup = Setup {
                stagger: ms(stagger),
                elect_after: ms(elect),
                ..Setup::new(tabs, 60)
            };
            let out = run(setup, strict(10.0));
            let f = figures(&out.log, tabs);
            let early: Vec<_> = out
                .log
                .iter()
                .filter(|e| e.status == 429)
                .map(|e| e.arrival)
                .collect();
            eprintln!(
                "{tabs} tabs {stagger} ms apart, elected {elect} ms after the start: {} × 429 of {} at {early:?}, min gap {:?}",
                f.rejected, f.sends, f.min_gap
            );
            if f.rejected > 0 || f.min_gap < ms(99) {
                failed.push((tabs, stagger, elect, f.rejected));
            }
        }
    }
    assert!(failed.is_empty(), "429s or gaps under 99 ms: {failed:?}");
}

/// A tab that expects others (a leader of the origin was seen lately) but
/// finds itself alone: its first sends wait for the election, the next keep
/// the spacing after them, and it then paces as a lone tab.
#[test]
fn a_tab_that_waited_for_the_election_and_is_alone_gets_no_burst() {
    for elect in [5, 30, 150, 250] {
        let setup = Setup {
            elect_after: ms(elect),
            expect_others: true,
            ..Setup::new(1, 60)
        };
        let out = run(setup, strict(10.0));
        let f = figures(&out.log, 1);
        eprintln!(
            "alone, elected {elect} ms after the start: {} × 429 of {}, {:.3} of the limit, min gap {:?}",
            f.rejected,
            f.sends,
            f.throughput / 10.0,
            f.min_gap
        );
        assert_eq!(f.rejected, 0);
        assert!(f.min_gap >= ms(99), "{:?}", f.min_gap);
        assert!(f.throughput >= 0.97 * 10.0);
    }
}

/// The browser's send-to-arrival delays as the multitab spec measured them
/// over TLS/h2 on a 2-core machine (fetch() to the emulator's arrival):
/// p50 ~2.5 ms, p99 ~25 ms, max tens of ms. A request that takes 10–30 ms
/// longer than the one after it makes that one arrive within the spacing:
/// a strict limiter refuses it. No pacer sees it coming; the margin is
/// what absorbs the smaller of them.
const NET_SPIKES: Busy = Busy {
    late: Duration::from_micros(3000),
    stall_every: 30,
    stall: (Duration::from_millis(5), Duration::from_millis(40)),
};

fn spiky(tabs: usize, seed_items: usize) -> Figures {
    let setup = Setup {
        wake: LATE_WAKE,
        inbox: SLOW_INBOX,
        net: NET_SPIKES,
        ..Setup::new(tabs, seed_items)
    };
    let out = run(setup, strict(10.0));
    figures(&out.log, tabs)
}

/// What the bench's mid-run 429s are: each after a request that took
/// 5–40 ms longer to arrive than the next one, with grants and sends spaced
/// right. The margin absorbs the few-ms ones; the rest cost a 429 each
/// (here ~2 %), never a burst, and no tab falls behind.
#[test]
fn network_spikes_cost_a_429_each_and_no_burst() {
    for tabs in [2, 3] {
        let f = spiky(tabs, 150);
        eprintln!(
            "{tabs} tabs, network spikes: {:.3} of the limit, {} × 429 of {} ({:.1} %), max {} in 1 s",
            f.throughput / 10.0,
            f.rejected,
            f.sends,
            100.0 * f.rejected as f64 / f.sends as f64,
            f.max_in_second
        );
        assert!(f.max_in_second <= 11, "{}", f.max_in_second);
        assert!(f.throughput <= 10.0 * 1.001);
        assert!(f.rejected as f64 <= 0.05 * f.sends as f64);
        for n in &f.per_tab {
            assert_eq!(*n, 150);
        }
    }
}

/// A new leader adopts the old one's margin; at a higher rate that margin
/// can be over the new leader's cap (4 % of its interval). Regression: the
/// first change of the shared rate after such a handover panicked in the
/// margin's clamp (floor over cap), and the tab froze with its sends held.
/// Tab 0 at 2/s leads, tab 1 at 50/s follows; tab 0 closes, then tab 1's
/// rate goes through 10, 30, 5 and back to 50. Tab 1 keeps within each
/// rate, draws no 429 from a limiter at 50/s, and finishes.
#[test]
fn rates_changed_after_a_handover_from_a_slower_leader() {
    const CHANGES: &[(usize, Duration, f64)] = &[
        (1, ms_const(6_000), 10.0),
        (1, ms_const(7_000), 30.0),
        (1, ms_const(8_000), 5.0),
        (1, ms_const(9_000), 50.0),
    ];
    let setup = Setup {
        rates: &[2.0, 50.0],
        rate_changes: CHANGES,
        close: Some((0, ms(5_000))),
        stagger: ms(300),
        latency: ms(100),
        ..Setup::new(2, 300)
    };
    let out = run(setup, strict(50.0));
    let f = figures(&out.log, 2);
    // The budget's rate over each stretch (both tabs' sends before the
    // close, tab 1's after it), with 150 ms for a change to take effect.
    let stretches = [
        (ms(300), ms(5_000), 2.0),
        (ms(5_000), ms(6_000), 50.0),
        (ms(6_000), ms(7_000), 10.0),
        (ms(7_000), ms(8_000), 30.0),
        (ms(8_000), ms(9_000), 5.0),
    ];
    for (from, to, rate) in stretches {
        let from = from + ms(150);
        let n = out.sends.iter().filter(|s| s.0 >= from && s.0 < to).count();
        let most = ((to - from).as_secs_f64() * rate).ceil() as usize + 1;
        eprintln!("at {rate}/s from {from:?} to {to:?}: {n} sends (at most {most})");
        assert!(n <= most, "{n} sends at {rate}/s from {from:?} to {to:?}");
        assert!(
            n as f64 >= 0.8 * (to - from).as_secs_f64() * rate - 1.0,
            "{n} sends at {rate}/s from {from:?} to {to:?}: stalled"
        );
    }
    eprintln!(
        "handover from 2/s to 50/s, rate changed 4 times: tab 1 done {}, {} × 429 of {}",
        f.per_tab[1], f.rejected, f.sends
    );
    assert_eq!(f.per_tab[1], 300, "tab 1 finished");
    assert!(f.rejected as f64 <= 0.01 * f.sends as f64);
}

const fn ms_const(n: u64) -> Duration {
    Duration::from_millis(n)
}
