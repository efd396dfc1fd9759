//! Pacer's pure core: pacing, scheduling, the API contract and the limiter
//! models, with no browser, no async runtime and no real clock.
//!
//! Time enters only through [`time::Clock`] and [`time::Sleep`], so the same
//! code runs in the browser (on `performance.now()` and `setTimeout`) and in
//! native tests on a fake clock (`sim`), thousands of runs a second.
//!
//! The simulator and the limiter models are behind the `sim` feature: the
//! emulator and the tests turn it on, the page does not ship them.

pub mod api;
pub mod bounds;
pub mod calendar;
pub mod driver;
pub mod gcra;
pub mod image_header;
pub mod input;
#[cfg(any(test, feature = "sim"))]
pub mod limiter;
pub mod schedule;
pub mod shared;
#[cfg(any(test, feature = "sim"))]
pub mod sim;
pub mod sort;
pub mod stats;
pub mod time;
pub mod timeline;

pub use gcra::{Gcra, NotUntil, Quota};
pub use time::{Clock, Sleep};

/// How many cases each reader's "never panics" property draws: 4096, or
/// `PROPTEST_CASES` (the test command lowers it on a slow machine).
#[cfg(test)]
pub(crate) fn proptest_cases() -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(4096)
}
