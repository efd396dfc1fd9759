//! Local images made ready to upload, as the original SDK did: decoded
//! (`createImageBitmap`, which Chromium decodes off the main thread),
//! scaled so that the short side is at most 600 px, drawn on an
//! `OffscreenCanvas` over white (JPEG has no transparency) and re-encoded
//! as JPEG quality 90 (`convertToBlob`, also off the main thread).

use std::rc::Rc;

use js_sys::Uint8Array;
use pacer_core::image_header::{image_dimensions, too_many_pixels, HEADER_BYTES};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::{
    Blob, BlobPropertyBag, File, ImageBitmap, ImageEncodeOptions, OffscreenCanvas,
    OffscreenCanvasRenderingContext2d, Url,
};

/// Files larger than this are not decoded (a browser tab would struggle,
/// and no photo needs it).
pub const MAX_FILE_BYTES: f64 = 64.0 * 1024.0 * 1024.0;
/// Encoded images larger than this are not sent (a panorama can stay
/// large even at 600 px on its short side).
pub const MAX_UPLOAD_BYTES: usize = 8 * 1024 * 1024;
/// The short side of an uploaded image, at most, in px.
pub const MAX_SHORT_SIDE: u32 = 600;
/// JPEG quality of an uploaded image.
pub const JPEG_QUALITY: f64 = 0.9;

/// A local image ready to upload.
#[derive(Clone, Debug, PartialEq)]
pub struct PreparedImage {
    /// The file's name.
    pub name: String,
    /// The re-encoded JPEG.
    pub jpeg: Rc<[u8]>,
    /// An object URL of the JPEG, for thumbnails.
    pub object_url: String,
    /// Width × height as sent.
    pub size: (u32, u32),
    /// The file's own size in bytes.
    pub original_bytes: f64,
}

/// Why a file cannot be sent, in words for the user.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ImageRefused {
    /// The file's name.
    pub name: String,
    /// Why.
    pub reason: String,
}

/// `bytes` as "12.3 MB" or "456 KB".
pub fn human_bytes(bytes: f64) -> String {
    if bytes >= 1024.0 * 1024.0 {
        format!("{:.1} MB", bytes / (1024.0 * 1024.0))
    } else {
        format!("{:.0} KB", (bytes / 1024.0).max(1.0))
    }
}

/// The size to draw a `w` × `h` image at: its short side at most
/// [`MAX_SHORT_SIDE`], never enlarged.
pub fn scaled_size(w: u32, h: u32) -> (u32, u32) {
    let short = w.min(h);
    if short <= MAX_SHORT_SIDE || short == 0 {
        return (w.max(1), h.max(1));
    }
    let scale = f64::from(MAX_SHORT_SIDE) / f64::from(short);
    let side = |v: u32| ((f64::from(v) * scale).round() as u32).max(1);
    (side(w), side(h))
}

/// Decodes, downscales and re-encodes `file`, or says why it cannot be sent.
pub async fn prepare(file: &File) -> Result<PreparedImage, ImageRefused> {
    let name = file.name();
    let refuse = |reason: String| ImageRefused {
        name: name.clone(),
        reason,
    };
    let bytes = file.size();
    if bytes > MAX_FILE_BYTES {
        return Err(refuse(format!(
            "too large to send ({}; Pacer reads files up to {})",
            human_bytes(bytes),
            human_bytes(MAX_FILE_BYTES)
        )));
    }
    let kind = file.type_();
    if !kind.is_empty() && !kind.starts_with("image/") {
        return Err(refuse(format!("not an image (its type is {kind})")));
    }
    // A small file may declare gigapixels: read its header first.
    if let Some(why) = read_head(file)
        .await
        .and_then(|head| image_dimensions(&head))
        .and_then(too_many_pixels)
    {
        return Err(refuse(why));
    }
    let bitmap = decode(file)
        .await
        .map_err(|_| refuse("not an image this browser can read".to_owned()))?;
    let (w, h) = scaled_size(bitmap.width(), bitmap.height());
    let jpeg = encode(&bitmap, w, h).await;
    bitmap.close();
    let blob = jpeg.map_err(|e| refuse(format!("could not be re-encoded as JPEG ({e})")))?;
    if blob.size() > MAX_UPLOAD_BYTES as f64 {
        return Err(refuse(format!(
            "too large to send: {} after downscaling to {w}×{h}; the most Pacer sends is {}",
            human_bytes(blob.size()),
            human_bytes(MAX_UPLOAD_BYTES as f64)
        )));
    }
    let buffer = JsFuture::from(blob.array_buffer())
        .await
        .map_err(|e| refuse(format!("could not be read ({})", describe(&e))))?;
    let jpeg: Rc<[u8]> = Uint8Array::new(&buffer).to_vec().into();
    let object_url = Url::create_object_url_with_blob(&blob).unwrap_or_default();
    Ok(PreparedImage {
        name,
        jpeg,
        object_url,
        size: (w, h),
        original_bytes: bytes,
    })
}

