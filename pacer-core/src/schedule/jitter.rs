//! What Pacer can measure of the send-to-arrival jitter before any 429: how
//! late its own sends went, and how much the times of its answers vary.
//!
//! A strict leaky bucket refuses a request that arrives less than `1/rate`
//! after the one before; the gap between two arrivals falls short of the
//! gap between two sends by at most (how much later the first went than
//! the second) + (how much longer the first took to reach the server). The
//! first term is the sends' own lateness; the second is bounded by the
//! spread of the round trips (an answer's time includes its way in). So
//! `max lateness + (max − min answer time)` over recent requests bounds the
//! margin a strict server needs, and costs a tolerant one no more than
//! the network's real jitter. Pure.

use std::collections::VecDeque;
use std::time::Duration;

/// How many recent sends and answers the estimate reads.
const SAMPLES: usize = 32;

/// Answers needed before the spread of their times means anything.
const MIN_ANSWERS: usize = 12;

/// The spread of a few answers falls short of the spread of all: the
/// widest of 20 evenly spread values spans only 19/21 of their range, and
/// the sends' own timers are late by a little more than is measured.
const SPREAD_HEADROOM: f64 = 1.5;

/// Recent send lateness and answer times of one run.
#[derive(Clone, Debug, Default)]
pub struct JitterEstimate {
    lateness: VecDeque<Duration>,
    answers: VecDeque<Duration>,
}

impl JitterEstimate {
    /// A send taken for an instant went `late` after it.
    pub fn on_sent(&mut self, late: Duration) {
        push(&mut self.lateness, late);
    }

    /// A request was answered (successfully) `took` after it went.
    pub fn on_answer(&mut self, took: Duration) {
        push(&mut self.answers, took);
    }

    /// The most an arrival gap fell short of its send gap lately, as far as
    /// can be told; `None` until enough answers came. Answer times that
    /// vary by more than `usual` (the usual network jitter) vary with the
    /// server's own work, which hides the way in: then nothing can be
    /// shown to be needed (zero), and a margin kept on faith would only
    /// cost a tolerant server.
    pub fn bound(&self, usual: Duration) -> Option<Duration> {
        if self.answers.len() < MIN_ANSWERS {
            return None;
        }
        let longest = self.answers.iter().max()?;
        let shortest = self.answers.iter().min()?;
        let spread = (*longest - *shortest).mul_f64(SPREAD_HEADROOM);
        if spread > usual {
            return Some(Duration::ZERO);
        }
        let late = self.lateness.iter().max().copied().unwrap_or_default();
        Some(late.saturating_add(spread))
    }
}

fn push(samples: &mut VecDeque<Duration>, value: Duration) {
    if samples.len() == SAMPLES {
        samples.pop_front();
    }
    samples.push_back(value);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn nothing_until_enough_answers() {
        let mut j = JitterEstimate::default();
        j.on_sent(ms(1));
        for _ in 0..MIN_ANSWERS - 1 {
            j.on_answer(ms(300));
        }
        assert_eq!(j.bound(ms(6)), None);
        j.on_answer(ms(304));
        assert_eq!(
            j.bound(ms(9)),
            Some(ms(7)),
            "1 ms late + 1.5 × 4 ms of spread"
        );
    }

    #[test]
    fn a_server_whose_own_time_varies_says_nothing_of_the_way_in() {
        let mut j = JitterEstimate::default();
        for took in [300, 900, 450, 700, 320, 610].repeat(2) {
            j.on_answer(ms(took));
        }
        assert_eq!(j.bound(ms(6)), Some(Duration::ZERO));
    }

    #[test]
    fn old_samples_are_forgotten() {
        let mut j = JitterEstimate::default();
        j.on_sent(ms(40));
        j.on_answer(ms(900));
        for _ in 0..SAMPLES {
            j.on_sent(ms(0));
            j.on_answer(ms(300));
        }
        assert_eq!(j.bound(ms(6)), Some(Duration::ZERO));
    }
}
