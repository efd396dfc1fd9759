//! What the run tells the user when the browser holds the tab back: hidden
//! without a timer worker, frozen, or timers woken late anyway.

use std::time::Duration;

use leptos::prelude::*;

use super::driver::RunHandle;
use super::model::{NoticeLevel, RunState};
use crate::browser::{take_timer_lateness, watch_lifecycle, worker_timers, Lifecycle};

/// A timer this late means the tab could not keep its pace.
const LATE: Duration = Duration::from_millis(1000);

impl RunHandle {
    /// Watches the tab for the page's life and says when the browser's
    /// handling of hidden tabs costs the run its pace.
    pub fn watch_tab(&self) {
        let handle = *self;
        watch_lifecycle(move |event| {
            if event == Lifecycle::Leaving {
                handle.leave();
                return;
            }
            if !handle.is_running() {
                return;
            }
            match event {
                Lifecycle::Hidden if !worker_timers() => handle.say(
                    NoticeLevel::Warning,
                    "This tab is hidden and the browser throttles its timers (no timer worker \
                     could start here): Pacer can send only about once a second until the tab \
                     is shown again.",
                ),
                Lifecycle::Resumed { frozen_for } if frozen_for >= LATE => {
                    handle.say(NoticeLevel::Warning, &frozen_text(frozen_for))
                }
                _ => {}
            }
        });
    }

    /// Called on the run's ticker: warns when a sleep woke far too late
    /// (the browser throttled even the worker's timers).
    pub(super) fn check_timers(&self) {
        let late = take_timer_lateness();
        if late >= LATE && self.is_running() {
            self.say(
                NoticeLevel::Warning,
                &format!(
                    "The browser held this tab's timers back by {:.1} s (it does that to hidden \
                     or background tabs to save power); fewer requests were sent meanwhile. \
                     Keep the tab visible for full speed.",
                    late.as_secs_f64()
                ),
            );
        }
    }

    fn is_running(&self) -> bool {
        self.state.get_untracked() == RunState::Running
    }
}

fn frozen_text(frozen_for: Duration) -> String {
    format!(
        "The browser froze this tab for {:.0} s while it was hidden; nothing was sent \
         meanwhile. Pacer has picked up where it left off.",
        frozen_for.as_secs_f64()
    )
}
