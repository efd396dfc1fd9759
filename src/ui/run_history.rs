//! The run history: every run saved in this browser, newest first, with
//! what it is now (running here or in another tab, interrupted, finished),
//! its counts, and open / resume / export / delete; and how much of the
//! browser's storage the page uses, with an offer to delete old runs when
//! it runs short.

use leptos::prelude::*;

use super::form_state::FormState;
use crate::browser::{human_bytes, unix_now};
use crate::run::{ExportFormat, HistoryEntry, HistoryState, Notice, NoticeLevel, RunHandle, RunId};

/// Runs kept whatever their age when storage runs short.
const KEEP_NEWEST: usize = 3;

/// "12 min ago" for a run started at `started_ms`.
fn started_text(started_ms: f64) -> String {
    crate::run::when_text(started_ms, unix_now().as_secs_f64() * 1000.0)
}

/// "72 KB", "3.4 MB", "10.0 GB".
fn bytes_text(bytes: f64) -> String {
    const GB: f64 = 1024.0 * 1024.0 * 1024.0;
    if bytes >= GB {
        format!("{:.1} GB", bytes / GB)
    } else {
        human_bytes(bytes)
    }
}

/// How the state reads in the list.
fn state_label(state: HistoryState) -> &'static str {
    match state {
        HistoryState::Running => "running here",
        HistoryState::RunningElsewhere => "running in another tab",
        HistoryState::Paused => "paused",
        HistoryState::WaitingForQuota => "waiting for quota",
        HistoryState::LeftWaiting => "left waiting for quota",
        HistoryState::Interrupted => "interrupted",
        HistoryState::Done => "done",
        HistoryState::Cancelled => "cancelled",
    }
}

/// The saved runs, the storage they take, and their actions.
#[component]
pub fn RunHistory() -> impl IntoView {
    let run = expect_context::<RunHandle>();
    let history = run.history;
    let storage = run.storage;
    let short = move || {
        storage
            .get()
            .is_some_and(|s| crate::run::storage_short(s.used, s.quota))
    };
    let old = move || {
        history.with(|h| {
            let runs: Vec<(RunId, f64, HistoryState)> = h
                .iter()
                .map(|e| (e.summary.id.clone(), e.summary.started_unix_ms, e.state))
                .collect();
            crate::run::old_runs(&runs, KEEP_NEWEST)
                .into_iter()
                .cloned()
                .collect::<Vec<_>>()
        })
    };
    let storage_text = move || match storage.get() {
        Some(s) if s.quota > 0.0 => format!(
            "Storage: {} of {} used ({:.1} %)",
            bytes_text(s.used),
            bytes_text(s.quota),
            s.used / s.quota * 100.0
        ),
        _ => String::new(),
    };
    view! {
        <section class="card history-card" data-testid="run-history" aria-label="Run history">
            <div class="card-head">
                <h2 class="card-title">"Run history"</h2>
                <span class="history-storage" data-testid="storage-use">{storage_text}</span>
            </div>
            <Show when=short>
                <div class="history-short" role="status">
                    <span>
                        "This browser's storage for Pacer is nearly full: new runs may not be saved."
                    </span>
                    <Show when=move || !old().is_empty()>
                        <button
                            type="button"
                            class="btn btn-small"
                            data-testid="delete-old-runs"
                            on:click=move |_| {
                                for id in old() {
                                    run.delete(id);
                                }
                            }
                        >
                            {move || format!("Delete {} old finished run(s)", old().len())}
                        </button>
                    </Show>
                </div>
            </Show>
            <Show
                when=move || history.with(|h| !h.is_empty())
                fallback=|| {
                    view! {
                        <p class="history-empty">
                            "No saved runs yet. Each run you start is kept here, so a reload or a "
                            "closed tab loses nothing: resume it, export it, or delete it."
                        </p>
                    }
                }
            >
                <ul class="history-list">
                    <For
                        each=move || history.get()
                        // Redrawn when anything shown of it changes.
                        key=|e| {
                            let s = &e.summary;
                            format!(
                                "{}/{}/{}/{}/{}/{}/{:?}",
                                s.id, e.state.as_str(), s.done, s.failed, s.pending,
                                s.possibly_charged, e.actions
                            )
                        }
                        children=move |entry| view! { <HistoryItem entry=entry /> }
                    />
                </ul>
            </Show>
        </section>
    }
}

