//! The run card and the notice, each drawn alone from a run's signals set
//! to a given state: which controls each run state allows, the figures and
//! progress of given stats, the chart of given timeline columns, and the
//! notice shown and dismissed. Run by `wasm-pack test` in Chromium and
//! Firefox.
#![cfg(target_arch = "wasm32")]

mod support;

use leptos::prelude::*;
use pacer::run::{ItemRow, Notice, NoticeLevel, RunHandle, RunState, StatsView};
use pacer::ui::{Announcer, Controls, NoticeBar, StatsBar, ThroughputChart};
use pacer_core::timeline::Column;
use support::{click, mount, tick, valid_form};
use wasm_bindgen::JsCast;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

const BUTTONS: [&str; 6] = [
    "start",
    "pause",
    "resume",
    "cancel",
    "retry-failed",
    "clear",
];

/// Which of [`BUTTONS`] are enabled in each run state (with a failed item,
/// so that Retry failed may apply).
const ENABLED: [(RunState, [bool; 6]); 6] = [
    (RunState::Idle, [true, false, false, false, false, true]),
    (RunState::Running, [false, true, false, true, false, false]),
    (RunState::Paused, [false, false, true, true, false, false]),
    (RunState::Done, [true, false, false, false, true, true]),
    (
        RunState::Cancelled,
        [true, false, false, false, false, true],
    ),
    (
        RunState::Interrupted,
        [true, false, true, false, false, true],
    ),
];

#[wasm_bindgen_test]
async fn each_run_state_enables_only_what_it_allows() {
    let run = RunHandle::new();
    let page = mount(run, valid_form(), || view! { <Controls /> });
    run.stats.set(StatsView {
        failed: 1,
        total: 2,
        ..StatsView::default()
    });
    for (state, enabled) in ENABLED {
        run.state.set(state);
        tick().await;
        assert_eq!(page.text("run-state"), state.as_str());
        assert!(page
            .testid("run-state")
            .class_list()
            .contains(&format!("badge-{}", state.as_str())));
        let now: Vec<(&str, bool)> = BUTTONS.iter().map(|b| (*b, !page.disabled(b))).collect();
        let want: Vec<(&str, bool)> = BUTTONS.into_iter().zip(enabled).collect();
        assert_eq!(now, want, "enabled buttons in {}", state.as_str());
    }
}

#[wasm_bindgen_test]
async fn retry_needs_a_failed_item_and_exports_need_rows() {
    let run = RunHandle::new();
    let page = mount(run, valid_form(), || view! { <Controls /> });
    run.state.set(RunState::Done);
    run.stats.set(StatsView {
        done: 2,
        total: 2,
        ..StatsView::default()
    });
    tick().await;
    assert!(page.disabled("retry-failed"), "nothing failed");
    assert!(page.disabled("export-csv") && page.disabled("export-json"));

    run.items.set(vec![
        ItemRow::queued(0, "http://127.0.0.1:9/a.jpg"),
        ItemRow::queued(1, "http://127.0.0.1:9/b.jpg"),
    ]);
    run.stats.update(|s| s.failed = 1);
    tick().await;
    assert!(!page.disabled("retry-failed"));
    assert!(!page.disabled("export-csv") && !page.disabled("export-json"));
}

#[wasm_bindgen_test]
async fn the_start_hint_shows_only_where_start_applies() {
    let run = RunHandle::new();
    let form = valid_form();
    let page = mount(run, form, || view! { <Controls /> });
    form.urls.set(String::new());
    tick().await;
    assert!(page.text("start-hint").contains("image URL"));
    assert!(page
        .get("[data-testid=start]")
        .get_attribute("title")
        .unwrap()
        .contains("image URL"));
    run.state.set(RunState::Running);
    tick().await;
    assert!(!page.has_testid("start-hint"), "no hint while running");
    run.state.set(RunState::Done);
    tick().await;
    assert!(
        page.has_testid("start-hint"),
        "a finished run can be followed by a new one"
    );
}

