//! How a [`Msg`] reads back from its JSON, and the bounds every message
//! is held to before a tab acts on it.
//!
//! Any code of the origin can post on the budget's channel, and another
//! tab's clock may be off: nothing a message carries may panic a tab or
//! stall the budget. Rates must lie within [`Quota::MIN_RATE`] and
//! [`Quota::MAX_RATE`], durations and instants are capped where they are
//! read ([`Msg::bounded`]), and instants ahead of the receiving tab's
//! clock by more than [`SKEW`] are brought back to it ([`Msg::near`]).
//!
//! A `Msg` is written as an internally tagged object (`{"k":"want",
//! "tab":..}`). serde reads such an enum by first buffering every message
//! into a generic tree and then matching the tag, which compiles to one of
//! the largest functions in the page's wasm. Reading the same object into
//! a flat struct of optional fields and then checking that the tag's fields
//! are there accepts the same messages with a fraction of the code
//! (the page ships this reader). The JSON is unchanged.

use std::time::Duration;

use serde::Deserialize;

use super::{Msg, TabId};
use crate::gcra::Quota;

/// How far ahead of this tab's clock another tab's instant may be. Tabs
/// share a clock only as far as their `performance.timeOrigin` agree
/// (an NTP step, a sleep, a worker created later): an instant further
/// ahead is taken as this far, so a skewed or forged message delays the
/// budget by about a second at most, never for good.
pub const SKEW: Duration = Duration::from_secs(1);
/// The longest `Retry-After` a tab passes on: a day, as when it reads the
/// header itself.
pub const MAX_RETRY_AFTER: Duration = Duration::from_secs(86_400);
/// The widest margin a leader can have: 4 % of the longest interval
/// (`1 / Quota::MIN_RATE`) is 40 s.
pub const MAX_MARGIN: Duration = Duration::from_secs(60);
/// The latest instant a message may name: the shared clock counts from the
/// Unix epoch (about 2^31 s now), so this leaves two centuries while any
/// sum of an instant and a bounded duration stays within a `u64` of
/// nanoseconds (about 2^34 s), the GCRA's unit.
pub const MAX_INSTANT: Duration = Duration::from_secs(1 << 33);

/// The tag: which [`Msg`] a message is.
#[derive(Deserialize)]
#[serde(rename_all = "snake_case")]
enum Kind {
    Want,
    Grant,
    Lead,
    Sent,
    Limited,
    Bye,
}

/// Every field any [`Msg`] has, each optional; unknown fields are ignored,
/// as they were for the enum.
#[derive(Deserialize)]
pub(super) struct WireMsg {
    k: Kind,
    tab: Option<TabId>,
    asked: Option<u64>,
    got: Option<u64>,
    ok: Option<u64>,
    rate: Option<f64>,
    at: Option<Duration>,
    sent: Option<Duration>,
    leader: Option<TabId>,
    margin: Option<Duration>,
    last: Option<Duration>,
    retry_after: Option<Duration>,
    gone: Option<bool>,
}

impl TryFrom<WireMsg> for Msg {
    type Error = &'static str;

    fn try_from(w: WireMsg) -> Result<Self, Self::Error> {
        const MISSING: &str = "a field of the message is missing";
        let msg = match w.k {
            Kind::Want => Msg::Want {
                tab: w.tab.ok_or(MISSING)?,
                asked: w.asked.ok_or(MISSING)?,
                got: w.got.ok_or(MISSING)?,
                ok: w.ok.ok_or(MISSING)?,
                rate: w.rate.ok_or(MISSING)?,
            },
            Kind::Grant => Msg::Grant {
                tab: w.tab.ok_or(MISSING)?,
                at: w.at.ok_or(MISSING)?,
            },
            Kind::Lead => Msg::Lead {
                leader: w.leader.ok_or(MISSING)?,
                rate: w.rate.ok_or(MISSING)?,
                margin: w.margin.ok_or(MISSING)?,
                last: w.last,
            },
            Kind::Sent => Msg::Sent {
                tab: w.tab.ok_or(MISSING)?,
                at: w.at.ok_or(MISSING)?,
                sent: w.sent.ok_or(MISSING)?,
            },
            Kind::Limited => Msg::Limited {
                tab: w.tab.ok_or(MISSING)?,
                at: w.at.ok_or(MISSING)?,
                retry_after: w.retry_after,
            },
            Kind::Bye => Msg::Bye {
                tab: w.tab.ok_or(MISSING)?,
                gone: w.gone.ok_or(MISSING)?,
                last: w.last,
                margin: w.margin,
            },
        };
        msg.bounded()
    }
}