/// One saved run.
#[component]
fn HistoryItem(
    /// The run and what it is now.
    entry: HistoryEntry,
) -> impl IntoView {
    let run = expect_context::<RunHandle>();
    let form = expect_context::<FormState>();
    let s = &entry.summary;
    let id = s.id.clone();
    let state = entry.state;
    let actions = entry.actions;
    let models = if s.models.is_empty() {
        "no models".to_owned()
    } else {
        s.models.join(", ")
    };
    let charged = (s.possibly_charged > 0).then(|| {
        view! {
            <span class="history-charged" title="Requests cut off when a page was left: the server may have counted them">
                {format!("{} possibly charged", s.possibly_charged)}
            </span>
        }
    });
    let on_resume = {
        let id = id.clone();
        move |_| match form.resume_request() {
            Ok(request) => run.resume_run(id.clone(), request.settings),
            Err(text) => run.notice.set(Some(Notice {
                level: NoticeLevel::Error,
                text,
            })),
        }
    };
    let (open_id, export_id, delete_id) = (id.clone(), id.clone(), id.clone());
    view! {
        <li
            class=format!("history-item history-{}", state.as_str())
            data-testid="run-history-item"
            data-run-id=id.to_string()
            data-state=state.as_str()
        >
            <div class="history-main">
                <span class=format!("badge badge-{}", state.as_str())>{state_label(state)}</span>
                <span class="history-host">{s.host().to_owned()}</span>
                <span class="history-models" title=models.clone()>{models.clone()}</span>
            </div>
            <div class="history-counts">
                <span class="history-count history-done" data-testid="history-done">
                    <b>{s.done}</b>
                    " done"
                </span>
                <span class="history-count history-failed">
                    <b>{s.failed}</b>
                    " failed"
                </span>
                <span class="history-count history-pending" data-testid="history-pending">
                    <b>{s.pending}</b>
                    " pending"
                </span>
                <span class="history-count">{format!("of {}", s.total)}</span>
                {charged}
                <span class="history-when">
                    {format!("started {}", started_text(s.started_unix_ms))}
                </span>
                <span class="history-owner" title="Which tab carries it out">
                    {format!("owner: {}", state.owner())}
                </span>
            </div>
            <div class="history-actions">
                <button
                    type="button"
                    class="btn btn-small"
                    data-testid="history-open"
                    disabled=!actions.open
                    title="Show its results"
                    on:click=move |_| run.open(open_id.clone())
                >
                    "Open"
                </button>
                <button
                    type="button"
                    class="btn btn-small"
                    data-testid="history-resume"
                    disabled=!actions.resume
                    title="Send what it has left (with the key in the form)"
                    on:click=on_resume
                >
                    "Resume"
                </button>
                <button
                    type="button"
                    class="btn btn-small"
                    data-testid="history-export"
                    disabled=!actions.export
                    title="Download its results as JSON"
                    on:click=move |_| run.export_saved(export_id.clone(), ExportFormat::Json)
                >
                    "Export"
                </button>
                <button
                    type="button"
                    class="btn btn-small btn-danger"
                    data-testid="history-delete"
                    disabled=!actions.delete
                    title="Forget this run"
                    on:click=move |_| run.delete(delete_id.clone())
                >
                    "Delete"
                </button>
            </div>
        </li>
    }
}

#[cfg(test)]
mod tests {
    use super::bytes_text;

    #[test]
    fn quotas_read_in_gigabytes() {
        assert_eq!(bytes_text(10.0 * 1024.0 * 1024.0 * 1024.0), "10.0 GB");
        assert!(bytes_text(2048.0).ends_with("KB"));
    }
}
