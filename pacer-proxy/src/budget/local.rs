//! The budget's arithmetic on one machine: a GCRA that schedules rather
//! than refuses. Each request gets the earliest slot the budget allows,
//! or a refusal when that slot is further away than the longest hold.
//! The proxy uses it when Redis cannot be reached (at its share of the
//! team's rate), and to remember where its own schedule stands so that
//! leaving or rejoining Redis grants no burst. Pure: `now` is an argument
//! (any monotonic origin).

use std::time::Duration;

/// A scheduling GCRA: `interval` between slots, `tolerance` early.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LocalGcra {
    /// The theoretical arrival time of the next request; `None` when the
    /// budget has no history here.
    tat: Option<Duration>,
}

/// What the budget says to one request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Slot {
    /// Hold the request this long, then forward it.
    After(Duration),
    /// Refuse it: its slot would be this far away, beyond the longest hold.
    Refused {
        /// How long until its slot.
        wait: Duration,
    },
}

impl LocalGcra {
    /// Takes the next slot at `now` for a budget of one request per
    /// `interval` with `tolerance` early, unless it is more than
    /// `max_wait` away. A budget without history starts as though a
    /// request had just gone (no burst from a standing start).
    pub fn take(
        &mut self,
        now: Duration,
        interval: Duration,
        tolerance: Duration,
        max_wait: Duration,
    ) -> Slot {
        let tat = self.tat.unwrap_or(now + tolerance + interval).max(now);
        let slot = tat.saturating_sub(tolerance).max(now);
        let wait = slot - now;
        if wait > max_wait {
            return Slot::Refused { wait };
        }
        self.tat = Some(tat.max(slot) + interval);
        Slot::After(wait)
    }

    /// Records a request sent at `at` by another authority (the shared
    /// budget), so that a switch to this one continues after it.
    pub fn note(&mut self, at: Duration, interval: Duration) {
        let next = at + interval;
        self.tat = Some(self.tat.map_or(next, |t| t.max(next)));
    }

    /// Moves the next slot to `at` if it was earlier (or unknown).
    pub fn start_no_earlier(&mut self, at: Duration) {
        self.tat = Some(self.tat.map_or(at, |t| t.max(at)));
    }

    /// How far past `now` this schedule's next slot lies (zero when it is
    /// free now or has no history).
    pub fn ahead(&self, now: Duration) -> Duration {
        self.tat.map_or(Duration::ZERO, |t| t.saturating_sub(now))
    }
}

/// The first instant at or after `at_us` (µs on a clock all proxies
/// share) that belongs to the proxy of `rank` among `proxies`, when the
/// shared clock is cut into slots of `interval_us` dealt round-robin:
/// proxies pacing alone each take their own slots and never two at once.
pub fn own_slot(at_us: i64, interval_us: i64, rank: i64, proxies: i64) -> i64 {
    if interval_us <= 0 || proxies <= 0 {
        return at_us;
    }
    let m = at_us.div_euclid(interval_us) + i64::from(at_us.rem_euclid(interval_us) != 0);
    let m = m + (rank - m).rem_euclid(proxies);
    m.saturating_mul(interval_us)
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: fn(u64) -> Duration = Duration::from_millis;

    #[test]
    fn slots_are_an_interval_apart_and_queue_up_to_the_longest_hold() {
        let mut g = LocalGcra::default();
        let t = MS(10_000);
        // No history: the first slot is one interval away, not now.
        assert_eq!(g.take(t, MS(100), MS(0), MS(1_000)), Slot::After(MS(100)));
        assert_eq!(g.take(t, MS(100), MS(0), MS(1_000)), Slot::After(MS(200)));
        for k in 3..=10 {
            assert_eq!(
                g.take(t, MS(100), MS(0), MS(1_000)),
                Slot::After(MS(100 * k))
            );
        }
        assert_eq!(
            g.take(t, MS(100), MS(0), MS(1_000)),
            Slot::Refused { wait: MS(1_100) }
        );
        // A refusal takes nothing: later, the queue has moved on.
        assert_eq!(
            g.take(t + MS(500), MS(100), MS(0), MS(1_000)),
            Slot::After(MS(600))
        );
    }

    #[test]
    fn an_idle_budget_allows_its_tolerance_early() {
        let mut g = LocalGcra::default();
        g.note(MS(0), MS(100));
        let t = MS(5_000);
        let slots: Vec<Slot> = (0..3)
            .map(|_| g.take(t, MS(100), MS(100), MS(1_000)))
            .collect();
        assert_eq!(
            slots,
            [Slot::After(MS(0)), Slot::After(MS(0)), Slot::After(MS(100))]
        );
    }

    #[test]
    fn own_slots_are_dealt_round_robin() {
        // 100 µs slots, two proxies: rank 0 takes even ones, rank 1 odd.
        assert_eq!(own_slot(1_000, 100, 0, 2), 1_000);
        assert_eq!(own_slot(1_000, 100, 1, 2), 1_100);
        assert_eq!(own_slot(1_001, 100, 0, 2), 1_200);
        assert_eq!(own_slot(1_001, 100, 1, 2), 1_100);
        assert_eq!(own_slot(1_250, 100, 2, 3), 1_400);
        let a: Vec<i64> = (0..50).map(|k| own_slot(k * 37, 100, 0, 2)).collect();
        let b: Vec<i64> = (0..50).map(|k| own_slot(k * 37, 100, 1, 2)).collect();
        assert!(a.iter().all(|x| !b.contains(x)), "never the same slot");
        assert_eq!(own_slot(7, 0, 0, 2), 7);
    }

    #[test]
    fn sends_noted_from_elsewhere_push_the_schedule() {
        let mut g = LocalGcra::default();
        g.note(MS(1_000), MS(200));
        assert_eq!(g.ahead(MS(1_050)), MS(150));
        assert_eq!(
            g.take(MS(1_050), MS(200), MS(0), MS(1_000)),
            Slot::After(MS(150))
        );
        g.note(MS(900), MS(200));
        assert_eq!(g.ahead(MS(1_050)), MS(350), "an older send moves nothing");
        assert_eq!(LocalGcra::default().ahead(MS(5)), MS(0));
    }
}
