//! Network errors that may be 429s in disguise.
//!
//! A 429 that carries no CORS headers reaches the page as a bare network
//! error: no status, no headers, no `Retry-After`. A dropped connection
//! looks exactly the same. Once the server has answered other requests of
//! the run (so its CORS policy admits the page), such an error is *maybe* a
//! rate limit ([`super::AttemptResult::MaybeRateLimited`]).
//!
//! One of them alone proves nothing, and treating each as a 429 would let a
//! flaky network cost throughput (a pool pause and a cut of the rate each
//! time). Three things tell a limit apart:
//!
//! - **It refuses up front.** A limiter answers before the request does
//!   any work, about one round trip after the send, while a success takes
//!   the model's time too (around a second for the real API). A connection
//!   dropped while the server worked comes back as late as a success. So
//!   an error counts only if it came back in under [`SLOW_SHARE`] (half)
//!   of the typical latency of the run's successes (an average that
//!   follows the latest ones). Before any success, every error counts.
//! - **It refuses often.** A limit that the rate overshoots refuses a
//!   steady share of the sends (half of them at twice the limit), while a
//!   network loses one now and then. So the first errors are taken for
//!   429s only when [`OPAQUE_COUNT`] (4) of them fall among
//!   [`OPAQUE_WINDOW`] (16) consecutive sends. From then on the server is
//!   known to refuse without CORS headers, and every error that counts is
//!   taken for a 429, as a readable one would be: near the limit a 429 is a
//!   matter of probability (one in 50 sends at 2 % over a fixed window).
//! - **It admits what it admits.** A limit lets through at least what it
//!   was seen to let through, so errors taken for 429s never bring the rate
//!   below that ([`super::Pacing::admitted_floor`]): if they were dropped
//!   connections after all, the rate stays about where they leave it.
//!
//! Why 4 in 16. With errors at random, a share `p` of the sends, an error
//! has three others among the 15 sends on either side with probability
//! about `C(15, 3) p³`: at 1 % (a poor network) one error in ~2 400, one
//! false alarm per ~200 000 sends; at 2 %, one per ~14 000. Against a
//! limit at half the rate (`p` = 0.5) the fourth error of the run, a few
//! sends in, confirms the first three; at 1.2 × the limit (`p` ≈ 0.17) one
//! error in two is confirmed, at 1.1 × (`p` ≈ 0.09) one in seven. Three in
//! 16 would confirm a limit at 1.1 × twice as soon but take one dropped
//! connection in 100 at 1 % for a first 429, twenty times as many false
//! alarms, each of which leaves the run taking every fast error for a 429
//! (within the floor). A limit barely under the rate from the start (a
//! few % of the sends refused, evenly spaced at a fixed window) may go
//! unnoticed: that costs those few % of the sends, retried, not the
//! throughput, which the server holds at its limit anyway.
//!
//! Pure: errors come in with their place in the order of sends and their
//! latency.

use std::collections::VecDeque;
use std::time::Duration;

/// This many network errors...
pub const OPAQUE_COUNT: usize = 4;

/// ...among this many consecutive sends are frequent: they are taken for
/// 429s without CORS headers (see the module's notes).
pub const OPAQUE_WINDOW: u64 = 16;

/// An error that took at least this share of the typical success latency
/// to come back was not refused up front: it does not count.
pub const SLOW_SHARE: f64 = 0.5;

/// Weight of the latest success in the typical success latency.
const LATENCY_WEIGHT: f64 = 0.1;

/// What a network error is to the pacing.
#[derive(Clone, Debug, PartialEq)]
pub(super) enum Verdict {
    /// It came back as late as successes do: not a refusal.
    Slow,
    /// It may be a refusal, but too rare so far to be taken for one.
    Rare,
    /// Frequent: taken for a 429, with the send instants of the group of
    /// errors it completes, oldest first (itself among them).
    Frequent(Vec<Duration>),
}

/// The recent network errors of a run, to tell frequent ones from rare.
#[derive(Clone, Debug, Default)]
pub(super) struct OpaqueErrors {
    /// `(send number, send instant)` of the errors that may still group,
    /// in order of arrival.
    recent: VecDeque<(u64, Duration)>,
    /// The typical latency of the run's successes (an exponential average).
    success_latency: Option<f64>,
    /// Errors were frequent once: the server refuses with 429s the page
    /// cannot read, and every fast error from now on is taken for one.
    confirmed: bool,
}

impl OpaqueErrors {
    /// A success that took `latency` from send to answer.
    pub(super) fn on_success(&mut self, latency: Duration) {
        let latency = latency.as_secs_f64();
        self.success_latency = Some(match self.success_latency {
            Some(typical) => typical + LATENCY_WEIGHT * (latency - typical),
            None => latency,
        });
    }

