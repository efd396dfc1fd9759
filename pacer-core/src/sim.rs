//! The fake-clock simulator: the real [`crate::driver::Pool`] and
//! [`crate::schedule::Scheduler`] against a model server, on fake time.
//!
//! A simulated run of thousands of requests over hours of simulated time
//! takes milliseconds, so pacing invariants are checked exhaustively (tests
//! and `proptest`), not by sleeping.

mod fake_time;
mod report;
mod server;
mod timed_sends;

pub use fake_time::{FakeSleep, FakeTime, TimerModel};
pub use report::{max_in_window, Convergence, SimReport};
pub use server::{LogEntry, ServerModel, SimServer};
pub use timed_sends::TimedSends;

use std::time::Duration;

use crate::driver::{Pool, RunControl, Transport};
use crate::gcra::Quota;
use crate::limiter::{Admission, Limiter, LimiterConfig};
use crate::schedule::{MarginPolicy, RetryPolicy, Scheduler};

/// A limiter that admits everything (to measure the pacer alone).
#[derive(Clone, Copy, Debug, Default)]
pub struct Unlimited;

impl Limiter for Unlimited {
    fn admit(&mut self, _now: Duration) -> Admission {
        Admission::Allowed { quota: None }
    }
}

/// One simulated run.
#[derive(Clone, Copy, Debug)]
pub struct SimConfig {
    /// Work items.
    pub items: usize,
    /// The client's allotted quota.
    pub quota: Quota,
    /// Workers.
    pub concurrency: usize,
    /// The server's limiter (`None`: unlimited).
    pub limiter: Option<LimiterConfig>,
    /// Network and server behaviour.
    pub server: ServerModel,
    /// How late the client's timers fire.
    pub timers: TimerModel,
    /// The client's safety-margin policy.
    pub margin: MarginPolicy,
    /// The client's retry policy.
    pub retry: RetryPolicy,
    /// Seed of the server's randomness.
    pub seed: u64,
    /// Probe for the limit from `quota`'s rate ("auto" rate).
    pub probe: Option<crate::schedule::ProbePolicy>,
}

impl SimConfig {
    /// `items` at `rate`/s with burst 1, 16 workers, an unlimited server of
    /// 300 ms latency, exact timers, default margin and retries.
    pub fn new(items: usize, rate: f64) -> Self {
        Self {
            items,
            quota: Quota::per_second(rate).expect("rate > 0"),
            concurrency: 16,
            limiter: None,
            server: ServerModel::default(),
            timers: TimerModel::Exact,
            margin: MarginPolicy::default(),
            retry: RetryPolicy::default(),
            seed: 1,
            probe: None,
        }
    }

    /// Runs it to the end and reports what the server saw.
    pub fn run(&self) -> SimReport {
        let limiter: Box<dyn Limiter> = match self.limiter {
            Some(config) => config.build(),
            None => Box::new(Unlimited),
        };
        self.run_with(limiter)
    }

    /// Runs it against `limiter` instead of [`SimConfig::limiter`] (a model
    /// [`LimiterConfig`] cannot describe, e.g. Kong's loose counting or
    /// stacked limiters).
    pub fn run_with(&self, limiter: Box<dyn Limiter>) -> SimReport {
        let time = FakeTime::with_timers(self.timers);
        let server = SimServer::new(&time, self.server, limiter, self.seed);
        let mut scheduler = Scheduler::new(self.items, self.quota, self.retry, self.margin);
        scheduler.set_probe(self.probe);
        let control = run_pool(&time, scheduler, server.clone(), self.concurrency);
        SimReport::new(
            server.log(),
            control.read(|s| s.counts()),
            control.read(|s| s.pacing().clone()),
        )
    }
}

/// Runs `scheduler` to its end on `time`, through `transport` with
/// `concurrency` workers; its control then reads what the run came to.
pub fn run_pool<T: Transport>(
    time: &FakeTime,
    scheduler: Scheduler,
    transport: T,
    concurrency: usize,
) -> RunControl {
    let control = RunControl::new(scheduler);
    let pool = Pool::new(control.clone(), time.clone(), time.clone(), transport, ());
    time.block_on(pool.run(concurrency));
    control
}
