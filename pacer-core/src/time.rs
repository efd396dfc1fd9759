//! How time enters the core: a [`Clock`] to read and a [`Sleep`] to wait.
//!
//! Instants are [`Duration`]s since an origin the clock chooses (page load
//! in the browser, zero on the fake clock, the Unix epoch in the emulator).
//! Nothing here reads a real clock.

use std::future::Future;
use std::time::Duration;

/// A monotonic source of "now", as time since the clock's origin.
pub trait Clock {
    /// The current instant.
    fn now(&self) -> Duration;
}

/// A way to wait. The browser sleeps on a timer; the simulator advances a
/// fake clock. Timers may fire late (hidden tabs, 4 ms clamping); callers
/// must re-read the clock after waking rather than assume the wait was exact.
pub trait Sleep {
    /// The future returned by [`Sleep::sleep`].
    type Fut: Future<Output = ()>;
    /// Waits at least `d`.
    fn sleep(&self, d: Duration) -> Self::Fut;
}
