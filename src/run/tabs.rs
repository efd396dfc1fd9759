//! Several tabs, one rate budget: binds the core's shared-budget protocol
//! ([`pacer_core::shared`]) to the browser for one run.
//!
//! At a run's start the tab opens the budget's channel (named from a hash
//! of endpoint and key) and asks for its Web Lock. Holding it makes the tab
//! the leader; a tab that finds it held follows and queues for it, so that
//! it takes over when the leader's run ends or its page goes (`pagehide`
//! lets go at once; a frozen page lets go on `freeze`). A tab alone sends
//! exactly as before; once another tab shares the budget, every send of
//! the run waits for its grant. The notice says who shares.

use std::cell::{Cell, RefCell};
use std::rc::{Rc, Weak};

use leptos::prelude::Set;
use pacer_core::shared::{Coordinator, Gated, Role, Trace};
use wasm_bindgen_futures::spawn_local;

use super::model::{NoticeLevel, Settings};
use super::transport::SharedTransport;
use super::view::RunView;
use crate::browser::{
    budget_name, clear_leading, leading_lately, locks_available, mark_leading, on_page_event,
    random_tab_id, request_lock, trace_to_page, BudgetChannel, HeldLock, LateBus, PageEvent,
    SharedClock, TimerSleep,
};

type Coord = Coordinator<SharedClock, TimerSleep>;

/// The run's transport: each send waits for its grant when tabs share.
pub(super) type GatedTransport = Gated<SharedTransport, SharedClock, TimerSleep>;

/// One run's part in the shared budget.
pub(super) struct TabShare {
    coord: Rc<Coord>,
    bus: LateBus,
    name: RefCell<Option<String>>,
    lock: RefCell<Option<HeldLock>>,
    /// Waiting in the lock's queue.
    queued: Cell<bool>,
    /// This tab's "a tab leads" mark in `localStorage`, while it leads.
    mark: RefCell<Option<String>>,
    /// Told first when the page is hidden for good: the run stops sending
    /// (set by the run's session once it exists).
    on_hide: RefCell<Option<Box<dyn Fn()>>>,
}

thread_local! {
    static CURRENT: RefCell<Weak<TabShare>> = const { RefCell::new(Weak::new()) };
}

impl TabShare {
    /// Joins the budget of `settings`' endpoint and key for a run; who
    /// shares is said through `view`.
    pub(super) fn start(view: RunView, settings: &Settings) -> Rc<Self> {
        let bus = LateBus::default();
        let coord = Coord::new(
            random_tab_id(),
            settings.rate,
            SharedClock,
            TimerSleep,
            Box::new(bus.clone()),
        );
        if leading_lately() {
            // Another tab leads a budget of this origin, maybe this one:
            // the first sends wait for the election, not to collide with
            // the sends it paces.
            coord.expect_others();
        }
        coord.on_role(move |role, rate| say_role(view, role, rate));
        coord.on_trace(trace);
        let share = Rc::new(Self {
            coord,
            bus,
            name: RefCell::new(None),
            lock: RefCell::new(None),
            queued: Cell::new(false),
            mark: RefCell::new(None),
            on_hide: RefCell::new(None),
        });
        if let Some(old) = CURRENT.with(|c| c.replace(Rc::downgrade(&share)).upgrade()) {
            old.leave();
        }
        install_page_events();
        // Spellings of one endpoint (case, default port, a trailing slash)
        // share one budget.
        let scope = pacer_core::input::budget_scope(&settings.endpoint)
            .unwrap_or_else(|| settings.endpoint.clone());
        let key = settings.key.clone();
        let weak = Rc::downgrade(&share);
        spawn_local(async move {
            let name = budget_name(&scope, &key).await;
            drop(key);
            let Some(share) = weak.upgrade() else { return };
            if share.coord.is_gone() {
                return;
            }
            spawn_local(Rc::clone(&share.coord).run());
            let (Some(name), true) = (name, locks_available()) else {
                // No way to find the other tabs: alone, as before.
                share.coord.lead();
                return;
            };
            let coord = Rc::downgrade(&share.coord);
            let channel = BudgetChannel::open(&name, move |msg| {
                if let Some(coord) = coord.upgrade() {
                    coord.on_message(msg);
                }
            });
            let Some(channel) = channel else {
                share.coord.lead();
                return;
            };
            *share.bus.0.borrow_mut() = Some(channel);
            *share.name.borrow_mut() = Some(name);
            share.try_lead();
        });
        share
    }

    /// Asks for the lock: at once if free, else queues for it.
    fn try_lead(self: &Rc<Self>) {
        let Some(name) = self.name.borrow().clone() else {
            return;
        };
        let weak = Rc::downgrade(self);
        let queue = Rc::downgrade(self);
        request_lock(&name, true, move |lock| {
            let Some(share) = weak.upgrade() else {
                return false;
            };
            match lock {
                Some(lock) if !share.coord.is_gone() => {
                    *share.lock.borrow_mut() = Some(lock);
                    *share.mark.borrow_mut() = mark_leading();
                    share.coord.lead();
                    true
                }
                Some(_) => false,
                None => {
                    share.coord.follow();
                    if let Some(share) = queue.upgrade() {
                        share.queue_for_lock();
                    }
                    false
                }
            }
        });
    }

