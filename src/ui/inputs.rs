//! Small input pieces the forms share: a text field with its unit, and a
//! labelled checkbox, each bound to one signal.

use leptos::prelude::*;

/// A text input (its `id` is also its test id) followed by its unit.
/// Typed as text with an `inputmode`, so that anything typed reaches the
/// form's validation and its message.
#[component]
pub fn UnitInput(
    /// Element id and `data-testid`.
    id: &'static str,
    /// `decimal` or `numeric`.
    mode: &'static str,
    /// Shown after the field.
    unit: &'static str,
    /// The field's text.
    value: RwSignal<String>,
    /// Tooltip.
    #[prop(optional)]
    title: &'static str,
) -> impl IntoView {
    let unit_id = format!("{id}-unit");
    view! {
        <div class="input-unit">
            <input
                id=id
                data-testid=id
                type="text"
                inputmode=mode
                aria-describedby=unit_id.clone()
                title=(!title.is_empty()).then_some(title)
                prop:value=move || value.get()
                on:input=move |ev| value.set(event_target_value(&ev))
            />
            <span class="unit" id=unit_id>{unit}</span>
        </div>
    }
}

/// A checkbox with its label text.
#[component]
pub fn Check(
    /// `data-testid`.
    testid: &'static str,
    /// The label after the box.
    label: &'static str,
    /// Tooltip.
    title: &'static str,
    /// Ticked or not.
    value: RwSignal<bool>,
) -> impl IntoView {
    view! {
        <label class="check" title=title>
            <input
                type="checkbox"
                data-testid=testid
                prop:checked=move || value.get()
                on:change=move |ev| value.set(event_target_checked(&ev))
            />
            " "
            {label}
        </label>
    }
}
