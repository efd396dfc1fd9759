//! A model of a transport that times its sends (the browser's timer
//! worker), for test transports that implement
//! [`crate::driver::Transport::send_at`].

use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::time::Duration;

use super::FakeTime;
use crate::{Clock, Sleep};

/// Times sends as the browser's timer worker does: each goes at its
/// instant, and never sooner than its `min_gap` after the last one made.
/// Sends listed with [`TimedSends::delay`] go that much late, as a worker
/// held up by its own thread would make them.
#[derive(Clone)]
pub struct TimedSends {
    time: FakeTime,
    honour_gap: bool,
    last: Rc<Cell<Option<Duration>>>,
    made: Rc<Cell<usize>>,
    delays: Rc<RefCell<Vec<(usize, Duration)>>>,
}

impl TimedSends {
    /// Exact timers on `time`, keeping each send's `min_gap`.
    pub fn new(time: &FakeTime) -> Self {
        Self {
            time: time.exact(),
            honour_gap: true,
            last: Rc::default(),
            made: Rc::default(),
            delays: Rc::default(),
        }
    }

    /// The same, ignoring `min_gap` (a worker that only knows instants).
    pub fn ignoring_gaps(time: &FakeTime) -> Self {
        Self {
            honour_gap: false,
            ..Self::new(time)
        }
    }

    /// The `n`-th send made (from 0) goes `late` after it was due.
    pub fn delay(&self, n: usize, late: Duration) {
        self.delays.borrow_mut().push((n, late));
    }

    /// Waits until a send due at `due` may go, then counts it as made and
    /// returns the instant it goes.
    pub async fn wait(&self, due: Duration, min_gap: Duration) -> Duration {
        let now = self.time.now();
        if due > now {
            self.time.sleep(due - now).await;
        }
        loop {
            let now = self.time.now();
            let free = match self.last.get() {
                Some(last) if self.honour_gap => last + min_gap,
                _ => now,
            };
            if free <= now {
                break;
            }
            self.time.sleep(free - now).await;
        }
        let n = self.made.get();
        self.made.set(n + 1);
        let late = self
            .delays
            .borrow()
            .iter()
            .find(|&&(k, _)| k == n)
            .map(|&(_, late)| late);
        if let Some(late) = late {
            self.time.sleep(late).await;
        }
        let at = self.time.now();
        self.last.set(Some(at));
        at
    }
}
