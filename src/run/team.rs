//! A run behind a team-budget proxy: what its answers said of the budget
//! (the team's rate, where slots were decided, how long the proxy held each
//! request), the pool the hold calls for, and the words the page shows.
//!
//! Plain data, tested natively. The transport notes each answer's fields;
//! the run's ticker reads them into the view and grows the pool
//! ([`grow_pool`]).

use std::time::Duration;

use pacer_core::api::{TeamBudget, TeamMode};
use pacer_core::bounds::{number_text, MAX_CONCURRENCY};
use pacer_core::driver::RunControl;
use pacer_core::schedule::ServerHint;

use super::transport::FetchTransport;

/// Holds kept for the figures, at most (the oldest go first).
const MAX_HOLDS: usize = 4_096;
/// The most tasks a team's hold grows a pool to.
pub const TEAM_POOL_MAX: usize = 32;
/// Over plain `http://` Chromium keeps at most this many requests in
/// flight to one origin: a pool grown past it only queues in the browser.
pub const HTTP1_CONNECTIONS: usize = 6;
/// A proxy holding at most this many other requests when it answered is
/// not busy: its hold was the wait for a free slot, which the pool must
/// cover. Longer queues are the budget being taken; more tasks would only
/// queue there too (and take share from the team's other pages).
const QUIET_HELD: u32 = 1;

/// What the answers of a run said of a team budget.
#[derive(Clone, Debug, Default)]
pub struct TeamWatch {
    last: Option<TeamBudget>,
    /// Every hold, ms, newest last.
    holds_ms: Vec<f64>,
    /// Holds seen while the proxy was not busy, ms.
    quiet_ms: Vec<f64>,
    /// The pool size this watch last asked for.
    asked: usize,
}

/// The team budget as the page shows it.
#[derive(Clone, Debug, PartialEq)]
pub struct TeamShown {
    /// The team's rate, requests per second.
    pub rate: f64,
    /// Where the last slot was decided.
    pub mode: TeamMode,
    /// Requests the proxy held at the last answer.
    pub held: Option<u32>,
    /// Median and 99th percentile of the holds, ms.
    pub hold_p50_ms: f64,
    /// See `hold_p50_ms`.
    pub hold_p99_ms: f64,
    /// This tab's share of the team's rate, while it sends below that
    /// rate because the pages behind the proxies ask for more.
    pub share: Option<f64>,
}

impl TeamWatch {
    /// Notes one answer's fields.
    pub fn note(&mut self, team: &TeamBudget) {
        let ms = team.hold.as_secs_f64() * 1000.0;
        push_bounded(&mut self.holds_ms, ms);
        if team.held.is_some_and(|n| n <= QUIET_HELD) {
            push_bounded(&mut self.quiet_ms, ms);
        }
        self.last = Some(*team);
    }

    /// The budget as shown, once an answer came through a proxy.
    pub fn shown(&self) -> Option<TeamShown> {
        let last = self.last?;
        Some(TeamShown {
            rate: last.rate,
            mode: last.mode,
            held: last.held,
            hold_p50_ms: quantile(&self.holds_ms, 0.5),
            hold_p99_ms: quantile(&self.holds_ms, 0.99),
            share: None,
        })
    }

    /// The pool to grow to, if any: the user's `pool` (sized for the API's
    /// latency) plus the tasks that `rate` keeps waiting at a proxy that is
    /// not busy (Little's law on its hold), at most [`TEAM_POOL_MAX`] (or
    /// the browser's [`HTTP1_CONNECTIONS`] over plain http) unless the
    /// user asked for more. `None` when nothing changes.
    pub fn pool_to_grow(&mut self, pool: usize, rate: f64, plain_http: bool) -> Option<usize> {
        self.last?;
        let hold_s = quantile(&self.quiet_ms, 0.9) / 1000.0;
        let extra = (hold_s * rate.max(0.0)).ceil().min(MAX_CONCURRENCY as f64) as usize;
        let cap = if plain_http {
            HTTP1_CONNECTIONS
        } else {
            TEAM_POOL_MAX
        };
        let want = (pool + extra).min(cap.max(pool)).min(MAX_CONCURRENCY);
        if want <= pool || want == self.asked {
            return None;
        }
        self.asked = want;
        Some(want)
    }
}

/// Grows the run's pool (through `spawn`, which sets the pool's size)
/// when the proxy's holds call for more tasks than the user's `pool`.
pub(super) fn grow_pool(
    transport: &FetchTransport,
    control: &RunControl,
    pool: usize,
    spawn: &dyn Fn(usize),
) {
    let rate = control.read(|s| s.pacing().quota().rate());
    let plain_http = transport.endpoint().starts_with("http://");
    let grown = transport
        .team
        .borrow_mut()
        .pool_to_grow(pool, rate, plain_http);
    if let Some(n) = grown {
        spawn(n);
    }
}

/// `hint` with the team's spacing (one over its rate) for the pacing, or
/// a hint of the team alone when the answer said nothing else of limits.
pub fn with_team(
    hint: Option<ServerHint>,
    team: Option<&TeamBudget>,
    wall_offset: Duration,
) -> Option<ServerHint> {
    let Some(team) = team else {
        return hint;
    };
    let mut hint = hint.unwrap_or(ServerHint {
        wall_offset,
        ..ServerHint::default()
    });
    hint.team_interval = Some(Duration::from_secs_f64(1.0 / team.rate));
    hint.team_hold = Some(team.hold);
    hint.team_proxies = team.proxies;
    Some(hint)
}

