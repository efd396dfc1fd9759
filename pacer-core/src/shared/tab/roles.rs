//! The election's answers and a tab's goodbyes: leading, following,
//! stepping down, leaving.

use std::time::Duration;

use super::Tab;
use crate::shared::{Leader, Msg};

impl Tab {
    /// The election made this tab the leader.
    pub fn lead(&mut self, now: Duration) {
        if self.gone || self.leader.is_some() {
            return;
        }
        // The lock came from the tab that led: it leaves or freezes, and
        // its goodbye may not be here yet.
        if let Some(previous) = self.election.lead(self.id, now) {
            self.peers.leaving(previous);
        }
        self.leader = Some(Leader::new(
            self.shared_rate(),
            self.grants.last(),
            self.election.margin(),
        ));
        if let Some((at, sent)) = self.last_sent {
            self.rebase(at, sent);
        }
        if self.shared {
            self.say_lead();
        } else if let Some(leader) = &mut self.leader {
            // Alone: sends that asked before the election go now, spaced,
            // and the ones after them keep the spacing.
            while self.got < self.asked {
                let slot = self.alone.waited(leader, now);
                self.got += 1;
                self.permits.push_back(slot);
                self.unsent.push(slot);
                self.grants.heard(slot, self.id);
            }
        }
        // Anyone who asked before the election was decided now waits on us.
        self.say_want(now);
    }

    /// The election said another tab leads.
    pub fn follow(&mut self, now: Duration) {
        self.election.follow();
        self.shared = true;
        self.say_want(now);
    }

    /// This tab stops leading (the page is frozen): it says so with the
    /// latest grant in use, so that the next leader starts after it.
    pub fn step_down(&mut self, now: Duration) {
        if let Some(leader) = self.leader.take() {
            self.outbox.push(Msg::Bye {
                tab: self.id,
                gone: false,
                last: self.in_use(),
                margin: Some(leader.margin()),
            });
            self.election.stepped_down(leader.margin());
            self.shared = true;
            self.next_beat = now;
        }
    }

    /// The run is over or the page is left: says goodbye.
    pub fn leave(&mut self) {
        if self.gone {
            return;
        }
        let margin = self.leader.take().map(|l| l.margin());
        self.outbox.push(Msg::Bye {
            tab: self.id,
            gone: true,
            last: self.in_use(),
            margin,
        });
        self.gone = true;
        self.permits.clear();
    }

    /// The latest grant this tab knows to be in use: its own permits not
    /// yet sent on are given up (the next leader may hand their slots out).
    fn in_use(&self) -> Option<Duration> {
        self.grants.in_use(self.id, &self.unsent, self.last_used)
    }
}
