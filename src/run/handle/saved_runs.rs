//! The handle's commands about saved runs: opening the store at load and
//! showing this tab's run, the history (kept fresh while the page is
//! open), opening, resuming, exporting and deleting a saved run. A run
//! another tab holds is never resumed, cleared or deleted here: each of
//! those takes the run's Web Lock first.

use std::rc::Rc;
use std::time::Duration;

use leptos::prelude::*;
use pacer_core::Sleep;
use wasm_bindgen_futures::spawn_local;

use super::{ExportFormat, OnSettings, RunHandle, StoreState};
use crate::browser::{
    cut_marks, held_locks, quota_mark, request_lock, set_cut_marks, storage_estimate, tab_run,
    unix_now, Every, HeldLock, RunStore, RunsChannel, TimerSleep,
};
use crate::run::history::{entries, run_to_open, HistoryEntry};
use crate::run::id::RunId;
use crate::run::library::{self, LoadedRun};
use crate::run::model::{ItemRow, NoticeLevel, RunState, Settings};
use crate::run::record::AttemptRecord;
use crate::run::rows_of::rows_of;
use crate::run::saved::{restore, SavedItem, SavedRun, SavedSettings};
use crate::run::saver::Start;
use crate::run::session::Launch;
use crate::run::shown::show_saved;
use crate::run::states::{Command, HistoryState};
use crate::run::summary::RunSummary;
use crate::run::work::Work;

/// How often the history is read again (other tabs' runs move on).
const HISTORY_EVERY: Duration = Duration::from_secs(2);
/// A reloaded tab's own run may still look held for a moment by the page
/// it replaced: how often, and how long apart, to look again.
const OWN_RUN_TRIES: u32 = 6;
const OWN_RUN_PAUSE: Duration = Duration::from_millis(400);

pub(super) const ELSEWHERE: &str =
    "This run is running in another tab. Watch it in the history; it can be \
     resumed here only once that tab has let it go (closed or crashed).";

impl RunHandle {
    /// Takes a saved run's lock (`lock_name`) if no tab holds it and goes on with
    /// `then`; if a tab holds it, says so and refreshes the history. Every
    /// command that changes a saved run (resume, delete) goes through here,
    /// so only the tab holding the lock ever does.
    fn with_free_lock(&self, lock_name: &str, then: impl FnOnce(HeldLock) + 'static) {
        let handle = *self;
        request_lock(lock_name, true, move |lock| match lock {
            Some(lock) => {
                then(lock);
                true
            }
            None => {
                handle.say(NoticeLevel::Warning, ELSEWHERE);
                handle.refresh_history();
                false
            }
        });
    }

    /// Opens the saved-run store (moving an old one-slot save under an id),
    /// shows the run this tab had before a reload, or else the newest run
    /// no tab holds, and keeps the history fresh. `on_settings` puts a
    /// shown run's settings and URLs into the form.
    pub fn load_saved(&self, on_settings: impl Fn(&SavedSettings, &[String]) + 'static) {
        let on_settings: OnSettings = Rc::new(on_settings);
        self.on_settings.set_value(Some(on_settings));
        let handle = *self;
        let channel = RunsChannel::open(move |id| {
            if RunId::parse(&id).is_ok() {
                handle.refresh_history();
            }
        });
        self.channel.set_value(channel.map(Rc::new));
        spawn_local(async move {
            let store = match library::open_store().await {
                Ok(store) => store,
                Err(e) => {
                    handle.view.save_warning.set(Some(format!(
                        "Runs cannot be saved in this browser, so a reload loses the run ({e})."
                    )));
                    handle.store.set_value(StoreState::Failed(e));
                    return;
                }
            };
            handle.store.set_value(StoreState::Open(Rc::clone(&store)));
            for attempt in 1..=OWN_RUN_TRIES {
                let list = handle.history_now(&store).await;
                handle.view.history.set(list.clone());
                if handle.view.state.get_untracked() != RunState::Idle {
                    break;
                }
                let mine = tab_run();
                let mine_held = list.iter().any(|e| {
                    Some(e.summary.id.as_str()) == mine.as_deref()
                        && e.state == HistoryState::RunningElsewhere
                });
                if mine_held && attempt < OWN_RUN_TRIES {
                    TimerSleep.sleep(OWN_RUN_PAUSE).await;
                    continue;
                }
                if let Some(id) = run_to_open(&list, mine.as_deref()).cloned() {
                    handle.open_now(&store, &id, false).await;
                }
                break;
            }
            let ticker = Every::new(HISTORY_EVERY, move || handle.refresh_history());
            // The history is read as long as the page lives.
            std::mem::forget(ticker);
            handle.refresh_history();
            if let Some(estimate) = storage_estimate().await {
                handle.view.storage.set(Some(estimate));
            }
        });
    }

