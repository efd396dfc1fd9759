//! The endpoint field: a free-entry URL, a preset picker that fills it, and
//! the plain-http connection-cap hint.

use leptos::prelude::*;

use super::form_state::{FormState, DEMO_KEY};

/// The remote presets (the local emulator's is the page origin).
const REMOTE_PRESETS: [(&str, &str); 2] = [
    ("https://api-us.restb.ai", "restb.ai US"),
    ("https://api-eu.restb.ai", "restb.ai EU"),
];

/// Chromium's HTTP/1.1 connection cap per origin.
const HTTP1_CONNECTIONS: u64 = 6;

/// Which preset `endpoint` is: `local`, a remote URL, or `custom`.
fn preset_of(form: &FormState, endpoint: &str) -> String {
    let trimmed = endpoint.trim().trim_end_matches('/');
    if form.is_local(trimmed) {
        "local".to_owned()
    } else if let Some((url, _)) = REMOTE_PRESETS.iter().find(|(url, _)| *url == trimmed) {
        (*url).to_owned()
    } else {
        "custom".to_owned()
    }
}

/// The `endpoint` input with its preset `<select>` and hints.
#[component]
pub fn EndpointField() -> impl IntoView {
    let form = expect_context::<FormState>();
    let preset = Memo::new(move |_| form.endpoint.with(|e| preset_of(&form, e)));
    let on_preset = move |ev: leptos::ev::Event| {
        let choice = event_target_value(&ev);
        let endpoint = match choice.as_str() {
            "custom" => return,
            "local" => form.origin.get_value(),
            remote => remote.to_owned(),
        };
        // The demo key only makes sense for the emulator; never send it elsewhere.
        if choice == "local" && form.key.with_untracked(String::is_empty) {
            form.key.set(DEMO_KEY.to_owned());
        } else if choice != "local" && form.key.with_untracked(|k| k == DEMO_KEY) {
            form.key.set(String::new());
        }
        form.endpoint.set(endpoint);
    };
    let capped = move || {
        let plain_http = form.endpoint.with(|e| {
            e.trim()
                .get(..7)
                .is_some_and(|s| s.eq_ignore_ascii_case("http://"))
        });
        let conc = form
            .concurrency
            .with(|c| c.trim().parse::<f64>().unwrap_or(0.0));
        plain_http && conc > HTTP1_CONNECTIONS as f64
    };
    let remote_options = REMOTE_PRESETS
        .iter()
        .map(|(url, name)| {
            let url = *url;
            view! {
                <option value=url title=url prop:selected=move || preset.get() == url>
                    {*name}
                </option>
            }
        })
        .collect_view();
    view! {
        <div class="field field-wide">
            <label for="endpoint">"Endpoint"</label>
            <div class="input-row">
                <input
                    id="endpoint"
                    data-testid="endpoint"
                    type="url"
                    inputmode="url"
                    autocomplete="off"
                    spellcheck="false"
                    placeholder="https://api-us.restb.ai"
                    prop:value=move || form.endpoint.get()
                    on:input=move |ev| form.endpoint.set(event_target_value(&ev))
                />
                <select class="preset" aria-label="Endpoint preset" on:change=on_preset>
                    <option value="local" prop:selected=move || preset.get() == "local">
                        "Local emulator"
                    </option>
                    {remote_options}
                    <option value="custom" prop:selected=move || preset.get() == "custom">
                        "Custom"
                    </option>
                </select>
            </div>
            <Show when=capped>
                <p class="hint hint-warn">
                    "Over plain http:// Chromium opens at most 6 connections per origin, \
                     so concurrency above 6 gains nothing here."
                </p>
            </Show>
        </div>
    }
}
