//! The page's own address, read once at startup: whether the emulator
//! served it (then its origin is the default endpoint, since the emulator
//! serves page and API on one origin) and the settings in its query string.
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

/// Where `scripts/run.sh` starts the emulator: the local preset of a page
/// that the emulator did not serve.
const DEFAULT_EMULATOR: &str = "http://127.0.0.1:8080";

/// The local emulator's endpoint, and whether it is this page's own origin.
///
/// The emulator serves the page at the root of its loopback origin, beside
/// the API: there the page's origin is the emulator (e.g.
/// `http://127.0.0.1:8080`), the default endpoint. A page under a path (a
/// static host's prefix such as `/pacer/`) or on another host has no API
/// beside it: its local preset is the emulator's default address, and it
/// has no default endpoint.
pub fn local_emulator() -> (String, bool) {
    let location = window().location();
    let origin = location.origin().unwrap_or_default();
    let path = location.pathname().unwrap_or_default();
    let host = location.hostname().unwrap_or_default();
    let at_root = matches!(path.as_str(), "" | "/" | "/index.html");
    let loopback = host == "localhost" || host == "[::1]" || host.starts_with("127.");
    if at_root && loopback && !origin.is_empty() {
        (origin, true)
    } else {
        (DEFAULT_EMULATOR.to_owned(), false)
    }
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
