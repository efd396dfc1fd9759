//! Saving a text document as a download (a `Blob` and a temporary link).
//!
//! Several downloads in a row (a job split into parts) are clicked a
//! moment apart, and each link's object URL is revoked only well after its
//! click: clicked all at once and revoked at once, Chromium could drop
//! parts while every call still reported success.

use std::cell::Cell;

use gloo_timers::callback::Timeout;
use wasm_bindgen::JsCast;
use web_sys::{Blob, BlobPropertyBag, HtmlAnchorElement, Url};

/// Between two download clicks, ms.
const APART_MS: f64 = 400.0;
/// After a click, before its object URL is revoked, ms.
const REVOKE_AFTER_MS: u32 = 60_000;

thread_local! {
    /// When the next click may go (`Date.now()` ms).
    static NEXT_CLICK: Cell<f64> = const { Cell::new(0.0) };
}

/// Offers `text` to the user as a file named `name` of type `mime`.
pub fn download(name: &str, mime: &str, text: &str) -> Result<(), String> {
    let err = |e: wasm_bindgen::JsValue| format!("{e:?}");
    let document = web_sys::window()
        .and_then(|w| w.document())
        .ok_or("no document")?;
    let parts = js_sys::Array::of1(&text.into());
    let props = BlobPropertyBag::new();
    props.set_type(mime);
    let blob = Blob::new_with_str_sequence_and_options(&parts, &props).map_err(err)?;
    let url = Url::create_object_url_with_blob(&blob).map_err(err)?;
    let a: HtmlAnchorElement = document
        .create_element("a")
        .map_err(err)?
        .dyn_into()
        .map_err(|_| "not an anchor")?;
    a.set_href(&url);
    a.set_download(name);
    let now = js_sys::Date::now();
    let at = NEXT_CLICK.with(|next| {
        let at = next.get().max(now);
        next.set(at + APART_MS);
        at
    });
    let click = move || {
        a.click();
        Timeout::new(REVOKE_AFTER_MS, move || {
            let _ = Url::revoke_object_url(&url);
        })
        .forget();
    };
    if at <= now {
        click();
    } else {
        Timeout::new((at - now) as u32, click).forget();
    }
    Ok(())
}
