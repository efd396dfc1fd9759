//! One run being carried out in this tab: it owns the scheduler's control,
//! the pool's workers, the transport, the row ticker, the tab's part in a
//! shared budget and the run's ownership lock, and writes what it does
//! into the [`RunView`]. It knows nothing of storage: a saver attaches
//! through [`Session::on_change`], [`Session::on_leave`] and
//! [`Session::on_end`].

mod leaving;
mod observer;
mod quota;

use std::cell::{Cell, RefCell};
use std::rc::{Rc, Weak};
use std::time::Duration;

use futures::future::LocalBoxFuture;
use leptos::prelude::*;
use pacer_core::driver::{Pool, RunControl};
use pacer_core::schedule::{ItemId, ItemStatus, MarginPolicy, ProbePolicy, RetryPolicy, Scheduler};
use pacer_core::Quota;
use wasm_bindgen_futures::spawn_local;

use super::figures::{announced_text, live_figures};
use super::id::RunId;
use super::model::{ItemRow, ItemState, NoticeLevel, RunState, Settings};
use super::record::RunRecord;
use super::rows::{self, DirtyRows, SharedDirty};
use super::saved::SavedItem;
use super::summary::SavedPhase;
use super::tab::{late_text, LATE};
use super::tabs::TabShare;
use super::team;
use super::transport::{FetchTransport, SharedTransport};
use super::view::RunView;
use super::work::Work;
use crate::browser::{take_timer_lateness, Every, HeldLock, SharedClock, TimerSleep};
use observer::RowObserver;

/// How often rows and figures are redrawn.
const TICK: Duration = Duration::from_millis(250);
/// How long a page that said it was leaving may stay before the run goes on.
const STAY_AFTER: Duration = Duration::from_millis(2_000);

type Hook<T> = RefCell<Vec<Rc<T>>>;

/// What a run is launched with.
pub(super) struct Launch {
    /// Its id.
    pub id: RunId,
    /// The form's settings (the key in memory only).
    pub settings: Settings,
    /// Its images and items.
    pub work: Rc<Work>,
    /// The rows as they start.
    pub rows: Vec<ItemRow>,
    /// What was recorded so far (empty for a new run).
    pub record: RunRecord,
    /// Items that had ended before (a resumed run): never sent again.
    pub ended: Vec<(ItemId, ItemStatus, u32)>,
}

/// A run in progress (or just ended) in this tab.
pub(super) struct Session {
    id: RunId,
    view: RunView,
    control: RunControl,
    transport: Rc<FetchTransport>,
    record: Rc<RefCell<RunRecord>>,
    work: Rc<Work>,
    finished: Rc<Cell<bool>>,
    ticker: RefCell<Option<Every>>,
    spawn_workers: Rc<dyn Fn(usize)>,
    share: Rc<TabShare>,
    concurrency: Cell<usize>,
    dirty: SharedDirty,
    /// The run's Web Lock: while held, no other tab takes the run up.
    lock: RefCell<Option<HeldLock>>,
    changed: Rc<Hook<dyn Fn(ItemId)>>,
    leaving: Hook<dyn Fn()>,
    ending: Hook<dyn Fn(SavedPhase) -> LocalBoxFuture<'static, ()>>,
}

impl Session {
    /// Starts sending the items of `launch` that had not ended; `None`
    /// when the rate cannot pace anything.
    pub(super) fn launch(view: RunView, launch: Launch) -> Option<Rc<Self>> {
        let Launch {
            id,
            settings,
            work,
            rows,
            record,
            ended,
        } = launch;
        let quota = Quota::per_second(settings.rate)?;
        let record = Rc::new(RefCell::new(record));
        let concurrency = settings.concurrency.max(1);
        let mut scheduler = Scheduler::new(
            work.len(),
            quota,
            RetryPolicy {
                max_attempts: settings.max_attempts.max(1),
                ..RetryPolicy::default()
            },
            MarginPolicy::default(),
        );
        scheduler.set_probe(settings.auto_rate.then(ProbePolicy::default));
        scheduler.restore(ended);
        quota::take_up_mark(&id, &mut scheduler);
        let control = RunControl::new(scheduler);
        let share = TabShare::start(view, &settings);
        let transport = Rc::new(FetchTransport::new(
            settings,
            Rc::clone(&work),
            Rc::clone(&record),
        ));
        let dirty: SharedDirty = Rc::new(RefCell::new(DirtyRows::new(rows.len())));
        let changed: Rc<Hook<dyn Fn(ItemId)>> = Rc::default();
        let observer = RowObserver {
            view,
            dirty: Rc::clone(&dirty),
            transport: Rc::clone(&transport),
            changed: Rc::clone(&changed),
        };
        let pool = Pool::new(
            control.clone(),
            // One clock for the lone tab and the shared budget: the
            // worker's send instants, the grants and the pacing agree.
            SharedClock,
            TimerSleep,
            share.gate(SharedTransport(Rc::clone(&transport))),
            observer,
        );
        view.items.set(rows);
        view.state.set(RunState::Running);
        let session = Rc::new_cyclic(|me: &Weak<Session>| {
            let finished = Rc::new(Cell::new(false));
            let spawn_workers: Rc<dyn Fn(usize)> = {
                let (finished, me) = (Rc::clone(&finished), me.clone());
                Rc::new(move |n| {
                    finished.set(false);
                    for _ in 0..pool.set_concurrency(n) {
                        let (pool, finished, me) =
                            (Rc::clone(&pool), Rc::clone(&finished), me.clone());
                        spawn_local(async move {
                            Rc::clone(&pool).worker().await;
                            if pool.alive() == 0 {
                                finished.set(true);
                                if let Some(session) = me.upgrade() {
                                    session.on_finished();
                                }
                            }
                        });
                    }
                })
            };
            let hide = me.clone();
            share.on_hide(move || {
                if let Some(session) = hide.upgrade() {
                    session.leave();
                }
            });
            Session {
                id,
                view,
                control,
                transport,
                record,
                work,
                finished,
                ticker: RefCell::new(None),
                spawn_workers,
                share,
                concurrency: Cell::new(concurrency),
                dirty,
                lock: RefCell::new(None),
                changed,
                leaving: RefCell::default(),
                ending: RefCell::default(),
            }
        });
        session.start_ticker();
        Some(session)
    }