    /// Waits in the lock's queue, to lead when the leader lets go.
    fn queue_for_lock(self: &Rc<Self>) {
        if self.queued.replace(true) {
            return;
        }
        let Some(name) = self.name.borrow().clone() else {
            return;
        };
        let weak = Rc::downgrade(self);
        request_lock(&name, false, move |lock| {
            let Some(share) = weak.upgrade() else {
                return false;
            };
            share.queued.set(false);
            match lock {
                Some(lock) if !share.coord.is_gone() => {
                    *share.lock.borrow_mut() = Some(lock);
                    *share.mark.borrow_mut() = mark_leading();
                    share.coord.lead();
                    true
                }
                _ => false,
            }
        });
    }

    /// What to do first when the page is hidden for good.
    pub(super) fn on_hide(&self, f: impl Fn() + 'static) {
        *self.on_hide.borrow_mut() = Some(Box::new(f));
    }

    /// The gated transport for the run's pool.
    pub(super) fn gate(&self, inner: SharedTransport) -> GatedTransport {
        Gated::new(inner, Some(Rc::clone(&self.coord)))
    }

    /// The user changed the rate.
    pub(super) fn set_rate(&self, rate: f64) {
        self.coord.set_rate(rate);
    }

    /// The run is over (done, cancelled) or the page goes: says goodbye,
    /// lets the lock go (the next tab leads) and closes the channel.
    pub(super) fn leave(&self) {
        if self.coord.is_gone() {
            return;
        }
        self.coord.leave();
        if let Some(lock) = self.lock.borrow_mut().take() {
            lock.release();
        }
        if let Some(mark) = self.mark.borrow_mut().take() {
            clear_leading(&mark);
        }
        if let Some(channel) = self.bus.0.borrow_mut().take() {
            channel.close();
        }
    }

    /// The page is being frozen: stops leading so that another tab does.
    fn freeze(&self) {
        if let Some(lock) = self.lock.borrow_mut().take() {
            self.coord.step_down();
            lock.release();
        }
        if let Some(mark) = self.mark.borrow_mut().take() {
            clear_leading(&mark);
        }
    }
}

impl Drop for TabShare {
    fn drop(&mut self) {
        self.leave();
    }
}

fn install_page_events() {
    thread_local! {
        static INSTALLED: Cell<bool> = const { Cell::new(false) };
    }
    if INSTALLED.with(|i| i.replace(true)) {
        return;
    }
    on_page_event(|event| {
        let Some(share) = CURRENT.with(|c| c.borrow().upgrade()) else {
            return;
        };
        match event {
            // The run stops sending before the tab leaves the budget:
            // leaving cancels the grants its sends wait for, those items go
            // back to the queue, and a pool not yet held (the run's own
            // `pagehide` listener may run after this one) would send the
            // next ones at once, ungated.
            PageEvent::Hide => {
                if let Some(hide) = &*share.on_hide.borrow() {
                    hide();
                }
                share.leave();
            }
            PageEvent::Freeze => share.freeze(),
            PageEvent::Resume => {
                if !share.coord.is_gone() && share.lock.borrow().is_none() {
                    share.queue_for_lock();
                }
            }
        }
    });
}

/// Hands a [`Trace`] to the page's diagnostics (times in ms on the shared clock).
fn trace(event: &Trace) {
    let ms = |d: std::time::Duration| d.as_secs_f64() * 1000.0;
    match *event {
        Trace::Granted { tab, at, now } => trace_to_page(
            "granted",
            &[
                ("tab", (tab & 0xffff) as f64),
                ("at", ms(at)),
                ("now", ms(now)),
            ],
        ),
        Trace::Received { at, now } => {
            trace_to_page("received", &[("at", ms(at)), ("now", ms(now))])
        }
        Trace::Sent {
            item,
            attempt,
            at,
            now,
        } => trace_to_page(
            "sent",
            &[
                ("item", item as f64),
                ("attempt", f64::from(attempt)),
                ("at", ms(at)),
                ("now", ms(now)),
            ],
        ),
        Trace::Skipped { at, now } => trace_to_page("skipped", &[("at", ms(at)), ("now", ms(now))]),
    }
}

fn say_role(view: RunView, role: Role, rate: f64) {
    let rate = (rate * 100.0).round() / 100.0;
    let tabs = |n: usize| {
        if n == 1 {
            "1 other tab".to_owned()
        } else {
            format!("{n} other tabs")
        }
    };
    view.sharing.set(match role {
        Role::Alone => 0,
        Role::Leader { others } | Role::Follower { others } => others,
    });
    let text = match role {
        Role::Alone => return,
        Role::Leader { others: 0 } => {
            format!(
                "Pacing the {rate}/s budget of this endpoint and key for the tabs that share it."
            )
        }
        Role::Leader { others } => format!(
            "Sharing the {rate}/s budget with {}: this tab hands out the sends.",
            tabs(others)
        ),
        Role::Follower { others } => format!(
            "Sharing the {rate}/s budget with {}: each send waits for its turn.",
            tabs(others)
        ),
    };
    view.say(NoticeLevel::Info, &text);
}
