//! Leptos components: the page and its parts.
//!
//! Owns layout and form state only. Components read the run's live state
//! from the [`RunHandle`] in context and call its methods; they never fetch,
//! time or store anything themselves. The only browser access here is
//! [`page_location`] (the page's origin and query string, and share links),
//! the results list's layout reads (through [`crate::browser::measure`]),
//! lower-casing non-ASCII text for the results filter (through
//! [`crate::browser::lowercase`]) and moving keyboard focus to a result's
//! details and back (through node refs).

mod announcer;
mod controls;
mod endpoint_field;
mod files_field;
mod form_state;
mod inputs;
mod job_files;
mod key_binding;
mod models_field;
mod notice;
mod page_location;
mod predictions;
mod result_detail;
mod result_row;
mod result_view;
mod results_table;
mod run_history;
mod settings_form;
mod share_settings;
mod shared_settings;
mod stats_bar;
mod team_budget;
mod throughput_chart;
mod url_input;
mod validate;

pub use form_state::FormState;
pub use validate::{validate, FormInput, StartRequest};

use leptos::prelude::*;

use crate::run::{Notice, NoticeLevel, RunHandle, RunState};

// The page's parts, each mountable on its own given a `RunHandle` and a
// `FormState` in context: the browser tests draw one part at a time from
// signals set to a given state.
pub use announcer::Announcer;
pub use controls::Controls;
pub use notice::NoticeBar;
pub use results_table::ResultsTable;
pub use run_history::RunHistory;
pub use settings_form::SettingsForm;
pub use stats_bar::StatsBar;
pub use team_budget::TeamBudget;
pub use throughput_chart::ThroughputChart;
pub use url_input::UrlInput;

/// The whole page: header, settings and input on the left, the run bar,
/// notice and results on the right (stacked on narrow screens).
#[component]
pub fn App() -> impl IntoView {
    let run = RunHandle::new();
    let form = FormState::from_page();
    run.watch_tab();
    if let Some(text) = form.load_notice.get_value() {
        run.say(crate::run::NoticeLevel::Warning, &text);
    }
    run.load_saved(move |settings, sources| {
        form.apply_saved(settings, sources);
    });
    form.keep_remembered_key();
    form.keep_remembered_settings();
    provide_context(run);
    provide_context(form);
    apply_live_changes(run, form);
    take_up_quota_waits(run, form);
    view! {
        <div class="page">
            <header class="site-header">
                <div class="brand">
                    <Logo />
                    <h1 class="brand-name">"Pacer"</h1>
                </div>
                <p class="tagline">"Paced batch runs against rate-limited vision APIs"</p>
            </header>
            <main class="layout">
                <div class="col col-inputs">
                    <SettingsForm />
                    <UrlInput />
                </div>
                <div class="col col-run">
                    <section class="card run-card" aria-label="Run">
                        <Controls />
                        <StatsBar />
                        <TeamBudget />
                        <ThroughputChart />
                    </section>
                    <NoticeBar />
                    <ResultsTable />
                    <RunHistory />
                </div>
            </main>
            <Announcer />
        </div>
    }
}

/// A saved run found waiting for a quota (after a reload, or the tab
/// reopened) is taken up at once with the form's settings, so that it goes
/// on by itself at the reset: until then it waits, sending nothing. Without
/// a key to send with, the user is asked for one.
fn take_up_quota_waits(run: RunHandle, form: FormState) {
    Effect::new(move |_| {
        // A key typed later takes the run up too.
        form.key.track();
        if run.state.get() != RunState::Interrupted {
            return;
        }
        let Some(until) = run.saved_quota_wait() else {
            return;
        };
        match form.resume_request() {
            Ok(request) => run.resume_saved(request.settings),
            Err(why) => run.notice.set(Some(Notice {
                level: NoticeLevel::Warning,
                text: format!(
                    "This run was waiting for the server's quota, back at {}. It goes on by \
                     itself once it can send. {why}",
                    crate::run::utc_time(until)
                ),
            })),
        }
    });
}

/// Edits of the rate, the concurrency or how to spend a quota take effect
/// on a run in progress at once (the run ignores them when idle).
fn apply_live_changes(run: RunHandle, form: FormState) {
    Effect::new(move |_| {
        if let Some(rate) = validate::parse_rate(&form.rate.get()) {
            run.set_rate(rate);
        }
    });
    Effect::new(move |_| run.set_auto_rate(form.auto_rate.get()));
    Effect::new(move |_| run.set_spread_quota(form.spread_quota.get()));
    Effect::new(move |_| {
        if let Some(n) = validate::parse_concurrency(&form.concurrency.get()) {
            run.set_concurrency(n.clamp(1, validate::MAX_CONCURRENCY as i64) as usize);
        }
    });
}

/// The brand mark: evenly spaced bars, i.e. paced requests.
#[component]
fn Logo() -> impl IntoView {
    view! {
        <svg class="logo" viewBox="0 0 32 32" width="28" height="28" aria-hidden="true">
            <rect x="1" y="1" width="30" height="30" rx="8" class="logo-bg"></rect>
            <rect x="7" y="15" width="3" height="10" rx="1.5" class="logo-bar"></rect>
            <rect x="12.5" y="11" width="3" height="14" rx="1.5" class="logo-bar"></rect>
            <rect x="18" y="7" width="3" height="18" rx="1.5" class="logo-bar"></rect>
            <rect x="23.5" y="11" width="3" height="14" rx="1.5" class="logo-bar"></rect>
        </svg>
    }
}
