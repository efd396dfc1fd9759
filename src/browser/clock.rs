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

impl PerformanceClock {
    /// Wall-clock time minus this clock (`performance.timeOrigin`): add it to
    /// an instant of this clock to get time since the Unix epoch.
    pub fn wall_offset(&self) -> Duration {
        let origin = web_sys::window()
            .and_then(|w| w.performance())
            .map(|p| p.time_origin())
            .unwrap_or_else(js_sys::Date::now);
        Duration::from_secs_f64(origin.max(0.0) / 1000.0)
    }
}

/// Wall-clock time since the Unix epoch with sub-millisecond precision
/// (`performance.timeOrigin + performance.now()`), for `Retry-After` dates
/// and for timestamps compared with a server's log.
pub fn unix_now() -> Duration {
    PerformanceClock.wall_offset() + PerformanceClock.now()
}
