//! The settings card: endpoint, key (remembered only on request), models,
//! rate, concurrency, timeout and attempts, and a link to share them.

use leptos::prelude::*;

use super::endpoint_field::EndpointField;
use super::form_state::FormState;
use super::inputs::{Check, UnitInput};
use super::models_field::ModelsField;
use super::share_settings::ShareSettings;
use super::validate::rate_problem;

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
                    <Check
                        testid="remember-key"
                        label="Remember on this device"
                        title="Keep the key in this browser's local storage, so it is filled in next time"
                        value=form.remember_key
                    />
                    <p class="hint">
                        {move || if form.remember_key.get() {
                            "Kept in this browser's storage for this endpoint only, until you untick the box; never in the URL, exports or saved runs."
                        } else {
                            "Kept in memory only: never in the URL, exports, logs or storage."
                        }}
                    </p>
                </div>
                <ModelsField />
                <div class="field">
                    <label for="rate">"Rate"</label>
                    <UnitInput id="rate" mode="decimal" unit="req/s" value=form.rate />
                    // What is wrong with the rate as typed (a link's
                    // `?rate=` too): the run keeps its last good rate.
                    {move || {
                        form.rate
                            .with(|r| rate_problem(r))
                            .map(|why| {
                                view! {
                                    <p class="hint hint-warn" data-testid="rate-problem" role="alert">
                                        {why}
                                    </p>
                                }
                            })
                    }}
                    <Check
                        testid="rate-auto"
                        label="Auto: find the limit"
                        title="Start at the rate above, probe upward while answers succeed and back off on a 429 (AIMD)"
                        value=form.auto_rate
                    />
                    <Check
                        testid="spread-quota"
                        label="Spread the day's quota"
                        title="When the server announces a daily or monthly quota, spend what is left of it evenly until it resets, instead of as fast as the rate allows (then the run waits for the quota to return)"
                        value=form.spread_quota
                    />
                </div>
                <div class="field">
                    <label for="concurrency">"Concurrency"</label>
                    <UnitInput id="concurrency" mode="numeric" unit="tasks" value=form.concurrency />
                </div>
                <div class="field">
                    <label for="timeout">"Timeout"</label>
                    <UnitInput
                        id="timeout"
                        mode="decimal"
                        unit="s"
                        title="A request with no complete answer by then is aborted and retried"
                        value=form.timeout
                    />
                </div>
                <div class="field">
                    <label for="max-attempts">"Attempts"</label>
                    <UnitInput
                        id="max-attempts"
                        mode="numeric"
                        unit="per image"
                        title="Sends per image before a 5xx, network error, timeout or bad answer fails it (429s have their own budget)"
                        value=form.attempts
                    />
                </div>
                <ShareSettings />
            </div>
        </section>
    }
}
