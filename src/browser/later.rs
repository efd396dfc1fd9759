//! Main-thread timers for the run's housekeeping (redrawing rows, retrying
//! a save, letting a page that was not left after all go on): plain
//! callbacks, not the pacing's sleeps (those are [`super::TimerSleep`]).

use std::time::Duration;

use gloo_timers::callback::{Interval, Timeout};

/// Calls `f` once after `delay`.
pub fn after(delay: Duration, f: impl FnOnce() + 'static) {
    let ms = u32::try_from(delay.as_millis()).unwrap_or(u32::MAX);
    Timeout::new(ms, f).forget();
}

/// Calls a function every period until dropped.
pub struct Every(#[allow(dead_code)] Interval);

impl Every {
    /// Calls `f` every `period`.
    pub fn new(period: Duration, f: impl FnMut() + 'static) -> Self {
        let ms = u32::try_from(period.as_millis()).unwrap_or(u32::MAX);
        Self(Interval::new(ms, f))
    }
}
