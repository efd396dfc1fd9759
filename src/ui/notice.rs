//! The page's current message to the user (`data-testid="notice"`).
//!
//! Always in the DOM, so that tests find it; empty (and visually collapsed)
//! when there is nothing to say. Screen readers hear each new message
//! through the page's live region (see `announcer`), not from here, so that
//! it is said once.

use leptos::prelude::*;

use crate::run::{NoticeLevel, RunHandle};

/// CSS modifier for a level.
fn level_class(level: NoticeLevel) -> &'static str {
    match level {
        NoticeLevel::Info => "notice-info",
        NoticeLevel::Warning => "notice-warning",
        NoticeLevel::Error => "notice-error",
    }
}

/// The notice line: its text, styled by level, with a dismiss button.
#[component]
pub fn NoticeBar() -> impl IntoView {
    let run = expect_context::<RunHandle>();
    let (notice, note, unsaved) = (run.notice, run.input_note, run.save_warning);
    let class = move || {
        notice.with(|n| match n {
            Some(n) => format!("notice {}", level_class(n.level)),
            None if unsaved.with(Option::is_some) => "notice notice-warning".to_owned(),
            None if note.with(Option::is_some) => "notice notice-info".to_owned(),
            None => "notice notice-empty".to_owned(),
        })
    };
    let shown = move || {
        notice.with(Option::is_some) || note.with(Option::is_some) || unsaved.with(Option::is_some)
    };
    view! {
        <div class=class>
            <div class="notice-text" data-testid="notice">
                {move || notice.with(|n| n.as_ref().map(|n| n.text.clone()).unwrap_or_default())}
                // Why the run is not saved stays for as long as it holds:
                // dismissing the notice or starting does not hide it.
                <Show when=move || unsaved.with(Option::is_some)>
                    <span class="notice-unsaved" data-testid="save-warning">
                        {move || unsaved.get().map(|t| format!(" {t}")).unwrap_or_default()}
                    </span>
                </Show>
                <Show when=move || note.with(Option::is_some)>
                    <span class="notice-note">
                        {move || note.get().map(|t| format!(" {t}")).unwrap_or_default()}
                    </span>
                </Show>
            </div>
            <Show when=shown>
                <button
                    type="button"
                    class="notice-close"
                    aria-label="Dismiss message"
                    title="Dismiss"
                    on:click=move |_| {
                        notice.set(None);
                        note.set(None);
                    }
                >
                    "×"
                </button>
            </Show>
        </div>
    }
}