#[wasm_bindgen_test]
async fn start_and_resume_refuse_a_form_they_cannot_run_with() {
    let run = RunHandle::new();
    let form = valid_form();
    let page = mount(run, form, || {
        view! {
            <Controls />
            <NoticeBar />
        }
    });
    // A saved run found after a reload brings its own images, so Resume
    // checks the settings only: here the key is missing.
    run.state.set(RunState::Interrupted);
    form.key.set(String::new());
    form.urls.set(String::new());
    tick().await;
    click(&page.testid("resume"));
    tick().await;
    assert_eq!(page.text("notice"), "Enter a client key.");
    assert_eq!(run.state.get_untracked(), RunState::Interrupted);
    // Start (a new run) needs images first.
    click(&page.testid("start"));
    tick().await;
    assert_eq!(
        page.text("notice"),
        "Add at least one valid image URL or image file."
    );
    assert_eq!(run.state.get_untracked(), RunState::Interrupted);
}

#[wasm_bindgen_test]
async fn news_the_run_finds_out_never_hides_a_warning() {
    let run = RunHandle::new();
    let page = mount(run, valid_form(), || view! { <NoticeBar /> });
    run.tell("The server announces 20/s.");
    tick().await;
    assert_eq!(page.text("notice"), "The server announces 20/s.");
    run.say(NoticeLevel::Warning, "The key now travels in URLs.");
    run.tell("The server announces 10/s.");
    tick().await;
    assert_eq!(page.text("notice"), "The key now travels in URLs.");
    // What the user does is still said.
    run.say(NoticeLevel::Info, "Paused.");
    tick().await;
    assert_eq!(page.text("notice"), "Paused.");
}

#[wasm_bindgen_test]
async fn the_live_region_says_what_the_run_does_not_each_tick() {
    let run = RunHandle::new();
    let page = mount(run, valid_form(), || view! { <Announcer /> });
    let said = || -> Vec<String> {
        page.all("[data-testid=announcer] p")
            .iter()
            .map(|p| p.text_content().unwrap())
            .collect()
    };
    tick().await;
    assert!(said().is_empty());
    let at = |done: usize| StatsView {
        done,
        total: 20,
        ..StatsView::default()
    };
    run.stats.set(at(0));
    run.state.set(RunState::Running);
    tick().await;
    assert_eq!(said(), ["Run started: 20 images."]);
    // Every answer moves the figures; only each tenth is said.
    for done in 1..=3 {
        run.stats.set(at(done));
        tick().await;
    }
    assert_eq!(
        said(),
        ["Run started: 20 images.", "10 %: 2 of 20 done, 0 failed."]
    );
    run.say(NoticeLevel::Warning, "The server announced 2 requests/s.");
    tick().await;
    run.state.set(RunState::Paused);
    tick().await;
    // The region keeps the last three lines.
    assert_eq!(
        said(),
        [
            "10 %: 2 of 20 done, 0 failed.",
            "The server announced 2 requests/s.",
            "Run paused: 3 of 20 done, 0 failed.",
        ]
    );
}

/// Figures of a run that ended with some failures and 429s.
fn finished() -> StatsView {
    StatsView {
        done: 30,
        failed: 2,
        queued: 8,
        in_flight: 0,
        rate_limited: 5,
        retries: 7,
        sent: 44,
        throughput: 3.86,
        latency_avg_ms: 301.4,
        latency_p50_ms: 250.2,
        latency_p95_ms: 612.7,
        latency_p99_ms: 980.0,
        elapsed_s: 8.04,
        total: 40,
        pacing_rate: 4.0,
        possibly_charged: 1,
    }
}

