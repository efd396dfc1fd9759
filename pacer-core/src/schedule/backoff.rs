//! The fixed rate's backoff: when 429s keep coming and the safety margin
//! cannot absorb them (at its cap, disabled under an announced window, or
//! its cap is below its first step at high rates), the limit is below the
//! rate, and the rate itself comes down (multiplicative decrease), then
//! probes back up, never above the rate in force without it (the user's
//! rate, or an announced limit if lower): AIMD with a ceiling. Pure: time
//! and counts come in as arguments.
//!
//! Why not [`super::RateProbe`] with a ceiling: the probe grows by a
//! fraction of the rate *per second* and saw-tooths between 90 % and 100 %
//! of the limit. That is right for finding an unknown limit fast, but at a
//! fixed rate it would cost a 429 every ~7 s (every few sends at 1 req/s)
//! and ~5 % of the rate. The backoff holds instead, just under what the
//! server admits, and probes above it ever more rarely:
//!
//! - **Cut.** A new 429 marks the rate as too high ("bad"). If a rate that
//!   held is known below it, the rate goes back to that; otherwise it is
//!   cut by `resolution` × `settle` × 429s ÷ successes (both counted with
//!   their weight halved at each cut, so one leftover 429 just after a cut
//!   does not read as "every send is refused"), between `resolution` and
//!   1 − `decrease`: one 429 in 200 sends takes 1 % off, one in 20 or more
//!   often 10 %. Near a strict bucket's limit with send-to-arrival jitter,
//!   429s are a matter of probability, and the cut follows it. The first
//!   429 that reaches the backoff only takes `resolution` off: it may be a
//!   leftover of sends made before the limit was known.
//! - **Saturated server.** When the server refused even the first send
//!   after a pause (a full window, a full bucket) or said to come back
//!   later than the next send would go anyway (a full window until its
//!   end), what it admitted lately measures its limit: if clearly below the rate (under `below` × it), the rate goes to
//!   `hold` × that, but at most halves ([`RateBackoff::on_saturated`]).
//! - **Good.** A rate that held `probe_every` successes and `probe_spacing`
//!   (a fixed window's length, the feedback time of an overfull window)
//!   while it was what held the sends back is good.
//! - **Bisection and creep.** Between a good rate and a bad one more than
//!   `bisect_above` apart the rate tries the middle; closer, it creeps up
//!   by `resolution` every `settle` successes (near a probabilistic limit,
//!   a rate that held 50 sends may still draw one 429 in 100).
//! - **Probing above.** Past the bad mark (or once forgotten) and settled,
//!   the rate probes above: +`probe_step`, then twice as much each time (at
//!   most `max_step`); the limit may have risen, or the 429 was a fluke. A
//!   probe that draws a 429 goes back to what held and doubles the
//!   successes to wait before the next probing, so once the limit is found
//!   probing costs ever fewer 429s. Nothing is raised while the pool of
//!   workers, not the rate, holds the sends back: a rate nobody uses
//!   would only turn into a burst later.

use std::time::Duration;

/// The backoff's constants.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct BackoffPolicy {
    /// The deepest cut for one 429: the rate is multiplied by at least this.
    pub decrease: f64,
    /// A saturated server: `hold` × what it admitted...
    pub hold: f64,
    /// ...when that is under this fraction of the rate...
    pub below: f64,
    /// ...but never under this fraction of the rate.
    pub min_keep: f64,
    /// Bisection stops when the good rate is within this fraction of the
    /// too-high one...
    pub bisect_above: f64,
    /// ...then the rate creeps up by this fraction; also the least cut.
    pub resolution: f64,
    /// A rate is good once it held this many successes...
    pub probe_every: u32,
    /// ...and this long.
    pub probe_spacing: Duration,
    /// Successes at a rate near the found limit before creeping up, and in
    /// a row before probing above it (doubled by each probe above that
    /// drew a 429, at most `max_doublings` times).
    pub settle: u32,
    /// How many times probing failures double `settle`.
    pub max_doublings: u32,
    /// The first raise above the found limit, as a fraction of the rate;
    /// each next one doubles...
    pub probe_step: f64,
    /// ...up to this.
    pub max_step: f64,
    /// The rate never goes below this (requests per second).
    pub floor: f64,
}

