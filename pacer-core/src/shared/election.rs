//! The election as one tab sees it: whether the lock has answered, who
//! leads as last heard, and the margin that leader paces with (a tab that
//! takes over adopts it). The lock itself is outside (a Web Lock in the
//! browser): its answers come in as [`super::Tab::lead`] and
//! [`super::Tab::follow`].

use std::time::Duration;

use super::TabId;

/// What a tab knows of the election.
#[derive(Clone, Debug, Default)]
pub(super) struct Election {
    /// The lock answered (this tab leads, or another does).
    decided: bool,
    /// Another tab may already pace this budget: until the lock answers,
    /// sends wait.
    expect_others: bool,
    /// Who leads, as last heard, and when.
    leader: Option<(TabId, Duration)>,
    /// The rate that leader said it paces at (while it leads).
    rate: Option<f64>,
    /// The last leader's margin, as heard.
    margin: Option<Duration>,
}

impl Election {
    /// Another tab may already pace this budget.
    pub fn expect_others(&mut self) {
        self.expect_others = true;
    }

    /// A tab that has seen no other may send without a grant: once the
    /// lock answered, or at once when no other tab is expected.
    pub fn may_go_alone(&self) -> bool {
        self.decided || !self.expect_others
    }

    /// The lock said another tab leads.
    pub fn follow(&mut self) {
        self.decided = true;
    }

    /// The lock made tab `me` the leader at `now`: returns the tab that led
    /// before, as last heard (it let the lock go), if another.
    pub fn lead(&mut self, me: TabId, now: Duration) -> Option<TabId> {
        self.decided = true;
        let previous = self.leader.map(|(l, _)| l).filter(|&l| l != me);
        self.leader = Some((me, now));
        self.rate = None;
        previous
    }

    /// A leader other than this tab said it leads, at `rate` with
    /// `margin`: true when it is not the one last heard.
    pub fn heard_lead(
        &mut self,
        leader: TabId,
        rate: f64,
        margin: Duration,
        now: Duration,
    ) -> bool {
        let changed = self.leader.is_none_or(|(l, _)| l != leader);
        self.leader = Some((leader, now));
        self.rate = Some(rate);
        self.margin = Some(margin);
        changed
    }

    /// The rate the leader said it paces at, while it leads.
    pub fn leader_rate(&self) -> Option<f64> {
        self.rate.filter(|_| self.leader.is_some())
    }

    /// `tab` said goodbye, with its margin if it led.
    pub fn heard_bye(&mut self, tab: TabId, margin: Option<Duration>) {
        if margin.is_some() {
            self.margin = margin;
        }
        if self.leader.is_some_and(|(l, _)| l == tab) {
            self.leader = None;
            self.rate = None;
        }
    }

    /// This tab stepped down, leading with `margin`.
    pub fn stepped_down(&mut self, margin: Duration) {
        self.margin = Some(margin);
    }

    /// The margin the leader paces with, as last heard.
    pub fn margin(&self) -> Option<Duration> {
        self.margin
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn alone_at_once_unless_others_are_expected_then_once_decided() {
        let mut e = Election::default();
        assert!(e.may_go_alone());
        e.expect_others();
        assert!(!e.may_go_alone());
        e.follow();
        assert!(e.may_go_alone());
    }

    #[test]
    fn taking_the_lead_names_the_leader_heard_before() {
        let mut e = Election::default();
        assert_eq!(e.lead(2, ms(0)), None);
        let mut e = Election::default();
        assert!(e.heard_lead(1, 4.0, ms(3), ms(0)));
        assert!(
            !e.heard_lead(1, 5.0, ms(4), ms(10)),
            "the same leader again"
        );
        assert_eq!(e.margin(), Some(ms(4)));
        assert_eq!(e.leader_rate(), Some(5.0));
        assert_eq!(e.lead(2, ms(20)), Some(1));
        assert_eq!(e.lead(2, ms(30)), None, "this tab led last");
    }

    #[test]
    fn a_goodbye_keeps_the_margin_and_forgets_its_leader() {
        let mut e = Election::default();
        e.heard_lead(1, 4.0, ms(3), ms(0));
        e.heard_bye(7, None);
        assert_eq!(e.leader_rate(), Some(4.0));
        assert_eq!(e.margin(), Some(ms(3)));
        e.heard_bye(1, Some(ms(5)));
        assert_eq!(e.margin(), Some(ms(5)));
        assert_eq!(e.leader_rate(), None, "its rate went with it");
        assert_eq!(e.lead(2, ms(10)), None, "no leader heard any more");
        assert!(
            e.heard_lead(1, 4.0, ms(1), ms(20)),
            "the old leader again is news"
        );
        e.stepped_down(ms(9));
        assert_eq!(e.margin(), Some(ms(9)));
    }
}
