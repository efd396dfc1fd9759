//! What a team-budget proxy (`pacer-proxy --budget`) says about the budget
//! it holds requests to, read from its answer's headers: the team's rate
//! (`Pacer-Budget-Rate`, or the `"team"` entry of `RateLimit-Policy`), how
//! long this request waited at the proxy for its slot
//! (`Pacer-Budget-Hold-Ms`), how many requests the proxy holds now
//! (`Pacer-Budget-Held`), and whether the budget was decided in Redis or by
//! the proxy alone (`Pacer-Budget-Mode`).
//!
//! The hold is the proxy's, not the API's: a page takes it out of the
//! latency it reports ([`TeamBudget::api_latency`]). Every value is bounded
//! when read; one that does not parse is left out, never guessed.

use std::time::Duration;

use super::ietf::{self, IetfPolicy};
use crate::bounds::{MAX_RATE, MIN_RATE};

/// `Pacer-Budget-Rate`: the team's rate in requests per second.
pub const RATE: &str = "Pacer-Budget-Rate";
/// `Pacer-Budget-Hold-Ms`: how long this request was held, ms.
pub const HOLD_MS: &str = "Pacer-Budget-Hold-Ms";
/// `Pacer-Budget-Held`: how many requests the proxy is holding now.
pub const HELD: &str = "Pacer-Budget-Held";
/// `Pacer-Budget-Mode`: `shared; proxies=N`, or `local; share=R; proxies=N; …`.
pub const MODE: &str = "Pacer-Budget-Mode";

/// The proxy's fields a page reads: its CORS must expose them (with
/// [`ietf::POLICY`] and [`ietf::RATELIMIT`], already in
/// [`super::EXPOSED_HEADERS`]).
pub const TEAM_HEADERS: &[&str] = &[RATE, HOLD_MS, HELD, MODE];

/// The name of the team's entry in `RateLimit-Policy`.
pub const POLICY_NAME: &str = "team";
/// The longest hold believed: an hour (the proxy's own longest hold is
/// its `--budget-max-wait`, 30 s by default).
pub const MAX_HOLD: Duration = Duration::from_secs(3_600);
/// The most held requests believed.
pub const MAX_HELD: u32 = 1_000_000;
/// The most proxies a local share is said to be divided among.
pub const MAX_PROXIES: u32 = 10_000;
/// The longest field value read; longer ones are garbage.
const MAX_VALUE: usize = 256;

/// Where the proxy decided this request's slot.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum TeamMode {
    /// In the team's budget, shared with every proxy through Redis.
    Shared,
    /// By the proxy alone (Redis unreachable), at its `share` of the rate,
    /// divided among `proxies`; either may be unknown.
    Local {
        /// This proxy's rate, requests per second.
        share: Option<f64>,
        /// How many proxies the rate was divided among.
        proxies: Option<u32>,
    },
    /// Not said, or not understood.
    Unknown,
}

/// A team budget's fields on one answer.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct TeamBudget {
    /// The team's rate, requests per second, within Pacer's bounds.
    pub rate: f64,
    /// How long this request waited at the proxy for its slot (zero when
    /// not said), at most [`MAX_HOLD`].
    pub hold: Duration,
    /// How many requests the proxy holds now, when said.
    pub held: Option<u32>,
    /// Where the slot was decided.
    pub mode: TeamMode,
    /// How many proxies share the budget, when said.
    pub proxies: Option<u32>,
}

impl TeamBudget {
    /// Reads the fields through `get` (called with the canonical names of
    /// [`TEAM_HEADERS`] and [`ietf::POLICY`]; it must match names without
    /// regard to case). `None` when the answer names no team rate: not
    /// from a team-budget proxy, or its fields hidden by CORS.
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Option<TeamBudget> {
        let field = |name: &str| get(name).filter(|v| v.len() <= MAX_VALUE);
        let rate = field(RATE)
            .and_then(|v| parse_rate(&v))
            .or_else(|| field(ietf::POLICY).and_then(|v| policy_rate(&ietf::parse_policies(&v))))?;
        let (mode, proxies) = field(MODE).map_or((TeamMode::Unknown, None), |v| parse_mode(&v));
        Some(TeamBudget {
            rate,
            hold: field(HOLD_MS)
                .and_then(|v| parse_hold(&v))
                .unwrap_or_default(),
            held: field(HELD).and_then(|v| v.trim().parse::<u32>().ok().filter(|n| *n <= MAX_HELD)),
            mode,
            proxies,
        })
    }

