//! DOM tests: the page mounts and carries the whole `data-testid` interface
//! (docs/ARCHITECTURE.md), which outside checks drive. Run by `wasm-pack test`.
#![cfg(target_arch = "wasm32")]

use leptos::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

const INTERFACE: &[&str] = &[
    "endpoint",
    "client-key",
    "model-ids",
    "rate",
    "concurrency",
    "urls",
    "files",
    "start",
    "pause",
    "resume",
    "cancel",
    "run-state",
    "stat-done",
    "stat-failed",
    "stat-queued",
    "stat-429",
    "stat-throughput",
    "stat-latency-avg",
    "stat-latency-p95",
    "export-csv",
    "export-json",
    "retry-failed",
    "clear",
    "notice",
];

fn by_id(id: &str) -> Option<web_sys::Element> {
    document()
        .query_selector(&format!("[data-testid=\"{id}\"]"))
        .ok()
        .flatten()
}

async fn tick() {
    gloo_timers::future::TimeoutFuture::new(0).await;
}

#[wasm_bindgen_test]
async fn the_page_mounts_with_every_test_id_and_sane_defaults() {
    let host = document().create_element("div").unwrap();
    document().body().unwrap().append_child(&host).unwrap();
    let _handle = leptos::mount::mount_to(host.unchecked_into(), pacer::ui::App);
    tick().await;

    for id in INTERFACE {
        assert!(by_id(id).is_some(), "data-testid={id} is missing");
    }
    assert_eq!(by_id("run-state").unwrap().text_content().unwrap(), "idle");
    let key: web_sys::HtmlInputElement = by_id("client-key").unwrap().unchecked_into();
    assert_eq!(key.type_(), "password");
    for id in [
        "stat-done",
        "stat-failed",
        "stat-queued",
        "stat-429",
        "stat-throughput",
    ] {
        let text = by_id(id).unwrap().text_content().unwrap();
        assert!(
            text.trim().parse::<f64>().is_ok(),
            "{id} shows {text:?}, not a number"
        );
    }
    // Nothing to send yet: Start is pressable (pressing it says what is
    // missing) and the hint beside the run state already says so.
    let start: web_sys::HtmlButtonElement = by_id("start").unwrap().unchecked_into();
    assert!(!start.disabled());
    let hint = by_id("start-hint").unwrap().text_content().unwrap();
    assert!(hint.contains("image URL"), "start hint: {hint:?}");
    assert!(by_id("result-row").is_none());
}
