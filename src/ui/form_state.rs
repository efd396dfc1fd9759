//! The input form's state, shared by its components through context.
//!
//! Plain text signals (what the user typed) plus memos of what that text
//! means. It owns no run state: Start hands a validated copy to the run.

use leptos::prelude::*;
use pacer_core::input::{parse_sources, parse_sources_keeping_duplicates, ParsedSources};

use super::page_location::{local_emulator, query_settings};
use super::shared_settings::SharedSettings;
use super::validate::{FormInput, StartRequest};
use crate::browser::{
    remember_key as browser_remember_key, remember_settings, remembered_key, remembered_settings,
    PreparedImage,
};
use crate::run::SavedSettings;

/// Default model ids.
pub const DEFAULT_MODELS: &str = "re_roomtype_global_v2,re_features_v4";
/// Key the bundled emulator accepts (it takes any non-empty key).
pub const DEMO_KEY: &str = "demo-key";

/// The form's fields as typed, and what they parse to.
#[derive(Clone, Copy)]
pub struct FormState {
    /// The local emulator's endpoint: the page's origin when the emulator
    /// served the page, else the emulator's default address.
    pub origin: StoredValue<String>,
    /// `endpoint`.
    pub endpoint: RwSignal<String>,
    /// `client-key` (memory only: never in the URL or storage).
    pub key: RwSignal<String>,
    /// `model-ids`.
    pub models: RwSignal<String>,
    /// `per-model`: one call per image × model instead of one
    /// multipredict call per image.
    pub per_model: RwSignal<bool>,
    /// `rate`, as typed.
    pub rate: RwSignal<String>,
    /// `concurrency`, as typed.
    pub concurrency: RwSignal<String>,
    /// `rate-auto`: probe for the server's limit from the rate upward.
    pub auto_rate: RwSignal<bool>,
    /// `timeout`, seconds, as typed.
    pub timeout: RwSignal<String>,
    /// `max-attempts`, as typed.
    pub attempts: RwSignal<String>,
    /// `remember-key`: keep the key in this browser's storage (opt-in).
    pub remember_key: RwSignal<bool>,
    /// `urls`.
    pub urls: RwSignal<String>,
    /// `allow-duplicates`: send an image listed twice twice.
    pub allow_duplicates: RwSignal<bool>,
    /// `sample-count`, as typed.
    pub sample_count: RwSignal<String>,
    /// The URL box, parsed.
    pub sources: Memo<ParsedSources>,
    /// `files`: local images, downscaled and re-encoded, ready to send.
    pub files: RwSignal<Vec<PreparedImage>, LocalStorage>,
    /// Local images still being prepared.
    pub preparing: RwSignal<usize>,
}

impl FormState {
    /// Defaults, overridden by the settings remembered from the last visit,
    /// overridden by the page's query string (field by field).
    pub fn from_page() -> Self {
        let (origin, served_by_emulator) = local_emulator();
        let remembered = SharedSettings::from_stored(remembered_settings().as_deref());
        let query = query_settings().or(remembered);
        let endpoint = match query.endpoint {
            Some(endpoint) => endpoint,
            None if served_by_emulator => origin.clone(),
            None => String::new(),
        };
        let remembered = remembered_key();
        let key = match &remembered {
            Some(key) => key.as_str(),
            None if same_endpoint(&endpoint, &origin) => DEMO_KEY,
            None => "",
        };
        let urls = RwSignal::new(String::new());
        let allow_duplicates = RwSignal::new(false);
        Self {
            origin: StoredValue::new(origin),
            endpoint: RwSignal::new(endpoint),
            key: RwSignal::new(key.to_owned()),
            models: RwSignal::new(query.models.unwrap_or_else(|| DEFAULT_MODELS.to_owned())),
            per_model: RwSignal::new(query.per_model.unwrap_or(false)),
            rate: RwSignal::new(query.rate.unwrap_or_else(|| "4".to_owned())),
            concurrency: RwSignal::new(query.concurrency.unwrap_or_else(|| "6".to_owned())),
            auto_rate: RwSignal::new(query.auto.unwrap_or(false)),
            timeout: RwSignal::new(query.timeout.unwrap_or_else(|| "30".to_owned())),
            attempts: RwSignal::new(query.attempts.unwrap_or_else(|| "5".to_owned())),
            remember_key: RwSignal::new(remembered.is_some()),
            urls,
            sample_count: RwSignal::new("40".to_owned()),
            allow_duplicates,
            files: RwSignal::new_local(Vec::new()),
            preparing: RwSignal::new(0),
            sources: Memo::new(move |_| {
                let keep = allow_duplicates.get();
                urls.with(|text| {
                    if keep {
                        parse_sources_keeping_duplicates(text)
                    } else {
                        parse_sources(text)
                    }
                })
            }),
        }
    }