#[wasm_bindgen_test]
async fn the_stats_bar_shows_a_given_runs_figures() {
    let run = RunHandle::new();
    let page = mount(run, valid_form(), || view! { <StatsBar /> });
    tick().await;
    assert_eq!(page.text("stat-done"), "0");
    assert_eq!(
        page.get(".progress-text").text_content().unwrap(),
        "0% · 0 of 0"
    );

    run.stats.set(finished());
    run.state.set(RunState::Running);
    tick().await;
    let figures = [
        ("stat-done", "30"),
        ("stat-failed", "2"),
        ("stat-queued", "8"),
        ("stat-in-flight", "0"),
        ("stat-sent", "44"),
        ("stat-429", "5"),
        ("stat-retries", "7"),
        ("stat-possibly-charged", "1"),
        ("stat-throughput", "3.86"),
        ("stat-latency-avg", "301"),
        ("stat-latency-p50", "250"),
        ("stat-latency-p95", "613"),
        ("stat-latency-p99", "980"),
        ("stat-pacing-rate", "4.00"),
    ];
    for (id, want) in figures {
        assert_eq!(page.text(id), want, "{id}");
    }
    // 32 of 40 ended; 8 left at 4/s is 2 s.
    assert_eq!(
        page.get(".progress-text").text_content().unwrap(),
        "80% · 32 of 40 · about 2 s left"
    );
    let bar = page.get("[role=progressbar]");
    assert_eq!(bar.get_attribute("aria-valuenow").as_deref(), Some("80"));
    let fill: web_sys::HtmlElement = page.get(".progress-fill").unchecked_into();
    let transform = fill.style().get_property_value("transform").unwrap();
    let scale = transform
        .strip_prefix("scaleX(")
        .and_then(|t| t.strip_suffix(')'))
        .and_then(|t| t.parse::<f64>().ok());
    assert_eq!(scale, Some(0.8), "progress fill: {transform:?}");
    assert!(!page.has_testid("summary"), "no summary while running");
    assert!(!page.has_testid("pacing-shared"));

    // Two other tabs share the budget: a third of the pace is this tab's.
    run.sharing.set(2);
    tick().await;
    assert_eq!(page.text("pacing-shared"), "shared by 3 tabs");
    assert!(page
        .get(".progress-text")
        .text_content()
        .unwrap()
        .ends_with("about 6 s left"));

    run.state.set(RunState::Done);
    tick().await;
    assert_eq!(
        page.text("summary"),
        "30 requests processed in 8.0 seconds with average time 301 ms, total throughput: 3.86 rps"
    );
    assert_eq!(
        page.get(".progress-text").text_content().unwrap(),
        "80% · 32 of 40"
    );
}

fn column(per_s: f64, rate: f64, rate_limited: u32) -> Column {
    Column {
        width_s: 1.0,
        per_s,
        rate: Some(rate),
        rate_limited,
        ..Column::default()
    }
}

#[wasm_bindgen_test]
async fn the_chart_draws_a_given_runs_columns() {
    let run = RunHandle::new();
    let page = mount(run, valid_form(), || view! { <ThroughputChart /> });
    tick().await;
    assert!(
        !page.has_testid("throughput-chart"),
        "nothing sent, no chart"
    );

    run.chart.set(vec![
        column(3.0, 4.0, 0),
        column(4.0, 4.0, 2),
        column(0.0, 2.0, 0),
        column(2.0, 2.0, 1),
    ]);
    tick().await;
    assert!(page.has_testid("throughput-chart"));
    // One bar per second with successes; one mark per second with 429s.
    assert_eq!(page.all("rect.chart-bar").len(), 3);
    assert_eq!(page.all("rect.chart-429").len(), 2);
    let bar = &page.all("rect.chart-bar")[1];
    // 4/s on a 5/s axis: 80 of the plot's 100 units, from x = 11.
    let attr = |name: &str| bar.get_attribute(name).unwrap();
    assert_eq!(
        (attr("x"), attr("y"), attr("height")),
        ("11".into(), "20".into(), "80".into())
    );
    let titles: Vec<String> = page
        .all("rect.chart-429 title")
        .iter()
        .map(|t| t.text_content().unwrap())
        .collect();
    assert_eq!(titles, ["2 × 429", "1 × 429"]);
    assert_eq!(
        page.get("polyline.chart-rate")
            .get_attribute("points")
            .unwrap(),
        "0.0,20.00 10.0,20.00 10.0,20.00 20.0,20.00 20.0,60.00 30.0,60.00 30.0,60.00 40.0,60.00"
    );
    let label = page
        .get("svg.chart-plot")
        .get_attribute("aria-label")
        .unwrap();
    assert_eq!(
        label,
        "Successful requests per second over 30 s: peak 4.0/s; 3 rate-limited (429) answers"
    );
    let y: Vec<String> = page
        .all(".chart-y span")
        .iter()
        .map(|s| s.text_content().unwrap())
        .collect();
    assert_eq!(y, ["5/s", "2.5", "0"]);

    // A new second: one more bar, the rest kept.
    run.chart.update(|c| c.push(column(4.0, 4.0, 0)));
    tick().await;
    assert_eq!(page.all("rect.chart-bar").len(), 4);

    // Cleared: the chart goes.
    run.chart.set(Vec::new());
    tick().await;
    assert!(!page.has_testid("throughput-chart"));
}

