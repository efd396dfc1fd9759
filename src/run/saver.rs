//! Keeping a run in IndexedDB as it goes, attached to its session through
//! the session's listeners: the run's fixed part and files once at its
//! start (only for a run not saved yet), then each item as soon as it
//! changes, with the run's line in the history, in one transaction.
//!
//! A run whose start could not be saved is never written at all (its items
//! could otherwise sit under no run, or be taken for another's); it goes
//! on unsaved and `save_warning` says so for as long as it is on show.
//! Failed item saves are retried with a growing pause; if they keep
//! failing, the warning names what a reload would lose.

use std::cell::{Cell, RefCell};
use std::collections::BTreeSet;
use std::rc::{Rc, Weak};
use std::time::Duration;

use futures::FutureExt;
use leptos::prelude::*;
use pacer_core::schedule::ItemId;
use wasm_bindgen_futures::spawn_local;

use super::model::RunState;
use super::rows::DirtyRows;
use super::session::Session;
use super::summary::{RunSummary, SavedPhase};
use super::view::RunView;
use crate::browser::{after, unix_now, RunStore};

/// Item saves tried in a row before the warning names what would be lost.
const TRIES_BEFORE_WARNING: u32 = 3;
/// The longest pause between two tries.
const MAX_PAUSE: Duration = Duration::from_secs(16);
/// Items named in the warning, at most.
const NAMED: usize = 5;

/// How a run gets into the store.
pub(super) enum Start {
    /// A new run (or one from a job file): its fixed part (JSON) and local
    /// files first; then `items` (already known, e.g. a job's).
    Begin {
        /// `SavedRun` as JSON.
        run: String,
        /// Local images' JPEGs, by image index.
        files: Vec<(usize, Rc<[u8]>)>,
        /// Items to save once the run is.
        items: Vec<ItemId>,
    },
    /// Already saved (resumed from this browser's storage); `items` to
    /// save again at once (e.g. merged from a job file).
    Saved {
        /// Items to save now.
        items: Vec<ItemId>,
    },
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Saving {
    /// The run's start is being saved: changes wait.
    Starting,
    /// Saving as it goes.
    On,
    /// The start could not be saved: nothing of this run is written.
    Off,
}

/// Saves one session's run.
pub(super) struct RunSaver {
    store: Rc<RunStore>,
    session: Weak<Session>,
    view: RunView,
    line: RunSummary,
    unsaved: RefCell<DirtyRows>,
    saving: Cell<Saving>,
    scheduled: Cell<bool>,
    failures: Cell<u32>,
    /// Items whose last save failed.
    failing: RefCell<BTreeSet<ItemId>>,
    /// Items in a save not yet committed.
    saving_now: RefCell<BTreeSet<ItemId>>,
    /// Tells the other tabs that the run changed.
    announce: Rc<dyn Fn(&str)>,
}

impl RunSaver {
    /// Saves `session`'s run into `store` from now on; `line` is its
    /// history line as started.
    pub(super) fn attach(
        session: &Rc<Session>,
        store: Rc<RunStore>,
        view: RunView,
        line: RunSummary,
        start: Start,
        announce: Rc<dyn Fn(&str)>,
    ) -> Rc<Self> {
        let saver = Rc::new(Self {
            store,
            session: Rc::downgrade(session),
            view,
            unsaved: RefCell::new(DirtyRows::new(line.total)),
            line,
            saving: Cell::new(Saving::Starting),
            scheduled: Cell::new(false),
            failures: Cell::new(0),
            failing: RefCell::default(),
            saving_now: RefCell::default(),
            announce,
        });
        // The session keeps its saver alive (the saver only has a weak
        // reference back).
        let me = Rc::clone(&saver);
        session.on_change(move |item| me.mark(item));
        let me = Rc::downgrade(&saver);
        session.on_leave(move || {
            if let Some(me) = me.upgrade() {
                // Answers not saved yet may never be: noted at once, so a
                // run taken up later knows what it may send twice.
                if me.saving.get() == Saving::On {
                    if let Some(session) = me.session.upgrade() {
                        let unsaved = me.unsaved.borrow();
                        let saving = me.saving_now.borrow();
                        let maybe_lost: Vec<ItemId> = unsaved
                            .ids()
                            .iter()
                            .copied()
                            .chain(saving.iter().copied())
                            .collect();
                        session.note_unsaved_answers(&maybe_lost);
                    }
                }
                // Issued now, while the page still runs its handlers.
                spawn_local(async move {
                    me.flush(None).await;
                });
            }
        });
        let me = Rc::downgrade(&saver);
        session.on_end(move |phase| {
            let me = me.upgrade();
            async move {
                if let Some(me) = me {
                    me.flush(Some(phase)).await;
                }
            }
            .boxed_local()
        });
        match start {
            Start::Saved { items } => {
                saver.saving.set(Saving::On);
                for item in items {
                    saver.mark(item);
                }
            }
            Start::Begin { run, files, items } => {
                let me = Rc::clone(&saver);
                spawn_local(async move { me.begin(run, files, items).await });
            }
        }
        saver
    }

