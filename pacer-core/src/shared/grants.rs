//! The grants a tab has heard of (its own and every other tab's): the
//! latest of them, which a new leader starts a spacing after, and the
//! recent ones with their tab, so that the unused grants of a tab that
//! leaves can be given back.

use std::collections::VecDeque;
use std::time::Duration;

use super::TabId;

/// How many recent grants are kept with their tab.
const KEEP: usize = 32;

/// The grants heard of.
#[derive(Clone, Debug, Default)]
pub(super) struct GrantLog {
    /// The latest grants heard of, with their tab.
    recent: VecDeque<(Duration, TabId)>,
    /// The latest grant that fell out of `recent`.
    older: Option<Duration>,
    /// The latest grant heard of (or said to be in use by a leader).
    last: Option<Duration>,
}

impl GrantLog {
    /// Notes a grant at `at` for `tab`.
    pub fn heard(&mut self, at: Duration, tab: TabId) {
        self.last = self.last.max(Some(at));
        self.recent.push_back((at, tab));
        if self.recent.len() > KEEP {
            if let Some((old, _)) = self.recent.pop_front() {
                self.older = self.older.max(Some(old));
            }
        }
    }

    /// The latest grant heard of.
    pub fn last(&self) -> Option<Duration> {
        self.last
    }

    /// A leader said its latest grant is `last`.
    pub fn heard_last(&mut self, last: Option<Duration>) {
        self.last = self.last.max(last);
    }

    /// `tab` left or stepped down with `used` its latest grant in use: its
    /// grants after that will not be used, so their slots are free. The
    /// latest grant is then the latest one still kept, or `used`.
    pub fn give_back(&mut self, tab: TabId, used: Option<Duration>) {
        let floor = used.unwrap_or_default();
        self.recent.retain(|&(at, t)| t != tab || at <= floor);
        self.last = self.latest_kept().max(used);
    }

    /// The latest grant in use as far as tab `me` knows: every grant kept
    /// but its own in `unsent` (not sent on yet: the next leader may hand
    /// their slots out), or `used`.
    pub fn in_use(
        &self,
        me: TabId,
        unsent: &[Duration],
        used: Option<Duration>,
    ) -> Option<Duration> {
        self.recent
            .iter()
            .filter(|&&(at, tab)| !(tab == me && unsent.contains(&at)))
            .map(|&(at, _)| at)
            .max()
            .max(self.older)
            .max(used)
    }

    /// The grants kept that name instants after `at`, earliest first.
    pub fn after(&self, at: Duration) -> Vec<Duration> {
        let mut later: Vec<Duration> = self
            .recent
            .iter()
            .map(|&(g, _)| g)
            .filter(|&g| g > at)
            .collect();
        crate::sort::sort(&mut later);
        later
    }

    fn latest_kept(&self) -> Option<Duration> {
        self.recent.iter().map(|&(at, _)| at).max().max(self.older)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn the_last_grant_is_the_latest_heard_of_in_any_order() {
        let mut log = GrantLog::default();
        assert_eq!(log.last(), None);
        log.heard(ms(200), 1);
        log.heard(ms(100), 2);
        assert_eq!(log.last(), Some(ms(200)));
        log.heard_last(Some(ms(150)));
        assert_eq!(log.last(), Some(ms(200)));
        log.heard_last(Some(ms(300)));
        assert_eq!(log.last(), Some(ms(300)));
    }

    #[test]
    fn a_tab_that_leaves_gives_its_unused_grants_back() {
        let mut log = GrantLog::default();
        log.heard(ms(100), 1);
        log.heard(ms(200), 2);
        log.heard(ms(300), 1);
        log.heard(ms(400), 1);
        // Tab 1 used up to 300: its grant at 400 is free again.
        log.give_back(1, Some(ms(300)));
        assert_eq!(log.last(), Some(ms(300)));
        assert_eq!(log.after(ms(100)), vec![ms(200), ms(300)]);
        // Without a word on what it used, all its grants go back.
        log.give_back(1, None);
        assert_eq!(log.last(), Some(ms(200)));
    }

    #[test]
    fn only_the_latest_grants_are_kept_the_older_still_count() {
        let mut log = GrantLog::default();
        for i in 0..40 {
            log.heard(ms(i * 10), 1);
        }
        assert_eq!(log.after(Duration::ZERO).len(), KEEP);
        log.give_back(1, None);
        // The ones that fell out of the log cannot be given back.
        assert_eq!(log.last(), Some(ms(70)));
    }

    #[test]
    fn in_use_leaves_out_this_tabs_grants_not_sent_on() {
        let mut log = GrantLog::default();
        log.heard(ms(100), 1);
        log.heard(ms(200), 2);
        log.heard(ms(300), 2);
        assert_eq!(log.in_use(2, &[ms(300)], None), Some(ms(200)));
        assert_eq!(log.in_use(2, &[ms(300)], Some(ms(250))), Some(ms(250)));
        assert_eq!(log.in_use(1, &[ms(300)], None), Some(ms(300)));
    }
}
