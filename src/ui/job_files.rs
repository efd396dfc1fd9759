//! Job files in the images card: import a list of image URLs from a CSV or
//! JSON file (with the column to use), import a Pacer job to continue it,
//! and export the current run as one job file or split into N.

use leptos::prelude::*;
use pacer_core::input::parse_models;
use wasm_bindgen_futures::spawn_local;

use super::form_state::FormState;
use super::validate::{
    parse_attempts, parse_concurrency, parse_rate, parse_timeout_ms, MAX_ATTEMPTS, MAX_CONCURRENCY,
};
use crate::browser::{download, read_text, take_chosen_files};
use crate::run::{parse_import, Imported, NoticeLevel, RunHandle, RunState, SavedSettings, Table};

/// The form's settings as a job keeps them (never the key); fields that do
/// not parse fall back to the defaults.
fn job_settings(form: &FormState) -> SavedSettings {
    let endpoint = form
        .endpoint
        .get_untracked()
        .trim()
        .trim_end_matches('/')
        .to_owned();
    SavedSettings {
        endpoint,
        models: parse_models(&form.models.get_untracked()),
        per_model: form.per_model.get_untracked(),
        rate: parse_rate(&form.rate.get_untracked()).unwrap_or(4.0),
        concurrency: parse_concurrency(&form.concurrency.get_untracked())
            .map_or(6, |n| n.clamp(1, MAX_CONCURRENCY as i64) as usize),
        auto_rate: form.auto_rate.get_untracked(),
        spread_quota: form.spread_quota.get_untracked(),
        timeout_ms: parse_timeout_ms(&form.timeout.get_untracked()).unwrap_or(30_000),
        max_attempts: parse_attempts(&form.attempts.get_untracked())
            .map_or(5, |n| n.min(MAX_ATTEMPTS) as u32),
    }
}

/// "photo (120 URLs)" for the column picker.
fn column_label(table: &Table, column: usize, urls: usize) -> String {
    format!("{} ({urls} URLs)", table.headers[column])
}

/// Import and export of job files.
#[component]
pub fn JobFiles() -> impl IntoView {
    let form = expect_context::<FormState>();
    let run = expect_context::<RunHandle>();
    let table = RwSignal::new(None::<(String, Table)>);
    let column = RwSignal::new(0_usize);
    let parts = RwSignal::new("1".to_owned());
    let use_column = move |c: usize| {
        column.set(c);
        table.with_untracked(|t| {
            if let Some((name, t)) = t {
                let urls = t.column(c);
                form.urls.set(urls.join("\n"));
                run.say(
                    NoticeLevel::Info,
                    &format!(
                        "{} entries from column \u{201c}{}\u{201d} of {name} are in the URL box.",
                        urls.len(),
                        t.headers[c]
                    ),
                );
            }
        });
    };
    let on_import = move |ev: leptos::ev::Event| {
        let Some(file) = take_chosen_files(&ev).into_iter().next() else {
            return;
        };
        spawn_local(async move {
            let name = file.name();
            let imported = match read_text(&file).await {
                Ok(text) => parse_import(&name, &text),
                Err(e) => Err(format!("{name} could not be read ({e}).")),
            };
            match imported {
                Err(why) => run.say(NoticeLevel::Error, &why),
                Ok(Imported::Job(job)) => {
                    table.set(None);
                    let part = job
                        .part
                        .map(|(k, n)| format!(" (part {k} of {n})"))
                        .unwrap_or_default();
                    let mended: String = job.notes.iter().map(|n| format!(" {n}")).collect();
                    let endpoint = job.run.settings.endpoint.clone();
                    let cleared = StoredValue::new(None::<String>);
                    // Said once the run is on show: what the form had to
                    // clear and what the reader left out come from there.
                    let say_imported = move || {
                        let cleared = cleared
                            .get_value()
                            .map(|c| format!(" {c}"))
                            .unwrap_or_default();
                        let level = if mended.is_empty() && cleared.is_empty() {
                            NoticeLevel::Info
                        } else {
                            NoticeLevel::Warning
                        };
                        let next = if run.state.get_untracked() == RunState::Interrupted {
                            "Enter the key and press Resume to send what it has left."
                        } else {
                            "Every image in it had ended; nothing is left to send."
                        };
                        run.say(
                            level,
                            &format!(
                                "Job {name}{part} imported; it sends to {endpoint}.{cleared} \
                                 {next}{mended}"
                            ),
                        );
                    };
                    let result = run.import_job(
                        *job,
                        move |settings, urls| {
                            cleared.set_value(form.apply_saved(settings, urls));
                        },
                        say_imported,
                    );
                    if let Err(why) = result {
                        run.say(NoticeLevel::Error, &why);
                    }
                }
                Ok(Imported::Table(t)) => {
                    let best = t.url_columns().first().map(|&(c, _)| c);
                    match best {
                        None => run.say(
                            NoticeLevel::Error,
                            &format!("{name} has no column of http(s) image URLs."),
                        ),
                        Some(c) => {
                            table.set(Some((name, t)));
                            use_column(c);
                        }
                    }
                }
            }
        });
    };
    let on_export = move |_| {
        let n = parts
            .with_untracked(|p| p.trim().parse::<usize>().ok())
            .unwrap_or(1)
            .max(1);
        match run.job_files(job_settings(&form), n) {
            None => run.say(
                NoticeLevel::Info,
                "There is no run to export yet: start one first.",
            ),
            Some(files) => {
                for (name, json) in files {
                    if let Err(e) = download(&name, "application/json", &json) {
                        run.say(
                            NoticeLevel::Error,
                            &format!("{name} could not be saved: {e}"),
                        );
                    }
                }
            }
        }
    };
    let has_run = move || run.state.get() != RunState::Idle;
    view! {
        <div class="job-files">
            <label class="btn btn-file">
                "Import list or job…"
                <input
                    type="file"
                    accept=".csv,.json,.txt,text/csv,application/json"
                    data-testid="import-file"
                    class="sr-only"
                    on:change=on_import
                />
            </label>
            <Show when=move || table.with(|t| t.as_ref().is_some_and(|(_, t)| t.url_columns().len() > 1))>
                <label class="inline-label">
                    "Column"
                    <select
                        data-testid="import-column"
                        on:change=move |ev| {
                            if let Ok(c) = event_target_value(&ev).parse() {
                                use_column(c);
                            }
                        }
                    >
                        {move || {
                            table
                                .with(|t| {
                                    t.as_ref()
                                        .map(|(_, t)| {
                                            t.url_columns()
                                                .into_iter()
                                                .map(|(c, n)| {
                                                    view! {
                                                        <option value=c.to_string() selected=move || column.get() == c>
                                                            {column_label(t, c, n)}
                                                        </option>
                                                    }
                                                })
                                                .collect_view()
                                        })
                                })
                        }}
                    </select>
                </label>
            </Show>
            <span class="job-export">
                <button
                    type="button"
                    class="btn"
                    data-testid="export-job"
                    disabled=move || !has_run()
                    title="Save the run (settings without the key, every item and result) to continue elsewhere"
                    on:click=on_export
                >
                    "Export job"
                </button>
                <label class="inline-label">
                    "in"
                    <input
                        class="small-number"
                        type="text"
                        inputmode="numeric"
                        data-testid="job-parts"
                        aria-label="Number of job files"
                        prop:value=move || parts.get()
                        on:input=move |ev| parts.set(event_target_value(&ev))
                    />
                    "file(s)"
                </label>
            </span>
        </div>
    }
}
