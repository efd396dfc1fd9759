//! A page's share of a team budget, learnt from the proxy's holds.
//!
//! A team-budget proxy forwards each request at the next free slot of the
//! team's rate, first come first served, and holds it until then. Every
//! page behind it may send at the team's rate, but together they can only
//! be let through at that rate: whatever a page sends faster waits in the
//! proxy, and the hold grows until the page's pool of tasks is all held.
//! That hold is lost time for the user (a second or two with a few pages)
//! and lost budget when a proxy dies with requests in its hands.
//!
//! So a page sends at what it is let through, plus a little to keep the
//! queue from running dry: the hold is a queue's delay, and the rate the
//! page's answers come back at is its share while there is a queue.
//! [`TeamShare`] sets the page's rate to that share, corrected so the hold
//! moves towards [`TeamShare::target_hold`] within [`DRAIN`] (a
//! proportional controller on the queue, as delay-based congestion
//! control does). Pages that each do so keep the proxies' total queue at
//! about that hold, enough for the budget never to go unused; a small
//! equal step at each correction draws their shares together. When the
//! others stop, the hold falls to nothing and the share grows back to the
//! team's rate.

use std::collections::VecDeque;
use std::time::Duration;

/// The answers over which the rate they come back at is measured (the
/// latest [`MIN_ANSWERS`] at least).
pub const RELEASE_WINDOW: Duration = Duration::from_secs(2);
/// The fewest answers in [`RELEASE_WINDOW`] the release rate is read from.
pub const MIN_ANSWERS: usize = 4;
/// The least time between corrections (a cut also waits for answers to
/// requests sent after the last one).
pub const STEP: Duration = Duration::from_millis(500);
/// The time over which a hold off its target is corrected.
pub const DRAIN: Duration = Duration::from_secs(5);
/// The hold aimed at, in the team's spacings: a queue of about this many
/// requests keeps every slot taken despite the pages' jitter.
pub const TARGET_SPACINGS: f64 = 3.0;
/// The shortest target hold.
pub const MIN_TARGET: Duration = Duration::from_millis(100);
/// The longest target hold.
pub const MAX_TARGET: Duration = Duration::from_secs(1);
/// The most one step raises the share, as a factor.
pub const MAX_RAISE: f64 = 1.5;
/// The most one step lowers the share, as a factor: a queue seconds long
/// is drained at half the share, not left to drain at a fifth of it.
pub const MAX_CUT: f64 = 0.5;
/// The fewest answers whose holds a correction reads.
pub const MIN_HOLDS: u32 = 2;
/// Added to the share at each correction, as a part of the team's rate:
/// the same step for every page draws the pages' shares together, where
/// the proportional correction alone would keep the split they started
/// with (a first-come-first-served budget lets each through in
/// proportion to what it asks) when the proxies do not say how many they
/// are.
pub const FAIR_STEP: f64 = 0.01;
/// When a page has no more than this much of sending left at its share,
/// it sends the rest at the team's rate: held at the proxy they cost
/// nothing, and when the other pages finish first, the budget they leave
/// is taken at once, not after the share has grown back, step by step.
pub const TAIL: Duration = Duration::from_secs(3);
/// A hold below this part of the target is no queue at all.
pub const DRY: f64 = 0.1;
/// The lowest share, as a part of the team's rate: a page is never
/// starved by a reading of a moment.
pub const MIN_SHARE: f64 = 0.02;

/// A page's share of a team budget (see the module's text).
#[derive(Clone, Debug, Default)]
pub struct TeamShare {
    /// The team's rate, requests per second, once a proxy said it.
    team_rate: Option<f64>,
    /// The share in force, below the team's rate; `None` while the page
    /// may send at the team's rate.
    share: Option<f64>,
    /// When the answers in [`RELEASE_WINDOW`] came back.
    answers: VecDeque<Duration>,
    /// The holds of the answers to requests sent since the last
    /// correction: their sum, seconds, and count.
    holds: (f64, u32),
    /// When the share was last corrected.
    last_step: Option<Duration>,
    /// The page has no more than [`TAIL`] of sends left at its share.
    tail: bool,
    /// How many proxies the team's budget is shared among, when said.
    proxies: Option<u32>,
}

