//! The input card: the URL box with its live summary, the sample loader and
//! the local-file drop zone.

use leptos::prelude::*;

use super::files_field::FilesField;
use super::form_state::FormState;
use super::inputs::Check;
use super::job_files::JobFiles;
use crate::browser::pasted_into_textarea;

/// How many invalid entries are listed by name.
const SHOWN_INVALID: usize = 50;
/// The emulator's sample images are numbered 0001..=9999.
const MAX_SAMPLES: usize = 9_999;
/// A list of this many lines or more is held rather than shown in the box:
/// the browser lays out a textarea's whole text before it paints, ~1.5 s
/// for 100 000 URLs (a Chromium trace: Layout 946 ms, UpdateLayoutTree
/// 354 ms, PrePaint 229 ms), while Pacer reads them in ~0.2 s.
const HELD_FROM_LINES: usize = 5_000;

/// `text` with its UTF-16 range `start..end` (a textarea's selection)
/// replaced by `insert`: what a paste makes of the box.
fn splice_utf16(text: &str, start: u32, end: u32, insert: &str) -> String {
    let byte_at = |unit: u32| {
        let mut units = 0;
        for (i, c) in text.char_indices() {
            if units >= unit as usize {
                return i;
            }
            units += c.len_utf16();
        }
        text.len()
    };
    let (start, end) = (byte_at(start.min(end)), byte_at(end.max(start)));
    [&text[..start], insert, &text[end..]].concat()
}

/// True when `text` has too many lines to show in the box quickly.
fn held(text: &str) -> bool {
    // Lines are the line breaks and one.
    let breaks = HELD_FROM_LINES - 1;
    text.bytes().filter(|&b| b == b'\n').take(breaks).count() >= breaks
}