impl Default for BackoffPolicy {
    /// Cuts of 1 % (one 429 in 200 sends) to 10 % (one in 20 or more
    /// often); a saturated server: 99.5 % of what it admitted when under
    /// 95 % of the rate, at most halving it; a rate is good after 50
    /// successes and a second; bisection down to 6 %, then +1 % every 200
    /// successes; probing above after 200 successes in a row (400, 800, …
    /// up to 6400 after probes that drew 429s): +1 %, +2 %, +4 %, … (at
    /// most +16 %).
    fn default() -> Self {
        Self {
            decrease: 0.9,
            hold: 0.995,
            below: 0.95,
            min_keep: 0.5,
            bisect_above: 0.06,
            resolution: 0.01,
            probe_every: 50,
            probe_spacing: Duration::from_secs(1),
            settle: 200,
            max_doublings: 5,
            probe_step: 0.01,
            max_step: 0.16,
            floor: 0.05,
        }
    }
}

/// The backoff of one run at a fixed rate.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RateBackoff {
    policy: BackoffPolicy,
    /// `None` until a 429 brings the rate down; then it stays engaged (at
    /// the ceiling, it limits nothing).
    rate: Option<f64>,
    /// The highest rate known to hold.
    good: Option<f64>,
    /// The lowest rate known to draw 429s.
    bad: Option<f64>,
    /// Successes since the rate last changed, and when it did.
    streak: u32,
    since: Duration,
    /// Successes since the latest 429.
    clean: u32,
    /// 429s and successes, halved at each cut.
    refused: f64,
    admitted: f64,
    /// The next raise above the found limit.
    step: f64,
    /// Raises above the found limit that drew a 429.
    failed_probes: u32,
    /// Looking above the found limit.
    above: bool,
}

impl RateBackoff {
    /// A backoff that does not limit anything yet.
    pub fn new(policy: BackoffPolicy) -> Self {
        Self {
            policy,
            rate: None,
            good: None,
            bad: None,
            streak: 0,
            since: Duration::ZERO,
            clean: 0,
            refused: 0.0,
            admitted: 0.0,
            step: policy.probe_step,
            failed_probes: 0,
            above: false,
        }
    }

    /// The rate it allows now, `None` when no 429 has brought it down.
    pub fn rate(&self) -> Option<f64> {
        self.rate
    }

    /// Any 429, evidence or not: counts how often they come.
    pub fn on_refused(&mut self) {
        self.refused += 1.0;
    }

    /// A new 429 at `now` while sending at `current` requests per second,
    /// that the margin can no longer absorb: comes down.
    pub fn on_rate_limited(&mut self, current: f64, now: Duration) {
        let p = self.policy;
        let cut = if self.rate.is_none() {
            p.resolution
        } else {
            let often = f64::from(p.settle) * self.refused.max(1.0) / self.admitted.max(1.0);
            (p.resolution * often).clamp(p.resolution, 1.0 - p.decrease)
        };
        self.leave_above();
        self.bad = Some(current);
        let next = match self.good {
            // A raise drew it: back to what held.
            Some(good) if good < current * (1.0 - 1e-9) => good,
            _ => {
                self.good = None;
                current * (1.0 - cut)
            }
        };
        self.set(next, now);
    }

    /// The server refused even the first send after a pause while sending
    /// at `current`: it is saturated, and `admitted` (requests per second
    /// it let through over the last second or more) is about its limit.
    /// Once per storm of 429s.
    pub fn on_saturated(&mut self, current: f64, admitted: Option<f64>, now: Duration) {
        let p = self.policy;
        let rate = self.rate.map_or(current, |r| r.min(current));
        if let Some(a) = admitted.filter(|a| *a < rate * p.below) {
            let next = (a * p.hold).max(rate * p.min_keep);
            self.leave_above();
            self.bad = Some(rate);
            self.good = None;
            self.set(next, now);
        }
    }

    /// Never below `floor` (requests per second): back up to it if lower.
    /// True when the rate changed.
    pub fn raise_to(&mut self, floor: f64) -> bool {
        match self.rate {
            Some(rate) if rate < floor => {
                self.rate = Some(floor);
                true
            }
            _ => false,
        }
    }

    /// A 429: the successes in a row start over, and probing above the
    /// found limit, if it was, failed.
    fn leave_above(&mut self) {
        self.clean = 0;
        self.step = self.policy.probe_step;
        if std::mem::take(&mut self.above) {
            self.failed_probes = (self.failed_probes + 1).min(self.policy.max_doublings);
        }
    }

    fn set(&mut self, rate: f64, now: Duration) {
        if self.rate.is_none_or(|r| rate < r) {
            self.refused /= 2.0;
            self.admitted /= 2.0;
        }
        self.rate = Some(rate.max(self.policy.floor));
        self.streak = 0;
        self.since = now;
    }

