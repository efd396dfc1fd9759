//! The tabs running against the budget (this one too), as a tab knows
//! them: what each asked for and was granted, its rate, when it was last
//! heard, and whether it can take a grant now.

use std::collections::BTreeMap;
use std::time::Duration;

use super::{TabId, GONE};

/// What a tab knows of another (or of itself).
#[derive(Clone, Copy, Debug, PartialEq)]
struct Peer {
    asked: u64,
    /// Grants seen for it (or the `got` it reported, if more).
    granted: u64,
    ok: u64,
    rate: f64,
    heard: Duration,
    away: Away,
}

/// Whether a tab can take grants now.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Away {
    /// It can.
    Here,
    /// It let the lock go (it leaves or freezes) and its goodbye is on the
    /// way: a grant now would be lost with it.
    Leaving,
    /// It said it is frozen: no grants until it asks again.
    Frozen,
}

impl Peer {
    fn outstanding(&self) -> u64 {
        if self.away != Away::Here {
            return 0;
        }
        self.asked.saturating_sub(self.granted)
    }
}

/// What a tab reports of itself (a [`super::Msg::Want`]'s counts).
#[derive(Clone, Copy, Debug, PartialEq)]
pub(super) struct Report {
    /// Permits asked for, in all.
    pub asked: u64,
    /// Permits received, in all.
    pub got: u64,
    /// Successes, in all.
    pub ok: u64,
    /// Its rate.
    pub rate: f64,
}

/// Every tab on the budget.
#[derive(Clone, Debug, Default)]
pub(super) struct Peers(BTreeMap<TabId, Peer>);

impl Peers {
    /// `tab` said what it wants at `now` (it is here again if it was
    /// frozen). Returns whether it is new, and how many successes it
    /// reported since it was last heard.
    pub fn want(&mut self, tab: TabId, r: Report, now: Duration) -> (bool, u64) {
        let new = !self.0.contains_key(&tab);
        let p = self.0.entry(tab).or_insert(Peer {
            asked: r.asked,
            granted: r.got,
            ok: r.ok,
            rate: r.rate,
            heard: now,
            away: Away::Here,
        });
        if p.away == Away::Frozen {
            p.away = Away::Here;
        }
        let new_ok = r.ok.saturating_sub(p.ok);
        p.asked = r.asked;
        p.granted = p.granted.max(r.got);
        p.ok = r.ok;
        p.rate = r.rate;
        p.heard = now;
        (new, new_ok)
    }

    /// This tab's own state (`id`), as of `now`. Unlike [`Peers::want`] it
    /// leaves a frozen or leaving mark alone (this tab knows its own).
    pub fn touch(&mut self, id: TabId, r: Report, now: Duration) {
        let p = self.0.entry(id).or_insert(Peer {
            asked: 0,
            granted: 0,
            ok: 0,
            rate: r.rate,
            heard: now,
            away: Away::Here,
        });
        p.asked = r.asked;
        p.granted = p.granted.max(r.got);
        p.ok = r.ok;
        p.rate = r.rate;
        p.heard = now;
    }

    /// `tab` had at least `got` grants.
    pub fn granted_at_least(&mut self, tab: TabId, got: u64) {
        if let Some(p) = self.0.get_mut(&tab) {
            p.granted = p.granted.max(got);
        }
    }

    /// A grant for `tab` was made or heard of.
    pub fn granted(&mut self, tab: TabId) {
        if let Some(p) = self.0.get_mut(&tab) {
            p.granted = p.granted.saturating_add(1);
        }
    }

    /// True when `tab` runs against the budget.
    pub fn contains(&self, tab: TabId) -> bool {
        self.0.contains_key(&tab)
    }

    /// Tabs on the budget other than this one.
    pub fn others(&self) -> usize {
        self.0.len().saturating_sub(1)
    }

    /// The lowest of `own` and every tab's rate.
    pub fn lowest_rate(&self, own: f64) -> f64 {
        self.0.values().map(|p| p.rate).fold(own, f64::min)
    }

    /// Forgets every tab but `id` not heard from for [`GONE`].
    pub fn forget_silent(&mut self, id: TabId, now: Duration) {
        self.0
            .retain(|&tab, p| tab == id || now.saturating_sub(p.heard) < GONE);
    }

