//! The input card: the URL box with its live summary, the sample loader and
//! the local-file drop zone.

use leptos::prelude::*;

use super::files_field::FilesField;
use super::form_state::FormState;
use super::inputs::Check;
use super::job_files::JobFiles;

/// How many invalid entries are listed by name.
const SHOWN_INVALID: usize = 50;
/// The emulator's sample images are numbered 0001..=9999.
const MAX_SAMPLES: usize = 9_999;

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
                    placeholder="https://example.com/kitchen.jpg\nhttps://example.com/facade.jpg"
                    prop:value=move || form.urls.get()
                    on:input=move |ev| form.urls.set(event_target_value(&ev))
                ></textarea>
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
    use super::sample_urls;

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