/// One answer through a team-budget proxy, as [`TeamShare`] reads it.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct TeamAnswer {
    /// When its request was sent.
    pub sent: Duration,
    /// When it came back.
    pub at: Duration,
    /// How long the proxy held the request for its slot.
    pub hold: Duration,
    /// The team's rate, requests per second.
    pub team_rate: f64,
    /// How many proxies share the budget, when the proxy said.
    pub proxies: Option<u32>,
    /// How many sends the page still has to make.
    pub left: usize,
}

impl TeamShare {
    /// The rate the page may send at: its share, or the team's rate while
    /// no hold says the pages ask for more than it, or at the run's tail.
    pub fn rate(&self) -> Option<f64> {
        self.share().or(self.team_rate)
    }

    /// The share in force, when the page sends below the team's rate.
    pub fn share(&self) -> Option<f64> {
        self.share.filter(|_| !self.tail)
    }

    /// The hold aimed at for `team_rate`.
    pub fn target_hold(team_rate: f64) -> Duration {
        let spacings = TARGET_SPACINGS / team_rate.max(f64::MIN_POSITIVE);
        Duration::from_secs_f64(spacings.min(MAX_TARGET.as_secs_f64())).max(MIN_TARGET)
    }

    /// An answer came back through a team-budget proxy. Returns true when
    /// the rate changed.
    pub fn on_answer(&mut self, answer: TeamAnswer) -> bool {
        let TeamAnswer {
            sent,
            at: now,
            hold,
            team_rate,
            proxies,
            left,
        } = answer;
        if !(team_rate.is_finite() && team_rate > 0.0) {
            return false;
        }
        self.proxies = proxies.filter(|n| *n > 0);
        let before = self.rate();
        self.tail = self
            .share
            .is_some_and(|share| left as f64 <= share * TAIL.as_secs_f64());
        if self.team_rate != Some(team_rate) {
            self.team_rate = Some(team_rate);
            self.share = self.share.map(|s| s.min(team_rate));
        }
        while self.answers.len() >= MIN_ANSWERS
            && self
                .answers
                .front()
                .is_some_and(|t| now.saturating_sub(*t) > RELEASE_WINDOW)
        {
            self.answers.pop_front();
        }
        self.answers.push_back(now);
        let due = self.last_step.is_none_or(|t| now.saturating_sub(t) >= STEP);
        let target = Self::target_hold(team_rate);
        if self.last_step.is_some_and(|t| sent < t) {
            // A cut shows only in the answers to requests sent after it:
            // reading the holds of those sent before would answer the
            // same queue twice, and overshoot. A raise need not wait: a
            // queue run dry loses the team a slot at every spacing.
            if due && self.share.is_some() && hold <= target && self.holds.1 == 0 {
                self.correct(now, hold.as_secs_f64(), team_rate);
            }
            return self.rate() != before;
        }
        self.holds.0 += hold.as_secs_f64();
        self.holds.1 += 1;
        if due && self.holds.1 >= MIN_HOLDS {
            let mean = self.holds.0 / f64::from(self.holds.1);
            self.correct(now, mean, team_rate);
        }
        self.rate() != before
    }

    /// One step of the controller.
    fn correct(&mut self, now: Duration, hold: f64, team_rate: f64) {
        let target = Self::target_hold(team_rate).as_secs_f64();
        if self.share.is_none() && hold <= target {
            // No queue worth the name: the page is not contending.
            return;
        }
        let released = self.released();
        if released.is_none() && self.share.is_none() {
            return;
        }
        self.last_step = Some(now);
        self.holds = (0.0, 0);
        let factor = if hold > target {
            (1.0 - (hold - target) / DRAIN.as_secs_f64()).max(MAX_CUT)
        } else {
            // Below the target the queue may run dry, and a slot without
            // a request is lost to the team: grow fast, up to double when
            // nothing was held. Overshooting costs only a hold, which the
            // next cut, from what comes back, takes away.
            1.0 + (MAX_RAISE - 1.0) * (target - hold) / target
        };
        // While there is a queue, the answers come back at the share the
        // budget gives, whatever the page sends: the correction starts
        // from there, not from a rate already cut (cuts would compound
        // while the queue drains). Without a queue they come only as fast
        // as the page sent, which lags a share that is growing.
        //
        // A first-come-first-served budget lets each page through in
        // proportion to what it sends, so cuts alone keep whatever split
        // the pages started with. A page let through at less than an even
        // split among the proxies cuts from that split instead: it then
        // asks for more than its part, and the split evens out.
        let share = self.share.unwrap_or(team_rate);
        let even = self.proxies.map_or(0.0, |n| team_rate / f64::from(n));
        let base = match released {
            Some(r) if hold > target => r.max(even).min(team_rate),
            _ => share,
        };
        let share = (base * factor + team_rate * FAIR_STEP).max(team_rate * MIN_SHARE);
        // Nothing held at all: the queue ran dry, and the other pages have
        // most likely stopped. The page goes back to the team's rate at
        // once; if they have not, the next cut comes from what comes back.
        let dry = hold < target * DRY;
        self.share = (share < team_rate && !dry).then_some(share);
    }

