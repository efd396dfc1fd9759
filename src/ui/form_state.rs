//! The input form's state, shared by its components through context.
//!
//! Plain text signals (what the user typed) plus memos of what that text
//! means. It owns no run state: Start hands a validated copy to the run.

use leptos::prelude::*;
use pacer_core::input::{
    check_endpoint, endpoint_origin, parse_sources, parse_sources_keeping_duplicates, ParsedSources,
};

use super::key_binding::{key_after_file, key_at_load, BoundKey};
use super::page_location::{local_emulator, query_settings};
use super::shared_settings::SharedSettings;
use super::validate::{FormInput, StartRequest};
use crate::browser::{
    forget_keys, migrate_plain_key, parse_url, remember_key, remember_settings, remembered_keys,
    remembered_settings, PreparedImage,
};
use crate::run::SavedSettings;

pub use super::key_binding::DEMO_KEY;

/// Default model ids.
pub const DEFAULT_MODELS: &str = "re_roomtype_global_v2,re_features_v4";

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
    /// `spread-quota`: spread a long quota's calls over its time left
    /// rather than spending them as fast as the rate allows.
    pub spread_quota: RwSignal<bool>,
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
    /// The endpoint origin the key field was filled in for from this
    /// device's storage (`None`: typed, the demo key, or empty).
    key_filled_for: StoredValue<Option<String>>,
    /// What the page must say at load, before anything is sent (a link's
    /// endpoint, a refused one).
    pub load_notice: StoredValue<Option<String>>,
}

