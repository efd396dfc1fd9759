//! The run driver: binds the core scheduler and worker pool to the browser
//! (a `spawn_local` task per worker, the worker-timer sleep, `fetch`) and
//! mirrors the run into the signals the UI reads.

use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::sync::Arc;
use std::time::Duration;

use gloo_timers::callback::Interval;
use leptos::prelude::*;
use pacer_core::driver::{Observer, Pool, RunControl};
use pacer_core::schedule::{
    AnnouncedLimit, ItemId, ItemStatus, MarginPolicy, ProbePolicy, RetryPolicy, Scheduler,
};
use pacer_core::timeline::Column;
use pacer_core::{Clock, Quota};
use wasm_bindgen_futures::spawn_local;

use super::export::ExportItem;
use super::model::{
    ItemRow, ItemState, Notice, NoticeLevel, RunState, Settings, StatsView, Upload,
};
use super::persist::Interrupted;
use super::record::{AttemptRecord, RunRecord};
use super::rows::{self, DirtyRows, ItemRows, SharedDirty};
use super::transport::{FetchTransport, SharedTransport};
use super::work::Work;
use crate::browser::{PerformanceClock, PreparedImage, RunStore, TimerSleep};

/// Columns of the throughput chart, at most.
pub(super) const CHART_COLUMNS: usize = 120;

/// The browser-side objects of the current run (not `Send`, kept locally).
struct ActiveRun {
    control: RunControl,
    transport: Rc<FetchTransport>,
    finished: Rc<Cell<bool>>,
    ticker: Option<Interval>,
    spawn_workers: Rc<dyn Fn(usize)>,
    /// The run's part in a rate budget shared with other tabs.
    share: Rc<super::tabs::TabShare>,
    concurrency: Cell<usize>,
    /// Rows to redraw on the next tick.
    dirty: SharedDirty,
    /// Items to save (see `persist`).
    unsaved: SharedDirty,
}

/// A run's live state and controls, shared through Leptos context.
#[derive(Clone, Copy)]
pub struct RunHandle {
    /// `run-state`.
    pub state: RwSignal<RunState>,
    /// One row per work item, in input order.
    pub items: ItemRows,
    /// Live figures, refreshed as answers arrive and on a short timer.
    pub stats: RwSignal<StatsView>,
    /// The throughput chart's columns (successes/s, 429s, the pacing rate).
    pub chart: RwSignal<Vec<Column>>,
    /// The page's current message.
    pub notice: RwSignal<Option<Notice>>,
    /// What was adjusted in the form at the last start (e.g. a clamped
    /// concurrency): shown beside the notice until the next start, so that
    /// later messages of the run do not hide it.
    pub input_note: RwSignal<Option<String>>,
    /// How many other tabs share this run's rate budget now (0: alone).
    pub sharing: RwSignal<usize>,
    active: StoredValue<Option<ActiveRun>, LocalStorage>,
    pub(super) record: StoredValue<Rc<RefCell<RunRecord>>, LocalStorage>,
    /// The images of the run on show and how its items are cut from them.
    pub(super) work: StoredValue<Rc<Work>, LocalStorage>,
    /// The saved-run database, once open (see `persist`).
    pub(super) store: StoredValue<Option<Rc<RunStore>>, LocalStorage>,
    /// A run found saved at load, waiting for Resume.
    pub(super) interrupted: StoredValue<Option<Interrupted>, LocalStorage>,
}

impl RunHandle {
    /// A handle with nothing started.
    pub fn new() -> Self {
        Self {
            state: RwSignal::new(RunState::Idle),
            items: ItemRows::new(),
            stats: RwSignal::new(StatsView::default()),
            chart: RwSignal::new(Vec::new()),
            notice: RwSignal::new(None),
            input_note: RwSignal::new(None),
            sharing: RwSignal::new(0),
            active: StoredValue::new_local(None),
            record: StoredValue::new_local(Rc::default()),
            work: StoredValue::new_local(Rc::default()),
            store: StoredValue::new_local(None),
            interrupted: StoredValue::new_local(None),
        }
    }

