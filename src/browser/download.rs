//! Saving a document as a download (a `Blob` and a temporary link).
//!
//! A long document is handed over a part at a time ([`FileParts`]): each
//! part becomes a `Blob` of its own at once, so its text is garbage as
//! soon as it is handed over and the whole file never lies in the page's
//! memory as one string (a million items' JSON is gigabytes of text); the
//! browser keeps blob data outside the page's heap.
//!
//! Several downloads in a row (a job split into parts) are clicked a
//! moment apart, and each link's object URL is revoked only well after its
//! click: clicked all at once and revoked at once, Chromium could drop
//! parts while every call still reported success.

use std::cell::Cell;

use gloo_timers::callback::Timeout;
use wasm_bindgen::{JsCast, JsValue};
use web_sys::{Blob, BlobPropertyBag, HtmlAnchorElement, Url};

/// Between two download clicks, ms.
const APART_MS: f64 = 400.0;
/// After a click, before its object URL is revoked, ms.
const REVOKE_AFTER_MS: u32 = 60_000;

thread_local! {
    /// When the next click may go (`Date.now()` ms).
    static NEXT_CLICK: Cell<f64> = const { Cell::new(0.0) };
}

fn js_err(e: JsValue) -> String {
    format!("{e:?}")
}

/// A file being written a part at a time.
pub struct FileParts {
    blobs: js_sys::Array,
    bytes: usize,
}

impl Default for FileParts {
    fn default() -> Self {
        Self::new()
    }
}

impl FileParts {
    /// An empty file.
    pub fn new() -> Self {
        Self {
            blobs: js_sys::Array::new(),
            bytes: 0,
        }
    }

    /// Appends `text` (made a `Blob` at once).
    pub fn push(&mut self, text: &str) -> Result<(), String> {
        if text.is_empty() {
            return Ok(());
        }
        let blob =
            Blob::new_with_str_sequence(&js_sys::Array::of1(&text.into())).map_err(js_err)?;
        self.blobs.push(&blob);
        self.bytes += text.len();
        Ok(())
    }

    /// Bytes written so far.
    pub fn len(&self) -> usize {
        self.bytes
    }

    /// True when nothing was written.
    pub fn is_empty(&self) -> bool {
        self.bytes == 0
    }

    /// Offers the file to the user as `name` of type `mime`.
    pub fn save(self, name: &str, mime: &str) -> Result<(), String> {
        let props = BlobPropertyBag::new();
        props.set_type(mime);
        let blob = Blob::new_with_blob_sequence_and_options(&self.blobs, &props).map_err(js_err)?;
        offer(name, &blob)
    }
}

/// Offers `text` to the user as a file named `name` of type `mime`.
pub fn download(name: &str, mime: &str, text: &str) -> Result<(), String> {
    let mut file = FileParts::new();
    file.push(text)?;
    file.save(name, mime)
}

/// Clicks a temporary link to `blob`, a moment after the last click.
fn offer(name: &str, blob: &Blob) -> Result<(), String> {
    let document = web_sys::window()
        .and_then(|w| w.document())
        .ok_or("no document")?;
    let url = Url::create_object_url_with_blob(blob).map_err(js_err)?;
    let a: HtmlAnchorElement = document
        .create_element("a")
        .map_err(js_err)?
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
