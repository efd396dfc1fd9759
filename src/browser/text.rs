//! Lower-casing text the way `str::to_lowercase` does, without Rust's
//! Unicode case tables in the wasm.
//!
//! ASCII text (nearly all: labels, URLs, Pacer's own reasons) is lowered in
//! Rust; anything else goes to the browser's `String.prototype.toLowerCase`,
//! which applies the same Unicode default case mapping (final sigma
//! included). Leaving the tables out of the wasm saves about 8 KB gzipped
//! (the page's first load). Native builds (the unit tests) use
//! `str::to_lowercase`.

/// `text` in lower case, as `str::to_lowercase` gives it.
pub fn lowercase(text: &str) -> String {
    if text.is_ascii() {
        text.to_ascii_lowercase()
    } else {
        unicode_lowercase(text)
    }
}

#[cfg(target_arch = "wasm32")]
fn unicode_lowercase(text: &str) -> String {
    js_sys::JsString::from(text).to_lower_case().into()
}

#[cfg(not(target_arch = "wasm32"))]
fn unicode_lowercase(text: &str) -> String {
    text.to_lowercase()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_str_to_lowercase() {
        for text in ["Kitchen_ISLAND https://X/1.JPG", "ÉTAGE Straße", "ΟΔΟΣ", ""] {
            assert_eq!(lowercase(text), text.to_lowercase());
        }
    }
}