    /// A success at `now` while pacing at no more than `ceiling`; `held_by`
    /// says what holds the sends back. Marks the rate good once it held
    /// (only a rate that binds was put to the test), then probes. True when
    /// the rate changed.
    pub fn on_success(&mut self, now: Duration, ceiling: f64, held_by: HeldBy) -> bool {
        let Some(rate) = self.rate else {
            return false;
        };
        let p = self.policy;
        self.streak = self.streak.saturating_add(1);
        self.clean = self.clean.saturating_add(1);
        self.admitted += 1.0;
        if self.streak < p.probe_every
            || now < self.since + p.probe_spacing
            || held_by == HeldBy::Pool
        {
            return false;
        }
        self.good = Some(self.good.map_or(rate, |g| g.max(rate)));
        let settle = p.settle << self.failed_probes;
        let next = match self.bad {
            // Far from what drew a 429: bisect.
            Some(bad) if bad > rate * (1.0 + p.bisect_above) => (rate + bad) / 2.0,
            // Close to it: creep.
            Some(bad) if self.streak >= settle => {
                let next = rate * (1.0 + p.resolution);
                if next >= bad {
                    self.bad = None;
                    self.above = true;
                }
                next
            }
            // Past it (or it is forgotten) and settled: probe above.
            None if self.above || self.clean >= settle => {
                self.above = true;
                let next = rate * (1.0 + self.step);
                self.step = (self.step * 2.0).min(p.max_step);
                next
            }
            _ => return false,
        };
        let next = next.min(ceiling);
        if next <= rate {
            return false;
        }
        self.set(next, now);
        true
    }
}