    /// Runs `f` on a snapshot of the fields; tracks them when called in a
    /// reactive context.
    pub fn with_input<R>(&self, f: impl FnOnce(&FormInput) -> R) -> R {
        let (endpoint, key, models) = (self.endpoint.get(), self.key.get(), self.models.get());
        let (rate, concurrency) = (self.rate.get(), self.concurrency.get());
        let (auto_rate, per_model) = (self.auto_rate.get(), self.per_model.get());
        let (timeout, attempts) = (self.timeout.get(), self.attempts.get());
        let (files, preparing) = (self.files.with(Vec::len), self.preparing.get());
        self.sources.with(|sources| {
            f(&FormInput {
                endpoint: &endpoint,
                key: &key,
                models: &models,
                per_model,
                rate: &rate,
                concurrency: &concurrency,
                auto_rate,
                timeout: &timeout,
                attempts: &attempts,
                sources,
                files,
                preparing,
            })
        })
    }

    /// Puts a saved run's settings and URLs back (the key stays as typed:
    /// it is never saved).
    pub fn apply_saved(&self, settings: &SavedSettings, sources: &[String]) {
        self.endpoint.set(settings.endpoint.clone());
        self.models.set(settings.models.join(","));
        self.per_model.set(settings.per_model);
        self.rate.set(settings.rate.to_string());
        self.concurrency.set(settings.concurrency.to_string());
        self.auto_rate.set(settings.auto_rate);
        self.timeout
            .set((f64::from(settings.timeout_ms) / 1000.0).to_string());
        self.attempts.set(settings.max_attempts.to_string());
        self.urls.set(sources.join("\n"));
    }

    /// The settings as typed, without the key (tracked in a reactive
    /// context).
    pub fn settings(&self) -> SharedSettings {
        SharedSettings {
            endpoint: Some(self.endpoint.get()),
            models: Some(self.models.get()),
            per_model: Some(self.per_model.get()),
            rate: Some(self.rate.get()),
            concurrency: Some(self.concurrency.get()),
            auto: Some(self.auto_rate.get()),
            timeout: Some(self.timeout.get()),
            attempts: Some(self.attempts.get()),
        }
    }

    /// Remembers the settings (never the key) in this browser's storage
    /// whenever one changes, for the next visit. Call once, in a reactive
    /// owner.
    pub fn keep_remembered_settings(&self) {
        let form = *self;
        // The first run reads what the page opened with: nothing changed yet.
        Effect::new(move |first: Option<()>| {
            let settings = form.settings();
            if first.is_some() {
                remember_settings(&settings.to_stored());
            }
        });
    }

    /// Keeps the key in this browser's storage while "remember" is ticked,
    /// and forgets it when unticked. Call once, in a reactive owner.
    pub fn keep_remembered_key(&self) {
        let (key, remember) = (self.key, self.remember_key);
        Effect::new(move |_| {
            if remember.get() {
                key.with(|k| browser_remember_key(Some(k.trim())));
            } else {
                browser_remember_key(None);
            }
        });
    }

    /// Validates the form for a press of Start.
    pub fn start_request(&self) -> Result<StartRequest, String> {
        untrack(|| self.with_input(super::validate::validate))
    }

    /// Validates the settings for resuming a saved run (which brings its
    /// own images).
    pub fn resume_request(&self) -> Result<StartRequest, String> {
        untrack(|| self.with_input(super::validate::validate_settings))
    }

    /// Whether the endpoint is the local emulator.
    pub fn is_local(&self, endpoint: &str) -> bool {
        self.origin
            .with_value(|origin| same_endpoint(endpoint, origin))
    }
}

/// Equal up to surrounding whitespace and trailing slashes.
fn same_endpoint(a: &str, b: &str) -> bool {
    let norm = |s: &str| s.trim().trim_end_matches('/').to_ascii_lowercase();
    !b.is_empty() && norm(a) == norm(b)
}
