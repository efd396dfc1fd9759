//! The run history drawn alone from given saved runs, through the same
//! decision the page makes (which run is running here, in another tab,
//! interrupted or finished, and what may be done with each), and the
//! storage line. Run by `wasm-pack test` in Chromium and Firefox.
#![cfg(target_arch = "wasm32")]

mod support;

use leptos::prelude::*;
use pacer::browser::StorageUse;
use pacer::run::{history_entries, RunHandle, RunId, RunState, RunSummary};
use pacer::ui::{NoticeBar, RunHistory};
use support::{click, mount, tick, valid_form, Mounted};
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

/// A saved run's line as storage holds it.
fn line(id: &str, started: f64, done: usize, pending: usize, phase: &str) -> RunSummary {
    serde_json::from_value(serde_json::json!({
        "id": id,
        "started_unix_ms": started,
        "endpoint": "http://127.0.0.1:9/",
        "models": ["re_roomtype_global_v2"],
        "total": done + pending,
        "done": done,
        "pending": pending,
        "phase": phase,
    }))
    .unwrap()
}

/// Five saved runs, oldest first: two finished, one left by a closed tab,
/// one held by another tab, and this tab's own.
fn lines() -> Vec<RunSummary> {
    vec![
        line("r-done", 1.0e12, 20, 0, "done"),
        line("r-cancelled", 1.1e12, 3, 17, "cancelled"),
        line("r-interrupted", 1.2e12, 5, 15, "running"),
        line("r-elsewhere", 1.3e12, 8, 12, "running"),
        line("r-here", 1.4e12, 1, 19, "running"),
    ]
}

fn id(text: &str) -> RunId {
    RunId::parse(text).unwrap()
}

/// Each item's run id, `data-state`, badge text and enabled actions, in
/// list order.
fn items(page: &Mounted) -> Vec<(String, String, String, String)> {
    page.all("[data-testid=run-history-item]")
        .iter()
        .map(|item| {
            let badge = item.query_selector(".badge").unwrap().unwrap();
            let enabled: Vec<&str> = ["open", "resume", "export", "delete"]
                .into_iter()
                .filter(|a| {
                    let button = item
                        .query_selector(&format!("[data-testid=history-{a}]"))
                        .unwrap()
                        .unwrap();
                    !button.has_attribute("disabled")
                })
                .collect();
            (
                item.get_attribute("data-run-id").unwrap(),
                item.get_attribute("data-state").unwrap(),
                badge.text_content().unwrap(),
                enabled.join(","),
            )
        })
        .collect()
}

fn tuple(a: &str, b: &str, c: &str, d: &str) -> (String, String, String, String) {
    (a.into(), b.into(), c.into(), d.into())
}

#[wasm_bindgen_test]
async fn with_nothing_saved_the_history_says_what_it_will_hold() {
    let run = RunHandle::new();
    let page = mount(run, valid_form(), || view! { <RunHistory /> });
    tick().await;
    assert!(page
        .get(".history-empty")
        .text_content()
        .unwrap()
        .starts_with("No saved runs yet."));
    assert_eq!(page.text("storage-use"), "");
}

#[wasm_bindgen_test]
async fn runs_show_who_carries_them_and_what_may_be_done() {
    let run = RunHandle::new();
    let page = mount(run, valid_form(), || view! { <RunHistory /> });
    let held = [id("r-elsewhere").lock_name(), id("r-here").lock_name()];
    let here = id("r-here");
    run.history.set(history_entries(
        lines(),
        &held,
        &[],
        Some((&here, RunState::Running)),
    ));
    tick().await;
    // Newest first. While this tab runs, no other run may be opened or
    // taken up here, and a run another tab holds is only watched.
    assert_eq!(
        items(&page),
        [
            tuple("r-here", "running", "running here", "export"),
            tuple(
                "r-elsewhere",
                "running-elsewhere",
                "running in another tab",
                "export"
            ),
            tuple(
                "r-interrupted",
                "interrupted",
                "interrupted",
                "export,delete"
            ),
            tuple("r-cancelled", "cancelled", "cancelled", "export,delete"),
            tuple("r-done", "done", "done", "export,delete"),
        ]
    );
    let owners: Vec<String> = page
        .all(".history-owner")
        .iter()
        .map(|o| o.text_content().unwrap())
        .collect();
    assert_eq!(
        owners,
        [
            "owner: this tab",
            "owner: another tab",
            "owner: none",
            "owner: none",
            "owner: none"
        ]
    );
    let second = &page.all("[data-testid=run-history-item]")[1];
    let count = |testid: &str| {
        second
            .query_selector(&format!("[data-testid={testid}]"))
            .unwrap()
            .unwrap()
            .text_content()
            .unwrap()
    };
    assert_eq!(
        (count("history-done"), count("history-pending")),
        ("8 done".into(), "12 pending".into())
    );
    assert!(second.text_content().unwrap().contains("127.0.0.1:9"));

    // This tab's run is left waiting for its quota (the tab closed), and
    // the other tab lets its go: both may be opened and taken up, the
    // first one waiting out the rest of its wait.
    run.history.set(history_entries(
        lines(),
        &[],
        std::slice::from_ref(&here),
        None,
    ));
    tick().await;
    let now = items(&page);
    assert_eq!(
        now[0],
        tuple(
            "r-here",
            "waiting-for-quota",
            "left waiting for quota",
            "open,resume,export,delete"
        )
    );
    assert_eq!(
        now[1],
        tuple(
            "r-elsewhere",
            "interrupted",
            "interrupted",
            "open,resume,export,delete"
        )
    );
    assert_eq!(
        now[3],
        tuple(
            "r-cancelled",
            "cancelled",
            "cancelled",
            "open,export,delete"
        )
    );
}

#[wasm_bindgen_test]
async fn resuming_a_saved_run_needs_the_settings_it_runs_with() {
    let run = RunHandle::new();
    let form = valid_form();
    let page = mount(run, form, || {
        view! {
            <RunHistory />
            <NoticeBar />
        }
    });
    run.history.set(history_entries(lines(), &[], &[], None));
    form.key.set(String::new());
    tick().await;
    let interrupted = page.get("[data-run-id=r-interrupted] [data-testid=history-resume]");
    click(&interrupted);
    tick().await;
    assert_eq!(page.text("notice"), "Enter a client key.");
    assert_eq!(run.state.get_untracked(), RunState::Idle);
}

#[wasm_bindgen_test]
async fn short_storage_offers_to_delete_old_finished_runs() {
    let run = RunHandle::new();
    let page = mount(run, valid_form(), || view! { <RunHistory /> });
    run.history.set(history_entries(lines(), &[], &[], None));
    const MB: f64 = 1024.0 * 1024.0;
    run.storage.set(Some(StorageUse {
        used: 10.0 * MB,
        quota: 1000.0 * MB,
    }));
    tick().await;
    assert!(page.text("storage-use").ends_with("used (1.0 %)"));
    assert!(page.find(".history-short").is_none());
    assert!(!page.has_testid("delete-old-runs"));

    run.storage.set(Some(StorageUse {
        used: 990.0 * MB,
        quota: 1000.0 * MB,
    }));
    tick().await;
    assert!(page.text("storage-use").ends_with("used (99.0 %)"));
    assert!(page.find(".history-short").is_some());
    // The three newest stay whatever they are; the two older ones ended.
    assert_eq!(page.text("delete-old-runs"), "Delete 2 old finished run(s)");
}
