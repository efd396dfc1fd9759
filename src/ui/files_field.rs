//! Local images: chosen or dropped on the drop zone (`files`), each
//! downscaled and re-encoded in the browser (see `browser::image`), a few
//! at a time so that 500 files keep the page responsive. Files that cannot
//! be sent are named with the reason and nothing else is disturbed.

use futures::StreamExt;
use leptos::prelude::*;
use wasm_bindgen_futures::spawn_local;

use super::form_state::FormState;
use crate::browser::{human_bytes, prepare, release, take_chosen_files, ImageRefused};
use crate::run::{NoticeLevel, RunHandle};

/// Files decoded and encoded at once.
const PREPARED_AT_ONCE: usize = 4;
/// Refused files named in the notice (all are listed under the drop zone).
const NAMED_IN_NOTICE: usize = 3;

/// "2 files were skipped: a.txt: not an image …" for the notice.
pub fn refused_text(refused: &[ImageRefused]) -> String {
    let named: Vec<String> = refused
        .iter()
        .take(NAMED_IN_NOTICE)
        .map(|r| format!("{}: {}", r.name, r.reason))
        .collect();
    let more = refused.len().saturating_sub(NAMED_IN_NOTICE);
    let tail = if more > 0 {
        format!("; and {more} more (listed under the drop zone)")
    } else {
        String::new()
    };
    match refused.len() {
        1 => format!("1 file was skipped: {}.", named[0]),
        n => format!("{n} files were skipped: {}{tail}.", named.join("; ")),
    }
}

/// The drop zone, what it holds, and what it refused.
#[component]
pub fn FilesField() -> impl IntoView {
    let form = expect_context::<FormState>();
    let run = expect_context::<RunHandle>();
    let refused = RwSignal::new(Vec::<ImageRefused>::new());
    let over = RwSignal::new(false);
    let on_change = move |ev: leptos::ev::Event| {
        over.set(false);
        let files = take_chosen_files(&ev);
        if files.is_empty() {
            return;
        }
        form.preparing.update(|n| *n += files.len());
        spawn_local(async move {
            let mut bad = Vec::new();
            let mut prepared = futures::stream::iter(files)
                .map(|file| async move { prepare(&file).await })
                .buffered(PREPARED_AT_ONCE);
            while let Some(result) = prepared.next().await {
                form.preparing.update(|n| *n = n.saturating_sub(1));
                match result {
                    Ok(image) => form.files.update(|files| files.push(image)),
                    Err(why) => bad.push(why),
                }
            }
            if !bad.is_empty() {
                run.say(NoticeLevel::Warning, &refused_text(&bad));
                refused.update(|all| all.extend(bad));
            }
        });
    };
    let clear = move |_| {
        let files = form.files.try_update(std::mem::take).unwrap_or_default();
        // Thumbnails of a run in progress keep their object URLs.
        if run.items.with_untracked(|rows| rows.is_empty()) {
            for f in &files {
                release(&f.object_url);
            }
        }
        refused.set(Vec::new());
    };
    let ready = move || {
        form.files.with(|files| {
            let bytes: usize = files.iter().map(|f| f.jpeg.len()).sum();
            (files.len(), bytes)
        })
    };
    let summary = move || {
        let (n, bytes) = ready();
        let preparing = form.preparing.get();
        let mut parts = Vec::new();
        if n > 0 {
            let noun = if n == 1 { "file" } else { "files" };
            parts.push(format!(
                "{n} {noun} ready ({} to send)",
                human_bytes(bytes as f64)
            ));
        }
        if preparing > 0 {
            parts.push(format!("preparing {preparing}…"));
        }
        parts.join(" · ")
    };
    view! {
        <div class="dropzone" class:over=move || over.get()>
            <input
                id="files"
                data-testid="files"
                type="file"
                accept="image/*"
                multiple
                aria-describedby="files-help"
                on:change=on_change
                on:dragenter=move |_| over.set(true)
                on:dragleave=move |_| over.set(false)
                on:drop=move |_| over.set(false)
            />
            <label for="files">
                <span class="dropzone-title">"Drop image files here, or click to choose"</span>
                <span class="muted" id="files-help">
                    "Each is downscaled to 600 px on its short side and sent as JPEG"
                </span>
            </label>
        </div>
        <Show when=move || ready().0 != 0 || form.preparing.get() != 0>
            <p class="files-summary" data-testid="files-summary" aria-live="polite">
                <span>{summary}</span>
                <button type="button" class="link-btn" on:click=clear>
                    "Remove files"
                </button>
            </p>
        </Show>
        <Show when=move || refused.with(|r| !r.is_empty())>
            <div class="invalid-box" data-testid="files-refused">
                <p class="invalid-title">
                    {move || refused.with(|r| format!("Skipped {} file(s):", r.len()))}
                </p>
                <ul class="invalid-list">
                    {move || {
                        refused
                            .get()
                            .into_iter()
                            .map(|r| view! { <li><strong>{r.name}</strong>": "{r.reason}</li> })
                            .collect_view()
                    }}
                </ul>
            </div>
        </Show>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refused(name: &str) -> ImageRefused {
        ImageRefused {
            name: name.into(),
            reason: "not an image".into(),
        }
    }

    #[test]
    fn names_the_first_refused_files() {
        assert_eq!(
            refused_text(&[refused("a.txt")]),
            "1 file was skipped: a.txt: not an image."
        );
        let five: Vec<_> = ["a", "b", "c", "d", "e"].map(refused).into();
        assert_eq!(
            refused_text(&five),
            "5 files were skipped: a: not an image; b: not an image; c: not an image; \
             and 2 more (listed under the drop zone)."
        );
    }
}
