//! One tab's view of the shared budget: its own sends (asked, granted,
//! sent on), and the parts that decide for it (election, lone-tab mode,
//! leader, grant log, peer table).

use std::collections::VecDeque;
use std::time::Duration;

use super::alone::Alone;
use super::election::Election;
use super::grants::GrantLog;
use super::peers::{Peers, Report};
use super::{Ask, Leader, Msg, TabId, BEAT, LEAD, MIN_LEAD};
use crate::gcra::Quota;

/// One tab's view of the shared budget.
#[derive(Clone, Debug)]
pub struct Tab {
    id: TabId,
    rate: f64,
    election: Election,
    /// Another tab was seen during this run: every send waits for a grant.
    shared: bool,
    alone: Alone,
    leader: Option<Leader>,
    /// Every tab running against the budget (this one too).
    peers: Peers,
    /// Every grant heard of (ours, or any tab's).
    grants: GrantLog,
    asked: u64,
    got: u64,
    ok: u64,
    /// Grants for this tab not yet taken by a send: the instants they name.
    permits: VecDeque<Duration>,
    /// Grants for this tab that found no send waiting.
    wasted: u64,
    /// Grants for this tab not sent on yet.
    unsent: Vec<Duration>,
    /// The latest grant of ours that was sent on (or handed to another tab).
    last_used: Option<Duration>,
    /// The latest grant sent on that this tab knows of (its own or another
    /// tab's): the grant's instant and when the send went.
    last_sent: Option<(Duration, Duration)>,
    outbox: Vec<Msg>,
    next_beat: Duration,
    gone: bool,
}

impl Tab {
    /// A tab that starts a run at `rate` at `now`; undecided until the
    /// election answers ([`Tab::lead`] or [`Tab::follow`]).
    pub fn new(id: TabId, rate: f64, now: Duration) -> Self {
        let mut tab = Self {
            id,
            rate: local_rate(rate),
            election: Election::default(),
            shared: false,
            alone: Alone::default(),
            leader: None,
            peers: Peers::default(),
            grants: GrantLog::default(),
            asked: 0,
            got: 0,
            ok: 0,
            permits: VecDeque::new(),
            wasted: 0,
            unsent: Vec::new(),
            last_used: None,
            last_sent: None,
            outbox: Vec::new(),
            next_beat: now,
            gone: false,
        };
        tab.touch_self(now);
        tab
    }

    /// Another tab may already pace this budget (in the browser: a leader
    /// of this origin said so lately): until the election answers, sends
    /// wait instead of going at once. Sent at once they would be unknown to
    /// that leader, and come within a spacing of the sends it paces: in the
    /// bench every tab that joined a running one drew a 429 so.
    pub fn expect_others(&mut self) {
        self.election.expect_others();
    }

    /// This tab's id.
    pub fn id(&self) -> TabId {
        self.id
    }

    /// True while this tab leads.
    pub fn is_leader(&self) -> bool {
        self.leader.is_some()
    }

    /// True once another tab shared the budget during this run.
    pub fn is_shared(&self) -> bool {
        self.shared
    }

    /// The leader, while this tab leads.
    pub fn leader(&self) -> Option<&Leader> {
        self.leader.as_ref()
    }

    /// Other tabs running against the budget now.
    pub fn others(&self) -> usize {
        self.peers.others()
    }

    /// The budget's rate: the lowest rate any tab running on it was set to.
    pub fn shared_rate(&self) -> f64 {
        self.peers.lowest_rate(self.rate)
    }

    /// Grants for this tab that came when no send was waiting.
    pub fn wasted(&self) -> u64 {
        self.wasted
    }

    /// True after [`Tab::leave`].
    pub fn is_gone(&self) -> bool {
        self.gone
    }

    /// Messages to send to every other tab.
    pub fn take_outbox(&mut self) -> Vec<Msg> {
        std::mem::take(&mut self.outbox)
    }

    /// The user changed this tab's rate.
    pub fn set_rate(&mut self, rate: f64, now: Duration) {
        if rate.is_finite() && rate > 0.0 {
            self.rate = local_rate(rate);
            self.touch_self(now);
            self.say_want(now);
        }
    }

    fn report(&self) -> Report {
        Report {
            asked: self.asked,
            got: self.got,
            ok: self.ok,
            rate: self.rate,
        }
    }

    fn touch_self(&mut self, now: Duration) {
        self.peers.touch(self.id, self.report(), now);
    }

    fn say_want(&mut self, now: Duration) {
        if self.gone {
            return;
        }
        self.outbox.push(Msg::Want {
            tab: self.id,
            asked: self.asked,
            got: self.got,
            ok: self.ok,
            rate: self.rate,
        });
        self.next_beat = now.saturating_add(BEAT);
    }

