//! Pacer, the browser app: the table of contents.
//!
//! - [`browser`]: the only module that touches `web_sys`, `js_sys` and timers.
//! - [`run`]: binds the pure scheduler of `pacer-core` to the browser and
//!   exposes a run's live state to the UI as signals.
//! - [`ui`]: Leptos components.

pub mod browser;
pub mod run;
pub mod ui;
