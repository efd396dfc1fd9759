//! The commands the page gives about runs, and the one place that decides
//! which run is on show: a new one (Start), a saved one taken up (Resume),
//! or one opened from the history or a job file (see `handle/saved_runs`).
//!
//! The handle holds the [`RunView`] (signals, read by components through
//! `Deref`), the [`Session`] of the run this tab carries out, if any, and
//! what is on show otherwise. Persistence ([`RunSaver`]) and tab sharing
//! attach to the session; nothing here holds the other way round.

mod exports;
mod jobs;
mod page_life;
mod saved_runs;

use std::ops::Deref;
use std::rc::Rc;

use leptos::prelude::*;
use pacer_core::Quota;

use super::id::RunId;
use super::model::{NoticeLevel, RunState, Settings, Upload};
use super::record::{AttemptRecord, RunRecord};
use super::rows_of::rows_of;
use super::saved::{SavedRun, SavedSettings, SAVE_VERSION};
use super::saver::{RunSaver, Start};
use super::session::{Launch, Session};
use super::shown::Shown;
use super::states::{next_state, Command};
use super::summary::RunSummary;
use super::view::RunView;
use super::work::Work;
use crate::browser::{
    persist_storage, random_run_id, request_lock, set_tab_run, unix_now, PreparedImage, RunStore,
    RunsChannel,
};

/// Puts a saved run's settings and URLs into the form.
type OnSettings = Rc<dyn Fn(&SavedSettings, &[String])>;

/// What a rate outside the quota's bounds is told.
const RATE_BOUNDS: &str = "The rate must be between 0.001 and 10 000 requests per second.";

/// How the store is doing.
#[derive(Clone)]
enum StoreState {
    /// Still opening.
    Opening,
    /// Open.
    Open(Rc<RunStore>),
    /// It could not be opened: why.
    Failed(String),
}

/// Runs as the page drives them, shared through Leptos context.
#[derive(Clone, Copy)]
pub struct RunHandle {
    view: RunView,
    session: StoredValue<Option<Rc<Session>>, LocalStorage>,
    shown: StoredValue<Shown, LocalStorage>,
    store: StoredValue<StoreState, LocalStorage>,
    on_settings: StoredValue<Option<OnSettings>, LocalStorage>,
    /// Storage persistence was asked for already (once per page).
    asked_persist: StoredValue<bool>,
    /// The word to the other tabs about runs (see `browser::RunsChannel`).
    channel: StoredValue<Option<Rc<RunsChannel>>, LocalStorage>,
}

impl Deref for RunHandle {
    type Target = RunView;
    fn deref(&self) -> &RunView {
        &self.view
    }
}

impl Default for RunHandle {
    fn default() -> Self {
        Self::new()
    }
}

/// What [`RunHandle::export`] writes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExportFormat {
    /// One row per image × model.
    Csv,
    /// Full responses and per-attempt timings.
    Json,
}

impl RunHandle {
    /// A handle with nothing on show.
    pub fn new() -> Self {
        Self {
            view: RunView::new(),
            session: StoredValue::new_local(None),
            shown: StoredValue::new_local(Shown::default()),
            store: StoredValue::new_local(StoreState::Opening),
            on_settings: StoredValue::new_local(None),
            asked_persist: StoredValue::new(false),
            channel: StoredValue::new_local(None),
        }
    }

    /// The view, for components that only read.
    pub fn view(&self) -> RunView {
        self.view
    }

    fn session(&self) -> Option<Rc<Session>> {
        self.session.get_value()
    }

    fn allowed(&self, command: Command) -> bool {
        next_state(self.view.state.get_untracked(), command).is_some()
    }