#[wasm_bindgen_test]
async fn a_notice_shows_by_level_and_is_dismissed() {
    let run = RunHandle::new();
    let page = mount(run, valid_form(), || view! { <NoticeBar /> });
    tick().await;
    let bar = || page.testid("notice").parent_element().unwrap();
    assert_eq!(page.text("notice"), "");
    assert!(bar().class_list().contains("notice-empty"));
    assert!(page.find(".notice-close").is_none(), "nothing to dismiss");

    for (level, class) in [
        (NoticeLevel::Info, "notice-info"),
        (NoticeLevel::Warning, "notice-warning"),
        (NoticeLevel::Error, "notice-error"),
    ] {
        run.notice.set(Some(Notice {
            level,
            text: "The server announced 2 requests/s; pacing at that.".into(),
        }));
        tick().await;
        assert_eq!(
            page.text("notice"),
            "The server announced 2 requests/s; pacing at that."
        );
        assert!(bar().class_list().contains(class), "{class}");
    }

    click(&page.get(".notice-close"));
    tick().await;
    assert_eq!(run.notice.get_untracked(), None);
    assert_eq!(page.text("notice"), "");
    assert!(bar().class_list().contains("notice-empty"));
    assert!(page.find(".notice-close").is_none());
}

#[wasm_bindgen_test]
async fn why_a_run_is_unsaved_outlives_a_dismissed_notice() {
    let run = RunHandle::new();
    let page = mount(run, valid_form(), || view! { <NoticeBar /> });
    run.input_note.set(Some(
        "Concurrency 900 is more than Pacer runs at once; using 256.".into(),
    ));
    run.save_warning
        .set(Some("Storage is full: this run is not saved.".into()));
    run.say(NoticeLevel::Error, "Failed to fetch.");
    tick().await;
    assert_eq!(
        page.text("notice"),
        "Failed to fetch. Storage is full: this run is not saved. \
         Concurrency 900 is more than Pacer runs at once; using 256."
    );
    click(&page.get(".notice-close"));
    tick().await;
    assert_eq!(run.input_note.get_untracked(), None);
    assert_eq!(
        page.text("notice"),
        " Storage is full: this run is not saved."
    );
    assert_eq!(
        page.text("save-warning"),
        " Storage is full: this run is not saved."
    );
    assert!(page
        .testid("notice")
        .parent_element()
        .unwrap()
        .class_list()
        .contains("notice-warning"));
    // Still something on show, so still something to dismiss; the warning
    // itself stays for as long as it holds.
    assert!(page.find(".notice-close").is_some());
    run.save_warning.set(None);
    tick().await;
    assert_eq!(page.text("notice"), "");
    assert!(page.find(".notice-close").is_none());
}
