//! The model ids: free-entry comma-separated text (the test interface) with
//! a datalist and one toggle chip per known model beside it.

use leptos::prelude::*;
use pacer_core::api::KNOWN_MODELS;
use pacer_core::input::parse_models;

use super::form_state::FormState;
use super::inputs::Check;

/// Adds `model` to the comma-separated list, or removes it if present.
fn toggle(models: &str, model: &str) -> String {
    let mut list = parse_models(models);
    match list.iter().position(|m| m == model) {
        Some(i) => {
            list.remove(i);
        }
        None => list.push(model.to_owned()),
    }
    list.join(",")
}

/// What the calls will be, under the per-model box.
fn per_model_hint(per_model: bool, models: usize) -> String {
    match (per_model, models) {
        (true, n) if n > 1 => {
            format!("{n} calls per image, one per model; each counts against the rate.")
        }
        (true, _) => "One call per image and model; each counts against the rate.".to_owned(),
        (false, n) if n > 1 => format!("One multipredict call per image asks for all {n} models."),
        (false, _) => "One call per image.".to_owned(),
    }
}

/// The `model-ids` input with its datalist and known-model chips.
#[component]
pub fn ModelsField() -> impl IntoView {
    let form = expect_context::<FormState>();
    let chosen = Memo::new(move |_| form.models.with(|m| parse_models(m)));
    let chips = KNOWN_MODELS
        .iter()
        .map(|model| {
            let model = *model;
            let on = move || chosen.with(|list| list.iter().any(|m| m == model));
            view! {
                <button
                    type="button"
                    class="chip chip-toggle"
                    class:on=on
                    aria-pressed=move || on().to_string()
                    on:click=move |_| form.models.update(|m| *m = toggle(m, model))
                >
                    {model}
                </button>
            }
        })
        .collect_view();
    view! {
        <div class="field field-wide">
            <label for="model-ids">"Models"</label>
            <input
                id="model-ids"
                data-testid="model-ids"
                type="text"
                list="known-models"
                autocomplete="off"
                spellcheck="false"
                placeholder="re_roomtype_global_v2,re_features_v4"
                prop:value=move || form.models.get()
                on:input=move |ev| form.models.set(event_target_value(&ev))
            />
            <datalist id="known-models">
                {KNOWN_MODELS.iter().map(|m| view! { <option value=*m></option> }).collect_view()}
            </datalist>
            <div class="chips" role="group" aria-label="Known models">
                {chips}
            </div>
            <Check
                testid="per-model"
                label="One call per model"
                title="Send each image once per model, each call asking for one model (as the original client queued image × model pairs), instead of one multipredict call per image"
                value=form.per_model
            />
            <p class="hint">{move || per_model_hint(form.per_model.get(), chosen.with(Vec::len))}</p>
        </div>
    }
}

#[cfg(test)]
mod tests {
    use super::toggle;

    #[test]
    fn the_hint_counts_calls() {
        assert_eq!(
            super::per_model_hint(true, 3),
            "3 calls per image, one per model; each counts against the rate."
        );
        assert!(super::per_model_hint(false, 2).contains("all 2 models"));
    }

    #[test]
    fn toggles_models() {
        assert_eq!(toggle("a,b", "c"), "a,b,c");
        assert_eq!(toggle("a, b ,c", "b"), "a,c");
        assert_eq!(toggle("", "a"), "a");
        assert_eq!(toggle("a", "a"), "");
    }
}