    /// Sends: spawns the workers (after the saver attached).
    pub(super) fn go(&self) {
        self.refresh();
        (self.spawn_workers)(self.concurrency.get());
    }

    /// The run's images and items.
    pub(super) fn work(&self) -> Rc<Work> {
        Rc::clone(&self.work)
    }

    /// What the run recorded (shared, updated as answers come).
    pub(super) fn record(&self) -> Rc<RefCell<RunRecord>> {
        Rc::clone(&self.record)
    }

    /// Keeps `lock` (the run's ownership) until the run ends; let go at
    /// once if it already has.
    pub(super) fn hold(&self, lock: HeldLock) -> bool {
        if !self.view.state.get_untracked().is_active() {
            lock.release();
            return false;
        }
        *self.lock.borrow_mut() = Some(lock);
        true
    }

    /// Calls `f` with each item that changed (answered, cancelled, re-queued).
    pub(super) fn on_change(&self, f: impl Fn(ItemId) + 'static) {
        self.changed.borrow_mut().push(Rc::new(f));
    }

    /// Calls `f` when the page is being left, after the requests on the
    /// wire were cut off (their items are marked changed first).
    pub(super) fn on_leave(&self, f: impl Fn() + 'static) {
        self.leaving.borrow_mut().push(Rc::new(f));
    }

    /// Calls `f` when the run ends (done or cancelled); the ownership lock
    /// is let go only once every such future has finished.
    pub(super) fn on_end(&self, f: impl Fn(SavedPhase) -> LocalBoxFuture<'static, ()> + 'static) {
        self.ending.borrow_mut().push(Rc::new(f));
    }

    /// The items `ids` as they are now, for saving.
    pub(super) fn capture(&self, ids: &[ItemId]) -> Vec<(ItemId, SavedItem)> {
        let record = self.record.borrow();
        ids.iter()
            .map(|&id| {
                let (state, result) = rows::current_state(id, &self.control, &record);
                let item = SavedItem::capture(state, result.as_ref(), &record.attempts[id])
                    .of_run(&self.id);
                (id, item)
            })
            .collect()
    }

    /// Items done, failed and not ended, and requests possibly charged.
    pub(super) fn counts(&self) -> (usize, usize, usize, usize) {
        let c = self.control.read(|s| s.counts());
        let pending = self
            .work
            .len()
            .saturating_sub(c.done + c.failed + c.cancelled);
        let charged = self.record.borrow().possibly_charged();
        (c.done, c.failed, pending, charged)
    }

    /// Changes the rate, at once and without a burst.
    pub(super) fn set_rate(&self, rate: f64) {
        if let Some(quota) = Quota::per_second(rate) {
            self.control.update(|s| s.set_quota(quota));
            self.share.set_rate(rate);
        }
    }

    /// Spreads a long quota over its time left, or not, from now: the
    /// pacing follows the last answer that spoke of limits, read the new
    /// way, at once.
    pub(super) fn set_spread_quota(&self, spread: bool) {
        let Some((hint, sent)) = self.transport.set_spread_quota(spread) else {
            return;
        };
        let announced = self.control.update(|s| s.reread(hint, sent));
        let text = match announced {
            Some(limit) => announced_text(&limit),
            None if spread => return,
            None => "No longer spreading the quota: sending as fast as the limits allow.".into(),
        };
        self.view.say(NoticeLevel::Info, &text);
        self.refresh();
    }