/// `{endpoint}/samples/img-NNNN.jpg` for NNNN = 0001..=count, one per line.
pub fn sample_urls(endpoint: &str, count: usize) -> String {
    let base = endpoint.trim().trim_end_matches('/');
    (1..=count.min(MAX_SAMPLES))
        .map(|n| format!("{base}/samples/img-{n:04}.jpg"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// The input card.
#[component]
pub fn UrlInput() -> impl IntoView {
    let form = expect_context::<FormState>();
    let load_samples = move |_| {
        let count = form
            .sample_count
            .with_untracked(|c| c.trim().parse::<f64>().ok())
            .filter(|c| c.is_finite() && *c >= 1.0)
            .map_or(40, |c| c as usize);
        let urls = sample_urls(&form.endpoint.get_untracked(), count);
        form.urls.set(urls);
    };
    // A long list stays out of the box (which shows a note instead) unless
    // the user asks to see it there.
    let long_lines = Memo::new(move |_| form.urls.with(|t| held(t).then(|| t.lines().count())));
    let long = move || long_lines.get().is_some();
    let reveal = RwSignal::new(false);
    Effect::new(move |_| {
        if !long() {
            reveal.set(false);
        }
    });
    let hidden = move || long() && !reveal.get();
    let placeholder = move || match long_lines.get() {
        Some(n) if !reveal.get() => {
            format!("{n} lines held, not shown (see below).\nTyping or pasting here replaces them.")
        }
        _ => "https://example.com/kitchen.jpg\nhttps://example.com/facade.jpg".to_owned(),
    };
    view! {
        <section class="card" aria-labelledby="input-title">
            <h2 id="input-title" class="card-title">"Images"</h2>
            <div class="field field-wide">
                <label for="urls">"Image URLs"</label>
                <textarea
                    id="urls"
                    data-testid="urls"
                    rows="8"
                    wrap="off"
                    spellcheck="false"
                    placeholder=placeholder
                    aria-describedby=move || hidden().then_some("urls-held")
                    prop:value=move || if hidden() { String::new() } else { form.urls.get() }
                    on:input=move |ev| form.urls.set(event_target_value(&ev))
                    on:paste=move |ev| {
                        // A paste that makes the list long goes straight to
                        // the list: the browser's own insertion of that
                        // many lines into a textarea takes seconds.
                        let Some((text, start, end)) = pasted_into_textarea(&ev) else {
                            return;
                        };
                        let shown = if untrack(hidden) { String::new() } else { form.urls.get_untracked() };
                        let next = splice_utf16(&shown, start, end, &text);
                        if held(&next) {
                            ev.prevent_default();
                            form.urls.set(next);
                        }
                    }
                ></textarea>
                <Show when=hidden>
                    <p class="held-note" id="urls-held" data-testid="urls-held">
                        <span>
                            {move || long_lines.get().unwrap_or_default()}
                            " lines are held rather than shown: the box would take seconds to draw them. They are sent as usual."
                        </span>
                        <button type="button" class="btn btn-small" on:click=move |_| reveal.set(true)>
                            "Show it in the box"
                        </button>
                        <button type="button" class="btn btn-small" on:click=move |_| form.urls.set(String::new())>
                            "Clear the list"
                        </button>
                    </p>
                </Show>
                <SourceSummary />
            </div>
            <div class="sample-row">
                <button type="button" class="btn" data-testid="load-samples" on:click=load_samples>
                    "Load sample images"
                </button>
                <label class="inline-label">
                    <input
                        class="small-number"
                        data-testid="sample-count"
                        type="number"
                        min="1"
                        max="9999"
                        step="1"
                        aria-label="Number of sample images"
                        prop:value=move || form.sample_count.get()
                        on:input=move |ev| form.sample_count.set(event_target_value(&ev))
                    />
                    <span class="muted">"images"</span>
                </label>
            </div>
            <FilesField />
            <JobFiles />
        </section>
    }
}

/// "N valid · M invalid" under the URL box, and the invalid entries by line.
#[component]
fn SourceSummary() -> impl IntoView {
    let form = expect_context::<FormState>();
    let sources = form.sources;
    let counts = move || {
        sources.with(|s| {
            let mut text = format!("{} valid · {} invalid", s.valid.len(), s.invalid.len());
            if s.duplicates > 0 {
                let fate = if form.allow_duplicates.get() {
                    "kept"
                } else {
                    "skipped"
                };
                text.push_str(&format!(" · {} duplicate(s) {fate}", s.duplicates));
            }
            text
        })
    };
    let invalid_list = move || {
        sources.with(|s| {
            let more = s.invalid.len().saturating_sub(SHOWN_INVALID);
            let items = s
                .invalid
                .iter()
                .take(SHOWN_INVALID)
                .map(|e| {
                    view! {
                        <li>
                            <span class="line-no">{format!("line {}", e.line)}</span>
                            <code class="bad-entry" title=e.text.clone()>{e.text.clone()}</code>
                            <span class="muted">{e.reason}</span>
                        </li>
                    }
                })
                .collect_view();
            (!s.invalid.is_empty()).then(|| {
                view! {
                    <div class="invalid-box">
                        <p class="invalid-title">"Not sent (invalid):"</p>
                        <ul class="invalid-list">
                            {items}
                            {(more > 0).then(|| view! { <li class="muted">{format!("… and {more} more")}</li> })}
                        </ul>
                    </div>
                }
            })
        })
    };
    view! {
        <p
            class="source-summary"
            class:has-invalid=move || sources.with(|s| !s.invalid.is_empty())
            class:no-valid=move || sources.with(|s| s.valid.is_empty())
        >
            {counts}
        </p>
        <Show when=move || sources.with(|s| s.duplicates > 0) || form.allow_duplicates.get()>
            <Check
                testid="allow-duplicates"
                label="Send duplicates too"
                title="An image listed more than once is sent once per listing"
                value=form.allow_duplicates
            />
        </Show>
        {invalid_list}
    }
}

#[cfg(test)]
mod tests {
    use super::{held, sample_urls, splice_utf16, HELD_FROM_LINES};

    #[test]
    fn a_paste_replaces_the_selection_counted_in_utf16() {
        assert_eq!(splice_utf16("", 0, 0, "a\nb"), "a\nb");
        assert_eq!(splice_utf16("abc", 1, 2, "XY"), "aXYc");
        assert_eq!(splice_utf16("abc", 3, 3, "!"), "abc!");
        // "é" is one unit, "😀" two: units 3..4 are the "x" after them.
        assert_eq!(splice_utf16("é😀x", 3, 4, "-"), "é😀-");
        // Out of range and reversed selections are clamped.
        assert_eq!(splice_utf16("ab", 9, 1, "-"), "a-");
    }

    #[test]
    fn long_lists_are_held() {
        assert!(!held(""));
        let lines = |n: usize| vec!["u"; n].join("\n");
        assert!(!held(&lines(HELD_FROM_LINES - 1)));
        assert!(held(&lines(HELD_FROM_LINES)));
    }

    #[test]
    fn sample_urls_are_numbered_from_one() {
        assert_eq!(
            sample_urls("http://127.0.0.1:8080/", 2),
            "http://127.0.0.1:8080/samples/img-0001.jpg\nhttp://127.0.0.1:8080/samples/img-0002.jpg"
        );
        assert_eq!(sample_urls("http://h", 0), "");
        assert_eq!(sample_urls("http://h", 40).lines().count(), 40);
        assert!(sample_urls("http://h", 40).ends_with("img-0040.jpg"));
        assert_eq!(sample_urls("http://h", 20_000).lines().count(), 9_999);
    }
}