    /// The API's own latency of a request answered `total` after it was
    /// sent: the proxy's hold taken out.
    pub fn api_latency(&self, total: Duration) -> Duration {
        total.saturating_sub(self.hold)
    }
}

/// A rate within Pacer's bounds, or `None`.
fn parse_rate(v: &str) -> Option<f64> {
    let r: f64 = v.trim().parse().ok()?;
    (r.is_finite() && (MIN_RATE..=MAX_RATE).contains(&r)).then_some(r)
}

/// The `"team"` policy's quota over its window, within Pacer's bounds.
fn policy_rate(policies: &[IetfPolicy]) -> Option<f64> {
    let team = policies.iter().find(|p| p.name == POLICY_NAME)?;
    let (q, w) = (team.quota?, team.window?);
    if w.is_zero() {
        return None;
    }
    let r = f64::from(q) / w.as_secs_f64();
    (MIN_RATE..=MAX_RATE).contains(&r).then_some(r)
}

/// Milliseconds (whole or not) as a hold, at most [`MAX_HOLD`].
fn parse_hold(v: &str) -> Option<Duration> {
    let ms: f64 = v.trim().parse().ok()?;
    if !ms.is_finite() || ms < 0.0 {
        return None;
    }
    let max = MAX_HOLD.as_secs_f64() * 1000.0;
    Some(Duration::from_secs_f64(ms.min(max) / 1000.0))
}

