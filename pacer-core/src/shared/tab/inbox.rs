//! What a tab does with each message from another tab.

use std::time::Duration;

use super::Tab;
use crate::shared::peers::Report;
use crate::shared::{Leader, Msg, MAX_NEW_OK};

impl Tab {
    /// Takes in a message from another tab.
    ///
    /// A message out of bounds ([`Msg::bounded`]) is dropped; instants too
    /// far ahead of `now` are brought back ([`Msg::near`]); a grant for a
    /// tab not known to run against the budget is ignored.
    pub fn on_message(&mut self, msg: Msg, now: Duration) {
        if self.gone {
            return;
        }
        let Ok(msg) = msg.bounded() else {
            return;
        };
        match msg.near(now) {
            Msg::Want {
                tab,
                asked,
                got,
                ok,
                rate,
            } => {
                if tab == self.id {
                    return;
                }
                let report = Report {
                    asked,
                    got,
                    ok,
                    rate,
                };
                let (new, new_ok) = self.peers.want(tab, report, now);
                if let Some(leader) = &mut self.leader {
                    for _ in 0..new_ok.min(MAX_NEW_OK) {
                        leader.on_success();
                    }
                }
                if new {
                    self.shared = true;
                    if self.leader.is_some() {
                        self.say_lead();
                    }
                }
            }
            Msg::Grant { tab, at } => {
                if !self.peers.contains(tab) {
                    return;
                }
                self.grants.heard(at, tab);
                self.peers.granted(tab);
                if tab == self.id {
                    self.receive(at);
                }
            }
            Msg::Lead {
                leader,
                rate,
                margin,
                last,
            } => {
                if leader == self.id {
                    return;
                }
                let changed = self.election.heard_lead(leader, rate, margin, now);
                self.grants.heard_last(last);
                if !self.peers.contains(leader) {
                    // A leader that runs nothing itself still shares.
                    self.shared = true;
                }
                if changed {
                    self.say_want(now);
                }
            }
            Msg::Sent { tab, at, sent } => {
                if tab != self.id {
                    self.heard_sent(at, sent);
                }
            }
            Msg::Limited {
                at, retry_after, ..
            } => {
                if let Some(leader) = &mut self.leader {
                    leader.on_limited(at, retry_after, now);
                }
            }
            Msg::Bye {
                tab,
                gone,
                last,
                margin,
            } => {
                if tab == self.id {
                    return;
                }
                self.grants.give_back(tab, last);
                self.election.heard_bye(tab, margin);
                self.peers.bye(tab, gone);
                // The lock may reach us before the old leader's goodbye:
                // if we have not granted yet, start again from what it said.
                if let Some(leader) = &self.leader {
                    if !leader.has_granted() {
                        self.leader = Some(Leader::new(
                            leader.rate(),
                            self.grants.last(),
                            self.election.margin().or(Some(leader.margin())),
                        ));
                    }
                }
            }
        }
    }

    fn receive(&mut self, at: Duration) {
        self.got += 1;
        if self.got > self.asked {
            // Granted twice across a change of leader: nobody waits for it.
            self.got = self.asked;
            self.wasted += 1;
            return;
        }
        self.peers.granted_at_least(self.id, self.got);
        self.permits.push_back(at);
        self.unsent.push(at);
    }
}
