//! The page's own address, read once at startup: its origin (the default
//! endpoint, since the emulator serves page and API on one origin) and the
//! settings in its query string.
//!
//! The only browser access in `ui/`; it goes through `leptos::prelude::window`
//! and never reads or writes the key.

use leptos::prelude::window;

/// Settings given in the query string
/// (`?endpoint=&rate=&concurrency=&models=&auto=&timeout=&attempts=`).
/// The key is never read from the URL.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct QuerySettings {
    /// `endpoint`.
    pub endpoint: Option<String>,
    /// `rate`, as text.
    pub rate: Option<String>,
    /// `concurrency`, as text.
    pub concurrency: Option<String>,
    /// `models`, comma separated.
    pub models: Option<String>,
    /// `auto=1`: find the server's limit from the rate upward.
    pub auto: bool,
    /// `timeout`, seconds, as text.
    pub timeout: Option<String>,
    /// `attempts`, as text.
    pub attempts: Option<String>,
}

/// `window.location.origin`, e.g. `http://127.0.0.1:8080` (empty if unknown).
pub fn page_origin() -> String {
    window().location().origin().unwrap_or_default()
}

/// The settings in the page's query string.
pub fn query_settings() -> QuerySettings {
    let search = window().location().search().unwrap_or_default();
    let Ok(params) = web_sys::UrlSearchParams::new_with_str(&search) else {
        return QuerySettings::default();
    };
    let get = |name: &str| params.get(name).filter(|v| !v.trim().is_empty());
    QuerySettings {
        endpoint: get("endpoint"),
        rate: get("rate"),
        concurrency: get("concurrency"),
        models: get("models"),
        auto: get("auto").is_some_and(|v| matches!(v.as_str(), "1" | "true" | "on")),
        timeout: get("timeout"),
        attempts: get("attempts"),
    }
}