    /// The rate the answers came back at over [`RELEASE_WINDOW`].
    fn released(&self) -> Option<f64> {
        let (first, last) = (self.answers.front()?, self.answers.back()?);
        let span = last.saturating_sub(*first).as_secs_f64();
        (self.answers.len() >= MIN_ANSWERS && span > 0.0)
            .then(|| (self.answers.len() - 1) as f64 / span)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    /// An answer from a proxy at 10/s that does not say how many proxies
    /// share the budget.
    fn reply(sent_ms: u64, at_ms: u64, hold_ms: u64, left: usize) -> TeamAnswer {
        TeamAnswer {
            sent: ms(sent_ms),
            at: ms(at_ms),
            hold: ms(hold_ms),
            team_rate: 10.0,
            proxies: None,
            left,
        }
    }

    /// The API's latency behind the proxy in these tests.
    const LATENCY_MS: u64 = 300;

    /// An answer at `at_ms`, held `hold_ms`, from a proxy at 10/s.
    fn answer(s: &mut TeamShare, at_ms: u64, hold_ms: u64) -> bool {
        let sent = ms(at_ms.saturating_sub(hold_ms + LATENCY_MS));
        s.on_answer(TeamAnswer {
            sent,
            ..reply(0, at_ms, hold_ms, usize::MAX)
        })
    }

    /// Answers every `gap_ms` from `from_ms` for `n` answers, each held `hold_ms`.
    fn answers(s: &mut TeamShare, from_ms: u64, gap_ms: u64, n: u64, hold_ms: u64) {
        for i in 0..n {
            answer(s, from_ms + i * gap_ms, hold_ms);
        }
    }

    #[test]
    fn short_holds_leave_the_team_rate() {
        let mut s = TeamShare::default();
        answers(&mut s, 0, 100, 50, 20);
        assert_eq!(s.rate(), Some(10.0));
        assert_eq!(s.share(), None);
    }

    #[test]
    fn the_target_is_three_spacings_within_its_bounds() {
        assert_eq!(TeamShare::target_hold(10.0), ms(300));
        assert_eq!(TeamShare::target_hold(100.0), MIN_TARGET);
        assert_eq!(TeamShare::target_hold(0.5), MAX_TARGET);
        assert_eq!(TeamShare::target_hold(0.0), MAX_TARGET);
    }

    /// Answers come back at 5/s while held past the 300 ms target: the
    /// page asks for more than its share. The first correction comes with
    /// the fourth answer: 5/s × (1 − (hold − 0.3 s) / 5 s), plus the fair
    /// step.
    #[test]
    fn a_long_hold_brings_the_rate_down_to_what_comes_back_and_below() {
        for (hold_ms, factor) in [(900, 0.88), (400, 0.98)] {
            let mut s = TeamShare::default();
            answers(&mut s, 2_000, 200, 3, hold_ms);
            assert_eq!(s.share(), None);
            assert!(answer(&mut s, 2_600, hold_ms));
            let share = s.share().expect("a share");
            let want = 5.0 * factor + 10.0 * FAIR_STEP;
            assert!((share - want).abs() < 1e-9, "held {hold_ms} ms: {share}");
        }
    }

    #[test]
    fn a_queue_run_dry_gives_the_team_rate_back_at_once() {
        let mut s = TeamShare::default();
        answers(&mut s, 0, 200, 20, 900);
        let share = s.share().expect("a share");
        // The others stopped: the answers come unheld. The first
        // correction after that goes back to the team's rate.
        let mut t = 4_000;
        while s.share().is_some() {
            let gap = (1000.0 / s.rate().unwrap()).round() as u64;
            answer(&mut s, t, 0);
            t += gap;
            assert!(t < 4_000 + STEP.as_millis() as u64 + 2 * 1000 / share as u64);
        }
        assert_eq!(s.rate(), Some(10.0));
    }

    #[test]
    fn a_short_hold_grows_the_share_by_a_step() {
        let mut s = TeamShare::default();
        answers(&mut s, 0, 200, 20, 900);
        let share = s.share().expect("a share");
        // Held 150 ms, half the target: grows by a quarter, plus the fair step.
        let mut t = 4_000;
        while s.share() == Some(share) {
            answer(&mut s, t, 150);
            t += 200;
        }
        let grown = s.share().expect("still a share");
        let want = share * (1.0 + (MAX_RAISE - 1.0) * 0.5) + 10.0 * FAIR_STEP;
        assert!((grown - want).abs() < 1e-9, "{grown} against {want}");
    }

    #[test]
    fn the_last_sends_of_a_run_go_at_the_team_rate() {
        let mut s = TeamShare::default();
        answers(&mut s, 0, 200, 20, 900);
        let share = s.share().expect("a share");
        // More than TAIL of sending left at the share: the share holds.
        let many = (share * TAIL.as_secs_f64()) as usize + 1;
        s.on_answer(reply(3_500, 4_900, 900, many));
        assert_eq!(s.share(), Some(share));
        // Less: the rest goes at the team's rate, and the proxy holds it.
        s.on_answer(reply(3_600, 5_000, 900, many - 2));
        assert_eq!(s.share(), None);
        assert_eq!(s.rate(), Some(10.0));
    }

    #[test]
    fn a_correction_waits_for_the_answers_to_requests_sent_after_it() {
        let mut s = TeamShare::default();
        answers(&mut s, 2_000, 200, 4, 900);
        let first = s.share();
        assert!(first.is_some());
        // Answers to requests sent before the correction change nothing,
        // however long after it they come.
        for at in [3_000, 3_500, 3_700] {
            s.on_answer(reply(2_000, at, 900, usize::MAX));
            assert_eq!(s.share(), first);
        }
        // Those sent after it do, once there are two.
        s.on_answer(reply(2_700, 3_900, 900, usize::MAX));
        assert_eq!(s.share(), first);
        s.on_answer(reply(2_800, 4_000, 900, usize::MAX));
        assert_ne!(s.share(), first);
    }

    #[test]
    fn nonsense_rates_are_ignored() {
        let mut s = TeamShare::default();
        for r in [0.0, -1.0, f64::NAN, f64::INFINITY] {
            assert!(!s.on_answer(TeamAnswer {
                team_rate: r,
                ..reply(0, 1, 1, usize::MAX)
            }));
        }
        assert_eq!(s.rate(), None);
    }

    #[test]
    fn the_share_never_falls_below_its_floor() {
        let mut s = TeamShare::default();
        // One answer every 2 s, held a minute each.
        for i in 0..100 {
            let at = Duration::from_secs(100 + i * 2);
            s.on_answer(TeamAnswer {
                sent: at - Duration::from_secs(61),
                at,
                hold: Duration::from_secs(60),
                ..reply(0, 0, 0, usize::MAX)
            });
        }
        assert!(s.rate().unwrap() >= 10.0 * MIN_SHARE);
    }

    /// What a run of pages behind one budget did: together ÷ the team's
    /// rate, from the first forward to the last, and the holds' median.
    struct Shared {
        together: f64,
        hold_p50: f64,
        /// The pages' last forwards: first to last, seconds.
        finish_spread: f64,
    }

    /// Pages behind proxies of one first-come-first-served budget at 10/s,
    /// each asking for the team's rate with `items` to send and at most
    /// `pool` in flight: each request is let through at the next free
    /// slot and answered 300 ms later. Pages that do not `follow` their
    /// share send at the team's rate throughout, as they did before.
    fn share_a_budget(items: &[usize], pool: usize, follow: bool) -> Shared {
        let rate = 10.0;
        let spacing = 1.0 / rate;
        let latency = 0.3;
        let pages = items.len();
        let mut shares = vec![TeamShare::default(); pages];
        let mut left = items.to_vec();
        // Each page's next send; the budget's next free slot.
        // The pages start half a second apart, as people press Start.
        let mut next_send: Vec<f64> = (0..pages).map(|p| p as f64 * 0.5).collect();
        let mut finished = vec![0.0_f64; pages];
        let mut free_slot = 0.0_f64;
        // Answers in flight: (back at, page, sent, hold).
        let mut back: Vec<(f64, usize, f64, f64)> = Vec::new();
        let mut forwarded = Vec::new();
        let mut holds = Vec::new();
        let mut in_flight = vec![0usize; pages];
        let mut now = 0.0_f64;
        loop {
            let send = (0..pages)
                .filter(|p| left[*p] > 0 && in_flight[*p] < pool)
                .map(|p| (p, next_send[p].max(now)))
                .min_by(|a, b| a.1.total_cmp(&b.1));
            let answer = back
                .iter()
                .enumerate()
                .min_by(|a, b| a.1 .0.total_cmp(&b.1 .0))
                .map(|(i, a)| (i, *a));
            match (send, answer) {
                (None, None) => break,
                (send, Some((i, (t, page, sent, hold)))) if send.is_none_or(|(_, at)| t <= at) => {
                    back.swap_remove(i);
                    now = t;
                    in_flight[page] -= 1;
                    shares[page].on_answer(TeamAnswer {
                        sent: Duration::from_secs_f64(sent),
                        at: Duration::from_secs_f64(t),
                        hold: Duration::from_secs_f64(hold),
                        team_rate: rate,
                        proxies: u32::try_from(pages).ok(),
                        left: left[page],
                    });
                }
                (Some((p, at)), _) => {
                    now = at;
                    in_flight[p] += 1;
                    let slot = free_slot.max(at);
                    free_slot = slot + spacing;
                    forwarded.push(slot);
                    holds.push(slot - at);
                    back.push((slot + latency, p, at, slot - at));
                    left[p] -= 1;
                    finished[p] = slot;
                    let own = shares[p].rate().filter(|_| follow).unwrap_or(rate);
                    next_send[p] = at + 1.0 / own;
                }
                (None, Some(_)) => unreachable!(),
            }
        }
        forwarded.sort_by(f64::total_cmp);
        let span = forwarded.last().unwrap() - forwarded.first().unwrap();
        holds.sort_by(f64::total_cmp);
        let last = finished.iter().copied().fold(0.0, f64::max);
        let first = finished.iter().copied().fold(f64::INFINITY, f64::min);
        Shared {
            together: (forwarded.len() - 1) as f64 / span / rate,
            hold_p50: holds[holds.len() / 2],
            finish_spread: last - first,
        }
    }

    /// Together the pages keep the budget full, with holds well below
    /// the seconds that pages sending at the team's rate build up to
    /// their pools; and when some pages finish first, the others take the
    /// rate back soon enough to keep it full to the end. Runs too short
    /// for a correction to show do as the greedy pages do. The pages
    /// start half a second apart.
    #[test]
    fn pages_sharing_a_budget_keep_it_full_with_shorter_holds() {
        for (items, shorter) in [
            (vec![600, 600], 0.65),
            (vec![300; 4], 0.65),
            (vec![100, 100], 0.65),
            (vec![50; 4], 0.65),
            (vec![53, 50, 48, 49], 0.65),
            (vec![200, 50, 50], 0.65),
            (vec![20, 20], 1.0),
        ] {
            let run = share_a_budget(&items, 8, true);
            let greedy = share_a_budget(&items, 8, false);
            assert!(
                run.together >= 0.96,
                "{items:?}: together {:.3}",
                run.together
            );
            // Pages with the same work finish about together: the even
            // split among the proxies keeps a late starter from being let
            // through at less for the whole run.
            if items.iter().all(|n| *n == items[0]) {
                assert!(
                    run.finish_spread <= greedy.finish_spread + 2.5,
                    "{items:?}: finished {:.1} s apart against {:.1}",
                    run.finish_spread,
                    greedy.finish_spread
                );
            }
            assert!(
                run.hold_p50 <= greedy.hold_p50 * shorter,
                "{items:?}: hold p50 {:.3} against {:.3}",
                run.hold_p50,
                greedy.hold_p50
            );
        }
    }
}
