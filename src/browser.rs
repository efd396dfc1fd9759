//! The only module that touches `web_sys`, `js_sys` and browser timers:
//! the clock (`performance.now()`), the sleep (`setTimeout` in a dedicated
//! worker, so hidden tabs keep their pace) and `fetch` with an `AbortController`.
//!
//! Everything here is a thin adapter to a `pacer-core` trait or a plain
//! Rust type; no decisions are made here.

mod clock;
mod download;
mod fetch;
mod ids;
mod image;
mod later;
mod layout;
mod lifecycle;
mod local;
mod page;
mod panic_notice;
mod paste;
mod quota;
mod read;
mod runs_channel;
mod store;
mod tabs;
mod text;
mod timer;
mod url_parse;

pub use clock::{unix_now, PerformanceClock};
pub use download::{download, FileParts};
pub use fetch::{
    answers_at_all, AbortHandle, FetchError, HttpAnswer, PendingFetch, MAX_BODY_BYTES,
};
pub use ids::random_run_id;
pub use image::{
    human_bytes, jpeg_object_url, prepare, release, take_chosen_files, ImageRefused, PreparedImage,
};
pub use later::{after, Every};
pub use layout::{image_aspect, measure, scroll_state, scroll_to, ScrollBox};
pub use lifecycle::{watch_lifecycle, Lifecycle};
pub use local::{
    copy_text, forget_keys, migrate_plain_key, remember_key, remember_settings, remembered_keys,
    remembered_settings,
};
pub use page::{
    cut_marks, quota_mark, reload_page, set_cut_marks, set_quota_mark, set_tab_run, tab_run,
};
pub use panic_notice::{install_panic_hook, show_panic, PANIC_TEXT};
pub use paste::pasted_into_textarea;
pub use quota::{persist_storage, storage_estimate, StorageUse};
pub use read::read_text;
pub use runs_channel::RunsChannel;
pub use store::{LegacyRun, RunStore, SavedRecords, StoreError};
pub use tabs::{
    budget_name, clear_leading, held_locks, leading_lately, locks_available, mark_leading,
    on_page_event, random_tab_id, request_lock, trace_to_page, BudgetChannel, HeldLock, LateBus,
    PageEvent, SharedClock,
};
pub use text::lowercase;
pub use timer::{take_timer_lateness, worker_timers, TimerSleep};
pub use url_parse::{page_origin, page_query_param, parse_url, query_string, ParsedUrl};