    /// Starts a run over `urls` (already validated http(s) URLs), then the
    /// local `files` (already downscaled and re-encoded).
    pub fn start(&self, settings: Settings, urls: Vec<String>, files: Vec<PreparedImage>) {
        if matches!(
            self.state.get_untracked(),
            RunState::Running | RunState::Paused
        ) {
            return;
        }
        if Quota::per_second(settings.rate).is_none() {
            self.say(NoticeLevel::Error, "The rate must be a number above 0.");
            return;
        }
        self.drop_run();
        self.interrupted.set_value(None);
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
        let rows = rows_of(&work);
        self.save_begin(&settings, &work);
        let record = RunRecord::new(work.len());
        self.launch(settings, work, rows, record, Vec::new());
    }

    /// Runs `rows` (with `record` so far), sending every item not in
    /// `ended`: a new run, or a saved one resumed.
    pub(super) fn launch(
        &self,
        settings: Settings,
        work: Rc<Work>,
        rows: Vec<ItemRow>,
        record: RunRecord,
        ended: Vec<(ItemId, ItemStatus, u32)>,
    ) {
        let Some(quota) = Quota::per_second(settings.rate) else {
            self.say(NoticeLevel::Error, "The rate must be a number above 0.");
            return;
        };
        self.drop_run();
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
        let control = RunControl::new(scheduler);
        let share = super::tabs::TabShare::start(*self, &settings);
        let transport = Rc::new(FetchTransport::new(
            settings,
            Rc::clone(&work),
            Rc::clone(&record),
        ));
        let dirty: SharedDirty = Rc::new(RefCell::new(DirtyRows::new(rows.len())));
        let unsaved: SharedDirty = Rc::new(RefCell::new(DirtyRows::new(rows.len())));
        let observer = RowObserver {
            handle: *self,
            dirty: Rc::clone(&dirty),
            unsaved: Rc::clone(&unsaved),
        };
        let pool = Pool::new(
            control.clone(),
            PerformanceClock,
            TimerSleep,
            share.gate(SharedTransport(Rc::clone(&transport))),
            observer,
        );
        self.items.set(rows);
        self.record.set_value(record);
        self.work.set_value(work);
        self.state.set(RunState::Running);

        let handle = *self;
        let finished = Rc::new(Cell::new(false));
        let spawn_workers: Rc<dyn Fn(usize)> = {
            let finished = Rc::clone(&finished);
            let pool = Rc::clone(&pool);
            Rc::new(move |n| {
                finished.set(false);
                for _ in 0..pool.set_concurrency(n) {
                    let pool = Rc::clone(&pool);
                    let finished = Rc::clone(&finished);
                    spawn_local(async move {
                        Rc::clone(&pool).worker().await;
                        if pool.alive() == 0 {
                            finished.set(true);
                            handle.on_finished();
                        }
                    });
                }
            })
        };
        self.active.set_value(Some(ActiveRun {
            control,
            transport,
            finished,
            ticker: Some(Self::ticker(handle)),
            spawn_workers: Rc::clone(&spawn_workers),
            share,
            concurrency: Cell::new(concurrency),
            dirty,
            unsaved,
        }));
        self.refresh();
        spawn_workers(concurrency);
    }

    /// Changes the rate of the run in progress, at once and without a burst.
    pub fn set_rate(&self, rate: f64) {
        let Some(quota) = Quota::per_second(rate) else {
            return;
        };
        if matches!(
            self.state.get_untracked(),
            RunState::Running | RunState::Paused
        ) {
            self.with_run(|run| {
                run.control.update(|s| s.set_quota(quota));
                run.share.set_rate(rate);
            });
        }
    }

    /// Switches the run in progress between its fixed rate and probing for
    /// the server's limit.
    pub fn set_auto_rate(&self, auto: bool) {
        if matches!(
            self.state.get_untracked(),
            RunState::Running | RunState::Paused
        ) {
            self.with_run(|run| {
                run.control.update(|s| {
                    if s.pacing().probe().is_some() != auto {
                        s.set_probe(auto.then(ProbePolicy::default));
                    }
                })
            });
        }
    }

