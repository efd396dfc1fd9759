//! What the run tells the user when the browser holds the tab back: hidden
//! without a timer worker, frozen, or timers woken late anyway.

use std::time::Duration;

/// A timer this late means the tab could not keep its pace.
pub const LATE: Duration = Duration::from_millis(1000);

/// Hidden, and no timer worker could start.
pub const HIDDEN_TEXT: &str = "This tab is hidden and the browser throttles its timers (no timer \
     worker could start here): Pacer can send only about once a second until the tab is shown \
     again.";

/// The browser froze the tab for `frozen_for`.
pub fn frozen_text(frozen_for: Duration) -> String {
    format!(
        "The browser froze this tab for {:.0} s while it was hidden; nothing was sent \
         meanwhile. Pacer has picked up where it left off.",
        frozen_for.as_secs_f64()
    )
}

/// Timers woke `late` after they were due.
pub fn late_text(late: Duration) -> String {
    format!(
        "The browser held this tab's timers back by {:.1} s (it does that to hidden \
         or background tabs to save power); fewer requests were sent meanwhile. \
         Keep the tab visible for full speed.",
        late.as_secs_f64()
    )
}
