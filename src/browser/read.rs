//! Reading a file the user chose, as text.

use wasm_bindgen_futures::JsFuture;

/// The whole of `file` as text (UTF-8), or why it could not be read.
pub async fn read_text(file: &web_sys::File) -> Result<String, String> {
    JsFuture::from(file.text())
        .await
        .map_err(|e| format!("{e:?}"))?
        .as_string()
        .ok_or_else(|| "not text".to_owned())
}