    /// `tab` let the lock go: no grants for it until it is heard again.
    pub fn leaving(&mut self, tab: TabId) {
        if let Some(p) = self.0.get_mut(&tab) {
            p.away = Away::Leaving;
        }
    }

    /// `tab` said goodbye: it left (`gone`) or froze.
    pub fn bye(&mut self, tab: TabId, gone: bool) {
        if gone {
            self.0.remove(&tab);
        } else if let Some(p) = self.0.get_mut(&tab) {
            p.away = Away::Frozen;
        }
    }

    /// The next tab after `cursor` (wrapping around) that waits for a grant.
    pub fn next_waiting(&self, cursor: Option<TabId>) -> Option<TabId> {
        let after = cursor.map_or(0, |c| c.wrapping_add(1));
        let wants = |(_, p): &(&TabId, &Peer)| p.outstanding() > 0;
        let later = if cursor.is_some_and(|c| c == TabId::MAX) {
            None
        } else {
            self.0.range(after..).find(wants)
        };
        later.or_else(|| self.0.iter().find(wants)).map(|(&t, _)| t)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    fn asks(asked: u64, got: u64) -> Report {
        Report {
            asked,
            got,
            ok: 0,
            rate: 10.0,
        }
    }

    #[test]
    fn a_want_registers_a_tab_and_reports_new_successes() {
        let mut p = Peers::default();
        assert_eq!(
            p.want(
                5,
                Report {
                    ok: 3,
                    ..asks(1, 0)
                },
                ms(0)
            ),
            (true, 0)
        );
        assert_eq!(
            p.want(
                5,
                Report {
                    ok: 7,
                    ..asks(2, 1)
                },
                ms(5)
            ),
            (false, 4)
        );
        // A reordered, older report counts nothing back.
        assert_eq!(
            p.want(
                5,
                Report {
                    ok: 6,
                    ..asks(2, 1)
                },
                ms(6)
            ),
            (false, 0)
        );
        assert!(p.contains(5));
    }

    #[test]
    fn round_robin_after_the_cursor_among_tabs_that_wait() {
        let mut p = Peers::default();
        p.want(1, asks(2, 0), ms(0));
        p.want(2, asks(1, 1), ms(0)); // has all it asked for
        p.want(3, asks(1, 0), ms(0));
        assert_eq!(p.next_waiting(None), Some(1));
        assert_eq!(p.next_waiting(Some(1)), Some(3));
        assert_eq!(p.next_waiting(Some(3)), Some(1), "wraps around");
        assert_eq!(p.next_waiting(Some(TabId::MAX)), Some(1));
        p.granted(1);
        p.granted(1);
        p.granted(3);
        assert_eq!(p.next_waiting(None), None);
    }

    #[test]
    fn a_leaving_or_frozen_tab_gets_no_grant_until_it_asks_again() {
        let mut p = Peers::default();
        p.want(1, asks(3, 0), ms(0));
        p.leaving(1);
        assert_eq!(p.next_waiting(None), None);
        p.want(1, asks(3, 0), ms(1));
        // Leaving is lifted only by its goodbye (or by forgetting it).
        assert_eq!(p.next_waiting(None), None);
        p.bye(1, false);
        assert_eq!(p.next_waiting(None), None);
        p.want(1, asks(3, 0), ms(2));
        assert_eq!(p.next_waiting(None), Some(1), "asked again after freezing");
        p.bye(1, true);
        assert!(!p.contains(1));
    }

    #[test]
    fn silent_tabs_are_forgotten_but_never_this_one() {
        let mut p = Peers::default();
        p.touch(9, asks(0, 0), ms(0));
        p.want(1, asks(1, 0), ms(0));
        p.want(2, asks(1, 0), ms(3000));
        p.forget_silent(9, ms(3500));
        assert!(p.contains(9) && !p.contains(1) && p.contains(2));
        assert_eq!(p.others(), 1);
    }

    #[test]
    fn the_budget_goes_at_the_lowest_rate() {
        let mut p = Peers::default();
        p.touch(9, asks(0, 0), ms(0));
        p.want(
            1,
            Report {
                rate: 2.0,
                ..asks(0, 0)
            },
            ms(0),
        );
        assert_eq!(p.lowest_rate(50.0), 2.0);
        assert_eq!(p.lowest_rate(1.0), 1.0);
    }
}