    /// Changes the number of fetch tasks of the run in progress, at once:
    /// more start now, fewer retire as soon as they are idle.
    pub fn set_concurrency(&self, n: usize) {
        if matches!(
            self.state.get_untracked(),
            RunState::Running | RunState::Paused
        ) {
            self.with_run(|run| {
                run.concurrency.set(n.max(1));
                (run.spawn_workers)(n.max(1));
            });
        }
    }

    fn ticker(handle: RunHandle) -> Interval {
        Interval::new(250, move || {
            handle.refresh();
            handle.check_timers();
        })
    }

    /// Sends nothing new until [`RunHandle::resume`]; in-flight requests finish.
    pub fn pause(&self) {
        if self.state.get_untracked() != RunState::Running {
            return;
        }
        self.with_run(|run| run.control.update(Scheduler::hold));
        self.state.set(RunState::Paused);
        self.say(
            NoticeLevel::Info,
            "Paused: nothing new is sent; requests on the wire finish.",
        );
    }

    /// Lifts a pause.
    pub fn resume(&self) {
        if self.state.get_untracked() != RunState::Paused {
            return;
        }
        self.with_run(|run| run.control.update(Scheduler::resume));
        self.state.set(RunState::Running);
        self.notice.set(None);
        self.refresh();
    }

    /// Puts the failed items back in the queue and runs them again.
    pub fn retry_failed(&self) {
        if !matches!(self.state.get_untracked(), RunState::Done) {
            return;
        }
        let requeued = self.active.with_value(|run| {
            run.as_ref()
                .map_or(0, |run| run.control.update(Scheduler::retry_failed))
        });
        if requeued == 0 {
            return;
        }
        self.mark_rows(|s| s == ItemState::Failed);
        self.flush_rows();
        self.save_changed();
        self.state.set(RunState::Running);
        self.say(
            NoticeLevel::Info,
            &format!("Retrying {requeued} failed item(s)."),
        );
        self.active.update_value(|run| {
            if let Some(run) = run {
                run.ticker = Some(Self::ticker(*self));
            }
        });
        self.with_run(|run| (run.spawn_workers)(run.concurrency.get()));
    }

    fn with_run(&self, f: impl FnOnce(&ActiveRun)) {
        self.active.with_value(|run| {
            if let Some(run) = run {
                f(run);
            }
        });
    }

    /// The page is being left: sends nothing more and aborts the requests
    /// on the wire as "send again"; if the page is still here a moment
    /// later (the leaving was called off), goes on.
    pub(super) fn abort_in_flight(&self) {
        self.with_run(|run| {
            run.control.update(Scheduler::hold);
            run.transport.abort_for_leaving();
        });
        let handle = *self;
        gloo_timers::callback::Timeout::new(2_000, move || {
            handle.with_run(|run| {
                run.transport.stay();
                if handle.state.get_untracked() == RunState::Running {
                    run.control.update(Scheduler::resume);
                }
            });
        })
        .forget();
    }

    /// Aborts in-flight requests and sends nothing more.
    pub fn cancel(&self) {
        self.active.with_value(|run| {
            if let Some(run) = run {
                run.control.update(Scheduler::cancel);
                run.share.leave();
                run.transport.abort_all();
            }
        });
        self.mark_rows(|s| {
            !matches!(
                s,
                ItemState::Done | ItemState::Failed | ItemState::Cancelled
            )
        });
        self.flush_rows();
        self.save_changed();
        if matches!(
            self.state.get_untracked(),
            RunState::Running | RunState::Paused
        ) {
            self.state.set(RunState::Cancelled);
            self.say(
                NoticeLevel::Info,
                "Cancelled: requests on the wire were aborted and nothing more was sent.",
            );
        }
        self.refresh();
    }

    /// Forgets the results of a finished run.
    pub fn clear(&self) {
        if matches!(
            self.state.get_untracked(),
            RunState::Running | RunState::Paused
        ) {
            return;
        }
        self.drop_run();
        self.items.set(Vec::new());
        self.stats.set(StatsView::default());
        self.chart.set(Vec::new());
        self.state.set(RunState::Idle);
        self.notice.set(None);
        self.input_note.set(None);
        self.record.set_value(Rc::default());
        self.work.set_value(Rc::default());
        self.interrupted.set_value(None);
        self.save_clear();
    }

