//! When a granted send may go, and what a send that went late moves.

use std::time::Duration;

use super::Tab;
use crate::gcra::Quota;
use crate::shared::{Msg, LEADER_MARGIN};

impl Tab {
    /// When a send granted at `at` may go: at `at`, or a spacing after the
    /// latest send heard of, if that went late. `None`
    /// when a later grant was already sent on: this one was overtaken and
    /// must be given up (sent now it would come too close after that one).
    pub fn send_time(&self, at: Duration) -> Option<Duration> {
        match self.last_sent {
            Some((latest, _)) if latest > at => None,
            Some((_, sent)) => Some(at.max(sent.saturating_add(self.spacing()))),
            None => Some(at),
        }
    }

    /// The spacing between sends: the leader's, or as the leader last said
    /// (its rate and margin; the budget's rate as this tab knows it, if
    /// lower: the leader hears of a slower tab a message later).
    fn spacing(&self) -> Duration {
        if let Some(leader) = &self.leader {
            return leader.interval();
        }
        let rate = self
            .election
            .leader_rate()
            .map_or(self.shared_rate(), |r| r.min(self.shared_rate()));
        let base = Quota::clamped(rate).emission_interval();
        base + self.election.margin().unwrap_or(LEADER_MARGIN.initial)
    }

    /// A send granted at `at` went at `now`: the other tabs hear when.
    pub fn sent(&mut self, at: Duration, now: Duration) {
        self.last_used = self.last_used.max(Some(at));
        if let Some(i) = self.unsent.iter().position(|&u| u == at) {
            self.unsent.swap_remove(i);
        }
        self.heard_sent(at, now);
        if self.shared && !self.gone {
            self.outbox.push(Msg::Sent {
                tab: self.id,
                at,
                sent: now,
            });
        }
    }

    pub(super) fn heard_sent(&mut self, at: Duration, sent: Duration) {
        if self.last_sent.is_none_or(|(latest, _)| at >= latest) {
            self.last_sent = Some((at, sent));
        }
        self.rebase(at, sent);
    }

    /// The leader: a send granted at `at` went at `sent`; if that was late,
    /// the grants after it go later by as much (each tab keeps a spacing
    /// after the one before), and so must the next grant. (Tolerating a
    /// few ms of lateness instead saves its mean but lets a late send and
    /// an early one come closer than the spacing: 429s, then a wider margin.)
    pub(super) fn rebase(&mut self, at: Duration, sent: Duration) {
        let Some(leader) = &mut self.leader else {
            return;
        };
        if sent <= at {
            return;
        }
        let interval = leader.interval();
        let last = self
            .grants
            .after(at)
            .into_iter()
            .fold(sent, |effective, g| {
                g.max(effective.saturating_add(interval))
            });
        leader.hold_until(last.saturating_add(interval));
    }
}
