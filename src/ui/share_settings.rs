//! "Share settings": a link to this page with the form's settings in its
//! query string (never the key), put on the clipboard and shown, so that it
//! can also be copied by hand where the browser has no clipboard access.

use leptos::prelude::*;
use wasm_bindgen_futures::spawn_local;

use super::form_state::FormState;
use super::page_location::share_link;
use crate::browser::copy_text;

/// The share button, and once pressed, the link and whether it was copied.
#[component]
pub fn ShareSettings() -> impl IntoView {
    let form = expect_context::<FormState>();
    let link = Memo::new(move |_| share_link(&form.settings()));
    let shown = RwSignal::new(false);
    let status = RwSignal::new("");
    // A copied link no longer matches once a setting changes.
    Effect::new(move |first: Option<()>| {
        link.track();
        if first.is_some() {
            status.set("");
        }
    });
    let on_share = move |_| {
        shown.set(true);
        let text = link.get_untracked();
        spawn_local(async move {
            status.set(if copy_text(&text).await {
                "Link copied to the clipboard."
            } else {
                "Copy the link above to share these settings."
            });
        });
    };
    view! {
        <div class="field field-wide share">
            <div class="share-row">
                <button
                    type="button"
                    class="btn btn-small"
                    data-testid="share-settings"
                    aria-controls="share-url"
                    aria-expanded=move || shown.get().to_string()
                    title="Copy a link that opens Pacer with these settings (never the key)"
                    on:click=on_share
                >
                    "Share settings"
                </button>
                <span class="hint">
                    "Remembered in this browser for your next visit; the link carries them too. Neither holds the key."
                </span>
            </div>
            <Show when=move || shown.get()>
                <label class="sr-only" for="share-url">
                    "Link with these settings"
                </label>
                <input
                    id="share-url"
                    data-testid="share-url"
                    type="url"
                    readonly
                    spellcheck="false"
                    prop:value=move || link.get()
                />
                <p class="hint" role="status">
                    {move || status.get()}
                </p>
            </Show>
        </div>
    }
}