    pub(super) fn open_store(&self) -> Option<Rc<RunStore>> {
        match self.store.get_value() {
            StoreState::Open(store) => Some(store),
            _ => None,
        }
    }

    /// The history as it is now.
    async fn history_now(&self, store: &RunStore) -> Vec<HistoryEntry> {
        let lines = library::lines(store).await.unwrap_or_default();
        let held = held_locks().await;
        let own_id = self.shown.with_value(|s| s.id.clone());
        let state = self.view.state.get_untracked();
        let own = own_id.as_ref().map(|id| (id, state));
        // A run whose tab closed while it waited for a quota is noted in
        // `localStorage` until it is taken up again.
        let now_ms = unix_now().as_secs_f64() * 1000.0;
        let left_waiting: Vec<RunId> = lines
            .iter()
            .filter(|l| quota_mark(l.id.as_str()).is_some_and(|until| until > now_ms))
            .map(|l| l.id.clone())
            .collect();
        entries(lines, &held, &left_waiting, own)
    }

    /// Reads the history (and the storage estimate) again.
    pub fn refresh_history(&self) {
        let Some(store) = self.open_store() else {
            return;
        };
        let handle = *self;
        spawn_local(async move {
            let list = handle.history_now(&store).await;
            if handle.view.history.with_untracked(|h| *h != list) {
                handle.view.history.set(list);
            }
            if let Some(estimate) = storage_estimate().await {
                if handle.view.storage.get_untracked() != Some(estimate) {
                    handle.view.storage.set(Some(estimate));
                }
            }
        });
    }

    /// Shows saved run `id` in the page (not while this tab runs one).
    pub fn open(&self, id: RunId) {
        if !self.allowed(Command::Replace) {
            return;
        }
        let Some(store) = self.open_store() else {
            return;
        };
        let handle = *self;
        spawn_local(async move {
            if held_locks().await.contains(&id.lock_name()) {
                handle.say(NoticeLevel::Warning, ELSEWHERE);
                return;
            }
            handle.open_now(&store, &id, true).await;
            handle.refresh_history();
        });
    }

    async fn open_now(&self, store: &RunStore, id: &RunId, say_errors: bool) {
        match library::load(store, id).await {
            Ok(Some(LoadedRun { run, items, files })) => {
                self.show(run, items, files, (true, false))
            }
            Ok(None) => {}
            Err(e) if say_errors => self.say(
                NoticeLevel::Warning,
                &format!("The saved run could not be read ({e})."),
            ),
            Err(_) => {}
        }
    }

    pub(super) fn show(
        &self,
        run: SavedRun,
        items: Vec<(usize, SavedItem)>,
        files: Vec<(usize, Rc<[u8]>)>,
        origin: (bool, bool),
    ) {
        if !self.allowed(Command::Replace) {
            return;
        }
        self.drop_session();
        self.input_note.set(None);
        let settings = run.settings.clone();
        let cut: Vec<(usize, AttemptRecord)> = cut_marks(run.id_or_legacy().as_str())
            .and_then(|json| serde_json::from_str(&json).ok())
            .unwrap_or_default();
        let (shown, urls) = show_saved(self.view, run, items, files, origin, &cut);
        crate::browser::set_tab_run(shown.id.as_ref().map(RunId::as_str));
        self.shown.set_value(shown);
        if let Some(on_settings) = self.on_settings.get_value() {
            on_settings(&settings, &urls);
        }
    }

    /// Takes up the interrupted run on show with `settings` (the form's,
    /// so the key and any changed rate apply): takes its lock first (if
    /// another tab has it, refuses), reads it again from storage (another
    /// tab may have moved it on), then sends only what had not ended.
    pub fn resume_saved(&self, settings: Settings) {
        if self.view.state.get_untracked() != RunState::Interrupted {
            return;
        }
        let Some(id) = self.shown.with_value(|s| s.id.clone()) else {
            return;
        };
        let handle = *self;
        self.with_free_lock(&id.lock_name(), move |lock| {
            spawn_local(async move { handle.take_up(id, settings, lock).await });
        });
    }

