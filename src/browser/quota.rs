//! How much the browser lets the page keep (`navigator.storage`): the
//! usage and quota estimate, and the request that saved runs be kept
//! under storage pressure. Read through `Reflect` (the `StorageManager`
//! bindings would add web-sys features for three calls).

use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;

/// Bytes used by this origin and its quota, as the browser estimates them.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct StorageUse {
    /// Bytes used.
    pub used: f64,
    /// Bytes allowed.
    pub quota: f64,
}

fn storage_manager() -> Option<JsValue> {
    let window: JsValue = web_sys::window()?.into();
    let navigator = js_sys::Reflect::get(&window, &"navigator".into()).ok()?;
    let storage = js_sys::Reflect::get(&navigator, &"storage".into()).ok()?;
    (!storage.is_undefined() && !storage.is_null()).then_some(storage)
}

async fn call(name: &str) -> Option<JsValue> {
    let manager = storage_manager()?;
    let f = js_sys::Reflect::get(&manager, &name.into())
        .ok()?
        .dyn_into::<js_sys::Function>()
        .ok()?;
    let promise = f.call0(&manager).ok()?.dyn_into::<js_sys::Promise>().ok()?;
    JsFuture::from(promise).await.ok()
}

/// `navigator.storage.estimate()`, where the browser has it.
pub async fn storage_estimate() -> Option<StorageUse> {
    let estimate = call("estimate").await?;
    let number = |name: &str| js_sys::Reflect::get(&estimate, &name.into()).ok()?.as_f64();
    Some(StorageUse {
        used: number("usage")?,
        quota: number("quota")?,
    })
}

/// Asks that this origin's storage be kept under pressure
/// (`navigator.storage.persist()`); true when it is.
pub async fn persist_storage() -> bool {
    if call("persisted").await.and_then(|v| v.as_bool()) == Some(true) {
        return true;
    }
    call("persist").await.and_then(|v| v.as_bool()) == Some(true)
}
