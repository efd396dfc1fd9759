//! The settings card: endpoint, key, models, rate and concurrency.

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
                    <p class="hint">"Kept in memory only: never in the URL or storage."</p>
                </div>
                <ModelsField />
                <div class="field">
                    <label for="rate">"Rate"</label>
                    <div class="input-unit">
                        <input
                            id="rate"
                            data-testid="rate"
                            type="number"
                            step="any"
                            min="0"
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
                            type="number"
                            step="1"
                            min="1"
                            inputmode="numeric"
                            prop:value=move || form.concurrency.get()
                            on:input=move |ev| form.concurrency.set(event_target_value(&ev))
                        />
                        <span class="unit">"tasks"</span>
                    </div>
                </div>
            </div>
        </section>
    }
}
