//! The form's settings as text, never the key: what the query string
//! gives, what this device remembers from the last visit, and what a share
//! link carries. Plain data and merging rules, tested natively.

use serde::{Deserialize, Serialize};

/// Settings as typed (`?endpoint=&rate=&concurrency=&models=&per_model=&auto=&timeout=&attempts=`).
/// A missing field is `None`, so that sources can be layered field by
/// field. There is no key field: the key is never in a URL or remembered
/// with these.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct SharedSettings {
    /// `endpoint`.
    pub endpoint: Option<String>,
    /// `models`, comma separated.
    pub models: Option<String>,
    /// `per_model`: one call per image × model.
    pub per_model: Option<bool>,
    /// `rate`, as text.
    pub rate: Option<String>,
    /// `concurrency`, as text.
    pub concurrency: Option<String>,
    /// `auto`: find the server's limit from the rate upward.
    pub auto: Option<bool>,
    /// `spread`: spread a long quota over its time left.
    pub spread: Option<bool>,
    /// `timeout`, seconds, as text.
    pub timeout: Option<String>,
    /// `attempts`, as text.
    pub attempts: Option<String>,
}

impl SharedSettings {
    /// Each field of `self`, or else `fallback`'s (e.g. the query string
    /// over the remembered settings).
    pub fn or(self, fallback: SharedSettings) -> SharedSettings {
        SharedSettings {
            endpoint: self.endpoint.or(fallback.endpoint),
            models: self.models.or(fallback.models),
            per_model: self.per_model.or(fallback.per_model),
            rate: self.rate.or(fallback.rate),
            concurrency: self.concurrency.or(fallback.concurrency),
            auto: self.auto.or(fallback.auto),
            spread: self.spread.or(fallback.spread),
            timeout: self.timeout.or(fallback.timeout),
            attempts: self.attempts.or(fallback.attempts),
        }
    }

    /// Remembered settings from their stored text; nothing when absent or
    /// unreadable (an older or damaged entry is ignored, not an error).
    /// Fields left empty are absent, so that the defaults apply to them.
    pub fn from_stored(text: Option<&str>) -> SharedSettings {
        let stored: SharedSettings = text
            .and_then(|t| serde_json::from_str(t).ok())
            .unwrap_or_default();
        let given = |v: Option<String>| v.filter(|v| !v.trim().is_empty());
        SharedSettings {
            endpoint: given(stored.endpoint),
            models: given(stored.models),
            per_model: stored.per_model,
            rate: given(stored.rate),
            concurrency: given(stored.concurrency),
            auto: stored.auto,
            spread: stored.spread,
            timeout: given(stored.timeout),
            attempts: given(stored.attempts),
        }
    }

    /// The text to store.
    pub fn to_stored(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }

    /// The query parameters of a share link, in the order of the form;
    /// empty fields are left out and `per_model` and `auto` appear only
    /// when ticked.
    pub fn query_pairs(&self) -> Vec<(&'static str, String)> {
        let text = |name: &'static str, value: &Option<String>| {
            value
                .as_deref()
                .map(str::trim)
                .filter(|v| !v.is_empty())
                .map(|v| (name, v.to_owned()))
        };
        [
            text("endpoint", &self.endpoint),
            text("models", &self.models),
            (self.per_model == Some(true)).then(|| ("per_model", "1".to_owned())),
            text("rate", &self.rate),
            text("concurrency", &self.concurrency),
            (self.auto == Some(true)).then(|| ("auto", "1".to_owned())),
            (self.spread == Some(true)).then(|| ("spread", "1".to_owned())),
            text("timeout", &self.timeout),
            text("attempts", &self.attempts),
        ]
        .into_iter()
        .flatten()
        .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn some(s: &str) -> Option<String> {
        Some(s.to_owned())
    }

    #[test]
    fn the_first_source_wins_field_by_field() {
        let query = SharedSettings {
            rate: some("3"),
            auto: Some(false),
            ..SharedSettings::default()
        };
        let remembered = SharedSettings {
            rate: some("9"),
            concurrency: some("12"),
            auto: Some(true),
            ..SharedSettings::default()
        };
        let merged = query.or(remembered);
        assert_eq!(merged.rate, some("3"));
        assert_eq!(merged.concurrency, some("12"));
        assert_eq!(merged.auto, Some(false));
        assert_eq!(merged.endpoint, None);
    }

    #[test]
    fn stored_text_round_trips_and_bad_text_is_ignored() {
        let s = SharedSettings {
            endpoint: some("https://api-eu.restb.ai"),
            models: some("re_logo"),
            auto: Some(true),
            ..SharedSettings::default()
        };
        assert_eq!(SharedSettings::from_stored(Some(&s.to_stored())), s);
        assert_eq!(
            SharedSettings::from_stored(Some("{not json")),
            SharedSettings::default()
        );
        assert_eq!(SharedSettings::from_stored(None), SharedSettings::default());
        // An entry with fields of another version keeps what it can.
        assert_eq!(
            SharedSettings::from_stored(Some(r#"{"rate":"5","colour":"red"}"#)).rate,
            some("5")
        );
        assert!(!s.to_stored().contains("key"));
        // A field left empty gets its default next time.
        assert_eq!(
            SharedSettings::from_stored(Some(r#"{"endpoint":" ","rate":"2"}"#)),
            SharedSettings {
                rate: some("2"),
                ..SharedSettings::default()
            }
        );
    }

    #[test]
    fn share_pairs_skip_empty_fields_and_an_unticked_auto() {
        let s = SharedSettings {
            endpoint: some(" https://api-us.restb.ai "),
            models: some(""),
            rate: some("4.5"),
            auto: Some(false),
            attempts: some("3"),
            ..SharedSettings::default()
        };
        assert_eq!(
            s.query_pairs(),
            [
                ("endpoint", "https://api-us.restb.ai".to_owned()),
                ("rate", "4.5".to_owned()),
                ("attempts", "3".to_owned()),
            ]
        );
        let auto = SharedSettings {
            auto: Some(true),
            ..SharedSettings::default()
        };
        assert_eq!(auto.query_pairs(), [("auto", "1".to_owned())]);
        let per_model = SharedSettings {
            models: some("a,b"),
            per_model: Some(true),
            ..SharedSettings::default()
        };
        assert_eq!(
            per_model.query_pairs(),
            [("models", "a,b".to_owned()), ("per_model", "1".to_owned())]
        );
        let stored = SharedSettings::from_stored(Some(&per_model.to_stored()));
        assert_eq!(stored.per_model, Some(true));
    }
}
