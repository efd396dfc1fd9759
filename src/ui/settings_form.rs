//! The settings card: endpoint, key (remembered only on request), models,
//! rate, concurrency, timeout and attempts.

use leptos::prelude::*;

use super::endpoint_field::EndpointField;
use super::form_state::FormState;
use super::models_field::ModelsField;

/// The settings card.
#[component]
pub fn SettingsForm() -> impl IntoView {
    let form = expect_context::<FormState>();
    view! {
        <section class="card" aria-labelledby="settings-title">
            <h2 id="settings-title" class="card-title">"Settings"</h2>
            <div class="fields">
                <EndpointField />
                <div class="field field-wide">
                    <label for="client-key">"Client key"</label>
                    <input
                        id="client-key"
                        data-testid="client-key"
                        type="password"
                        autocomplete="off"
                        spellcheck="false"
                        placeholder="Your client key"
                        prop:value=move || form.key.get()
                        on:input=move |ev| form.key.set(event_target_value(&ev))
                    />
                    <label class="check" title="Keep the key in this browser's local storage, so it is filled in next time">
                        <input
                            type="checkbox"
                            data-testid="remember-key"
                            prop:checked=move || form.remember_key.get()
                            on:change=move |ev| form.remember_key.set(event_target_checked(&ev))
                        />
                        " Remember on this device"
                    </label>
                    <p class="hint">
                        {move || if form.remember_key.get() {
                            "Kept in this browser's storage until you untick the box; never in the URL, exports or saved runs."
                        } else {
                            "Kept in memory only: never in the URL, exports, logs or storage."
                        }}
                    </p>
                </div>
                <ModelsField />
                <div class="field">
                    <label for="rate">"Rate"</label>
                    <div class="input-unit">
                        <input
                            id="rate"
                            data-testid="rate"
                            type="text"
                            inputmode="decimal"
                            prop:value=move || form.rate.get()
                            on:input=move |ev| form.rate.set(event_target_value(&ev))
                        />
                        <span class="unit">"req/s"</span>
                    </div>
                    <label class="check" title="Start at the rate above, probe upward while answers succeed and back off on a 429 (AIMD)">
                        <input
                            type="checkbox"
                            data-testid="rate-auto"
                            prop:checked=move || form.auto_rate.get()
                            on:change=move |ev| form.auto_rate.set(event_target_checked(&ev))
                        />
                        " Auto: find the limit"
                    </label>
                </div>
                <div class="field">
                    <label for="concurrency">"Concurrency"</label>
                    <div class="input-unit">
                        <input
                            id="concurrency"
                            data-testid="concurrency"
                            type="text"
                            inputmode="numeric"
                            prop:value=move || form.concurrency.get()
                            on:input=move |ev| form.concurrency.set(event_target_value(&ev))
                        />
                        <span class="unit">"tasks"</span>
                    </div>
                </div>
                <div class="field">
                    <label for="timeout">"Timeout"</label>
                    <div class="input-unit">
                        <input
                            id="timeout"
                            data-testid="timeout"
                            type="text"
                            inputmode="decimal"
                            title="A request with no complete answer by then is aborted and retried"
                            prop:value=move || form.timeout.get()
                            on:input=move |ev| form.timeout.set(event_target_value(&ev))
                        />
                        <span class="unit">"s"</span>
                    </div>
                </div>
                <div class="field">
                    <label for="max-attempts">"Attempts"</label>
                    <div class="input-unit">
                        <input
                            id="max-attempts"
                            data-testid="max-attempts"
                            type="text"
                            inputmode="numeric"
                            title="Sends per image before a 5xx, network error, timeout or bad answer fails it (429s have their own budget)"
                            prop:value=move || form.attempts.get()
                            on:input=move |ev| form.attempts.set(event_target_value(&ev))
                        />
                        <span class="unit">"per image"</span>
                    </div>
                </div>
            </div>
        </section>
    }
}
