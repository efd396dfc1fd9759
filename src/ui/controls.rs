//! The run controls and the run-state badge.
//!
//! A pressed control that becomes disabled (Start once running, Pause once
//! paused, ...) hands the keyboard focus to the control that undoes it, so
//! that a keyboard user is not dropped back to the top of the page.

use leptos::html::Button;
use leptos::prelude::*;

use super::form_state::FormState;
use super::validate::missing;
use crate::run::{next_state, Command, ExportFormat, Notice, NoticeLevel, RunHandle, RunState};

/// Once the page has redrawn: if `pressed` is now disabled, focuses `next`
/// (when enabled).
fn pass_focus(pressed: NodeRef<Button>, next: NodeRef<Button>) {
    request_animation_frame(move || {
        let (Some(pressed), Some(next)) = (pressed.get_untracked(), next.get_untracked()) else {
            return;
        };
        if pressed.disabled() && !next.disabled() {
            let _ = next.focus();
        }
    });
}

/// Start, pause, resume, cancel, retry, clear, exports, and `run-state`.
#[component]
pub fn Controls() -> impl IntoView {
    let run = expect_context::<RunHandle>();
    let form = expect_context::<FormState>();
    let [start_btn, pause_btn, resume_btn, cancel_btn, retry_btn, clear_btn] =
        std::array::from_fn(|_| NodeRef::<Button>::new());
    let state = run.state;
    // What each state allows is decided in one place (`run::next_state`).
    let allows = move |command: Command| next_state(state.get(), command).is_some();
    let startable_state = move || allows(Command::Start);
    let blocker = Memo::new(move |_| form.with_input(missing));
    // Start stays pressable while the form is incomplete: pressing it says
    // what is missing in the notice (a disabled button explains nothing).
    let can_start = startable_state;
    let start_title = move || match blocker.get() {
        Some(why) if startable_state() => why.to_owned(),
        _ => "Start sending at the allotted rate".to_owned(),
    };
    let on_start = move |_| match form.start_request() {
        Ok(request) => {
            run.notice.set(None);
            run.input_note.set(request.notice.map(|n| n.text));
            run.start(
                request.settings,
                request.sources,
                form.files.get_untracked(),
            );
            pass_focus(start_btn, pause_btn);
        }
        Err(text) => run.notice.set(Some(Notice {
            level: NoticeLevel::Error,
            text,
        })),
    };
    // Resume lifts a pause, or sends what a saved run had left (with the
    // form's settings, so a key typed after the reload applies).
    let on_resume = move |_| {
        if state.get_untracked() != RunState::Interrupted {
            run.resume();
            pass_focus(resume_btn, pause_btn);
            return;
        }
        match form.resume_request() {
            Ok(request) => {
                run.resume_saved(request.settings);
                pass_focus(resume_btn, pause_btn);
            }
            Err(text) => run.notice.set(Some(Notice {
                level: NoticeLevel::Error,
                text,
            })),
        }
    };
    let resumable = move || allows(Command::Resume);
    let running = move || allows(Command::Pause);
    let busy = move || !allows(Command::Clear);
    let has_rows = move || run.items.with(|rows| !rows.is_empty());
    view! {
        <div class="run-bar">
            <div class="run-title">
                <h2 class="card-title">"Run"</h2>
                <span
                    data-testid="run-state"
                    class=move || format!("badge badge-{}", state.get().as_str())
                >
                    {move || state.get().as_str()}
                </span>
                // While the run waits for a quota: when it returns, counting down.
                {move || {
                    run.quota
                        .get()
                        .map(|q| {
                            view! {
                                <span class="quota-wait" data-testid="quota-wait">
                                    "quota returns in "
                                    <strong data-testid="quota-countdown">{q.left}</strong>
                                </span>
                            }
                        })
                }}
                <Show when=move || startable_state() && blocker.get().is_some()>
                    <span class="start-hint" data-testid="start-hint">
                        {move || blocker.get().map(|why| format!("Before starting: {why}."))}
                    </span>
                </Show>
            </div>
            <div class="controls" role="toolbar" aria-label="Run controls">
                <button
                    type="button"
                    class="btn btn-primary"
                    data-testid="start"
                    node_ref=start_btn
                    disabled=move || !can_start()
                    title=start_title
                    on:click=on_start
                >
                    "Start"
                </button>
                <button
                    type="button"
                    class="btn"
                    data-testid="pause"
                    node_ref=pause_btn
                    disabled=move || !running()
                    title="Send nothing new; requests on the wire finish"
                    on:click=move |_| {
                        run.pause();
                        pass_focus(pause_btn, resume_btn);
                    }
                >
                    "Pause"
                </button>
                <button
                    type="button"
                    class="btn"
                    data-testid="resume"
                    node_ref=resume_btn
                    disabled=move || !resumable()
                    title="Go on sending (after a reload: send what the saved run had left)"
                    on:click=on_resume
                >
                    "Resume"
                </button>
                <button
                    type="button"
                    class="btn btn-danger"
                    data-testid="cancel"
                    node_ref=cancel_btn
                    disabled=move || !allows(Command::Cancel)
                    title="Abort the requests on the wire and send nothing more"
                    on:click=move |_| {
                        run.cancel();
                        pass_focus(cancel_btn, start_btn);
                    }
                >
                    "Cancel"
                </button>
                <span class="controls-sep" aria-hidden="true"></span>
                <button
                    type="button"
                    class="btn"
                    data-testid="retry-failed"
                    node_ref=retry_btn
                    disabled=move || !allows(Command::RetryFailed) || run.stats.with(|s| s.failed == 0)
                    title="Send the failed items again"
                    on:click=move |_| {
                        run.retry_failed();
                        pass_focus(retry_btn, pause_btn);
                    }
                >
                    "Retry failed"
                </button>
                <button
                    type="button"
                    class="btn"
                    data-testid="clear"
                    node_ref=clear_btn
                    disabled=busy
                    title="Clear the results"
                    on:click=move |_| {
                        run.clear();
                        pass_focus(clear_btn, start_btn);
                    }
                >
                    "Clear"
                </button>
                <button
                    type="button"
                    class="btn"
                    data-testid="export-csv"
                    disabled=move || !has_rows()
                    title="Download one row per image × model as CSV (never the key)"
                    on:click=move |_| run.export(ExportFormat::Csv)
                >
                    "CSV"
                </button>
                <button
                    type="button"
                    class="btn"
                    data-testid="export-json"
                    disabled=move || !has_rows()
                    title="Download the full responses and timings as JSON (never the key)"
                    on:click=move |_| run.export(ExportFormat::Json)
                >
                    "JSON"
                </button>
            </div>
        </div>
    }
}
