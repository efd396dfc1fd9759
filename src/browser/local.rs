//! What Pacer keeps on this device outside a run: the form's settings
//! (never the key) in `localStorage`, the client key too only when the user
//! ticks "remember on this device", and a share link put on the clipboard.
//!
//! Items are plain strings: what they mean is the UI's business.

use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;

const KEY_ITEM: &str = "pacer.client-key";
const SETTINGS_ITEM: &str = "pacer.settings";

/// The page's `localStorage`, where the browser gives one.
pub(super) fn storage() -> Option<web_sys::Storage> {
    web_sys::window()?.local_storage().ok().flatten()
}

/// The remembered key, if the user chose to keep one.
pub fn remembered_key() -> Option<String> {
    storage()?
        .get_item(KEY_ITEM)
        .ok()
        .flatten()
        .filter(|k| !k.is_empty())
}

/// Keeps `key` on this device, or forgets it (`None`).
pub fn remember_key(key: Option<&str>) {
    let Some(storage) = storage() else { return };
    let _ = match key {
        Some(key) if !key.is_empty() => storage.set_item(KEY_ITEM, key),
        _ => storage.remove_item(KEY_ITEM),
    };
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
