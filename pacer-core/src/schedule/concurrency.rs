//! Learning a server's concurrency cap ("at most N requests in flight per
//! key", refused with 429 or 503) from what the client sees: how many of
//! its requests were in flight when each one was sent, and how each ended.
//!
//! A server with a cap of C refuses a request only when C others are being
//! served, so the client had at least C + 1 in flight (itself included)
//! when it sent it; it can have more in flight and still succeed, since an
//! answer on its way back still counts on the client's side. So refusals
//! that all came at N or more in flight, never fewer, while N - 1 in
//! flight did succeed, mean a cap of N - 1: a pool of N - 1 holds. A
//! refusal with a single request in flight is no cap at all: that is a
//! rate (or something else), and the learner says so.
//!
//! A cap is not a rate: refusals it explains ([`ConcurrencyLearner::explains`])
//! should shrink the pool, not slow the pacing. Pure: no clock at all.

use crate::bounds::MAX_CONCURRENCY;

/// How much evidence concludes a cap.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ConcurrencyPolicy {
    /// Refusals needed, all at or above the lowest in-flight count refused.
    pub min_refusals: u32,
    /// Successes needed with one request fewer in flight than that count.
    pub min_successes_below: u32,
}

impl Default for ConcurrencyPolicy {
    /// Three refusals, and two successes just below them.
    fn default() -> Self {
        Self {
            min_refusals: 3,
            min_successes_below: 2,
        }
    }
}

/// What the learner concludes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CapVerdict {
    /// Not enough evidence either way.
    Unknown,
    /// A cap: at most this many requests in flight hold (the pool size to use).
    Cap(usize),
    /// Refusals came with a single request in flight: not a concurrency cap.
    NotACap,
}

/// Learns a concurrency cap from in-flight counts; see the module doc.
#[derive(Clone, Debug)]
pub struct ConcurrencyLearner {
    policy: ConcurrencyPolicy,
    /// Successes by in-flight count at send (index = count, capped).
    successes: Vec<u32>,
    /// Refusals (429/503) by in-flight count at send.
    refusals: Vec<u32>,
}

impl ConcurrencyLearner {
    /// A learner that has seen nothing.
    pub fn new(policy: ConcurrencyPolicy) -> Self {
        Self {
            policy,
            successes: vec![0; MAX_CONCURRENCY + 1],
            refusals: vec![0; MAX_CONCURRENCY + 1],
        }
    }

    /// A request sent with `in_flight` requests in flight (itself
    /// included) succeeded.
    pub fn on_success(&mut self, in_flight: usize) {
        let i = slot(in_flight);
        self.successes[i] = self.successes[i].saturating_add(1);
    }

    /// A request sent with `in_flight` requests in flight (itself
    /// included) was refused (a 429 or a 503). Returns the verdict after it.
    pub fn on_refused(&mut self, in_flight: usize) -> CapVerdict {
        let i = slot(in_flight);
        self.refusals[i] = self.refusals[i].saturating_add(1);
        self.verdict()
    }

    /// The conclusion so far.
    pub fn verdict(&self) -> CapVerdict {
        let Some(lowest) = self.refusals.iter().position(|&n| n > 0) else {
            return CapVerdict::Unknown;
        };
        if lowest <= 1 {
            return CapVerdict::NotACap;
        }
        let refusals: u64 = self.refusals.iter().map(|&n| u64::from(n)).sum();
        let held = self.successes[lowest - 1];
        // Over a cap nearly every send is refused (a success there is only
        // an answer that crossed the send); a rate limiter refuses some
        // sends at whatever count the pool happens to be at and lets most
        // of them through, at that count and above.
        let above = |v: &[u32]| v[lowest..].iter().map(|&n| u64::from(n)).sum::<u64>();
        let mostly_refused = above(&self.refusals) > above(&self.successes);
        if refusals >= u64::from(self.policy.min_refusals)
            && held >= self.policy.min_successes_below
            && mostly_refused
        {
            CapVerdict::Cap(lowest - 1)
        } else {
            CapVerdict::Unknown
        }
    }