    /// A network error for the request that was the `seq`-th send, sent at
    /// `sent_at`, that took `latency` to come back. When it is
    /// [`Verdict::Frequent`], the pacing reacts now: only errors of
    /// requests sent from now on form the next group.
    pub(super) fn on_error(&mut self, seq: u64, sent_at: Duration, latency: Duration) -> Verdict {
        if self
            .success_latency
            .is_some_and(|typical| latency.as_secs_f64() >= SLOW_SHARE * typical)
        {
            return Verdict::Slow;
        }
        if self.confirmed {
            return Verdict::Frequent(vec![sent_at]);
        }
        // Errors further back than the window can group with nothing to
        // come (answers come back roughly in the order of sends).
        let newest = self.recent.iter().map(|e| e.0).max().unwrap_or(0).max(seq);
        self.recent.retain(|e| e.0 + 2 * OPAQUE_WINDOW > newest);
        self.recent.push_back((seq, sent_at));
        let mut near: Vec<u64> = self
            .recent
            .iter()
            .map(|e| e.0)
            .filter(|other| other.abs_diff(seq) < OPAQUE_WINDOW)
            .collect();
        crate::sort::sort(&mut near);
        // Every group of OPAQUE_COUNT within the window that includes `seq`.
        let mut grouped = Vec::new();
        for group in near.windows(OPAQUE_COUNT) {
            let (first, last) = (group[0], group[OPAQUE_COUNT - 1]);
            if last - first < OPAQUE_WINDOW && (first..=last).contains(&seq) {
                grouped.extend_from_slice(group);
            }
        }
        if grouped.is_empty() {
            return Verdict::Rare;
        }
        let mut confirmed: Vec<Duration> = self
            .recent
            .iter()
            .filter(|e| grouped.contains(&e.0))
            .map(|e| e.1)
            .collect();
        crate::sort::sort(&mut confirmed);
        self.recent.clear();
        self.confirmed = true;
        Verdict::Frequent(confirmed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    impl OpaqueErrors {
        /// An error that came back at once.
        fn on_error_fast(&mut self, seq: u64, sent_at: Duration) -> Verdict {
            self.on_error(seq, sent_at, Duration::ZERO)
        }
    }

    #[test]
    fn errors_as_slow_as_half_the_typical_success_do_not_count() {
        let mut o = OpaqueErrors::default();
        // Before any success, every error counts.
        assert_eq!(o.on_error(1, ms(100), ms(900)), Verdict::Rare);
        for _ in 0..50 {
            o.on_success(ms(1000));
        }
        o.on_success(ms(200)); // the average follows: 920 ms
        for seq in 2..40 {
            assert_eq!(o.on_error(seq, ms(seq * 100), ms(460)), Verdict::Slow);
        }
        for seq in 40..43 {
            assert_eq!(o.on_error(seq, ms(seq * 100), ms(450)), Verdict::Rare);
        }
        // The slow ones were never counted: the fourth fast one confirms.
        assert_eq!(
            o.on_error(43, ms(4300), ms(5)),
            Verdict::Frequent(vec![ms(4000), ms(4100), ms(4200), ms(4300)])
        );
    }

    #[test]
    fn three_errors_are_rare_a_fourth_within_the_window_confirms_all_four() {
        let mut o = OpaqueErrors::default();
        assert_eq!(o.on_error_fast(10, ms(1000)), Verdict::Rare);
        assert_eq!(o.on_error_fast(14, ms(1400)), Verdict::Rare);
        assert_eq!(o.on_error_fast(18, ms(1800)), Verdict::Rare);
        // 15 sends after the first: the four are possible 429s.
        assert_eq!(
            o.on_error_fast(25, ms(2500)),
            Verdict::Frequent(vec![ms(1000), ms(1400), ms(1800), ms(2500)])
        );
        // From now on the server is known to refuse unreadably: every fast
        // error is taken for a 429, a slow one still is not.
        assert_eq!(
            o.on_error_fast(40, ms(4000)),
            Verdict::Frequent(vec![ms(4000)])
        );
        o.on_success(ms(100));
        assert_eq!(o.on_error(41, ms(4100), ms(50)), Verdict::Slow);
        assert_eq!(
            o.on_error(42, ms(4200), ms(49)),
            Verdict::Frequent(vec![ms(4200)])
        );
    }

    #[test]
    fn errors_spread_wider_than_the_window_stay_rare() {
        let mut o = OpaqueErrors::default();
        // Three in every 16 sends, never four.
        for seq in (0..1000).step_by(6) {
            assert_eq!(
                o.on_error_fast(seq, ms(seq * 100)),
                Verdict::Rare,
                "send {seq}"
            );
        }
        let mut o = OpaqueErrors::default();
        for seq in [0, 1, 2] {
            assert_eq!(o.on_error_fast(seq, ms(seq)), Verdict::Rare);
        }
        assert_eq!(
            o.on_error_fast(16, ms(16)),
            Verdict::Rare,
            "17 sends: one too many"
        );
    }

    #[test]
    fn answers_out_of_order_group_either_way() {
        let mut o = OpaqueErrors::default();
        assert_eq!(o.on_error_fast(30, ms(3000)), Verdict::Rare);
        assert_eq!(o.on_error_fast(20, ms(2000)), Verdict::Rare);
        assert_eq!(o.on_error_fast(28, ms(2800)), Verdict::Rare);
        // Sent among them, answered last.
        assert_eq!(
            o.on_error_fast(25, ms(2500)),
            Verdict::Frequent(vec![ms(2000), ms(2500), ms(2800), ms(3000)])
        );
    }

    #[test]
    fn remembers_only_what_can_still_group() {
        let mut o = OpaqueErrors::default();
        for seq in (0..100_000).step_by(10) {
            o.on_error_fast(seq, ms(seq));
        }
        assert!(o.recent.len() <= 2 * OPAQUE_WINDOW as usize);
    }
}
