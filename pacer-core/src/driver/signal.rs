//! A single-threaded wake-up signal for the worker pool.
//!
//! A worker takes a [`Listener`] *before* it looks at the scheduler, so a
//! notification sent between its look and its `.await` is never lost. A
//! listener that was notified but dropped unconsumed (it lost a race against
//! a timer) hands its notification to the next waiter.

use std::cell::RefCell;
use std::collections::{BTreeMap, VecDeque};
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll, Waker};

#[derive(Default)]
struct Slot {
    waker: Option<Waker>,
    fired: bool,
}

#[derive(Default)]
struct Inner {
    next: u64,
    slots: BTreeMap<u64, Slot>,
    order: VecDeque<u64>,
}

impl Inner {
    fn fire_one(&mut self) -> bool {
        while let Some(id) = self.order.pop_front() {
            if let Some(slot) = self.slots.get_mut(&id) {
                slot.fired = true;
                if let Some(w) = slot.waker.take() {
                    w.wake();
                }
                return true;
            }
        }
        false
    }
}

/// Wakes waiting workers, one or all.
#[derive(Clone, Default)]
pub struct Signal {
    inner: Rc<RefCell<Inner>>,
}

impl Signal {
    /// A signal nobody waits on.
    pub fn new() -> Self {
        Self::default()
    }

    /// Registers interest now; await the listener to wait.
    pub fn listen(&self) -> Listener {
        let mut inner = self.inner.borrow_mut();
        let id = inner.next;
        inner.next += 1;
        inner.slots.insert(id, Slot::default());
        inner.order.push_back(id);
        Listener {
            signal: self.clone(),
            id,
        }
    }

    /// Wakes the longest-waiting listener not yet woken.
    pub fn notify_one(&self) {
        self.inner.borrow_mut().fire_one();
    }

    /// Wakes every listener.
    pub fn notify_all(&self) {
        let mut inner = self.inner.borrow_mut();
        while inner.fire_one() {}
    }
}

/// One registration on a [`Signal`]; resolves when notified.
pub struct Listener {
    signal: Signal,
    id: u64,
}

impl Future for Listener {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let mut inner = self.signal.inner.borrow_mut();
        let slot = inner.slots.get_mut(&self.id).expect("listener slot");
        if slot.fired {
            slot.fired = false;
            slot.waker = None;
            return Poll::Ready(());
        }
        slot.waker = Some(cx.waker().clone());
        Poll::Pending
    }
}

impl Drop for Listener {
    fn drop(&mut self) {
        let mut inner = self.signal.inner.borrow_mut();
        if let Some(slot) = inner.slots.remove(&self.id) {
            if slot.fired {
                inner.fire_one();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures::FutureExt;

    #[test]
    fn notification_before_await_is_not_lost() {
        let s = Signal::new();
        let l = s.listen();
        s.notify_one();
        assert_eq!(l.now_or_never(), Some(()));
    }

    #[test]
    fn notify_one_wakes_one_in_order() {
        let s = Signal::new();
        let mut a = s.listen();
        let mut b = s.listen();
        s.notify_one();
        assert_eq!((&mut a).now_or_never(), Some(()));
        assert_eq!((&mut b).now_or_never(), None);
    }

    #[test]
    fn a_dropped_notified_listener_passes_it_on() {
        let s = Signal::new();
        let a = s.listen();
        let b = s.listen();
        s.notify_one();
        drop(a);
        assert_eq!(b.now_or_never(), Some(()));
    }

    #[test]
    fn notify_all_wakes_everyone() {
        let s = Signal::new();
        let ls: Vec<_> = (0..5).map(|_| s.listen()).collect();
        s.notify_all();
        assert!(ls.into_iter().all(|l| l.now_or_never().is_some()));
    }
}
