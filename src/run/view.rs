//! What the page shows of runs: signals only, no behaviour. Components read
//! these; the run's session and the handle's commands write them.

use leptos::prelude::*;

use super::history::HistoryEntry;
use super::id::RunId;
use super::model::{Notice, NoticeLevel, RunState, StatsView};
use super::rows::ItemRows;
use super::team::TeamShown;
use crate::browser::StorageUse;
use pacer_core::timeline::Column;

/// The run on show and the saved runs, as signals (all `Copy`).
#[derive(Clone, Copy)]
pub struct RunView {
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
    /// Why the run on show is not (fully) saved: shown beside the notice
    /// for as long as it holds, whatever else is said meanwhile.
    pub save_warning: RwSignal<Option<String>>,
    /// How many other tabs share this run's rate budget now (0: alone).
    pub sharing: RwSignal<usize>,
    /// The team budget of the proxy the run goes through, once it said.
    pub team: RwSignal<Option<TeamShown>>,
    /// The id of the run on show.
    pub run_id: RwSignal<Option<RunId>>,
    /// The saved runs, newest first.
    pub history: RwSignal<Vec<HistoryEntry>>,
    /// The browser's storage estimate, when known.
    pub storage: RwSignal<Option<StorageUse>>,
    /// While the run waits for a quota: when it returns, and the countdown.
    pub quota: RwSignal<Option<QuotaShown>>,
    /// The announced window that binds the pacing, in words.
    pub binding: RwSignal<Option<String>>,
}

/// A run waiting for a quota, as shown.
#[derive(Clone, Debug, PartialEq)]
pub struct QuotaShown {
    /// When the quota returns, ms since the Unix epoch.
    pub until_unix_ms: f64,
    /// Time left, e.g. "0:42".
    pub left: String,
}

impl RunView {
    /// Nothing on show.
    pub fn new() -> Self {
        Self {
            state: RwSignal::new(RunState::Idle),
            items: ItemRows::new(),
            stats: RwSignal::new(StatsView::default()),
            chart: RwSignal::new(Vec::new()),
            notice: RwSignal::new(None),
            input_note: RwSignal::new(None),
            save_warning: RwSignal::new(None),
            sharing: RwSignal::new(0),
            team: RwSignal::new(None),
            run_id: RwSignal::new(None),
            history: RwSignal::new(Vec::new()),
            storage: RwSignal::new(None),
            quota: RwSignal::new(None),
            binding: RwSignal::new(None),
        }
    }

    /// Shows `text` as the page's notice.
    pub fn say(&self, level: NoticeLevel, text: &str) {
        self.notice.set(Some(Notice {
            level,
            text: text.into(),
        }));
    }

    /// Shows `text`, news the run found out by itself (a limit the server
    /// announced), unless a warning or an error is on show: those say what
    /// the user must know or do (that the key now travels in URLs, say),
    /// and news arriving a moment later must not hide them. The news is
    /// shown elsewhere too (the pacing figure names the binding limit).
    pub fn tell(&self, text: &str) {
        let louder = self
            .notice
            .with_untracked(|n| n.as_ref().is_some_and(|n| n.level != NoticeLevel::Info));
        if !louder {
            self.say(NoticeLevel::Info, text);
        }
    }
}

impl Default for RunView {
    fn default() -> Self {
        Self::new()
    }
}