fn rate(rate: f64) -> Result<f64, &'static str> {
    if (Quota::MIN_RATE..=Quota::MAX_RATE).contains(&rate) {
        Ok(rate)
    } else {
        Err("a rate in the message is out of bounds")
    }
}

fn instant(at: Duration) -> Result<Duration, &'static str> {
    if at <= MAX_INSTANT {
        Ok(at)
    } else {
        Err("an instant in the message is out of bounds")
    }
}

fn margin(margin: Duration) -> Result<Duration, &'static str> {
    if margin <= MAX_MARGIN {
        Ok(margin)
    } else {
        Err("a margin in the message is out of bounds")
    }
}

impl Msg {
    /// The message if every field is within its bounds (rates within
    /// [`Quota::MIN_RATE`]..=[`Quota::MAX_RATE`], instants up to
    /// [`MAX_INSTANT`], margins up to [`MAX_MARGIN`]), with `retry_after`
    /// capped at [`MAX_RETRY_AFTER`]; else why not.
    pub fn bounded(self) -> Result<Msg, &'static str> {
        let opt = |o: Option<Duration>, f: fn(Duration) -> Result<Duration, &'static str>| {
            o.map(f).transpose()
        };
        Ok(match self {
            Msg::Want {
                tab,
                asked,
                got,
                ok,
                rate: r,
            } => Msg::Want {
                tab,
                asked,
                got,
                ok,
                rate: rate(r)?,
            },
            Msg::Grant { tab, at } => Msg::Grant {
                tab,
                at: instant(at)?,
            },
            Msg::Lead {
                leader,
                rate: r,
                margin: m,
                last,
            } => Msg::Lead {
                leader,
                rate: rate(r)?,
                margin: margin(m)?,
                last: opt(last, instant)?,
            },
            Msg::Sent { tab, at, sent } => Msg::Sent {
                tab,
                at: instant(at)?,
                sent: instant(sent)?,
            },
            Msg::Limited {
                tab,
                at,
                retry_after,
            } => Msg::Limited {
                tab,
                at: instant(at)?,
                retry_after: retry_after.map(|r| r.min(MAX_RETRY_AFTER)),
            },
            Msg::Bye {
                tab,
                gone,
                last,
                margin: m,
            } => Msg::Bye {
                tab,
                gone,
                last: opt(last, instant)?,
                margin: opt(m, margin)?,
            },
        })
    }

    /// The message as a tab whose clock reads `now` takes it: every instant
    /// at most [`SKEW`] ahead of `now` (one further ahead is brought back
    /// to that). Instants in the past stay: a grant that comes late is
    /// still sent on, late, rather than lost (its leader counts it given).
    pub fn near(self, now: Duration) -> Msg {
        let cap = |at: Duration| at.min(now.saturating_add(SKEW));
        match self {
            Msg::Want { .. } => self,
            Msg::Grant { tab, at } => Msg::Grant { tab, at: cap(at) },
            Msg::Lead {
                leader,
                rate,
                margin,
                last,
            } => Msg::Lead {
                leader,
                rate,
                margin,
                last: last.map(cap),
            },
            Msg::Sent { tab, at, sent } => Msg::Sent {
                tab,
                at: cap(at),
                sent: cap(sent),
            },
            Msg::Limited {
                tab,
                at,
                retry_after,
            } => Msg::Limited {
                tab,
                at: cap(at),
                retry_after,
            },
            Msg::Bye {
                tab,
                gone,
                last,
                margin,
            } => Msg::Bye {
                tab,
                gone,
                last: last.map(cap),
                margin,
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    /// Every kind, with its optional fields set and unset.
    fn every_kind() -> Vec<Msg> {
        vec![
            Msg::Want {
                tab: 7,
                asked: 3,
                got: 2,
                ok: 1,
                rate: 4.5,
            },
            Msg::Grant {
                tab: 7,
                at: ms(1234),
            },
            Msg::Lead {
                leader: 9,
                rate: 2.0,
                margin: ms(3),
                last: Some(ms(99)),
            },
            Msg::Lead {
                leader: 9,
                rate: 2.0,
                margin: ms(3),
                last: None,
            },
            Msg::Sent {
                tab: 3,
                at: ms(40),
                sent: ms(42),
            },
            Msg::Limited {
                tab: 1,
                at: ms(5),
                retry_after: Some(ms(1000)),
            },
            Msg::Limited {
                tab: 1,
                at: ms(5),
                retry_after: None,
            },
            Msg::Bye {
                tab: 2,
                gone: true,
                last: Some(ms(8)),
                margin: Some(ms(1)),
            },
            Msg::Bye {
                tab: 2,
                gone: false,
                last: None,
                margin: None,
            },
        ]
    }

    /// The tag of `msg`. No wildcard arm: a new kind of message does not
    /// compile until it is listed here, so it cannot miss the reader.
    fn kind(msg: &Msg) -> &'static str {
        match msg {
            Msg::Want { .. } => "want",
            Msg::Grant { .. } => "grant",
            Msg::Lead { .. } => "lead",
            Msg::Sent { .. } => "sent",
            Msg::Limited { .. } => "limited",
            Msg::Bye { .. } => "bye",
        }
    }

    #[test]
    fn every_kind_is_tested() {
        let kinds: std::collections::BTreeSet<&str> = every_kind().iter().map(kind).collect();
        assert_eq!(kinds.len(), 6, "{kinds:?}");
    }

    #[test]
    fn every_kind_reads_back_as_written() {
        for msg in every_kind() {
            let text = serde_json::to_string(&msg).unwrap();
            assert_eq!(serde_json::from_str::<Msg>(&text).unwrap(), msg, "{text}");
        }
    }

    #[test]
    fn the_json_is_the_internally_tagged_form() {
        let text = serde_json::to_string(&Msg::Grant {
            tab: 7,
            at: ms(1234),
        })
        .unwrap();
        assert_eq!(
            text,
            r#"{"k":"grant","tab":7,"at":{"secs":1,"nanos":234000000}}"#
        );
    }

    #[test]
    fn absent_options_unknown_fields_and_gaps() {
        // An optional field may be left out; unknown fields are ignored.
        let lead = r#"{"k":"lead","leader":9,"rate":2,"margin":{"secs":0,"nanos":3000000},"x":1}"#;
        assert_eq!(
            serde_json::from_str::<Msg>(lead).unwrap(),
            Msg::Lead {
                leader: 9,
                rate: 2.0,
                margin: ms(3),
                last: None
            }
        );
        // A required field missing, or an unknown kind, is refused.
        assert!(serde_json::from_str::<Msg>(r#"{"k":"grant","tab":7}"#).is_err());
        assert!(serde_json::from_str::<Msg>(r#"{"k":"hello","tab":7}"#).is_err());
        assert!(serde_json::from_str::<Msg>(r#"{"tab":7}"#).is_err());
    }

    #[test]
    fn rates_and_durations_out_of_bounds_are_refused() {
        for text in [
            r#"{"k":"want","tab":1,"asked":1,"got":0,"ok":0,"rate":0}"#,
            r#"{"k":"want","tab":1,"asked":1,"got":0,"ok":0,"rate":1e-300}"#,
            r#"{"k":"want","tab":1,"asked":1,"got":0,"ok":0,"rate":-4}"#,
            r#"{"k":"want","tab":1,"asked":1,"got":0,"ok":0,"rate":20000}"#,
            r#"{"k":"lead","leader":9,"rate":2,"margin":{"secs":61,"nanos":0}}"#,
            r#"{"k":"grant","tab":7,"at":{"secs":18446744073709551615,"nanos":0}}"#,
            r#"{"k":"sent","tab":7,"at":{"secs":1,"nanos":0},"sent":{"secs":8589934593,"nanos":0}}"#,
            r#"{"k":"bye","tab":7,"gone":true,"last":{"secs":8589934593,"nanos":0}}"#,
        ] {
            assert!(serde_json::from_str::<Msg>(text).is_err(), "{text}");
        }
        let lowest = r#"{"k":"want","tab":1,"asked":1,"got":0,"ok":0,"rate":0.001}"#;
        assert!(serde_json::from_str::<Msg>(lowest).is_ok());
    }

    #[test]
    fn retry_after_is_capped_at_a_day() {
        let text = r#"{"k":"limited","tab":1,"at":{"secs":5,"nanos":0},"retry_after":{"secs":999999999,"nanos":0}}"#;
        assert_eq!(
            serde_json::from_str::<Msg>(text).unwrap(),
            Msg::Limited {
                tab: 1,
                at: Duration::from_secs(5),
                retry_after: Some(MAX_RETRY_AFTER)
            }
        );
    }

    #[test]
    fn instants_ahead_of_the_clock_by_more_than_the_skew_are_brought_back() {
        let now = Duration::from_secs(100);
        let far = Duration::from_secs(5000);
        let near = now + SKEW;
        assert_eq!(
            Msg::Grant { tab: 1, at: far }.near(now),
            Msg::Grant { tab: 1, at: near }
        );
        assert_eq!(
            Msg::Sent {
                tab: 1,
                at: far,
                sent: far
            }
            .near(now),
            Msg::Sent {
                tab: 1,
                at: near,
                sent: near
            }
        );
        // The past stays: a late grant is still sent on.
        let past = Msg::Grant {
            tab: 1,
            at: Duration::from_secs(3),
        };
        assert_eq!(past.clone().near(now), past);
    }
}