/// `shared` or `local`, each with a `proxies=` parameter, and `local` with
/// its `share=`: the mode, and the proxies the budget is shared among.
fn parse_mode(v: &str) -> (TeamMode, Option<u32>) {
    let mut parts = v.split(';').map(str::trim);
    let word = parts.next().map(str::to_ascii_lowercase);
    let (mut share, mut proxies) = (None, None);
    for part in parts {
        match part.split_once('=').map(|(k, v)| (k.trim(), v.trim())) {
            Some(("share", v)) => share = parse_rate(v),
            Some(("proxies", v)) => {
                proxies = v
                    .parse::<u32>()
                    .ok()
                    .filter(|n| (1..=MAX_PROXIES).contains(n))
            }
            _ => {}
        }
    }
    match word.as_deref() {
        Some("shared") => (TeamMode::Shared, proxies),
        Some("local") => (TeamMode::Local { share, proxies }, proxies),
        _ => (TeamMode::Unknown, None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn read(pairs: &[(&str, &str)]) -> Option<TeamBudget> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(n, v)| (n.to_ascii_lowercase(), v.to_string()))
            .collect();
        TeamBudget::from_lookup(|n| map.get(&n.to_ascii_lowercase()).cloned())
    }

    #[test]
    fn a_proxy_answer_reads_whole() {
        let t = read(&[
            ("pacer-budget-rate", "10"),
            ("pacer-budget-hold-ms", "137"),
            ("pacer-budget-held", "4"),
            ("pacer-budget-mode", "shared; proxies=3"),
            ("ratelimit-policy", "\"team\";q=10;w=1"),
        ])
        .unwrap();
        assert_eq!(
            t,
            TeamBudget {
                rate: 10.0,
                hold: Duration::from_millis(137),
                held: Some(4),
                mode: TeamMode::Shared,
                proxies: Some(3),
            }
        );
        // A proxy that has not heard the others yet says only "shared".
        let early = read(&[("pacer-budget-rate", "10"), ("pacer-budget-mode", "shared")]).unwrap();
        assert_eq!((early.mode, early.proxies), (TeamMode::Shared, None));
        let nonsense = read(&[
            ("pacer-budget-rate", "10"),
            ("pacer-budget-mode", "shared; proxies=0"),
        ])
        .unwrap();
        assert_eq!(nonsense.proxies, None);
        assert_eq!(
            t.api_latency(Duration::from_millis(437)),
            Duration::from_millis(300)
        );
        assert_eq!(t.api_latency(Duration::from_millis(100)), Duration::ZERO);
    }

    #[test]
    fn local_mode_says_its_share() {
        let t = read(&[
            ("pacer-budget-rate", "10"),
            (
                "pacer-budget-mode",
                "local; share=5; proxies=2; reason=\"redis unreachable\"",
            ),
        ])
        .unwrap();
        assert_eq!(
            t.mode,
            TeamMode::Local {
                share: Some(5.0),
                proxies: Some(2)
            }
        );
        assert_eq!(t.proxies, Some(2));
        assert_eq!(t.hold, Duration::ZERO);
        assert_eq!(t.held, None);
    }

    #[test]
    fn the_policy_alone_gives_the_rate_and_other_policies_do_not() {
        let t = read(&[("ratelimit-policy", "\"burst\";q=100;w=60, \"team\";q=5;w=2")]).unwrap();
        assert_eq!(t.rate, 2.5);
        assert_eq!(t.mode, TeamMode::Unknown);
        assert_eq!(read(&[("ratelimit-policy", "\"burst\";q=100;w=60")]), None);
        assert_eq!(read(&[("pacer-budget-hold-ms", "40")]), None);
        assert_eq!(read(&[]), None);
    }

    #[test]
    fn garbage_is_left_out() {
        let t = read(&[
            ("pacer-budget-rate", "1e400"),
            ("ratelimit-policy", "\"team\";q=10;w=1"),
            ("pacer-budget-hold-ms", "-5"),
            ("pacer-budget-held", "lots"),
            ("pacer-budget-mode", "sideways"),
        ])
        .unwrap();
        assert_eq!(t.rate, 10.0);
        assert_eq!(t.hold, Duration::ZERO);
        assert_eq!(t.held, None);
        assert_eq!(t.mode, TeamMode::Unknown);
        let huge = read(&[
            ("pacer-budget-rate", "3"),
            ("pacer-budget-hold-ms", "1e300"),
        ])
        .unwrap();
        assert_eq!(huge.hold, MAX_HOLD);
        assert_eq!(read(&[("pacer-budget-rate", "0")]), None);
        assert_eq!(read(&[("pacer-budget-rate", "NaN")]), None);
        assert_eq!(read(&[("pacer-budget-rate", &"9".repeat(300))]), None);
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(crate::proptest_cases()))]

        /// Whatever a proxy (or anything posing as one) sends, reading
        /// never panics, and what it accepts is in bounds.
        #[test]
        fn team_fields_never_panic_and_stay_in_bounds(
            values in proptest::collection::vec(
                proptest::prop_oneof![
                    "\\PC{0,40}",
                    "[0-9.eE+-]{0,24}",
                    "(shared|local)(; ?(share|proxies|x)=[0-9.eE-]{0,12}){0,3}",
                    "\"team\";q=[0-9]{0,12};w=[0-9]{0,12}",
                ],
                TEAM_HEADERS.len() + 1,
            ),
            total_ms in 0u64..10_000_000,
        ) {
            let t = TeamBudget::from_lookup(|name| {
                let i = TEAM_HEADERS.iter().position(|n| *n == name).unwrap_or(TEAM_HEADERS.len());
                Some(values[i].clone())
            });
            if let Some(t) = t {
                proptest::prop_assert!((MIN_RATE..=MAX_RATE).contains(&t.rate));
                proptest::prop_assert!(t.hold <= MAX_HOLD);
                proptest::prop_assert!(t.held.is_none_or(|n| n <= MAX_HELD));
                if let TeamMode::Local { share, proxies } = t.mode {
                    proptest::prop_assert!(share.is_none_or(|s| (MIN_RATE..=MAX_RATE).contains(&s)));
                    proptest::prop_assert!(proxies.is_none_or(|p| (1..=MAX_PROXIES).contains(&p)));
                }
                let total = Duration::from_millis(total_ms);
                proptest::prop_assert!(t.api_latency(total) <= total);
            }
        }
    }
}