    /// Downloads the results as CSV (`csv`) or JSON (`json`); never the key.
    pub fn export(&self, format: ExportFormat) {
        let record = self.record.get_value();
        let record = record.borrow();
        let (name, mime, text) = self.items.with_untracked(|rows| {
            let items: Vec<ExportItem> = rows
                .iter()
                .map(|r| ExportItem {
                    image: &r.source,
                    model: r.model.as_deref(),
                    state: r.state,
                })
                .collect();
            match format {
                ExportFormat::Csv => (
                    "pacer-results.csv",
                    "text/csv",
                    super::export::to_csv(&items, &record),
                ),
                ExportFormat::Json => (
                    "pacer-results.json",
                    "application/json",
                    super::export::to_json(&items, &record),
                ),
            }
        });
        if let Err(e) = crate::browser::download(name, mime, &text) {
            self.say(
                NoticeLevel::Error,
                &format!("The export could not be saved: {e}"),
            );
        }
    }

    /// Every request of item `id` so far.
    pub fn attempts_of(&self, id: usize) -> Vec<AttemptRecord> {
        let record = self.record.get_value();
        let record = record.borrow();
        record.attempts.get(id).cloned().unwrap_or_default()
    }

    /// Shows `text` as the page's notice.
    pub fn say(&self, level: NoticeLevel, text: &str) {
        self.notice.set(Some(Notice {
            level,
            text: text.into(),
        }));
    }

    /// Forgets the current run's browser-side objects (and so its ticker).
    fn drop_run(&self) {
        self.active.set_value(None);
        self.sharing.set(0);
    }

    fn on_finished(&self) {
        if matches!(
            self.state.get_untracked(),
            RunState::Running | RunState::Paused
        ) {
            self.state.set(RunState::Done);
        }
        self.refresh();
        // Keep the run (its figures stay readable) but stop the ticker.
        self.active.update_value(|run| {
            if let Some(run) = run {
                run.ticker = None;
                run.share.leave();
            }
        });
    }

    /// Brings the rows of items that changed since the last call up to date.
    fn flush_rows(&self) {
        let record = self.record.get_value();
        self.with_run(|run| rows::flush(&run.dirty, self.items, &run.control, &record));
    }

    /// Saves the items that changed since the last call.
    pub(super) fn save_changed(&self) {
        let record = self.record.get_value();
        let mut saved = Vec::new();
        self.with_run(|run| saved = rows::take_saved(&run.unsaved, &run.control, &record));
        self.save_items(saved);
    }

    /// Marks changed the rows whose shown state `pick` selects (after the
    /// scheduler changed many items at once).
    fn mark_rows(&self, pick: impl Fn(ItemState) -> bool) {
        self.with_run(|run| {
            let (mut dirty, mut unsaved) = (run.dirty.borrow_mut(), run.unsaved.borrow_mut());
            self.items.with_untracked(|rows| {
                for row in rows.iter().filter(|r| pick(r.state)) {
                    dirty.mark(row.id);
                    unsaved.mark(row.id);
                }
            });
        });
    }

    /// Recomputes the figures from the scheduler and the measurements.
    fn refresh(&self) {
        self.flush_rows();
        if let Some(text) = self
            .active
            .with_value(|run| run.as_ref()?.transport.take_trouble())
        {
            self.say(NoticeLevel::Warning, &text);
        }
        let now = PerformanceClock.now();
        let total = self.items.with_untracked(<[ItemRow]>::len);
        let view = self.active.with_value(|run| {
            let run = run.as_ref()?;
            let counts = run.control.read(|s| s.counts());
            let pacing_rate = run.control.read(|s| s.pacing().quota().rate());
            let finished = run.finished.get() || run.control.read(Scheduler::is_finished);
            let mut stats = run.transport.stats.borrow_mut();
            if !finished {
                stats.sample_rate(now, pacing_rate);
            }
            let columns = stats.timeline().columns(CHART_COLUMNS);
            let view = StatsView {
                done: counts.done,
                failed: counts.failed,
                queued: counts.queued,
                in_flight: counts.in_flight,
                rate_limited: counts.rate_limited,
                retries: counts.retries,
                sent: counts.sent,
                throughput: stats.throughput(now, finished),
                latency_avg_ms: stats.latency_avg_ms(),
                latency_p95_ms: stats.latency_quantile_ms(0.95),
                latency_p50_ms: stats.latency_quantile_ms(0.50),
                latency_p99_ms: stats.latency_quantile_ms(0.99),
                elapsed_s: stats.elapsed(now, finished).as_secs_f64(),
                total,
                pacing_rate,
            };
            Some((view, columns))
        });
        if let Some((view, columns)) = view {
            self.stats.set(view);
            self.chart.set(columns);
        }
    }
}