    /// Switches between the fixed rate and probing for the server's limit.
    pub(super) fn set_auto_rate(&self, auto: bool) {
        self.control.update(|s| {
            if s.pacing().probe().is_some() != auto {
                s.set_probe(auto.then(ProbePolicy::default));
            }
        });
    }

    /// More fetch tasks start now, fewer retire as soon as they are idle.
    pub(super) fn set_concurrency(&self, n: usize) {
        self.concurrency.set(n.max(1));
        (self.spawn_workers)(n.max(1));
    }

    /// Sends nothing new; requests on the wire finish.
    pub(super) fn pause(&self) {
        self.control.update(Scheduler::hold);
        self.transport.withdraw_unsent();
        self.view.state.set(RunState::Paused);
    }

    /// Lifts a pause.
    pub(super) fn resume(&self) {
        self.control.update(Scheduler::resume);
        self.view.state.set(RunState::Running);
        self.refresh();
    }

    /// Puts the failed items back in the queue; how many.
    pub(super) fn retry_failed(&self) -> usize {
        let requeued = self.control.update(Scheduler::retry_failed);
        if requeued == 0 {
            return 0;
        }
        self.changed_all(|s| s == ItemState::Failed);
        self.refresh();
        self.view.state.set(RunState::Running);
        self.start_ticker();
        (self.spawn_workers)(self.concurrency.get());
        requeued
    }

    /// Aborts in-flight requests and sends nothing more.
    pub(super) fn cancel(&self) {
        self.control.update(Scheduler::cancel);
        self.share.leave();
        self.transport.abort_all();
        self.changed_all(|s| !matches!(s, ItemState::Done | ItemState::Failed));
        self.view.state.set(RunState::Cancelled);
        self.refresh();
        self.end(SavedPhase::Cancelled);
    }

    /// Stops for good (another run replaces this one on show).
    pub(super) fn drop_run(&self) {
        *self.ticker.borrow_mut() = None;
        self.share.leave();
        if let Some(lock) = self.lock.borrow_mut().take() {
            lock.release();
        }
    }

    fn on_finished(&self) {
        if self.view.state.get_untracked().is_active() {
            self.view.state.set(RunState::Done);
        }
        self.refresh();
        if self.view.state.get_untracked() == RunState::Done {
            self.end(SavedPhase::Done);
        }
    }

    /// Keeps the run (its figures stay readable) but stops its ticker,
    /// leaves the budget, and lets the lock go once the savers are done.
    fn end(&self, phase: SavedPhase) {
        *self.ticker.borrow_mut() = None;
        quota::lift(self.view, &self.id);
        self.share.leave();
        let saves: Vec<_> = self.ending.borrow().iter().map(|f| f(phase)).collect();
        let lock = self.lock.borrow_mut().take();
        spawn_local(async move {
            futures::future::join_all(saves).await;
            if let Some(lock) = lock {
                lock.release();
            }
        });
    }

    fn start_ticker(&self) {
        let view = self.view;
        let (dirty, control, record) = (
            Rc::clone(&self.dirty),
            self.control.clone(),
            Rc::clone(&self.record),
        );
        let (transport, finished, total) = (
            Rc::clone(&self.transport),
            Rc::clone(&self.finished),
            self.work.len(),
        );
        let id = self.id.clone();
        let cap_said = Cell::new(None);
        let (spawn, pool) = (Rc::clone(&self.spawn_workers), self.concurrency.get());
        *self.ticker.borrow_mut() = Some(Every::new(TICK, move || {
            rows::flush(&dirty, view.items, &control, &record);
            live_figures(view, &control, &transport, &record, finished.get(), total);
            quota::tick(view, &control, &id, &cap_said);
            team::grow_pool(&transport, &control, pool, &*spawn);
            let late = take_timer_lateness();
            if late >= LATE && view.state.get_untracked() == RunState::Running {
                view.say(NoticeLevel::Warning, &late_text(late));
            }
        }));
    }

    /// Redraws the changed rows and the figures now.
    pub(super) fn refresh(&self) {
        rows::flush(&self.dirty, self.view.items, &self.control, &self.record);
        live_figures(
            self.view,
            &self.control,
            &self.transport,
            &self.record,
            self.finished.get(),
            self.work.len(),
        );
    }

    fn mark(&self, item: ItemId) {
        self.dirty.borrow_mut().mark(item);
        for f in self.changed.borrow().iter() {
            f(item);
        }
    }

    /// Marks changed the rows whose shown state `pick` selects (after the
    /// scheduler changed many items at once).
    fn changed_all(&self, pick: impl Fn(ItemState) -> bool) {
        let ids: Vec<ItemId> = self.view.items.with_untracked(|rows| {
            rows.iter()
                .filter(|r| pick(r.state))
                .map(|r| r.id)
                .collect()
        });
        for id in ids {
            self.mark(id);
        }
        rows::flush(&self.dirty, self.view.items, &self.control, &self.record);
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        if let Some(lock) = self.lock.get_mut().take() {
            lock.release();
        }
    }
}