impl FormState {
    /// Defaults, overridden by the settings remembered from the last visit,
    /// overridden by the page's query string (field by field).
    pub fn from_page() -> Self {
        let (origin, served_by_emulator) = local_emulator();
        let mut remembered = SharedSettings::from_stored(remembered_settings().as_deref());
        // An endpoint that may hold a secret is never used from storage.
        remembered.endpoint = remembered.endpoint.filter(|e| check_endpoint(e).is_ok());
        migrate_plain_key(
            remembered
                .endpoint
                .as_deref()
                .and_then(endpoint_origin)
                .as_deref(),
        );
        let mut query = query_settings();
        let mut refused = None;
        if let Some(e) = query.endpoint.take() {
            match check_endpoint(&e) {
                Ok(()) => query.endpoint = Some(e),
                Err(why) => refused = Some(format!("This link's endpoint was not used. {why}")),
            }
        }
        let from_link = query.endpoint.is_some();
        let query = query.or(remembered);
        let endpoint = match query.endpoint {
            Some(endpoint) => endpoint,
            None if served_by_emulator => origin.clone(),
            None => String::new(),
        };
        let stored: Vec<BoundKey> = remembered_keys()
            .into_iter()
            .map(|(origin, key)| BoundKey { origin, key })
            .collect();
        let at_load = key_at_load(&endpoint, from_link, &stored, &origin);
        let load_notice = match (refused, at_load.notice) {
            (Some(a), Some(b)) => Some(format!("{a} {b}")),
            (a, b) => a.or(b),
        };
        let key = at_load.key;
        let urls = RwSignal::new(String::new());
        let allow_duplicates = RwSignal::new(false);
        Self {
            origin: StoredValue::new(origin),
            endpoint: RwSignal::new(endpoint),
            key: RwSignal::new(key),
            models: RwSignal::new(query.models.unwrap_or_else(|| DEFAULT_MODELS.to_owned())),
            per_model: RwSignal::new(query.per_model.unwrap_or(false)),
            rate: RwSignal::new(query.rate.unwrap_or_else(|| "4".to_owned())),
            concurrency: RwSignal::new(query.concurrency.unwrap_or_else(|| "6".to_owned())),
            auto_rate: RwSignal::new(query.auto.unwrap_or(false)),
            spread_quota: RwSignal::new(query.spread.unwrap_or(false)),
            timeout: RwSignal::new(query.timeout.unwrap_or_else(|| "30".to_owned())),
            attempts: RwSignal::new(query.attempts.unwrap_or_else(|| "5".to_owned())),
            remember_key: RwSignal::new(!stored.is_empty()),
            urls,
            sample_count: RwSignal::new("40".to_owned()),
            allow_duplicates,
            files: RwSignal::new_local(Vec::new()),
            preparing: RwSignal::new(0),
            key_filled_for: StoredValue::new(at_load.filled_for),
            load_notice: StoredValue::new(load_notice),
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
        let spread_quota = self.spread_quota.get();
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
                spread_quota,
                timeout: &timeout,
                attempts: &attempts,
                sources,
                files,
                preparing,
            })
        })
    }

    /// Puts a saved run's settings and URLs back. The key is never saved:
    /// it stays as typed, unless the run sends to another endpoint origin,
    /// where it is cleared (a job file must not send the key elsewhere);
    /// then the returned sentence says so.
    pub fn apply_saved(&self, settings: &SavedSettings, sources: &[String]) -> Option<String> {
        let cleared = self.key.with_untracked(|key| {
            self.endpoint
                .with_untracked(|old| key_after_file(old, &settings.endpoint, key))
        });
        if cleared.is_some() {
            self.key_filled_for.set_value(None);
            self.key.set(String::new());
        }
        self.endpoint.set(settings.endpoint.clone());
        self.models.set(settings.models.join(","));
        self.per_model.set(settings.per_model);
        self.rate.set(settings.rate.to_string());
        self.concurrency.set(settings.concurrency.to_string());
        self.auto_rate.set(settings.auto_rate);
        self.spread_quota.set(settings.spread_quota);
        self.timeout
            .set((f64::from(settings.timeout_ms) / 1000.0).to_string());
        self.attempts.set(settings.max_attempts.to_string());
        self.urls.set(sources.join("\n"));
        cleared
    }

    /// The settings as typed, without the key (tracked in a reactive
    /// context).
    /// An endpoint that may hold a secret (credentials, a query, the key)
    /// is left out: these settings go into share links and storage.
    pub fn settings(&self) -> SharedSettings {
        SharedSettings {
            endpoint: Some(self.endpoint.get()).filter(|e| check_endpoint(e).is_ok()),
            models: Some(self.models.get()),
            per_model: Some(self.per_model.get()),
            rate: Some(self.rate.get()),
            concurrency: Some(self.concurrency.get()),
            auto: Some(self.auto_rate.get()),
            spread: Some(self.spread_quota.get()),
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

    /// Keeps the key in this browser's storage, bound to the endpoint's
    /// origin, while "remember" is ticked, and forgets it when unticked.
    /// A key filled in from storage stays only while the endpoint is of
    /// the origin it was given for: moving away clears the field, coming
    /// back fills it in again. A key the user typed stays whatever the
    /// endpoint. Call once, in a reactive owner.
    pub fn keep_remembered_key(&self) {
        let form = *self;
        Effect::new(move |_| {
            let origin = form.endpoint.with(|e| endpoint_origin(e));
            let key = form.key.get();
            let remember = form.remember_key.get();
            let stored_for = |o: &str| {
                remembered_keys()
                    .into_iter()
                    .find(|(for_origin, _)| for_origin == o)
                    .map(|(_, k)| k)
            };
            if let Some(filled) = form.key_filled_for.get_value() {
                if stored_for(&filled).as_deref() != Some(key.as_str()) {
                    // Edited by hand (or forgotten): now a typed key.
                    form.key_filled_for.set_value(None);
                } else if origin.as_deref() != Some(filled.as_str()) {
                    form.key_filled_for.set_value(None);
                    form.key.set(String::new());
                    return;
                }
            }
            if !remember {
                forget_keys();
                return;
            }
            let Some(origin) = origin else { return };
            let key = key.trim();
            if key.is_empty() {
                if let Some(stored) = stored_for(&origin) {
                    form.key_filled_for.set_value(Some(origin));
                    form.key.set(stored);
                }
            } else if form.key_filled_for.get_value().is_none() {
                remember_key(&origin, key);
                form.key_filled_for.set_value(Some(origin));
            }
        });
    }

    /// Validates the form for a press of Start.
    pub fn start_request(&self) -> Result<StartRequest, String> {
        let request = untrack(|| self.with_input(super::validate::validate))?;
        browser_check(&request.settings.endpoint)?;
        Ok(request)
    }

    /// Validates the settings for resuming a saved run (which brings its
    /// own images).
    pub fn resume_request(&self) -> Result<StartRequest, String> {
        let request = untrack(|| self.with_input(super::validate::validate_settings))?;
        browser_check(&request.settings.endpoint)?;
        Ok(request)
    }

    /// Whether the endpoint is the local emulator.
    pub fn is_local(&self, endpoint: &str) -> bool {
        self.origin
            .with_value(|origin| same_endpoint(endpoint, origin))
    }
}

/// The endpoint as the browser's own URL parser sees it (the hand-written
/// check passed already): a host it refuses (`https://256.0.0.1`) would
/// only fail at the first fetch.
fn browser_check(endpoint: &str) -> Result<(), String> {
    let parsed = parse_url(endpoint)
        .map_err(|why| format!("The endpoint is not a URL this browser accepts: {why}."))?;
    if parsed.credentials || parsed.query || parsed.fragment {
        return Err(
            "The endpoint must be the API's base URL, without user:password@, ?query or #fragment."
                .into(),
        );
    }
    Ok(())
}

/// Equal up to surrounding whitespace and trailing slashes.
fn same_endpoint(a: &str, b: &str) -> bool {
    let norm = |s: &str| s.trim().trim_end_matches('/').to_ascii_lowercase();
    !b.is_empty() && norm(a) == norm(b)
}
