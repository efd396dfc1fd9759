//! `setTimeout` (through `gloo-timers`) as a [`Sleep`].

use std::time::Duration;

use gloo_timers::future::TimeoutFuture;
use pacer_core::Sleep;

/// Sleeps on the browser's timer. Delays are rounded *up* to whole
/// milliseconds, so a wake-up is never early; the scheduler re-reads the
/// clock on waking, so a late one costs nothing but the lateness.
#[derive(Clone, Copy, Debug, Default)]
pub struct TimerSleep;

impl Sleep for TimerSleep {
    type Fut = TimeoutFuture;

    fn sleep(&self, d: Duration) -> TimeoutFuture {
        let ms = (d.as_secs_f64() * 1000.0).ceil().min(f64::from(u32::MAX)) as u32;
        TimeoutFuture::new(ms)
    }
}
