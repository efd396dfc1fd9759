//! The page's own address: whether the emulator served it (then its origin
//! is the default endpoint, since the emulator serves page and API on one
//! origin), the settings in its query string, and a share link to it.
//!
//! The only browser access in `ui/`; it goes through `leptos::prelude::window`
//! and `crate::browser` (the query string's parsing and writing), and never
//! reads or writes the key.

use leptos::prelude::window;

use crate::browser::{page_query_param, query_string};

use super::shared_settings::SharedSettings;

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

/// The settings in the page's query string (never the key, which is not
/// read from the URL).
pub fn query_settings() -> SharedSettings {
    let get = |name: &str| page_query_param(name).filter(|v| !v.trim().is_empty());
    SharedSettings {
        endpoint: get("endpoint"),
        rate: get("rate"),
        concurrency: get("concurrency"),
        models: get("models"),
        per_model: get("per_model").map(|v| ticked(&v)),
        auto: get("auto").map(|v| ticked(&v)),
        spread: get("spread").map(|v| ticked(&v)),
        timeout: get("timeout"),
        attempts: get("attempts"),
    }
}

/// A ticked box in a query string.
fn ticked(value: &str) -> bool {
    matches!(value, "1" | "true" | "on")
}

/// This page's address with `settings` as its query string: a link that
/// opens Pacer with the same settings (never the key).
pub fn share_link(settings: &SharedSettings) -> String {
    let location = window().location();
    let base = format!(
        "{}{}",
        location.origin().unwrap_or_default(),
        location.pathname().unwrap_or_default()
    );
    let query = query_string(settings.query_pairs());
    if query.is_empty() {
        base
    } else {
        format!("{base}?{query}")
    }
}
