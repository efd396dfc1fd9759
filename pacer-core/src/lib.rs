//! Pacer's pure core: pacing, scheduling, the API contract and the limiter
//! models, with no browser, no async runtime and no real clock.
//!
//! Time enters only through [`time::Clock`] and [`time::Sleep`], so the same
//! code runs in the browser (on `performance.now()` and `setTimeout`) and in
//! native tests on a fake clock ([`sim`]), thousands of runs a second.

pub mod api;
pub mod bounds;
pub mod driver;
pub mod gcra;
pub mod image_header;
pub mod input;
pub mod limiter;
pub mod schedule;
pub mod shared;
pub mod sim;
pub mod stats;
pub mod time;
pub mod timeline;

pub use gcra::{Gcra, NotUntil, Quota};
pub use time::{Clock, Sleep};