    /// Starts a new run over `urls` (already validated http(s) URLs), then
    /// the local `files` (already downscaled and re-encoded). A run on show
    /// that was interrupted or finished stays in the history.
    pub fn start(&self, settings: Settings, urls: Vec<String>, files: Vec<PreparedImage>) {
        if !self.allowed(Command::Start) {
            return;
        }
        if Quota::per_second(settings.rate).is_none() {
            self.say(NoticeLevel::Error, RATE_BOUNDS);
            return;
        }
        let id = RunId::parse(&random_run_id()).unwrap_or_else(|_| RunId::legacy(&urls));
        let mut images = urls;
        let mut uploads = vec![None; images.len()];
        for file in files {
            images.push(file.name);
            uploads.push(Some(Upload {
                jpeg: file.jpeg,
                thumb_url: file.object_url,
            }));
        }
        let per_model = if settings.per_model {
            settings.models.clone()
        } else {
            Vec::new()
        };
        let work = Rc::new(Work::new(images, uploads, per_model));
        let run = SavedRun {
            version: SAVE_VERSION,
            id: Some(id.clone()),
            started_unix_ms: unix_now().as_secs_f64() * 1000.0,
            settings: SavedSettings::from(&settings).cut_as(&work),
            sources: work.images.clone(),
            files: work.files(),
        };
        let files: Vec<(usize, Rc<[u8]>)> = work
            .uploads
            .iter()
            .enumerate()
            .filter_map(|(i, u)| Some((i, Rc::clone(&u.as_ref()?.jpeg))))
            .collect();
        let start = Start::Begin {
            run: serde_json::to_string(&run).unwrap_or_default(),
            files,
            items: Vec::new(),
        };
        let rows = rows_of(&work);
        let record = RunRecord::new(work.len());
        let line = RunSummary::of(&run, id.clone());
        self.launch(
            Launch {
                id,
                settings,
                work,
                rows,
                record,
                ended: Vec::new(),
            },
            Some(run),
            line,
            start,
            None,
        );
        if !self.asked_persist.get_value() {
            self.asked_persist.set_value(true);
            wasm_bindgen_futures::spawn_local(async {
                persist_storage().await;
            });
        }
    }

    /// Launches a session for `launch`, saved from `start` into the store
    /// (if open), holding `lock` (or taking the run's lock now).
    fn launch(
        &self,
        launch: Launch,
        run: Option<SavedRun>,
        line: RunSummary,
        start: Start,
        lock: Option<crate::browser::HeldLock>,
    ) {
        self.drop_session();
        let id = launch.id.clone();
        let Some(session) = Session::launch(self.view, launch) else {
            self.say(NoticeLevel::Error, RATE_BOUNDS);
            return;
        };
        self.view.save_warning.set(None);
        match self.store.get_value() {
            StoreState::Open(store) => {
                let channel = self.channel.get_value();
                let announce: Rc<dyn Fn(&str)> = Rc::new(move |id: &str| {
                    if let Some(channel) = &channel {
                        channel.post(id);
                    }
                });
                RunSaver::attach(&session, store, self.view, line, start, announce);
            }
            StoreState::Failed(why) => self.view.save_warning.set(Some(format!(
                "Runs cannot be saved in this browser ({why}): this run goes on unsaved, and a \
                 reload or closing the tab loses it."
            ))),
            StoreState::Opening => self.view.save_warning.set(Some(
                "The browser's storage was not open yet when this run started: it goes on \
                 unsaved, and a reload or closing the tab loses it."
                    .to_owned(),
            )),
        }
        match lock {
            Some(lock) => {
                session.hold(lock);
            }
            None => {
                let weak = Rc::downgrade(&session);
                request_lock(&id.lock_name(), true, move |lock| {
                    match (lock, weak.upgrade()) {
                        (Some(lock), Some(session)) => session.hold(lock),
                        _ => false,
                    }
                });
            }
        }
        self.shown.set_value(Shown {
            id: Some(id.clone()),
            run,
            work: session.work(),
            record: session.record(),
            resumable: None,
        });
        self.view.run_id.set(Some(id.clone()));
        set_tab_run(Some(id.as_str()));
        self.session.set_value(Some(Rc::clone(&session)));
        session.go();
        self.refresh_history();
    }

    /// Changes the rate of the run in progress, at once and without a burst.
    pub fn set_rate(&self, rate: f64) {
        if let Some(s) = self.active_session() {
            s.set_rate(rate);
        }
    }

