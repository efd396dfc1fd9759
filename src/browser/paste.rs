//! A paste into a text box, read before the browser inserts it.

use wasm_bindgen::JsCast;

/// A paste on a `<textarea>`: the pasted text and the box's selection (in
/// UTF-16 code units, as the DOM counts them), or `None` when the event
/// carries no text or did not come from a textarea.
pub fn pasted_into_textarea(ev: &web_sys::ClipboardEvent) -> Option<(String, u32, u32)> {
    let text = ev.clipboard_data()?.get_data("text/plain").ok()?;
    let area: web_sys::HtmlTextAreaElement = ev.target()?.dyn_into().ok()?;
    let start = area.selection_start().ok().flatten().unwrap_or(0);
    let end = area.selection_end().ok().flatten().unwrap_or(start);
    Some((text, start, end))
}
