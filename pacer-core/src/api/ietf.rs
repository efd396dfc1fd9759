//! The IETF draft's rate-limit fields as draft-ietf-httpapi-ratelimit-headers
//! writes them from -08 on, structured fields (RFC 9651) parsed with `sfv`:
//!
//! - `RateLimit-Policy: "burst";q=100;w=60, "daily";q=5000;w=86400`: each
//!   policy's name, quota `q` and window `w` in seconds;
//! - `RateLimit: "burst";r=12;t=40`: what is left `r` of a named policy
//!   and the seconds `t` until it resets.
//!
//! Policies counted in other units than requests (`qu="content-bytes"`)
//! are skipped: Pacer counts requests. A value that is not a valid list is
//! ignored whole, as the draft asks. Everything is bounded: at most
//! [`MAX_POLICIES`] entries, names cut at [`MAX_NAME`] bytes, numbers
//! outside `u32` (or negative) dropped, times capped at [`MAX_QUOTA_WAIT`].

use std::time::Duration;

use sfv::{BareItem, ListEntry, Parameters, Parser};

/// `RateLimit-Policy` (draft -08 on).
pub const POLICY: &str = "RateLimit-Policy";
/// `RateLimit` (draft -08 on).
pub const RATELIMIT: &str = "RateLimit";

/// The most entries read from one field.
pub const MAX_POLICIES: usize = 8;
/// The longest policy name kept, in bytes.
pub const MAX_NAME: usize = 64;
/// The longest a quota window or a wait for its reset is taken to be:
/// 32 days, a calendar month and then some.
pub const MAX_QUOTA_WAIT: Duration = Duration::from_secs(32 * 86_400);

/// One entry of `RateLimit-Policy`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IetfPolicy {
    /// The policy's name (`"burst"`), or empty when it had none.
    pub name: String,
    /// `q`: requests allowed per window.
    pub quota: Option<u32>,
    /// `w`: the window's length.
    pub window: Option<Duration>,
}

/// One entry of `RateLimit`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IetfLimit {
    /// The policy it reports on, or empty.
    pub name: String,
    /// `r`: requests left in the window.
    pub remaining: Option<u32>,
    /// `t`: time until the window resets.
    pub reset: Option<Duration>,
}

/// Parses a `RateLimit-Policy` value (an empty list if it is not a valid
/// structured-field list).
pub fn parse_policies(value: &str) -> Vec<IetfPolicy> {
    entries(value)
        .into_iter()
        .filter(|(_, params)| counts_requests(params))
        .map(|(name, params)| IetfPolicy {
            name,
            quota: count(&params, "q"),
            window: seconds(&params, "w"),
        })
        .collect()
}

/// Parses a `RateLimit` value (an empty list if it is not a valid
/// structured-field list).
pub fn parse_limits(value: &str) -> Vec<IetfLimit> {
    entries(value)
        .into_iter()
        .map(|(name, params)| IetfLimit {
            name,
            remaining: count(&params, "r"),
            reset: seconds(&params, "t"),
        })
        .collect()
}

/// The list's items (inner lists skipped) as (name, parameters), at most
/// [`MAX_POLICIES`] of them.
fn entries(value: &str) -> Vec<(String, Parameters)> {
    // Structured fields are ASCII; the parser rejects anything else, and
    // a value longer than a few policies' worth is not worth parsing.
    if value.len() > 4096 {
        return Vec::new();
    }
    let Ok(list) = Parser::new(value).parse_list::<sfv::List>() else {
        return Vec::new();
    };
    list.into_iter()
        .filter_map(|entry| match entry {
            ListEntry::Item(item) => Some(item),
            ListEntry::InnerList(_) => None,
        })
        .take(MAX_POLICIES)
        .map(|item| {
            let name = match &item.bare_item {
                BareItem::String(s) => s.as_str(),
                BareItem::Token(t) => t.as_str(),
                _ => "",
            };
            (bounded_name(name), item.params)
        })
        .collect()
}

/// True unless the policy's quota unit `qu` says it counts something else
/// than requests.
fn counts_requests(params: &Parameters) -> bool {
    match params.get("qu") {
        None => true,
        Some(BareItem::String(s)) => s.as_str() == "requests",
        Some(BareItem::Token(t)) => t.as_str() == "requests",
        Some(_) => false,
    }
}

