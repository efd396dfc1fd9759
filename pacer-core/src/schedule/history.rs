//! The recent sends, as the pacing needs to remember them: when they went,
//! and which drew a 429. Pure.

use std::collections::VecDeque;
use std::time::Duration;

/// Sends (and 429s) of the last seconds.
#[derive(Clone, Debug, Default)]
pub(super) struct SendHistory {
    /// Send instants, oldest first.
    sends: VecDeque<Duration>,
    /// Send instants of the requests that drew a 429, oldest first.
    rejected: VecDeque<Duration>,
}

/// At most this many sends are remembered, whatever the rate.
const MAX_SENDS: usize = 1 << 16;

impl SendHistory {
    /// A send at `at`. Sends older than `keep` are forgotten.
    pub(super) fn on_send(&mut self, at: Duration, keep: Duration) {
        self.sends.push_back(at);
        let horizon = at.saturating_sub(keep);
        while self.sends.len() > MAX_SENDS || self.sends.front().is_some_and(|t| *t < horizon) {
            self.sends.pop_front();
        }
        while self.rejected.front().is_some_and(|t| *t < horizon) {
            self.rejected.pop_front();
        }
    }

    /// The send recorded at `at` never went (taken back before its
    /// instant): it is forgotten, so that it neither counts as sent nor
    /// hides that the next one is the first after a pause.
    pub(super) fn forget_send(&mut self, at: Duration) {
        let i = self.sends.partition_point(|t| *t < at);
        if self.sends.get(i) == Some(&at) {
            self.sends.remove(i);
        }
    }

    /// The request sent at `sent_at` drew a 429.
    pub(super) fn on_rejected(&mut self, sent_at: Duration) {
        let at = self.rejected.partition_point(|t| *t <= sent_at);
        self.rejected.insert(at, sent_at);
    }

    /// Sends in `[from, to)`.
    pub(super) fn sends_between(&self, from: Duration, to: Duration) -> usize {
        count(&self.sends, from, to)
    }

    /// Requests per second the server let through among the sends of the
    /// `window` up to `to` (those still unanswered count as let through),
    /// when there were at least `min_sends` of them.
    pub(super) fn admitted(&self, to: Duration, window: Duration, min_sends: usize) -> Option<f64> {
        let first = *self.sends.front()?;
        let from = to.saturating_sub(window).max(first);
        let sent = count(&self.sends, from, to);
        if sent < min_sends || to <= from {
            return None;
        }
        let rejected = count(&self.rejected, from, to);
        Some(sent.saturating_sub(rejected) as f64 / (to - from).as_secs_f64())
    }

    /// True when, over the `window` up to `now` (or since the first send,
    /// if later), sends went at no less than `share` of `rate`: the rate,
    /// not the pool of workers, is what holds them back. (Answers of a pool
    /// coming back in clumps are sent at the rate, so sends that waited for
    /// it say little; how many went over a few seconds does.)
    pub(super) fn rate_is_binding(
        &self,
        now: Duration,
        window: Duration,
        rate: f64,
        share: f64,
    ) -> bool {
        let Some(&first) = self.sends.front() else {
            return true;
        };
        let from = now.saturating_sub(window).max(first);
        let span = now.saturating_sub(from).as_secs_f64();
        // One interval of slack: the latest send may have just gone.
        let sent = count(&self.sends, from, now + Duration::from_nanos(1)) as f64;
        sent + 1.0 >= share * rate * span
    }
}

/// Instants of sorted `v` in `[from, to)`.
fn count(v: &VecDeque<Duration>, from: Duration, to: Duration) -> usize {
    v.partition_point(|t| *t < to)
        .saturating_sub(v.partition_point(|t| *t < from))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn admitted_rate_is_sends_minus_429s_over_the_window() {
        let mut h = SendHistory::default();
        let keep = Duration::from_secs(10);
        for i in 0..40 {
            h.on_send(ms(i * 100), keep);
        }
        // 10/s sent, every other one of the last 2 s refused: 5/s admitted.
        for i in (20..40).step_by(2) {
            h.on_rejected(ms(i * 100));
        }
        let a = h.admitted(ms(4000), Duration::from_secs(2), 8).unwrap();
        assert!((a - 5.0).abs() < 1e-9, "{a}");
        // Over the whole history (4 s): 30 of 40.
        let a = h.admitted(ms(4000), Duration::from_secs(60), 8).unwrap();
        assert!((a - 7.5).abs() < 1e-9, "{a}");
        assert_eq!(h.admitted(ms(4000), ms(500), 8), None, "too few sends");
        assert_eq!(h.sends_between(ms(1000), ms(1200)), 2);
    }

    #[test]
    fn a_send_taken_back_is_forgotten() {
        let mut h = SendHistory::default();
        let keep = Duration::from_secs(10);
        for t in [0, 250, 500, 750] {
            h.on_send(ms(t), keep);
        }
        h.forget_send(ms(750));
        h.forget_send(ms(500));
        h.forget_send(ms(123));
        assert_eq!(h.sends_between(Duration::ZERO, ms(1000)), 2);
        assert_eq!(h.sends_between(ms(300), ms(1000)), 0);
    }

    #[test]
    fn forgets_old_sends_and_tells_whether_the_rate_binds() {
        let mut h = SendHistory::default();
        for i in 0..100 {
            h.on_send(ms(i * 100), Duration::from_secs(3));
        }
        assert_eq!(h.sends_between(Duration::ZERO, ms(100_000)), 31);
        let window = Duration::from_secs(2);
        assert!(
            h.rate_is_binding(ms(9_900), window, 10.0, 0.85),
            "10/s at 10/s"
        );
        assert!(
            !h.rate_is_binding(ms(9_900), window, 20.0, 0.85),
            "10/s at 20/s"
        );
        // Waves: 20 sends in 0.2 s every 2 s, at a rate of 20/s.
        let mut h = SendHistory::default();
        for wave in 0..5 {
            for i in 0..20 {
                h.on_send(ms(wave * 2000 + i * 10), Duration::from_secs(10));
            }
        }
        assert!(!h.rate_is_binding(ms(8_190), Duration::from_secs(4), 20.0, 0.85));
    }
}
