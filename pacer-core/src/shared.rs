//! One rate budget shared by several tabs (same endpoint, same key).
//!
//! Tabs that run against the same budget elect one *leader* (in the browser
//! with a Web Lock; here the election is an input: [`Tab::lead`]). The leader
//! paces *grants* with a GCRA at the shared rate and hands them round-robin
//! to the tabs that asked for one; every tab (the leader too) sends only on a
//! grant, at the instant the grant names. Messages ([`Msg`]) go to every tab
//! (a `BroadcastChannel`), so every tab knows every tab's demand and the
//! latest grant: a new leader starts its GCRA from the last grant it heard,
//! never with a burst, and knows at once who is waiting.
//!
//! Times are on a clock all tabs share (in the browser
//! `performance.timeOrigin + performance.now()`), passed in as `now`.
//!
//! A tab that has never seen another one passes its sends through untouched
//! (exactly the lone pacer): the leader only records them, so that a tab
//! joining later is granted its first send a full interval after the last.
//! Once a run has seen another tab it keeps asking for grants to its end.
//!
//! Grants are planned [`LEAD`] ahead of the instant they name, so that the
//! message has time to reach its tab. A tab's main thread is shared with
//! its page (and in Chromium often with the other tabs of the origin), so
//! a grant can still come, or its send wake up, tens of ms late. Such a
//! send goes late rather than give its slot up (which cost a whole
//! interval), and says when it went ([`Msg::Sent`]): every tab keeps the
//! next send at least a spacing after the latest one it heard of, and the
//! leader moves its later grants by as much. Only a grant that another
//! tab's later grant has overtaken is given up. The leader widens its
//! spacing by a safety margin learned from the 429s the tabs report (the
//! single-tab pacer's [`SafetyMargin`]).

//! The state machine is [`Tab`], made of small parts each with its own
//! tests at the level of one message in, one message out: the election
//! (`election.rs`), the lone-tab mode (`alone.rs`), the leader's pacing of
//! grants (`leader.rs`), the log of grants heard of (`grants.rs`) and the
//! table of tabs on the budget (`peers.rs`). `gate.rs` is its async shell.

mod alone;
mod election;
mod gate;
mod grants;
mod leader;
mod msg;
mod peers;
mod tab;
mod wire;

pub use gate::{Bus, Coordinator, Gated, Role, Trace};
pub use leader::{Leader, LEADER_MARGIN};
pub use msg::{Ask, Msg};
pub use tab::Tab;
pub use wire::{MAX_INSTANT, MAX_MARGIN, MAX_RETRY_AFTER, SKEW};

use std::time::Duration;

/// A tab's random id, drawn once per run.
pub type TabId = u64;

/// The most successes one message can report that the leader acts on: a
/// tab reports its count at least every [`BEAT`], far below this at any
/// rate a page keeps up, and a forged count costs a bounded loop.
const MAX_NEW_OK: u64 = 10_000;

/// How far ahead of the instant it names a grant is handed out: enough for
/// a leader woken late and a message to a busy tab (both measured at up to
/// a few tens of ms in headless Chromium on a loaded machine).
pub const LEAD: Duration = Duration::from_millis(50);
/// How far ahead of its instant a granted send is handed to a transport
/// that times its sends itself ([`crate::driver::Transport::send_at`]): the
/// tab's own wake-up may be this late (a busy page) and the send still goes
/// on time. A later send of another tab heard after the hand-over no longer
/// moves it, so not the whole [`LEAD`].
pub const HANDOFF: Duration = Duration::from_millis(30);
/// A grant names an instant at least this far ahead of when it is made.
pub const MIN_LEAD: Duration = Duration::from_millis(8);
/// A tab says it is alive (and what it wants) this often.
pub const BEAT: Duration = Duration::from_millis(1000);
/// A tab not heard from for this long is gone (closed without a word).
pub const GONE: Duration = Duration::from_millis(3500);