/// The files chosen in (or dropped on) the file input that `event` came
/// from; the input is emptied so that choosing the same files again counts.
pub fn take_chosen_files(event: &web_sys::Event) -> Vec<File> {
    let Some(input) = event
        .target()
        .and_then(|t| t.dyn_into::<web_sys::HtmlInputElement>().ok())
    else {
        return Vec::new();
    };
    let files = input
        .files()
        .map(|list| (0..list.length()).filter_map(|i| list.get(i)).collect())
        .unwrap_or_default();
    input.set_value("");
    files
}

/// An object URL of `jpeg` (a restored run's thumbnail).
pub fn jpeg_object_url(jpeg: &[u8]) -> String {
    let parts = js_sys::Array::of1(&Uint8Array::from(jpeg));
    let options = BlobPropertyBag::new();
    options.set_type("image/jpeg");
    Blob::new_with_u8_array_sequence_and_options(&parts, &options)
        .and_then(|blob| Url::create_object_url_with_blob(&blob))
        .unwrap_or_default()
}

/// Lets the browser forget a thumbnail's object URL.
pub fn release(object_url: &str) {
    if !object_url.is_empty() {
        let _ = Url::revoke_object_url(object_url);
    }
}

/// The first [`HEADER_BYTES`] of `file`, or `None` if they cannot be read
/// (the decoder then says so).
async fn read_head(file: &File) -> Option<Vec<u8>> {
    let head = file.slice_with_f64_and_f64(0.0, HEADER_BYTES as f64).ok()?;
    let buffer = JsFuture::from(head.array_buffer()).await.ok()?;
    Some(Uint8Array::new(&buffer).to_vec())
}

async fn decode(blob: &Blob) -> Result<ImageBitmap, JsValue> {
    let window = web_sys::window().ok_or_else(|| JsValue::from_str("no window"))?;
    let bitmap = JsFuture::from(window.create_image_bitmap_with_blob(blob)?).await?;
    bitmap.dyn_into()
}

async fn encode(bitmap: &ImageBitmap, w: u32, h: u32) -> Result<Blob, String> {
    let canvas = OffscreenCanvas::new(w, h).map_err(|e| describe(&e))?;
    let ctx: OffscreenCanvasRenderingContext2d = canvas
        .get_context("2d")
        .map_err(|e| describe(&e))?
        .ok_or("no 2d context")?
        .dyn_into()
        .map_err(|_| "no 2d context")?;
    ctx.set_fill_style_str("#fff");
    ctx.fill_rect(0.0, 0.0, f64::from(w), f64::from(h));
    ctx.draw_image_with_image_bitmap_and_dw_and_dh(bitmap, 0.0, 0.0, f64::from(w), f64::from(h))
        .map_err(|e| describe(&e))?;
    let options = ImageEncodeOptions::new();
    options.set_type("image/jpeg");
    options.set_quality(JPEG_QUALITY);
    let promise = canvas
        .convert_to_blob_with_options(&options)
        .map_err(|e| describe(&e))?;
    let blob = JsFuture::from(promise).await.map_err(|e| describe(&e))?;
    blob.dyn_into().map_err(|_| "not a blob".to_owned())
}

fn describe(e: &JsValue) -> String {
    e.dyn_ref::<js_sys::Error>()
        .map(|e| String::from(e.message()))
        .or_else(|| e.as_string())
        .unwrap_or_else(|| format!("{e:?}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scales_the_short_side_to_600_and_never_up() {
        assert_eq!(scaled_size(4000, 3000), (800, 600));
        assert_eq!(scaled_size(3000, 4000), (600, 800));
        assert_eq!(scaled_size(640, 480), (640, 480));
        assert_eq!(scaled_size(1200, 1200), (600, 600));
        assert_eq!(scaled_size(20_000, 601), (19_967, 600));
        assert_eq!(human_bytes(2.5 * 1024.0 * 1024.0), "2.5 MB");
        assert_eq!(human_bytes(300.0), "1 KB");
    }
}
