//! The one thing Pacer keeps in `localStorage`: the client key, and only
//! when the user ticks "remember on this device".

const KEY_ITEM: &str = "pacer.client-key";

fn storage() -> Option<web_sys::Storage> {
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