    /// The pool size to use, given the one the user chose: the cap when
    /// one is concluded and lower, else the user's.
    pub fn pool_size(&self, configured: usize) -> usize {
        match self.verdict() {
            CapVerdict::Cap(cap) => configured.min(cap),
            _ => configured,
        }
    }

    /// True when a refusal of a request sent with `in_flight` in flight is
    /// explained by the concluded cap (it was over it): the pacing should
    /// not take it for a rate limit.
    pub fn explains(&self, in_flight: usize) -> bool {
        matches!(self.verdict(), CapVerdict::Cap(cap) if in_flight > cap)
    }
}

impl Default for ConcurrencyLearner {
    fn default() -> Self {
        Self::new(ConcurrencyPolicy::default())
    }
}

/// The histogram slot of an in-flight count (at least 1: the request itself).
fn slot(in_flight: usize) -> usize {
    in_flight.clamp(1, MAX_CONCURRENCY)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// (in flight, refused) events and the verdict wanted after them.
    type Case = (&'static str, Vec<(usize, bool)>, CapVerdict);

    fn feed(events: &[(usize, bool)]) -> ConcurrencyLearner {
        let mut l = ConcurrencyLearner::default();
        for &(n, refused) in events {
            if refused {
                l.on_refused(n);
            } else {
                l.on_success(n);
            }
        }
        l
    }

    #[test]
    fn verdict_table() {
        let ok = |n| (n, false);
        let no = |n| (n, true);
        let cases: Vec<Case> =
            vec![
            ("nothing seen", vec![], CapVerdict::Unknown),
            (
                "successes only",
                vec![ok(1), ok(8), ok(16)],
                CapVerdict::Unknown,
            ),
            (
                "refused at 5 and more, 4 held: a cap of 4",
                vec![ok(1), ok(4), ok(4), no(5), no(6), no(5), ok(7)],
                CapVerdict::Cap(4),
            ),
            (
                "too few refusals yet",
                vec![ok(4), ok(4), no(5), no(5)],
                CapVerdict::Unknown,
            ),
            (
                "4 in flight never seen to succeed: no proof that 4 holds",
                vec![ok(2), ok(3), no(5), no(5), no(6)],
                CapVerdict::Unknown,
            ),
            (
                "a refusal lower down lowers the cap, never below it",
                vec![ok(4), ok(4), no(5), no(5), no(5), ok(2), ok(2), no(3)],
                CapVerdict::Cap(2),
            ),
            (
                "refused with one in flight: a rate, not a cap",
                vec![ok(4), ok(4), no(5), no(5), no(5), no(1)],
                CapVerdict::NotACap,
            ),
            (
                "a success above the cap does not undo it (its answer was on its way)",
                vec![ok(3), ok(3), no(4), no(4), no(4), ok(9)],
                CapVerdict::Cap(3),
            ),
            (
                "a rate limiter's refusals at 3 among many successes there: no cap",
                vec![
                    ok(2),
                    ok(2),
                    ok(3),
                    ok(3),
                    ok(3),
                    ok(3),
                    no(3),
                    no(3),
                    no(4),
                ],
                CapVerdict::Unknown,
            ),
            (
                "a saturated rate limiter's refusals at the top counts, most sends there admitted",
                vec![
                    ok(10), ok(11), ok(11), ok(11), no(12), no(12), no(13), ok(13), ok(14),
                    ok(13),
                ],
                CapVerdict::Unknown,
            ),
            (
                "counts beyond the pool's bound are bounded",
                vec![ok(usize::MAX), no(usize::MAX), no(0)],
                CapVerdict::NotACap,
            ),
        ];
        for (what, events, want) in cases {
            assert_eq!(feed(&events).verdict(), want, "{what}");
        }
    }

    #[test]
    fn pool_size_and_what_the_cap_explains() {
        let l = feed(&[(4, false), (4, false), (5, true), (6, true), (5, true)]);
        assert_eq!(l.pool_size(16), 4);
        assert_eq!(l.pool_size(2), 2, "never above the user's pool");
        assert!(l.explains(5));
        assert!(!l.explains(4), "a refusal within the cap is something else");
        let unknown = feed(&[(5, true)]);
        assert_eq!(unknown.pool_size(16), 16);
        assert!(!unknown.explains(9));
    }
}
