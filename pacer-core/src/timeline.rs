//! A run second by second, for its throughput chart: successes, 429s and
//! other failures counted in the second their answer came, and the rate
//! Pacer paced at. [`Timeline::columns`] folds the seconds into at most so
//! many columns, so a chart of a ten-hour run is as cheap as one of a
//! minute. Only the seconds in which something happened are kept, so a
//! span of years (a saved run whose clock jumped) costs no more memory
//! than its answers.

use std::collections::BTreeMap;
use std::time::Duration;

/// What one answer was, for the chart.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mark {
    /// Answered with predictions.
    Success,
    /// A 429 (or an error taken for one).
    RateLimited,
    /// Any other failed attempt (5xx, network, timeout, 4xx).
    Failure,
}

/// One second of the run.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
struct Second {
    successes: u32,
    rate_limited: u32,
    failures: u32,
    /// The pacing rate last sampled in this second, if any.
    rate: Option<f64>,
}

/// One column of the chart: `width_s` seconds from `start_s`.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Column {
    /// Seconds from the first send to the column's start.
    pub start_s: f64,
    /// Seconds the column covers.
    pub width_s: f64,
    /// Successes per second over the column.
    pub per_s: f64,
    /// 429s in the column.
    pub rate_limited: u32,
    /// Other failed attempts in the column.
    pub failures: u32,
    /// The highest pacing rate sampled in the column (`None` if none was).
    pub rate: Option<f64>,
}

/// Per-second counts from the first send on.
#[derive(Clone, Debug, Default)]
pub struct Timeline {
    start: Option<Duration>,
    /// The seconds something happened in, by their index from `start`.
    seconds: BTreeMap<u64, Second>,
}

impl Timeline {
    /// Nothing yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// A request went out at `at`: the first one starts the clock.
    pub fn on_send(&mut self, at: Duration) {
        self.start.get_or_insert(at);
    }

    /// An answer of kind `mark` came at `at`.
    pub fn on_answer(&mut self, at: Duration, mark: Mark) {
        let Some(second) = self.second(at) else {
            return;
        };
        match mark {
            Mark::Success => second.successes += 1,
            Mark::RateLimited => second.rate_limited += 1,
            Mark::Failure => second.failures += 1,
        }
    }

    /// Pacer paced at `rate` requests/s at `at`.
    pub fn sample_rate(&mut self, at: Duration, rate: f64) {
        if let Some(second) = self.second(at) {
            second.rate = Some(second.rate.map_or(rate, |r| r.max(rate)));
        }
    }

    /// Seconds covered so far (from the first send to the last second
    /// anything happened in).
    pub fn len_s(&self) -> u64 {
        self.seconds.last_key_value().map_or(0, |(i, _)| i + 1)
    }

    fn second(&mut self, at: Duration) -> Option<&mut Second> {
        let start = self.start?;
        let index = at.saturating_sub(start).as_secs();
        Some(self.seconds.entry(index).or_default())
    }

