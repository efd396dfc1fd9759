//! `performance.now()` as a [`Clock`].

use std::time::Duration;

use pacer_core::Clock;

/// Monotonic time since the page loaded, with sub-millisecond precision.
#[derive(Clone, Copy, Debug, Default)]
pub struct PerformanceClock;

impl Clock for PerformanceClock {
    fn now(&self) -> Duration {
        let ms = web_sys::window()
            .and_then(|w| w.performance())
            .map(|p| p.now())
            .unwrap_or(0.0);
        Duration::from_secs_f64(ms.max(0.0) / 1000.0)
    }
}

/// Wall-clock time since the Unix epoch (`Date.now()`), for `Retry-After`
/// dates and for timestamps shared with a server's log.
pub fn unix_now() -> Duration {
    Duration::from_secs_f64(js_sys::Date::now().max(0.0) / 1000.0)
}
