//! How a [`Msg`] reads back from its JSON: through one flat record.
//!
//! A `Msg` is written as an internally tagged object (`{"k":"want",
//! "tab":..}`). serde reads such an enum by first buffering every message
//! into a generic tree and then matching the tag, which compiles to one of
//! the largest functions in the page's wasm. Reading the same object into
//! a flat struct of optional fields and then checking that the tag's fields
//! are there accepts the same messages with a fraction of the code
//! (issue 5 item 8, the size budget). The JSON is unchanged.

use std::time::Duration;

use serde::Deserialize;

use super::{Msg, TabId};

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
        Ok(match w.k {
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
        })
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
}