    /// A send wants to go at `now`.
    pub fn ask(&mut self, now: Duration) -> Ask {
        if self.gone {
            return Ask::Now;
        }
        if !self.shared && self.election.may_go_alone() {
            // Alone (or, with no sign of another tab, not yet known
            // otherwise: the election takes a few ms, which a lone tab need
            // not wait for): as if there were no other tab; the leader only
            // records.
            if let Some(leader) = &mut self.leader {
                let waiting = !self.unsent.is_empty();
                if let Some(slot) = self.alone.ask(leader, now, waiting) {
                    self.asked += 1;
                    self.got += 1;
                    self.touch_self(now);
                    self.permits.push_back(slot);
                    self.unsent.push(slot);
                    self.grants.heard(slot, self.id);
                    self.last_used = self.grants.last();
                    return Ask::Wait;
                }
            }
            self.grants.heard(now, self.id);
            self.last_used = self.grants.last();
            return Ask::Now;
        }
        self.asked += 1;
        self.touch_self(now);
        self.say_want(now);
        Ask::Wait
    }

    /// A send that waited gives up (its run was cancelled).
    pub fn withdraw(&mut self, now: Duration) {
        if self.asked > self.got {
            self.asked -= 1;
            self.touch_self(now);
            self.say_want(now);
        }
    }

    /// A send succeeded.
    pub fn succeeded(&mut self, now: Duration) {
        self.ok += 1;
        self.touch_self(now);
        if let Some(leader) = &mut self.leader {
            leader.on_success();
        }
    }

    /// A send granted at `at` drew a 429.
    pub fn limited(&mut self, at: Duration, retry_after: Option<Duration>, now: Duration) {
        if let Some(leader) = &mut self.leader {
            leader.on_limited(at, retry_after, now);
        } else {
            self.outbox.push(Msg::Limited {
                tab: self.id,
                at,
                retry_after,
            });
        }
    }

    /// Takes the grants that arrived for this tab's waiting sends: the
    /// instants at which they may go.
    pub fn take_permits(&mut self) -> Vec<Duration> {
        self.permits.drain(..).collect()
    }

    /// A grant for this tab at `at` found no send waiting (the send gave up).
    pub fn unused(&mut self, at: Duration) {
        self.wasted += 1;
        if let Some(i) = self.unsent.iter().position(|&u| u == at) {
            self.unsent.swap_remove(i);
        }
    }

    /// Does what is due at `now` (grants, if this tab leads; heartbeats;
    /// forgetting tabs gone silent) and says when to be called next.
    pub fn poll(&mut self, now: Duration) -> Option<Duration> {
        if self.gone {
            return None;
        }
        self.peers.forget_silent(self.id, now);
        self.touch_self(now);
        if now >= self.next_beat {
            if self.shared || self.leader.is_none() {
                self.say_want(now);
            } else {
                self.next_beat = now.saturating_add(BEAT);
            }
            if self.leader.is_some() && self.shared {
                self.say_lead();
            }
        }
        let mut wake = self.next_beat;
        if self.leader.is_some() && self.shared {
            if let Some(at) = self.grant_due(now) {
                wake = wake.min(at);
            }
        }
        Some(wake)
    }

    fn say_lead(&mut self) {
        let Some(leader) = &self.leader else { return };
        self.outbox.push(Msg::Lead {
            leader: self.id,
            rate: leader.rate(),
            margin: leader.margin(),
            last: self.grants.last(),
        });
    }

    /// Hands out every grant due by `now + LEAD`; returns when the next
    /// one will be, if anyone waits.
    fn grant_due(&mut self, now: Duration) -> Option<Duration> {
        let rate = self.shared_rate();
        let leader = self.leader.as_mut()?;
        leader.set_rate(rate);
        loop {
            let tab = self.peers.next_waiting(leader.cursor())?;
            let slot = leader.next_slot(now);
            if slot > now.saturating_add(LEAD) {
                return Some(slot - LEAD);
            }
            if !leader.grant(slot, tab) {
                // Not free after all (never seen): try again shortly.
                return Some(now.saturating_add(MIN_LEAD));
            }
            self.grants.heard(slot, tab);
            self.peers.granted(tab);
            self.outbox.push(Msg::Grant { tab, at: slot });
            if tab == self.id {
                self.got += 1;
                self.permits.push_back(slot);
                self.unsent.push(slot);
            } else {
                self.last_used = self.last_used.max(Some(slot));
            }
        }
    }
}

/// A rate this tab was set to, within the bounds every tab holds the
/// others' to (NaN, which no caller passes, as 1/s).
fn local_rate(rate: f64) -> f64 {
    if rate.is_nan() {
        1.0
    } else {
        rate.clamp(Quota::MIN_RATE, Quota::MAX_RATE)
    }
}

mod inbox;
mod roles;
mod sends;

#[cfg(test)]
mod tests;