    async fn take_up(&self, id: RunId, settings: Settings, lock: HeldLock) {
        let fresh_from_store = self.shown.with_value(|s| {
            s.resumable
                .as_ref()
                .is_some_and(|r| r.in_store && !r.from_job)
        });
        if fresh_from_store {
            if let Some(store) = self.open_store() {
                if let Ok(Some(LoadedRun { run, items, files })) = library::load(&store, &id).await
                {
                    self.show(run, items, files, (true, false));
                }
            }
        }
        let shown = self.shown.get_value();
        let (Some(resumable), Some(run), Some(true)) = (
            shown.resumable.clone(),
            shown.run.clone(),
            shown.id.as_ref().map(|s| *s == id),
        ) else {
            // Nothing left to send (another tab finished it meanwhile).
            lock.release();
            self.refresh_history();
            return;
        };
        if self.view.state.get_untracked() != RunState::Interrupted {
            lock.release();
            return;
        }
        let start = if resumable.in_store {
            Start::Saved {
                items: resumable.extra.clone(),
            }
        } else {
            Start::Begin {
                run: serde_json::to_string(&run).unwrap_or_default(),
                files: Vec::new(),
                items: resumable.extra.clone(),
            }
        };
        if pacer_core::Quota::per_second(settings.rate).is_none() {
            // Launching would refuse it: keep what is on show as it is.
            lock.release();
            self.say(NoticeLevel::Error, super::RATE_BOUNDS);
            return;
        }
        // Taken, not copied: the session shows them from now on, and a
        // copy of a long run's rows and records (with the saved run just
        // read again beside them) is what made a resume's memory peak.
        let rows = self.items.take();
        let record = std::mem::take(&mut *shown.record.borrow_mut());
        self.notice.set(None);
        let line = RunSummary::of(&run, id.clone());
        // The cut-off requests are in the record now, saved with the run.
        set_cut_marks(id.as_str(), None);
        self.launch(
            Launch {
                id,
                settings,
                work: Rc::clone(&shown.work),
                rows,
                record,
                ended: resumable.ended.clone(),
            },
            Some(run),
            line,
            start,
            Some(lock),
        );
    }

    /// Takes up saved run `id` from the history with `settings`: its lock
    /// first, then it is opened from storage and resumed.
    pub fn resume_run(&self, id: RunId, settings: Settings) {
        if self.shown.with_value(|s| s.id.as_ref() == Some(&id)) {
            self.resume_saved(settings);
            return;
        }
        if !self.allowed(Command::Replace) {
            return;
        }
        let Some(store) = self.open_store() else {
            return;
        };
        let handle = *self;
        self.with_free_lock(&id.lock_name(), move |lock| {
            spawn_local(async move {
                handle.open_now(&store, &id, true).await;
                handle.take_up(id, settings, lock).await;
            });
        });
    }

    /// Forgets saved run `id`, unless a tab (this one included) runs it.
    pub fn delete(&self, id: RunId) {
        let Some(store) = self.open_store() else {
            return;
        };
        let handle = *self;
        self.with_free_lock(&id.lock_name(), move |lock| {
            spawn_local(async move {
                if let Err(e) = store.delete(id.as_str()).await {
                    handle.say(
                        NoticeLevel::Warning,
                        &format!("The run could not be deleted ({e})."),
                    );
                }
                set_cut_marks(id.as_str(), None);
                lock.release();
                if let Some(channel) = handle.channel.get_value() {
                    channel.post(id.as_str());
                }
                let shown = handle.shown.with_value(|s| s.id.clone());
                if shown.as_ref() == Some(&id) && !handle.view.state.get_untracked().is_active() {
                    handle.show_nothing();
                }
                handle.refresh_history();
            });
        });
    }

    /// Downloads saved run `id`'s results as CSV or JSON.
    pub fn export_saved(&self, id: RunId, format: ExportFormat) {
        if self.shown.with_value(|s| s.id.as_ref() == Some(&id)) {
            self.export(format);
            return;
        }
        let Some(store) = self.open_store() else {
            return;
        };
        let handle = *self;
        spawn_local(async move {
            let Ok(Some(LoadedRun { run, items, .. })) = library::load(&store, &id).await else {
                return;
            };
            let work = Work::new(
                run.sources.clone(),
                vec![None; run.sources.len()],
                run.per_model(),
            );
            let restored = restore(Some(&id), work.len(), items);
            let rows: Vec<ItemRow> = rows_of(&work)
                .into_iter()
                .map(|row| ItemRow {
                    state: restored.rows[row.id].0,
                    ..row
                })
                .collect();
            handle.download(format, Some(&id), rows, restored.record);
        });
    }
}