/// A non-negative integer parameter that fits a `u32`.
fn count(params: &Parameters, key: &str) -> Option<u32> {
    let n = i64::from(params.get(key)?.as_integer()?);
    u32::try_from(n).ok()
}

/// A non-negative integer parameter in seconds, capped at [`MAX_QUOTA_WAIT`].
fn seconds(params: &Parameters, key: &str) -> Option<Duration> {
    let n = i64::from(params.get(key)?.as_integer()?);
    let n = u64::try_from(n).ok()?;
    Some(Duration::from_secs(n).min(MAX_QUOTA_WAIT))
}

/// The name cut at [`MAX_NAME`] bytes (on a character boundary).
pub(crate) fn bounded_name(name: &str) -> String {
    let mut end = name.len().min(MAX_NAME);
    while !name.is_char_boundary(end) {
        end -= 1;
    }
    name[..end].to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(n: u64) -> Duration {
        Duration::from_secs(n)
    }

    #[test]
    fn policy_table() {
        let p = |name: &str, q: Option<u32>, w: Option<u64>| IetfPolicy {
            name: name.into(),
            quota: q,
            window: w.map(s),
        };
        let cases: Vec<(&str, Vec<IetfPolicy>)> = vec![
            (
                r#""burst";q=100;w=60, "daily";q=5000;w=86400"#,
                vec![
                    p("burst", Some(100), Some(60)),
                    p("daily", Some(5000), Some(86_400)),
                ],
            ),
            // Tokens are accepted for names; unknown parameters ignored.
            (
                r#"default;q=10;w=1;pk=:Zm9v:"#,
                vec![p("default", Some(10), Some(1))],
            ),
            (r#""x";q=10"#, vec![p("x", Some(10), None)]),
            // Units other than requests are not Pacer's business.
            (
                r#""bytes";q=1000;qu="content-bytes";w=1, "r";q=5;qu="requests";w=1"#,
                vec![p("r", Some(5), Some(1))],
            ),
            // Out of range or of the wrong type: dropped, the rest kept.
            (
                r#""neg";q=-1;w=-5, "big";q=999999999999999;w=999999999999999"#,
                vec![p("neg", None, None), p("big", None, Some(32 * 86_400))],
            ),
            (r#""dec";q=1.5;w="60""#, vec![p("dec", None, None)]),
            // Not a structured-field list: nothing at all.
            ("burst q=100", vec![]),
            (r#""unterminated;q=1"#, vec![]),
            ("", vec![]),
            // Inner lists are skipped.
            (r#"("a" "b");q=1, "c";q=2"#, vec![p("c", Some(2), None)]),
        ];
        for (value, want) in cases {
            assert_eq!(parse_policies(value), want, "{value}");
        }
    }

    #[test]
    fn limit_table() {
        let l = |name: &str, r: Option<u32>, t: Option<u64>| IetfLimit {
            name: name.into(),
            remaining: r,
            reset: t.map(s),
        };
        let cases: Vec<(&str, Vec<IetfLimit>)> = vec![
            (r#""burst";r=12;t=40"#, vec![l("burst", Some(12), Some(40))]),
            (
                r#""burst";r=0;t=3, "daily";r=4000;t=50000"#,
                vec![
                    l("burst", Some(0), Some(3)),
                    l("daily", Some(4000), Some(50_000)),
                ],
            ),
            (
                r#""d";r=1;t=99999999"#,
                vec![l("d", Some(1), Some(32 * 86_400))],
            ),
            // A dictionary (the -07 form) is not a list: ignored.
            ("r=1", vec![]),
            ("burst;r=1", vec![l("burst", Some(1), None)]),
            ("\u{e9}", vec![]),
        ];
        for (value, want) in cases {
            assert_eq!(parse_limits(value), want, "{value}");
        }
    }

    #[test]
    fn many_entries_and_long_names_are_bounded() {
        let long = "n".repeat(100);
        let value: Vec<String> = (0..12).map(|i| format!("\"{long}{i}\";q={i}")).collect();
        let got = parse_policies(&value.join(", "));
        assert_eq!(got.len(), MAX_POLICIES);
        assert!(got.iter().all(|p| p.name.len() == MAX_NAME));
        assert!(parse_policies(&"a, ".repeat(2000)).is_empty());
    }
}
