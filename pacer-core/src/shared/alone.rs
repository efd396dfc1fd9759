//! A tab that has seen no other tab sends as the lone pacer would, without
//! grants: leading, it only records its sends, so that a tab joining later
//! gets its first grant a spacing after the last of them. Sends that waited
//! for the election go spaced once it answers, and the ones after them keep
//! the spacing.

use std::time::Duration;

use super::Leader;

/// The lone-tab mode of a leading tab.
#[derive(Clone, Debug, Default)]
pub(super) struct Alone {
    /// The sends that waited for the election went late, so the next send
    /// goes no sooner than this (a spacing after them).
    until: Option<Duration>,
}

impl Alone {
    /// A send asks at `now` (`waiting`: sends given a slot have not gone
    /// yet): the slot it must wait for, or `None` to go at once. Either
    /// way the leader records it.
    pub fn ask(&mut self, leader: &mut Leader, now: Duration, waiting: bool) -> Option<Duration> {
        let held = self.until.filter(|&u| u > now);
        if held.is_some() || waiting {
            // A spacing after the sends that waited for the election (the
            // scheduler paced from when they asked).
            let slot = held.unwrap_or(now);
            leader.record(slot);
            self.until = Some(slot.saturating_add(leader.interval()));
            return Some(slot);
        }
        self.until = None;
        leader.record(now);
        None
    }

    /// A send that asked before the election answered, which made this tab
    /// the leader at `now`: the slot it goes at, spaced from the others.
    pub fn waited(&mut self, leader: &mut Leader, now: Duration) -> Duration {
        let slot = leader.earliest(now);
        leader.record(slot);
        self.until = Some(slot.saturating_add(leader.interval()));
        slot
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn sends_go_at_once_and_are_recorded() {
        let mut leader = Leader::new(10.0, None, None);
        let mut alone = Alone::default();
        assert_eq!(alone.ask(&mut leader, ms(0), false), None);
        assert_eq!(alone.ask(&mut leader, ms(150), false), None);
        // A tab joining now is granted a spacing after the last send.
        assert_eq!(leader.next_slot(ms(160)), ms(251));
    }

    #[test]
    fn sends_that_waited_for_the_election_go_spaced_and_so_do_the_next() {
        let mut leader = Leader::new(10.0, None, None);
        let mut alone = Alone::default();
        assert_eq!(alone.waited(&mut leader, ms(40)), ms(40));
        assert_eq!(alone.waited(&mut leader, ms(40)), ms(141));
        // The next send asks before the spacing after them is over.
        assert_eq!(alone.ask(&mut leader, ms(150), false), Some(ms(242)));
        // Past it, with nothing waiting, at once again.
        assert_eq!(alone.ask(&mut leader, ms(400), false), None);
    }

    #[test]
    fn a_send_while_others_still_wait_takes_a_slot() {
        let mut leader = Leader::new(10.0, None, None);
        let mut alone = Alone::default();
        assert_eq!(alone.ask(&mut leader, ms(10), true), Some(ms(10)));
    }
}