    async fn begin(self: Rc<Self>, run: String, files: Vec<(usize, Rc<[u8]>)>, items: Vec<ItemId>) {
        let line = serde_json::to_string(&self.line).unwrap_or_default();
        match self
            .store
            .begin(self.line.id.as_str(), &run, &line, &files)
            .await
        {
            Ok(()) => {
                (self.announce)(self.line.id.as_str());
                self.saving.set(Saving::On);
                for item in items {
                    self.unsaved.borrow_mut().mark(item);
                }
                self.flush(None).await;
            }
            Err(e) => {
                self.saving.set(Saving::Off);
                self.view.save_warning.set(Some(format!(
                    "This run could not be saved ({e}). It goes on, but a reload or closing \
                     the tab loses it; earlier runs in the history are untouched."
                )));
            }
        }
    }

    /// Notes that `item` changed, and saves soon.
    ///
    /// One save is written at a time, and what changes meanwhile goes
    /// into the next: a save per change (hundreds of transactions a second
    /// at 200 answers/s) queued up faster than the storage committed them,
    /// and a reload aborted the queue (at a reload after 3 129 answers of
    /// an 8 000-item run, 350 were stored). Batches now grow with the
    /// backlog instead.
    fn mark(self: &Rc<Self>, item: ItemId) {
        self.unsaved.borrow_mut().mark(item);
        if self.saving.get() == Saving::On && !self.scheduled.replace(true) {
            let me = Rc::clone(self);
            spawn_local(async move {
                while me.flush(None).await
                    && me.saving.get() == Saving::On
                    && !me.unsaved.borrow().is_empty()
                {}
                me.scheduled.set(false);
            });
        }
    }

    /// Saves what changed and the run's line (its phase `end` when it just
    /// ended); false when nothing could be written (a failed save is tried
    /// again later by itself).
    async fn flush(self: &Rc<Self>, end: Option<SavedPhase>) -> bool {
        if self.saving.get() != Saving::On {
            return false;
        }
        let Some(session) = self.session.upgrade() else {
            return false;
        };
        let ids = self.unsaved.borrow_mut().take();
        self.saving_now.borrow_mut().extend(ids.iter().copied());
        let items: Vec<(usize, String)> = session
            .capture(&ids)
            .into_iter()
            .filter_map(|(id, item)| Some((id, serde_json::to_string(&item).ok()?)))
            .collect();
        let (done, failed, pending, possibly_charged) = session.counts();
        let phase = end.unwrap_or(match self.view.state.get_untracked() {
            RunState::Paused => SavedPhase::Paused,
            RunState::Done => SavedPhase::Done,
            RunState::Cancelled => SavedPhase::Cancelled,
            _ => SavedPhase::Running,
        });
        let line = RunSummary {
            done,
            failed,
            pending,
            possibly_charged,
            phase,
            updated_unix_ms: unix_now().as_secs_f64() * 1000.0,
            ..self.line.clone()
        };
        let line = serde_json::to_string(&line).unwrap_or_default();
        drop(session);
        let saved = self
            .store
            .save_items(self.line.id.as_str(), &items, &line)
            .await;
        {
            let mut saving = self.saving_now.borrow_mut();
            for id in &ids {
                saving.remove(id);
            }
        }
        match saved {
            Ok(()) => {
                if end.is_some() {
                    (self.announce)(self.line.id.as_str());
                }
                let mut failing = self.failing.borrow_mut();
                for id in &ids {
                    failing.remove(id);
                }
                if failing.is_empty() && self.failures.replace(0) >= TRIES_BEFORE_WARNING {
                    self.view.save_warning.set(None);
                }
                true
            }
            Err(e) => {
                self.failed(ids, &e);
                false
            }
        }
    }

    /// A save of `ids` failed: marks them again and tries later; says what
    /// would be lost once it has failed a few times in a row.
    fn failed(self: &Rc<Self>, ids: Vec<ItemId>, error: &str) {
        {
            let mut unsaved = self.unsaved.borrow_mut();
            let mut failing = self.failing.borrow_mut();
            for id in ids {
                unsaved.mark(id);
                failing.insert(id);
            }
        }
        let failures = self.failures.get() + 1;
        self.failures.set(failures);
        if failures >= TRIES_BEFORE_WARNING {
            self.view.save_warning.set(Some(self.loss_text(error)));
        }
        let pause = Duration::from_secs(1 << failures.min(4)).min(MAX_PAUSE);
        let me = Rc::clone(self);
        after(pause, move || {
            spawn_local(async move {
                me.flush(None).await;
            })
        });
    }

    fn loss_text(&self, error: &str) -> String {
        let failing = self.failing.borrow();
        let names: Vec<String> = match self.session.upgrade() {
            Some(session) => {
                let work = session.work();
                failing
                    .iter()
                    .take(NAMED)
                    .map(|&id| {
                        let source = work.source_of(id);
                        source.rsplit('/').next().unwrap_or(source).to_owned()
                    })
                    .collect()
            }
            None => Vec::new(),
        };
        let more = failing.len().saturating_sub(names.len());
        let more = if more > 0 {
            format!(" and {more} more")
        } else {
            String::new()
        };
        format!(
            "The results of {n} item(s) could not be saved ({error}); Pacer keeps trying. A \
             reload or closing the tab now would lose them: {list}{more}.",
            n = failing.len(),
            list = names.join(", ")
        )
    }
}
