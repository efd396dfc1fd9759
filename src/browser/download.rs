//! Saving a text document as a download (a `Blob` and a temporary link).

use wasm_bindgen::JsCast;
use web_sys::{Blob, BlobPropertyBag, HtmlAnchorElement, Url};

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
    a.click();
    Url::revoke_object_url(&url).map_err(err)?;
    Ok(())
}
