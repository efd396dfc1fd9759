//! The panic notice: what the page shows when Pacer panics anyway (the
//! hook itself cannot be exercised here: a panic aborts the test's wasm).
//! Run by `wasm-pack test`.
#![cfg(target_arch = "wasm32")]

use pacer::browser::{show_panic, PANIC_TEXT};
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

#[wasm_bindgen_test]
fn the_notice_says_what_happened_once() {
    let document = web_sys::window().unwrap().document().unwrap();
    show_panic("panicked at src/x.rs:1:1: RefCell already borrowed");
    show_panic("a second panic");
    let body = document.body().unwrap();
    let count = body.children().length();
    let notices = (0..count)
        .filter_map(|i| body.children().item(i))
        .filter(|e| e.get_attribute("data-testid").as_deref() == Some("panic-notice"))
        .count();
    assert_eq!(notices, 1, "one notice, the first panic's");
    let notice = document
        .query_selector("[data-testid=\"panic-notice\"]")
        .unwrap()
        .unwrap();
    assert_eq!(notice.get_attribute("role").as_deref(), Some("alert"));
    let text = notice.text_content().unwrap_or_default();
    assert!(text.contains(PANIC_TEXT), "{text}");
    assert!(text.contains("RefCell already borrowed"), "{text}");
    assert!(text.contains("reload the page to resume"), "{text}");
    assert!(!text.contains("a second panic"), "{text}");
}
