//! New run ids: `crypto.randomUUID()`, the browser's own random UUID v4
//! (no crate to ship; its randomness is the platform's CSPRNG). Outside a
//! secure context, where `randomUUID` is missing, a v4 UUID is formatted
//! from `crypto.getRandomValues`, which every context has.

use wasm_bindgen::JsValue;

/// A fresh random UUID (v4) as text.
pub fn random_run_id() -> String {
    let Some(crypto) = web_sys::window().and_then(|w| w.crypto().ok()) else {
        return from_math_random();
    };
    let has_uuid = js_sys::Reflect::get(&crypto, &JsValue::from_str("randomUUID"))
        .is_ok_and(|f| f.is_function());
    if has_uuid {
        return crypto.random_uuid();
    }
    let mut bytes = [0_u8; 16];
    if crypto.get_random_values_with_u8_array(&mut bytes).is_err() {
        return from_math_random();
    }
    format_v4(bytes)
}

/// Last resort (no `crypto` at all): not for secrets, only to tell runs
/// apart.
fn from_math_random() -> String {
    let mut bytes = [0_u8; 16];
    for b in &mut bytes {
        *b = (js_sys::Math::random() * 256.0) as u8;
    }
    format_v4(bytes)
}

fn format_v4(mut b: [u8; 16]) -> String {
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let hex: String = b.iter().map(|x| format!("{x:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..32]
    )
}
