//! What Pacer keeps on this device outside a run: the form's settings
//! (never the key) in `localStorage`, the client key too only when the user
//! ticks "remember on this device" (with the endpoint origin it was given
//! for), and a share link put on the clipboard.
//!
//! Items are plain strings: what they mean is the UI's business.

use serde::{Deserialize, Serialize};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;

/// Where older versions kept the key, unbound (migrated at load).
const PLAIN_KEY_ITEM: &str = "pacer.client-key";
/// Remembered keys, each with the endpoint origin it was given for
/// (`[{"origin", "key"}]`).
const KEYS_ITEM: &str = "pacer.client-keys";
const SETTINGS_ITEM: &str = "pacer.settings";

#[derive(Serialize, Deserialize)]
struct Stored {
    origin: String,
    key: String,
}

/// The page's `localStorage`, where the browser gives one.
pub(super) fn storage() -> Option<web_sys::Storage> {
    web_sys::window()?.local_storage().ok().flatten()
}

/// The remembered keys, each with the endpoint origin it was given for.
pub fn remembered_keys() -> Vec<(String, String)> {
    let Some(text) = storage().and_then(|s| s.get_item(KEYS_ITEM).ok().flatten()) else {
        return Vec::new();
    };
    serde_json::from_str::<Vec<Stored>>(&text)
        .unwrap_or_default()
        .into_iter()
        .filter(|s| !s.key.is_empty() && !s.origin.is_empty())
        .map(|s| (s.origin, s.key))
        .collect()
}

/// Keeps `key` on this device for endpoints of `origin` (replacing the
/// key kept for it before).
pub fn remember_key(origin: &str, key: &str) {
    if origin.is_empty() || key.is_empty() {
        return;
    }
    let mut keys = remembered_keys();
    keys.retain(|(o, _)| o != origin);
    keys.push((origin.to_owned(), key.to_owned()));
    write_keys(&keys);
}

/// Forgets every remembered key.
pub fn forget_keys() {
    if let Some(storage) = storage() {
        let _ = storage.remove_item(KEYS_ITEM);
    }
}

fn write_keys(keys: &[(String, String)]) {
    let Some(storage) = storage() else { return };
    let stored: Vec<Stored> = keys
        .iter()
        .map(|(origin, key)| Stored {
            origin: origin.clone(),
            key: key.clone(),
        })
        .collect();
    if let Ok(text) = serde_json::to_string(&stored) {
        let _ = storage.set_item(KEYS_ITEM, &text);
    }
}

/// A key kept by an older version, without its endpoint: bound to
/// `origin` (the remembered settings' endpoint) or, with none, dropped.
pub fn migrate_plain_key(origin: Option<&str>) {
    let Some(storage) = storage() else { return };
    let Some(key) = storage.get_item(PLAIN_KEY_ITEM).ok().flatten() else {
        return;
    };
    if let Some(origin) = origin {
        if !remembered_keys().iter().any(|(o, _)| o == origin) {
            remember_key(origin, key.trim());
        }
    }
    let _ = storage.remove_item(PLAIN_KEY_ITEM);
}

/// The settings remembered from the last visit (as the UI wrote them).
pub fn remembered_settings() -> Option<String> {
    storage()?.get_item(SETTINGS_ITEM).ok().flatten()
}

/// Remembers the form's settings for the next visit. The caller never
/// passes the key here.
pub fn remember_settings(text: &str) {
    if let Some(storage) = storage() {
        let _ = storage.set_item(SETTINGS_ITEM, text);
    }
}

/// Puts `text` on the clipboard; false when the browser refuses (no
/// clipboard API outside a secure context, or permission denied).
pub async fn copy_text(text: &str) -> bool {
    // `navigator.clipboard.writeText(text)`, looked up at run time: the
    // clipboard API is absent from insecure pages.
    let write = || -> Result<js_sys::Promise, JsValue> {
        let window = web_sys::window().ok_or(JsValue::NULL)?;
        let navigator = js_sys::Reflect::get(&window, &"navigator".into())?;
        let clipboard = js_sys::Reflect::get(&navigator, &"clipboard".into())?;
        let write_text: js_sys::Function =
            js_sys::Reflect::get(&clipboard, &"writeText".into())?.dyn_into()?;
        write_text.call1(&clipboard, &text.into())?.dyn_into()
    };
    match write() {
        Ok(promise) => JsFuture::from(promise).await.is_ok(),
        Err(_) => false,
    }
}
