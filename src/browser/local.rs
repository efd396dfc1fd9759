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
/// The key with the origin it was given for (`{"origin", "key"}`).
const KEY_ITEM: &str = "pacer.client-key-for";
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

/// The remembered key and the endpoint origin it was given for, if the
/// user chose to keep one.
pub fn remembered_key() -> Option<(String, String)> {
    let text = storage()?.get_item(KEY_ITEM).ok().flatten()?;
    let stored: Stored = serde_json::from_str(&text).ok()?;
    (!stored.key.is_empty() && !stored.origin.is_empty()).then_some((stored.origin, stored.key))
}

/// Keeps `key` on this device for endpoints of `origin`, or forgets it
/// (`None`).
pub fn remember_key(entry: Option<(&str, &str)>) {
    let Some(storage) = storage() else { return };
    let _ = match entry {
        Some((origin, key)) if !key.is_empty() && !origin.is_empty() => {
            let stored = Stored {
                origin: origin.to_owned(),
                key: key.to_owned(),
            };
            match serde_json::to_string(&stored) {
                Ok(text) => storage.set_item(KEY_ITEM, &text),
                Err(_) => Ok(()),
            }
        }
        _ => storage.remove_item(KEY_ITEM),
    };
}

/// A key kept by an older version, without its endpoint: bound to
/// `origin` (the remembered settings' endpoint) or, with none, dropped.
pub fn migrate_plain_key(origin: Option<&str>) {
    let Some(storage) = storage() else { return };
    let Some(key) = storage.get_item(PLAIN_KEY_ITEM).ok().flatten() else {
        return;
    };
    if let Some(origin) = origin {
        if remembered_key().is_none() {
            remember_key(Some((origin, key.trim())));
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
