//! What the proxy says about its budget, in headers: the IETF
//! `RateLimit-Policy` and `RateLimit` fields (draft-ietf-httpapi-ratelimit-headers,
//! structured fields: a policy `"team";q=<quota>;w=<window seconds>` and
//! its state `"team";r=<remaining>;t=<seconds until more>`), and Pacer's
//! own `Pacer-Budget-*` fields, which pages can read once CORS exposes them.

use std::time::Duration;

/// `RateLimit-Policy` and `RateLimit` (IETF).
pub const POLICY: &str = "ratelimit-policy";
/// See [`POLICY`].
pub const STATE: &str = "ratelimit";
/// How many requests this proxy is holding for their slot right now.
pub const HELD: &str = "pacer-budget-held";
/// How long this request was held before it was forwarded, in ms.
pub const HOLD_MS: &str = "pacer-budget-hold-ms";
/// `shared; proxies=N` (the team's budget in Redis, among N proxies
/// alive), or `local; share=R; proxies=N` when Redis cannot be reached and
/// this proxy paces at its share.
pub const MODE: &str = "pacer-budget-mode";
/// The team's rate in requests per second, as a plain number (what
/// `RateLimit-Policy` says, without structured-field parsing).
pub const RATE: &str = "pacer-budget-rate";

/// Every field a page may read: to be exposed through CORS.
pub const EXPOSED: &[&str] = &[POLICY, STATE, HELD, HOLD_MS, MODE, RATE];

/// The policy's name in the IETF fields.
const NAME: &str = "team";

/// A quota and window in whole numbers for `rate` per second: the
/// smallest window (up to an hour) whose quota is a whole number of
/// requests to within a thousandth, else the quota rounded per hour.
pub fn quota_window(rate: f64) -> (u64, u64) {
    for w in 1..=3600u64 {
        let q = rate * w as f64;
        if q >= 1.0 && (q - q.round()).abs() < 1e-3 {
            return (q.round() as u64, w);
        }
    }
    ((rate * 3600.0).round().max(1.0) as u64, 3600)
}

/// `RateLimit-Policy` for a team rate.
pub fn policy(rate: f64) -> String {
    let (q, w) = quota_window(rate);
    format!("\"{NAME}\";q={q};w={w}")
}

/// `RateLimit` for a refused request: nothing left, more in `retry` (whole
/// seconds, rounded up, at least 1).
pub fn exhausted(retry: Duration) -> String {
    format!("\"{NAME}\";r=0;t={}", retry_secs(retry))
}

/// Whole seconds for `Retry-After`, rounded up, at least 1.
pub fn retry_secs(d: Duration) -> u64 {
    (d.as_secs() + u64::from(d.subsec_nanos() > 0)).max(1)
}

/// The team rate as a short plain number (`10`, `2.5`).
pub fn rate_text(rate: f64) -> String {
    let r = (rate * 1000.0).round() / 1000.0;
    format!("{r}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn policies_in_whole_numbers() {
        assert_eq!(policy(10.0), "\"team\";q=10;w=1");
        assert_eq!(policy(2.5), "\"team\";q=5;w=2");
        assert_eq!(policy(0.5), "\"team\";q=1;w=2");
        assert_eq!(quota_window(1.0 / 3.0), (1, 3));
        assert_eq!(quota_window(0.0001), (1, 3600));
    }

    #[test]
    fn pages_read_every_field_the_proxy_exposes() {
        // The page's reader (pacer-core) and these names must agree.
        let mut ours: Vec<String> = EXPOSED.iter().map(|n| n.to_string()).collect();
        let mut read: Vec<String> = pacer_core::api::team::TEAM_HEADERS
            .iter()
            .chain([
                &pacer_core::api::ietf::POLICY,
                &pacer_core::api::ietf::RATELIMIT,
            ])
            .map(|n| n.to_ascii_lowercase())
            .collect();
        ours.sort();
        read.sort();
        assert_eq!(ours, read);
    }

    #[test]
    fn refusals_say_when() {
        assert_eq!(exhausted(Duration::from_millis(1)), "\"team\";r=0;t=1");
        assert_eq!(exhausted(Duration::from_millis(2_001)), "\"team\";r=0;t=3");
        assert_eq!(retry_secs(Duration::ZERO), 1);
        assert_eq!(rate_text(10.0), "10");
        assert_eq!(rate_text(2.5), "2.5");
    }
}