impl TeamShown {
    /// The words the page shows, e.g. "Team budget 10/s through the proxy
    /// · held there p50 120 ms, p99 480 ms (not counted as API latency)".
    pub fn text(&self) -> String {
        let mut text = format!(
            "Team budget {}/s through the proxy",
            number_text(round(self.rate))
        );
        if let TeamMode::Local { share, proxies } = self.mode {
            let share = share.map_or("its share".to_owned(), |s| {
                format!("{}/s", number_text(round(s)))
            });
            let among = proxies.map_or(String::new(), |n| format!(", 1 of {n} proxies"));
            text.push_str(&format!(
                " · Redis unreachable: the proxy paces alone at {share}{among}"
            ));
        }
        if let Some(share) = self.share {
            text.push_str(&format!(
                " · other pages share it: this tab sends at about {}/s",
                number_text((share * 10.0).round() / 10.0)
            ));
        }
        text.push_str(&format!(
            " · held there p50 {:.0} ms, p99 {:.0} ms (not counted as API latency)",
            self.hold_p50_ms, self.hold_p99_ms
        ));
        text
    }
}

fn round(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}

fn push_bounded(v: &mut Vec<f64>, x: f64) {
    if v.len() >= MAX_HOLDS {
        v.remove(0);
    }
    v.push(x);
}

/// The `q` quantile (nearest rank) of `v`, 0 when empty.
fn quantile(v: &[f64], q: f64) -> f64 {
    if v.is_empty() {
        return 0.0;
    }
    let mut sorted = v.to_vec();
    // The quantiles' sort (`RunStats`), not pacer_core::sort: one copy.
    sorted.sort_unstable_by(f64::total_cmp);
    let rank = ((q.clamp(0.0, 1.0) * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn team(hold_ms: u64, held: Option<u32>, mode: TeamMode) -> TeamBudget {
        TeamBudget {
            rate: 10.0,
            hold: Duration::from_millis(hold_ms),
            held,
            mode,
            proxies: None,
        }
    }

    #[test]
    fn nothing_is_shown_until_a_proxy_answers() {
        let mut w = TeamWatch::default();
        assert_eq!(w.shown(), None);
        assert_eq!(w.pool_to_grow(6, 10.0, false), None);
        assert_eq!(with_team(None, None, Duration::ZERO), None);
    }

    #[test]
    fn the_notice_names_the_rate_the_holds_and_a_local_share() {
        let mut w = TeamWatch::default();
        for ms in [100, 120, 480] {
            w.note(&team(ms, Some(3), TeamMode::Shared));
        }
        let shown = w.shown().unwrap();
        assert_eq!(
            shown.text(),
            "Team budget 10/s through the proxy · held there p50 120 ms, p99 480 ms \
             (not counted as API latency)"
        );
        w.note(&team(
            0,
            None,
            TeamMode::Local {
                share: Some(5.0),
                proxies: Some(2),
            },
        ));
        assert!(w
            .shown()
            .unwrap()
            .text()
            .contains("Redis unreachable: the proxy paces alone at 5/s, 1 of 2 proxies"));
        let sharing = TeamShown {
            share: Some(4.5),
            ..shown
        };
        assert!(sharing
            .text()
            .contains("other pages share it: this tab sends at about 4.5/s"));
    }

    #[test]
    fn the_pool_covers_a_quiet_proxys_hold_but_not_a_busy_ones() {
        let mut w = TeamWatch::default();
        // A busy proxy (8 others held): its 2 s holds are the team's queue,
        // not a wait to cover: more tasks would only queue there too.
        w.note(&team(2_000, Some(8), TeamMode::Shared));
        assert_eq!(w.pool_to_grow(4, 10.0, false), None);
        // A quiet one holding each request 500 ms at 4/s keeps 2 more waiting.
        w.note(&team(500, Some(0), TeamMode::Shared));
        assert_eq!(w.pool_to_grow(3, 4.0, false), Some(5));
        // Asked once; not again for the same size.
        assert_eq!(w.pool_to_grow(3, 4.0, false), None);
        // Over plain http, never past the browser's 6 connections, nor
        // past 32 otherwise, unless the user asked for more.
        assert_eq!(w.pool_to_grow(2, 50.0, true), Some(6));
        assert_eq!(w.pool_to_grow(2, 500.0, false), Some(TEAM_POOL_MAX));
        assert_eq!(w.pool_to_grow(40, 500.0, false), None);
    }

    #[test]
    fn the_team_rate_rides_on_the_hint() {
        let t = team(0, None, TeamMode::Shared);
        let hint = with_team(None, Some(&t), Duration::from_secs(7)).unwrap();
        assert_eq!(hint.team_interval, Some(Duration::from_millis(100)));
        assert_eq!(hint.wall_offset, Duration::from_secs(7));
        let kong = ServerHint {
            per_second: Some(4),
            ..ServerHint::default()
        };
        let both = with_team(Some(kong), Some(&t), Duration::ZERO).unwrap();
        assert_eq!(both.per_second, Some(4));
        assert!(both.team_interval.is_some());
    }

    #[test]
    fn holds_kept_are_bounded() {
        let mut w = TeamWatch::default();
        for _ in 0..MAX_HOLDS + 10 {
            w.note(&team(1, Some(0), TeamMode::Shared));
        }
        assert_eq!(w.holds_ms.len(), MAX_HOLDS);
        assert_eq!(w.quiet_ms.len(), MAX_HOLDS);
    }
}
