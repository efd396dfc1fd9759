//! The settings and images cards with the run bar and the notice: what the
//! page says about a form it cannot start from, while typing (the hint
//! beside the run state, the URL box's summary) and on a press of Start
//! (the notice). Run by `wasm-pack test` in Chromium and Firefox.
#![cfg(target_arch = "wasm32")]

mod support;

use leptos::prelude::*;
use pacer::run::{RunHandle, RunState};
use pacer::ui::{Controls, NoticeBar, SettingsForm, UrlInput};
use support::{click, mount, tick, type_into, valid_form, Mounted};
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

/// The input cards, the run bar and the notice, over a form Start accepts.
async fn form_page() -> (RunHandle, pacer::ui::FormState, Mounted) {
    let (run, form) = (RunHandle::new(), valid_form());
    let page = mount(run, form, || {
        view! {
            <SettingsForm />
            <UrlInput />
            <Controls />
            <NoticeBar />
        }
    });
    tick().await;
    (run, form, page)
}

/// The notice's text, and whether it is drawn as an error.
fn notice(page: &Mounted) -> (String, bool) {
    let text = page.text("notice");
    let bar = page.testid("notice").parent_element().unwrap();
    (text, bar.class_list().contains("notice-error"))
}

/// The hint beside the run state, if drawn.
fn hint(page: &Mounted) -> Option<String> {
    page.has_testid("start-hint")
        .then(|| page.text("start-hint"))
}

#[wasm_bindgen_test]
async fn a_complete_form_has_no_hint_and_no_notice() {
    let (_run, _form, page) = form_page().await;
    assert_eq!(hint(&page), None);
    assert_eq!(page.text("notice"), "");
    assert_eq!(
        page.get(".source-summary").text_content().unwrap(),
        "1 valid · 0 invalid"
    );
    assert!(!page.disabled("start"));
}

#[wasm_bindgen_test]
async fn a_rate_out_of_bounds_is_named_while_typing_and_on_start() {
    let (run, form, page) = form_page().await;
    let rate = page.testid("rate");
    for bad in ["0", "-3", "abc", "1e400", "1e-20", "20000", ""] {
        type_into(&rate, bad);
        tick().await;
        assert_eq!(form.rate.get_untracked(), bad, "the field feeds the form");
        assert_eq!(
            hint(&page).as_deref(),
            Some("Before starting: Set a rate between 0.001 and 10000 requests/second."),
            "rate {bad:?}"
        );
        click(&page.testid("start"));
        tick().await;
        // Start names what is wrong with this value (below the lowest
        // rate, above the highest, not a number), as an error.
        let (said, error) = notice(&page);
        assert!(error, "rate {bad:?}: {said}");
        assert!(said.to_lowercase().contains("rate"), "rate {bad:?}: {said}");
        assert_eq!(run.state.get_untracked(), RunState::Idle, "nothing starts");
    }
    type_into(&rate, "0.5");
    tick().await;
    assert_eq!(hint(&page), None);
}

#[wasm_bindgen_test]
async fn other_settings_out_of_bounds_are_named() {
    let (_run, _form, page) = form_page().await;
    let cases = [
        (
            "concurrency",
            "2.5",
            "Set the concurrency to a whole number of tasks",
        ),
        (
            "timeout",
            "601",
            "Set a timeout between 0.1 and 600 seconds",
        ),
        (
            "timeout",
            "0.05",
            "Set a timeout between 0.1 and 600 seconds",
        ),
        ("max-attempts", "0", "Set at least 1 attempt per image"),
        ("client-key", "  ", "Enter a client key"),
        ("model-ids", " , ", "Enter at least one model id"),
    ];
    for (field, bad, why) in cases {
        let input = page.testid(field);
        let good = js_sys::Reflect::get(&input, &"value".into())
            .unwrap()
            .as_string()
            .unwrap();
        type_into(&input, bad);
        tick().await;
        assert_eq!(
            hint(&page),
            Some(format!("Before starting: {why}.")),
            "{field} = {bad:?}"
        );
        click(&page.testid("start"));
        tick().await;
        assert_eq!(
            notice(&page),
            (format!("{why}."), true),
            "{field} = {bad:?}"
        );
        type_into(&input, &good);
        tick().await;
        assert_eq!(hint(&page), None, "{field} back to {good:?}");
    }
}

#[wasm_bindgen_test]
async fn a_bad_endpoint_is_refused_when_start_is_pressed() {
    let (run, _form, page) = form_page().await;
    for bad in ["ftp://example.com", "api.example.com", ""] {
        type_into(&page.testid("endpoint"), bad);
        tick().await;
        // The endpoint is checked on the press, not while typing.
        assert_eq!(hint(&page), None, "endpoint {bad:?}");
        click(&page.testid("start"));
        tick().await;
        let (text, error) = notice(&page);
        assert!(
            text.starts_with("The endpoint must be an http:// or https:// URL"),
            "endpoint {bad:?}: {text:?}"
        );
        assert!(error);
        assert_eq!(run.state.get_untracked(), RunState::Idle);
    }
}

#[wasm_bindgen_test]
async fn without_a_valid_url_the_box_lists_what_is_wrong_and_start_says_so() {
    let (run, _form, page) = form_page().await;
    let urls = page.testid("urls");
    type_into(&urls, "");
    tick().await;
    assert_eq!(
        page.get(".source-summary").text_content().unwrap(),
        "0 valid · 0 invalid"
    );
    assert_eq!(
        hint(&page).as_deref(),
        Some("Before starting: Add at least one valid image URL or image file.")
    );

    type_into(&urls, "not-a-url\nftp://127.0.0.1:9/b.jpg");
    tick().await;
    assert_eq!(
        page.get(".source-summary").text_content().unwrap(),
        "0 valid · 2 invalid"
    );
    let lines: Vec<String> = page
        .all(".invalid-list .line-no")
        .iter()
        .map(|e| e.text_content().unwrap())
        .collect();
    assert_eq!(lines, ["line 1", "line 2"]);
    assert_eq!(
        page.get(".invalid-list .bad-entry").text_content().unwrap(),
        "not-a-url"
    );
    click(&page.testid("start"));
    tick().await;
    assert_eq!(
        notice(&page),
        (
            "Add at least one valid image URL or image file.".to_owned(),
            true
        )
    );
    assert_eq!(run.state.get_untracked(), RunState::Idle);

    // One good line among them is enough; the bad ones stay listed.
    type_into(
        &urls,
        "not-a-url\nhttp://127.0.0.1:9/a.jpg\nftp://127.0.0.1:9/b.jpg",
    );
    tick().await;
    assert_eq!(
        page.get(".source-summary").text_content().unwrap(),
        "1 valid · 2 invalid"
    );
    assert_eq!(page.all(".invalid-list li").len(), 2);
    assert_eq!(hint(&page), None);
}

#[wasm_bindgen_test]
async fn plain_http_over_six_tasks_warns_of_the_connection_cap() {
    let (_run, _form, page) = form_page().await;
    assert!(page.find(".hint-warn").is_none());
    type_into(&page.testid("concurrency"), "8");
    tick().await;
    assert!(page.find(".hint-warn").is_some(), "http:// with 8 tasks");
    type_into(&page.testid("endpoint"), "https://api-us.restb.ai");
    tick().await;
    assert!(page.find(".hint-warn").is_none(), "https:// is not capped");
}