/// What holds a run's sends back lately.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HeldBy {
    /// The rate: sends go at it (or nearly), so its answers test it.
    Rate,
    /// The pool of workers: sends wait for a free worker, below the rate.
    Pool,
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `n` successes 100 ms apart, the rate binding or not.
    fn succeed(b: &mut RateBackoff, n: u32, now: &mut Duration, held_by: HeldBy) {
        for _ in 0..n {
            *now += Duration::from_millis(100);
            b.on_success(*now, 1000.0, held_by);
        }
    }

    /// A new 429 while sending at the backoff's rate (the pacing counts
    /// every 429 first).
    fn refuse(b: &mut RateBackoff, now: Duration) {
        b.on_refused();
        b.on_rate_limited(b.rate().unwrap_or(10.0), now);
    }

    fn close(a: Option<f64>, b: f64) -> bool {
        a.is_some_and(|a| (a - b).abs() < 1e-9)
    }

    #[test]
    fn the_first_429_takes_one_percent_off_then_cuts_follow_how_often_429s_come() {
        let engaged = || {
            let mut b = RateBackoff::new(BackoffPolicy::default());
            refuse(&mut b, Duration::ZERO);
            b
        };
        let mut now = Duration::ZERO;
        let mut b = engaged();
        assert!(close(b.rate(), 9.9), "{:?}", b.rate());
        // One 429 in ~400 sends: 1 %.
        succeed(&mut b, 400, &mut now, HeldBy::Pool);
        refuse(&mut b, now);
        assert!(close(b.rate(), 9.9 * 0.99), "{:?}", b.rate());
        // One in 5: 10 %.
        let mut b = engaged();
        succeed(&mut b, 5, &mut now, HeldBy::Pool);
        refuse(&mut b, now);
        assert!(close(b.rate(), 9.9 * 0.9), "{:?}", b.rate());
        // One in 40 (the first 429 counts half after its cut): 7.5 %.
        let mut b = engaged();
        succeed(&mut b, 40, &mut now, HeldBy::Pool);
        refuse(&mut b, now);
        assert!(close(b.rate(), 9.9 * (1.0 - 0.01 * 200.0 * 1.5 / 40.0)));
    }

    #[test]
    fn bisects_between_what_held_and_what_drew_a_429_then_creeps() {
        let p = BackoffPolicy::default();
        let mut b = RateBackoff::new(p);
        let mut now = Duration::ZERO;
        refuse(&mut b, now); // 9.9
        succeed(&mut b, 3, &mut now, HeldBy::Rate);
        refuse(&mut b, now); // frequent: 10 % off, to 8.91
        assert!(close(b.rate(), 8.91));
        // 8.91 held 50 successes and a second: half way to 9.9.
        succeed(&mut b, p.probe_every, &mut now, HeldBy::Rate);
        assert!(close(b.rate(), 9.405));
        // That drew a 429: back to what held.
        refuse(&mut b, now);
        assert!(close(b.rate(), 8.91));
        // Within 6 % of the bad mark: no more bisection, 1 % per 200 successes.
        succeed(&mut b, p.settle - 1, &mut now, HeldBy::Rate);
        assert!(close(b.rate(), 8.91));
        succeed(&mut b, 1, &mut now, HeldBy::Rate);
        assert!(close(b.rate(), 8.91 * 1.01));
    }

    #[test]
    fn a_rate_is_good_only_after_a_second_too() {
        let p = BackoffPolicy::default();
        let mut b = RateBackoff::new(p);
        let mut now = Duration::ZERO;
        refuse(&mut b, now);
        succeed(&mut b, 3, &mut now, HeldBy::Rate);
        refuse(&mut b, now); // 8.91, bad 9.9
        for _ in 0..80 {
            now += Duration::from_millis(10);
            b.on_success(now, 1000.0, HeldBy::Rate);
        }
        assert!(close(b.rate(), 8.91), "80 successes in 0.8 s");
        succeed(&mut b, 3, &mut now, HeldBy::Rate);
        assert!(close(b.rate(), 9.405));
    }

    #[test]
    fn a_saturated_server_brings_the_rate_to_what_it_admits_at_most_halving_it() {
        let mut b = RateBackoff::new(BackoffPolicy::default());
        let now = Duration::ZERO;
        b.on_saturated(40.0, Some(39.0), now);
        assert_eq!(b.rate(), None, "admits about the rate: nothing to learn");
        b.on_saturated(40.0, None, now);
        assert_eq!(b.rate(), None, "too few sends to tell");
        b.on_saturated(40.0, Some(10.2), now);
        assert!(close(b.rate(), 20.0), "at most halved");
        b.on_saturated(25.0, Some(10.2), now);
        assert!(close(b.rate(), 10.2 * 0.995));
    }

    #[test]
    fn once_settled_probes_above_and_ever_more_rarely_after_probes_that_fail() {
        let p = BackoffPolicy::default();
        let mut b = RateBackoff::new(p);
        let mut now = Duration::ZERO;
        refuse(&mut b, now); // 9.9, bad mark 10
                             // Creeps up to the bad mark and past it...
        succeed(&mut b, p.settle, &mut now, HeldBy::Rate);
        assert!(close(b.rate(), 9.9 * 1.01));
        succeed(&mut b, p.settle, &mut now, HeldBy::Rate);
        let past = 9.9 * 1.01 * 1.01;
        assert!(close(b.rate(), past));
        // ...then probes above: +1 %, +2 %, every 50 successes (and a second).
        succeed(&mut b, p.probe_every, &mut now, HeldBy::Rate);
        assert!(close(b.rate(), past * 1.01));
        succeed(&mut b, p.probe_every, &mut now, HeldBy::Rate);
        assert!(close(b.rate(), past * 1.01 * 1.02));
        // A probe drew a 429: back to what held...
        refuse(&mut b, now);
        let held = past * 1.01;
        assert!(close(b.rate(), held));
        // ...within 6 % of the new bad mark: creep, every 400 successes now.
        succeed(&mut b, 2 * p.settle - 1, &mut now, HeldBy::Rate);
        assert!(close(b.rate(), held));
        succeed(&mut b, 1, &mut now, HeldBy::Rate);
        assert!(close(b.rate(), held * 1.01));
    }

    #[test]
    fn never_raises_a_rate_that_is_not_what_holds_sends_back() {
        let mut b = RateBackoff::new(BackoffPolicy::default());
        let mut now = Duration::ZERO;
        refuse(&mut b, now);
        succeed(&mut b, 5000, &mut now, HeldBy::Pool);
        assert!(close(b.rate(), 9.9));
    }

    #[test]
    fn reaches_the_ceiling_and_stays_engaged_there() {
        let mut b = RateBackoff::new(BackoffPolicy::default());
        let mut now = Duration::ZERO;
        refuse(&mut b, now);
        for _ in 0..5000 {
            now += Duration::from_millis(100);
            b.on_success(now, 10.5, HeldBy::Rate);
        }
        assert_eq!(b.rate(), Some(10.5));
    }

    #[test]
    fn never_below_the_floor() {
        let mut b = RateBackoff::new(BackoffPolicy::default());
        for _ in 0..500 {
            refuse(&mut b, Duration::ZERO);
        }
        assert_eq!(b.rate(), Some(0.05));
    }
}