    /// The run in at most `max` columns of whole seconds each, the last
    /// one possibly narrower. A second with no rate sample takes the one
    /// before it (the rate holds until changed).
    pub fn columns(&self, max: usize) -> Vec<Column> {
        let n = self.len_s();
        if n == 0 || max == 0 {
            return Vec::new();
        }
        let width = n.div_ceil(max as u64);
        let count = n.div_ceil(width);
        let mut columns: Vec<Column> = (0..count)
            .map(|i| {
                let start = i * width;
                Column {
                    start_s: start as f64,
                    width_s: (n.min(start + width) - start) as f64,
                    ..Column::default()
                }
            })
            .collect();
        let mut successes = vec![0_u64; columns.len()];
        // The rate sampled last before each column, and whether the
        // column's first second sampled its own.
        let mut carried = None;
        let mut index = 0;
        for (&second, s) in &self.seconds {
            let c = (second / width) as usize;
            // Columns passed without a sample of their own hold the rate.
            while index < c {
                index += 1;
                columns[index].rate = carried;
            }
            if second % width == 0 && s.rate.is_some() {
                columns[c].rate = None;
            }
            successes[c] += u64::from(s.successes);
            columns[c].rate_limited += s.rate_limited;
            columns[c].failures += s.failures;
            carried = s.rate.or(carried);
            columns[c].rate = match (columns[c].rate, carried) {
                (Some(a), Some(b)) => Some(a.max(b)),
                (a, b) => a.or(b),
            };
        }
        for (column, successes) in columns.iter_mut().zip(successes) {
            column.per_s = successes as f64 / column.width_s;
        }
        columns
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(ms: u64) -> Duration {
        Duration::from_millis(ms)
    }

    #[test]
    fn counts_answers_in_the_second_they_came() {
        let mut t = Timeline::new();
        t.on_answer(at(50), Mark::Success); // before any send: ignored
        t.on_send(at(1_000));
        t.sample_rate(at(1_000), 4.0);
        for ms in [1_300, 1_500, 1_900] {
            t.on_answer(at(ms), Mark::Success);
        }
        t.on_answer(at(2_100), Mark::RateLimited);
        t.on_answer(at(3_999), Mark::Failure);
        t.on_answer(at(3_999), Mark::Success);
        assert_eq!(t.len_s(), 3);
        let c = t.columns(10);
        assert_eq!(c.len(), 3);
        assert_eq!(
            (c[0].per_s, c[0].rate_limited, c[0].rate),
            (3.0, 0, Some(4.0))
        );
        // The rate holds until sampled again.
        assert_eq!(
            (c[1].per_s, c[1].rate_limited, c[1].rate),
            (0.0, 1, Some(4.0))
        );
        assert_eq!((c[2].per_s, c[2].failures), (1.0, 1));
    }

    #[test]
    fn folds_long_runs_into_at_most_max_columns() {
        let mut t = Timeline::new();
        t.on_send(at(0));
        // 10 hours at 5/s, with the rate lowered to 2/s after 5 hours.
        for s in 0..36_000_u64 {
            t.sample_rate(at(s * 1000), if s < 18_000 { 5.0 } else { 2.0 });
            for k in 0..5 {
                t.on_answer(at(s * 1000 + k * 200), Mark::Success);
            }
        }
        let c = t.columns(120);
        assert_eq!(c.len(), 120);
        assert!(c.iter().all(|c| c.width_s == 300.0 && c.per_s == 5.0));
        assert_eq!(c[0].rate, Some(5.0));
        assert_eq!(c[119].rate, Some(2.0));
        let total: f64 = c.iter().map(|c| c.per_s * c.width_s).sum();
        assert_eq!(total, 180_000.0);
        // A last, narrower column keeps its own per-second figure.
        let mut t = Timeline::new();
        t.on_send(at(0));
        for s in 0..5_u64 {
            t.on_answer(at(s * 1000), Mark::Success);
        }
        let c = t.columns(2);
        assert_eq!(
            c.iter().map(|c| (c.width_s, c.per_s)).collect::<Vec<_>>(),
            [(3.0, 1.0), (2.0, 1.0)]
        );
    }

    #[test]
    fn a_span_of_millennia_keeps_only_its_seconds() {
        // A saved run whose clock jumped: the first send at 0, an answer
        // 1e12 s later. The chart still folds into `max` columns.
        let mut t = Timeline::new();
        t.on_send(at(0));
        t.sample_rate(at(0), 2.0);
        t.on_answer(at(500), Mark::Success);
        t.on_answer(Duration::from_secs(1_000_000_000_000), Mark::Failure);
        assert_eq!(t.len_s(), 1_000_000_000_001);
        let c = t.columns(100);
        assert_eq!(c.len(), 100);
        assert_eq!(c[0].rate, Some(2.0));
        assert_eq!(c[99].failures, 1);
        assert_eq!(c[50].rate, Some(2.0), "the rate holds across empty columns");
        assert!(c.iter().all(|c| c.per_s.is_finite()));
    }

    #[test]
    fn sparse_columns_match_second_by_second_ones() {
        // Rates sampled at column starts and mid-column, empty seconds.
        let mut t = Timeline::new();
        t.on_send(at(0));
        t.sample_rate(at(0), 5.0);
        t.on_answer(at(1_100), Mark::Success);
        t.sample_rate(at(3_000), 1.0);
        t.on_answer(at(3_500), Mark::RateLimited);
        t.sample_rate(at(5_200), 3.0);
        t.on_answer(at(8_900), Mark::Success);
        let c = t.columns(3); // width 3: seconds 0-2, 3-5, 6-8
        let seen: Vec<_> = c
            .iter()
            .map(|c| (c.width_s, c.rate, c.rate_limited))
            .collect();
        assert_eq!(
            seen,
            [
                (3.0, Some(5.0), 0),
                (3.0, Some(3.0), 1),
                (3.0, Some(3.0), 0)
            ]
        );
        assert!((c[0].per_s - 1.0 / 3.0).abs() < 1e-12);
    }
}
