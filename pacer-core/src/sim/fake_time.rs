//! Fake time: a clock that moves only when everything is waiting, timers
//! that can be made late like a browser's, and a tiny executor that runs a
//! future to completion on it — instantly, however long the simulated run.

use std::cell::RefCell;
use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap};
use std::future::Future;
use std::pin::{pin, Pin};
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};
use std::time::Duration;

use crate::time::{Clock, Sleep};

/// How late the simulated browser fires timers.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum TimerModel {
    /// Exactly on time.
    Exact,
    /// Never sooner than `min` after being set, then `late` more (browsers
    /// clamp nested timeouts to 4 ms and fire a little late).
    Clamped {
        /// Shortest wait.
        min: Duration,
        /// Added to every wait.
        late: Duration,
    },
    /// Fires only on multiples of `period` (a hidden tab: 1 s, then 60 s).
    Aligned {
        /// The throttling period.
        period: Duration,
    },
}

impl TimerModel {
    fn deadline(self, now: Duration, wait: Duration) -> Duration {
        match self {
            TimerModel::Exact => now + wait,
            TimerModel::Clamped { min, late } => now + wait.max(min) + late,
            TimerModel::Aligned { period } => {
                let due = (now + wait).as_nanos();
                let p = period.as_nanos().max(1);
                let aligned = due.div_ceil(p) * p;
                Duration::from_nanos(aligned as u64)
            }
        }
    }
}

#[derive(Default)]
struct Inner {
    now: Duration,
    seq: u64,
    due: BinaryHeap<Reverse<(Duration, u64)>>,
    wakers: BTreeMap<u64, Waker>,
}

/// A fake clock with timers. Cloning shares the same time.
#[derive(Clone)]
pub struct FakeTime {
    inner: Rc<RefCell<Inner>>,
    timers: TimerModel,
}

impl FakeTime {
    /// Time zero, timers exact.
    pub fn new() -> Self {
        Self::with_timers(TimerModel::Exact)
    }

    /// Time zero, timers as `model` says (for the pacer's own sleeps).
    pub fn with_timers(timers: TimerModel) -> Self {
        Self {
            inner: Rc::default(),
            timers,
        }
    }

    /// The same clock, with exact timers (for the simulated network, which a
    /// hidden tab does not slow down).
    pub fn exact(&self) -> Self {
        Self {
            inner: Rc::clone(&self.inner),
            timers: TimerModel::Exact,
        }
    }

    /// Moves time to the next due timer and wakes every timer due then.
    /// False when no timer is pending.
    fn advance(&self) -> bool {
        let mut inner = self.inner.borrow_mut();
        let Some(&Reverse((at, _))) = inner.due.peek() else {
            return false;
        };
        inner.now = inner.now.max(at);
        while let Some(&Reverse((at, id))) = inner.due.peek() {
            if at > inner.now {
                break;
            }
            inner.due.pop();
            if let Some(w) = inner.wakers.remove(&id) {
                w.wake();
            }
        }
        true
    }

    /// Runs `fut` to completion on fake time. Panics if it waits with no
    /// timer pending (a deadlock in the code under test).
    pub fn block_on<F: Future>(&self, fut: F) -> F::Output {
        let flag = Arc::new(Flag(AtomicBool::new(true)));
        let waker = Waker::from(Arc::clone(&flag));
        let mut cx = Context::from_waker(&waker);
        let mut fut = pin!(fut);
        loop {
            flag.0.store(false, Ordering::SeqCst);
            if let Poll::Ready(out) = fut.as_mut().poll(&mut cx) {
                return out;
            }
            if flag.0.load(Ordering::SeqCst) {
                continue;
            }
            assert!(
                self.advance(),
                "deadlock: the run waits but no timer is pending"
            );
        }
    }
}

impl Default for FakeTime {
    fn default() -> Self {
        Self::new()
    }
}

struct Flag(AtomicBool);

impl Wake for Flag {
    fn wake(self: Arc<Self>) {
        self.0.store(true, Ordering::SeqCst);
    }
}

impl Clock for FakeTime {
    fn now(&self) -> Duration {
        self.inner.borrow().now
    }
}

impl Sleep for FakeTime {
    type Fut = FakeSleep;

    fn sleep(&self, d: Duration) -> FakeSleep {
        let now = self.now();
        FakeSleep {
            time: self.clone(),
            deadline: self.timers.deadline(now, d),
            id: None,
        }
    }
}

/// A pending fake-time sleep.
pub struct FakeSleep {
    time: FakeTime,
    deadline: Duration,
    id: Option<u64>,
}

impl Future for FakeSleep {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let mut inner = self.time.inner.borrow_mut();
        if inner.now >= self.deadline {
            return Poll::Ready(());
        }
        let id = match self.id {
            Some(id) => id,
            None => {
                let id = inner.seq;
                inner.seq += 1;
                let deadline = self.deadline;
                inner.due.push(Reverse((deadline, id)));
                id
            }
        };
        inner.wakers.insert(id, cx.waker().clone());
        drop(inner);
        self.id = Some(id);
        Poll::Pending
    }
}

impl Drop for FakeSleep {
    fn drop(&mut self) {
        if let Some(id) = self.id {
            // The heap entry stays and fires into nothing; only the waker goes.
            self.time.inner.borrow_mut().wakers.remove(&id);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sleeping_advances_fake_time_instantly() {
        let t = FakeTime::new();
        let t2 = t.clone();
        t.block_on(async move { t2.sleep(Duration::from_secs(3600)).await });
        assert_eq!(t.now(), Duration::from_secs(3600));
    }

    #[test]
    fn hidden_tab_timers_fire_on_the_second() {
        let t = FakeTime::with_timers(TimerModel::Aligned {
            period: Duration::from_secs(1),
        });
        let t2 = t.clone();
        t.block_on(async move { t2.sleep(Duration::from_millis(10)).await });
        assert_eq!(t.now(), Duration::from_secs(1));
    }
}
