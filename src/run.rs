//! Runs as the UI sees them: settings in, live item states and figures
//! out, and the saved runs of this browser.
//!
//! [`RunHandle`] is provided as Leptos context by the app root. Components
//! read its signals ([`RunView`]) and call its methods; they never talk to
//! the scheduler, the network or storage themselves. This module touches
//! no `web_sys`, `js_sys` or gloo: fetches, timers, locks, storage and the
//! clock come from [`crate::browser`].
//!
//! Decisions are plain data, tested natively: which command each state
//! allows and what a saved run is in the history (`states`, `history`),
//! saved shapes and merging (`saved`, `summary`, `library`), job files
//! (`job`). The [`RunHandle`] picks the run on show; a `Session` carries
//! one out; its saver and its part in a shared budget attach to it.

mod checked;
mod export;
mod figures;
mod handle;
mod history;
mod id;
mod job;
mod library;
mod model;
mod quota_text;
mod record;
mod rows;
mod rows_of;
mod saved;
mod saver;
mod session;
mod shown;
mod states;
mod summary;
mod tab;
mod tabs;
mod team;
mod transport;
mod view;
mod work;

pub use handle::{ExportFormat, RunHandle};
pub use history::{entries as history_entries, HistoryEntry};
pub use id::RunId;
pub use job::{parse_import, Imported, JobFile, Table};
pub use model::{
    ItemResult, ItemRow, ItemState, Notice, NoticeLevel, RunState, Settings, StatsView,
};
pub use quota_text::{countdown, utc_time};
pub use record::{AttemptRecord, RunRecord};
pub use rows::ItemRows;
pub use saved::SavedSettings;
pub use shown::when_text;
pub use states::{next_state, old_runs, storage_short, Actions, Command, HistoryState};
pub use summary::RunSummary;
pub use team::TeamShown;
pub use view::{QuotaShown, RunView};
