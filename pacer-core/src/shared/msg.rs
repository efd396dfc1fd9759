//! What tabs tell each other ([`Msg`]), and what a tab's send must do ([`Ask`]).

use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::TabId;

/// What tabs tell each other. Every message reaches every tab.
///
/// Read back through a flat record of optional fields (`shared/wire.rs`):
/// the same JSON, with far less code than serde's tagged-enum reader.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(
    tag = "k",
    rename_all = "snake_case",
    try_from = "super::wire::WireMsg"
)]
pub enum Msg {
    /// A tab running against the budget: permits asked for and received
    /// so far (cumulative, so a lost or reordered message costs nothing),
    /// its successes so far, and the rate it was set to.
    Want {
        /// The tab.
        tab: TabId,
        /// Permits asked for, in all.
        asked: u64,
        /// Permits received, in all.
        got: u64,
        /// Successful answers, in all (the leader's margin decays on them).
        ok: u64,
        /// The tab's allotted rate.
        rate: f64,
    },
    /// The leader: `tab` may send once, at `at`.
    Grant {
        /// The tab.
        tab: TabId,
        /// The instant (shared clock).
        at: Duration,
    },
    /// The leader says it leads (on taking the lead and every [`super::BEAT`]).
    Lead {
        /// The leader.
        leader: TabId,
        /// The rate it paces at.
        rate: f64,
        /// The margin it adds to the spacing.
        margin: Duration,
        /// The latest grant it made.
        last: Option<Duration>,
    },
    /// `tab` sent on its grant at `at`, at `sent` (later, if it was late).
    Sent {
        /// The tab.
        tab: TabId,
        /// The grant's instant.
        at: Duration,
        /// When the send went.
        sent: Duration,
    },
    /// A send of `tab` granted at `at` was refused with a 429.
    Limited {
        /// The tab.
        tab: TabId,
        /// The grant's instant.
        at: Duration,
        /// The server's `Retry-After`, if any.
        retry_after: Option<Duration>,
    },
    /// `tab` stops leading (frozen) or leaves (`gone`: run over, tab
    /// closed). `last` is the latest grant it knows was or will be used.
    Bye {
        /// The tab.
        tab: TabId,
        /// It leaves the budget altogether.
        gone: bool,
        /// The latest grant in use.
        last: Option<Duration>,
        /// Its margin, if it led.
        margin: Option<Duration>,
    },
}

/// What a tab's send must do.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ask {
    /// Go now (a lone tab: nothing changes).
    Now,
    /// Wait for a grant ([`super::Tab::take_permits`]).
    Wait,
}