/// Fresh rows for the items of `work`; a local image's thumbnail is its
/// object URL, and an image's items share their strings.
pub(super) fn rows_of(work: &Work) -> Vec<ItemRow> {
    let models: Vec<Arc<str>> = work.per_model.iter().map(|m| m.as_str().into()).collect();
    let mut rows = Vec::with_capacity(work.len());
    for (image, (source, upload)) in work.images.iter().zip(&work.uploads).enumerate() {
        let first = ItemRow::queued(0, source);
        let thumb = match upload {
            Some(u) => u.thumb_url.as_str().into(),
            None => Arc::clone(&first.thumb),
        };
        for id in work.items_of(image..image + 1) {
            rows.push(ItemRow {
                id,
                thumb: Arc::clone(&thumb),
                source: Arc::clone(&first.source),
                model: work
                    .model_of(id)
                    .map(|_| Arc::clone(&models[id % models.len()])),
                ..first.clone()
            });
        }
    }
    rows
}

/// What [`RunHandle::export`] writes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExportFormat {
    /// One row per image × model.
    Csv,
    /// Full responses and per-attempt timings.
    Json,
}

impl Default for RunHandle {
    fn default() -> Self {
        Self::new()
    }
}

/// Marks rows changed (drawn by the ticker, see [`rows`]) and feeds the
/// send times to the figures.
struct RowObserver {
    handle: RunHandle,
    dirty: SharedDirty,
    unsaved: SharedDirty,
}

impl Observer for RowObserver {
    fn on_send(&self, item: ItemId, _attempt: u32, at: Duration) {
        self.dirty.borrow_mut().mark(item);
        self.handle.active.with_value(|run| {
            if let Some(run) = run {
                run.transport.stats.borrow_mut().on_send(at);
            }
        });
    }

    fn on_announced(&self, limit: AnnouncedLimit) {
        let mut announced = Vec::new();
        if let Some(n) = limit.per_second {
            announced.push(format!("{n}/s (X-RateLimit-Limit-Second: {n})"));
        }
        if let Some(n) = limit.per_minute {
            announced.push(format!("{n}/min (X-RateLimit-Limit-Minute: {n})"));
        }
        let limits = announced.join(" and ");
        let text = if limit.lowered {
            format!(
                "The server allows {limits}, less than the rate you set: pacing at {rate}/s to honour it.",
                rate = (limit.rate * 100.0).round() / 100.0
            )
        } else {
            format!(
                "The server announces {limits}; Pacer keeps to it and sends mid-way between its window edges."
            )
        };
        self.handle.say(NoticeLevel::Info, &text);
    }

    fn on_complete(&self, item: ItemId, _status: &ItemStatus, _at: Duration) {
        // The row and the figures are redrawn by the run's 250 ms ticker
        // and at its end, not per answer (see [`rows`]); p95 also sorts
        // every latency, which per answer would cost O(n² log n).
        self.dirty.borrow_mut().mark(item);
        // Saved at once, though: an answer not saved before a reload would
        // be sent again. Answers that land together share one transaction.
        let first = self.unsaved.borrow().is_empty();
        self.unsaved.borrow_mut().mark(item);
        if first {
            let handle = self.handle;
            spawn_local(async move { handle.save_changed() });
        }
    }
}
