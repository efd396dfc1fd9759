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

use std::convert::Infallible;

use sfv::visitor::{
    EntryVisitor, Ignored, InnerListVisitor, ItemVisitor, ListVisitor, ParameterVisitor,
};
use sfv::{BareItemFromInput, KeyRef, Parser};

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
        .filter(|raw| raw.requests)
        .map(|raw| IetfPolicy {
            quota: count(raw.q),
            window: seconds(raw.w),
            name: raw.name,
        })
        .collect()
}

/// Parses a `RateLimit` value (an empty list if it is not a valid
/// structured-field list).
pub fn parse_limits(value: &str) -> Vec<IetfLimit> {
    entries(value)
        .into_iter()
        .map(|raw| IetfLimit {
            remaining: count(raw.r),
            reset: seconds(raw.t),
            name: raw.name,
        })
        .collect()
}

/// One list item as read: its name and the parameters Pacer reads.
#[derive(Default)]
struct Raw {
    name: String,
    /// `q`, `w`, `r`, `t` (`None` when absent, negative or not an integer).
    q: Option<i64>,
    w: Option<i64>,
    r: Option<i64>,
    t: Option<i64>,
    /// `qu` is absent or `requests`.
    requests: bool,
}

/// The list's items (inner lists skipped), at most [`MAX_POLICIES`] of
/// them. Parsed with `sfv`'s visitor API, straight into [`Raw`]: its
/// parsed types (an `IndexMap` per item's parameters) would cost the page
/// more code for nothing.
fn entries(value: &str) -> Vec<Raw> {
    // A value longer than a few policies' worth is not worth parsing.
    if value.len() > 4096 {
        return Vec::new();
    }
    let mut out = Vec::new();
    if Parser::new(value)
        .parse_list_with_visitor(Items(&mut out))
        .is_err()
    {
        return Vec::new();
    }
    out.truncate(MAX_POLICIES);
    out
}

/// Collects the list's items.
struct Items<'a>(&'a mut Vec<Raw>);

impl<'de> ListVisitor<'de> for Items<'_> {
    type Out = ();
    type Error = Infallible;
    fn entry(&mut self) -> Result<impl EntryVisitor<'de>, Infallible> {
        Ok(Entry(&mut *self.0))
    }
    fn finish(self) -> Result<(), Infallible> {
        Ok(())
    }
}

/// One list member: an item is kept, an inner list ignored.
struct Entry<'a>(&'a mut Vec<Raw>);

impl<'de> EntryVisitor<'de> for Entry<'_> {
    type Error = Infallible;
    fn item(self) -> Result<impl ItemVisitor<'de>, Infallible> {
        Ok(Item(self.0))
    }
    fn inner_list(self) -> Result<impl InnerListVisitor<'de>, Infallible> {
        Ok(Ignored)
    }
}

/// An item: its bare item is the name.
struct Item<'a>(&'a mut Vec<Raw>);

impl<'de, 'a> ItemVisitor<'de> for Item<'a> {
    type Out = ();
    type Error = Infallible;
    fn bare_item(
        self,
        bare: BareItemFromInput<'de>,
    ) -> Result<impl ParameterVisitor<'de, Out = ()>, Infallible> {
        let name = match &bare {
            BareItemFromInput::String(s) => bounded_name(s.as_str()),
            BareItemFromInput::Token(t) => bounded_name(t.as_str()),
            _ => String::new(),
        };
        Ok(Params {
            out: self.0,
            raw: Raw {
                name,
                requests: true,
                ..Raw::default()
            },
        })
    }
}

/// An item's parameters, pushed with the item when they end.
struct Params<'a> {
    out: &'a mut Vec<Raw>,
    raw: Raw,
}

impl<'de> ParameterVisitor<'de> for Params<'_> {
    type Out = ();
    type Error = Infallible;
    fn parameter(
        &mut self,
        key: &'de KeyRef,
        value: BareItemFromInput<'de>,
    ) -> Result<(), Infallible> {
        let int = value.as_integer().map(i64::from);
        // A repeated key: the last one counts (RFC 9651 parameters are a map).
        match key.as_str() {
            "q" => self.raw.q = int,
            "w" => self.raw.w = int,
            "r" => self.raw.r = int,
            "t" => self.raw.t = int,
            "qu" => {
                self.raw.requests = match &value {
                    BareItemFromInput::String(s) => s.as_str() == "requests",
                    BareItemFromInput::Token(t) => t.as_str() == "requests",
                    _ => false,
                }
            }
            _ => {}
        }
        Ok(())
    }
    fn finish(self) -> Result<(), Infallible> {
        // Stop keeping entries past the bound (the rest is still validated).
        if self.out.len() < MAX_POLICIES {
            self.out.push(self.raw);
        }
        Ok(())
    }
}

/// A count that fits a `u32`.
fn count(n: Option<i64>) -> Option<u32> {
    u32::try_from(n?).ok()
}

/// Seconds, capped at [`MAX_QUOTA_WAIT`].
fn seconds(n: Option<i64>) -> Option<Duration> {
    let n = u64::try_from(n?).ok()?;
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