    /// Switches the run in progress between its fixed rate and probing.
    pub fn set_auto_rate(&self, auto: bool) {
        if let Some(s) = self.active_session() {
            s.set_auto_rate(auto);
        }
    }

    /// Spreads a long quota over its time left in the run in progress, or
    /// spends it as fast as the limits allow.
    pub fn set_spread_quota(&self, spread: bool) {
        if let Some(s) = self.active_session() {
            s.set_spread_quota(spread);
        }
    }

    /// Changes the number of fetch tasks of the run in progress.
    pub fn set_concurrency(&self, n: usize) {
        if let Some(s) = self.active_session() {
            s.set_concurrency(n);
        }
    }

    fn active_session(&self) -> Option<Rc<Session>> {
        self.view
            .state
            .get_untracked()
            .is_active()
            .then(|| self.session())
            .flatten()
    }

    /// Sends nothing new until [`RunHandle::resume`]; in-flight requests finish.
    pub fn pause(&self) {
        if !self.allowed(Command::Pause) {
            return;
        }
        if let Some(s) = self.session() {
            s.pause();
            self.say(
                NoticeLevel::Info,
                "Paused: nothing new is sent; requests on the wire finish.",
            );
        }
    }

    /// When the interrupted run on show was left waiting for a quota (a
    /// reload, a closed tab): until when, ms since the Unix epoch. Such a
    /// run is taken up again at once, to wait out the rest here.
    pub fn saved_quota_wait(&self) -> Option<f64> {
        if self.view.state.get_untracked() != RunState::Interrupted {
            return None;
        }
        let id = self.shown.with_value(|s| s.id.clone())?;
        crate::browser::quota_mark(id.as_str())
    }

    /// Lifts a pause.
    pub fn resume(&self) {
        if self.view.state.get_untracked() != RunState::Paused || !self.allowed(Command::Resume) {
            return;
        }
        if let Some(s) = self.session() {
            s.resume();
            self.notice.set(None);
        }
    }

    /// Puts the failed items back in the queue and runs them again.
    pub fn retry_failed(&self) {
        if !self.allowed(Command::RetryFailed) {
            return;
        }
        let Some(s) = self.session() else { return };
        let requeued = s.retry_failed();
        if requeued > 0 {
            self.say(
                NoticeLevel::Info,
                &format!("Retrying {requeued} failed item(s)."),
            );
        }
    }

    /// Aborts in-flight requests and sends nothing more.
    pub fn cancel(&self) {
        if !self.allowed(Command::Cancel) {
            return;
        }
        if let Some(s) = self.session() {
            s.cancel();
            self.say(
                NoticeLevel::Info,
                "Cancelled: requests on the wire were aborted and nothing more was sent.",
            );
        }
    }

    /// Every request of item `id` so far.
    pub fn attempts_of(&self, id: usize) -> Vec<AttemptRecord> {
        let record = self.shown.with_value(|s| Rc::clone(&s.record));
        let record = record.borrow();
        record.attempts.get(id).cloned().unwrap_or_default()
    }

    /// Stops showing the run on show and forgets its save (a run this tab
    /// does not hold is never touched: another tab may run it).
    pub fn clear(&self) {
        if !self.allowed(Command::Clear) {
            return;
        }
        let id = self.shown.with_value(|s| s.id.clone());
        self.show_nothing();
        if let Some(id) = id {
            self.delete(id);
        }
    }

    /// Nothing on show.
    fn show_nothing(&self) {
        self.drop_session();
        self.items.set(Vec::new());
        self.stats.set(Default::default());
        self.chart.set(Vec::new());
        self.state.set(RunState::Idle);
        self.notice.set(None);
        self.input_note.set(None);
        self.view.save_warning.set(None);
        self.view.run_id.set(None);
        self.shown.set_value(Shown::default());
        set_tab_run(None);
    }

    /// Forgets the session (and so its ticker and lock).
    fn drop_session(&self) {
        if let Some(s) = self.session.try_update_value(Option::take).flatten() {
            s.drop_run();
        }
        self.sharing.set(0);
    }
}
