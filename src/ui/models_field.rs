//! The model ids: free-entry comma-separated text (the test interface) with
//! a datalist and one toggle chip per known model beside it.

use leptos::prelude::*;
use pacer_core::api::KNOWN_MODELS;
use pacer_core::input::parse_models;

use super::form_state::FormState;

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
        </div>
    }
}

#[cfg(test)]
mod tests {
    use super::toggle;

    #[test]
    fn toggles_models() {
        assert_eq!(toggle("a,b", "c"), "a,b,c");
        assert_eq!(toggle("a, b ,c", "b"), "a,c");
        assert_eq!(toggle("", "a"), "a");
        assert_eq!(toggle("a", "a"), "");
    }
}
