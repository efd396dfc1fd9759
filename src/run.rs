//! A run as the UI sees it: settings in, live item states and figures out.
//!
//! [`RunHandle`] is provided as Leptos context by the app root. Components
//! read its signals and call its methods; they never talk to the scheduler or
//! the network themselves. This module owns no `web_sys` code: fetches,
//! timers and the clock come from [`crate::browser`].

mod checked;
mod driver;
mod export;
mod job;
mod model;
mod persist;
mod record;
mod rows;
mod saved;
mod tab;
mod tabs;
mod transport;
mod work;

pub use driver::{ExportFormat, RunHandle};
pub use job::{parse_import, Imported, JobFile, Table};
pub use model::{
    ItemResult, ItemRow, ItemState, Notice, NoticeLevel, RunState, Settings, StatsView,
};
pub use record::{AttemptRecord, RunRecord};
pub use rows::ItemRows;
pub use saved::SavedSettings;
