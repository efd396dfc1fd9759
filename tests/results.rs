//! The results card drawn alone from given rows: the state chips and their
//! counts, the text filter, the sorts, live row updates and the details
//! panel. Run by `wasm-pack test` in Chromium and Firefox.
#![cfg(target_arch = "wasm32")]

mod support;

use std::sync::Arc;

use leptos::prelude::*;
use pacer::run::{ItemResult, ItemRow, ItemState, RunHandle};
use pacer::ui::ResultsTable;
use pacer_core::api::{Label, Prediction, Solution};
use support::{choose, click, mount, tick, type_into, valid_form, Mounted};
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

/// A row for `name` (a URL on a closed port: the thumbnail fails fast).
fn row(id: usize, name: &str, state: ItemState, attempts: u32, latency: Option<f64>) -> ItemRow {
    ItemRow {
        state,
        attempts,
        latency_ms: latency,
        ..ItemRow::queued(id, &format!("http://127.0.0.1:9/{name}.jpg"))
    }
}

fn labelled(label: &str, confidence: f64) -> Option<ItemResult> {
    Some(ItemResult::Ok(Arc::new(Prediction {
        solutions: vec![Solution {
            model: "re_roomtype_global_v2".into(),
            top: Some(Label {
                label: label.into(),
                confidence: Some(confidence),
            }),
            detections: vec![],
            score: None,
            raw: serde_json::Value::Null,
        }],
        correlation_id: None,
    })))
}

/// Seven items, one or more in each state.
fn rows() -> Vec<ItemRow> {
    use ItemState::*;
    vec![
        ItemRow {
            result: labelled("kitchen", 0.9),
            ..row(0, "a", Done, 1, Some(120.0))
        },
        ItemRow {
            result: Some(ItemResult::Err("HTTP 500: upstream down".into())),
            ..row(1, "b", Failed, 5, Some(300.0))
        },
        ItemRow {
            result: labelled("bathroom", 0.4),
            ..row(2, "c", Done, 2, Some(450.0))
        },
        row(3, "d", Queued, 0, None),
        row(4, "e", Retrying, 1, None),
        row(5, "f", Cancelled, 0, None),
        row(6, "g", InFlight, 1, None),
    ]
}

async fn results_with(rows: Vec<ItemRow>) -> (RunHandle, Mounted) {
    let run = RunHandle::new();
    let page = mount(run, valid_form(), || view! { <ResultsTable /> });
    run.items.set(rows);
    tick().await;
    (run, page)
}

/// The rows drawn, in list order: each item's file name and `data-state`.
fn listed(page: &Mounted) -> Vec<(String, String)> {
    let mut rows: Vec<(u32, String, String)> = page
        .all("[data-testid=result-row]")
        .iter()
        .map(|r| {
            let at = r.get_attribute("aria-rowindex").unwrap().parse().unwrap();
            let url = r
                .query_selector(".url")
                .unwrap()
                .unwrap()
                .text_content()
                .unwrap();
            let name = url
                .rsplit('/')
                .next()
                .unwrap()
                .trim_end_matches(".jpg")
                .to_owned();
            (at, name, r.get_attribute("data-state").unwrap())
        })
        .collect();
    rows.sort_by_key(|r| r.0);
    rows.into_iter()
        .map(|(_, name, state)| (name, state))
        .collect()
}

/// Just the names of [`listed`].
fn names(page: &Mounted) -> Vec<String> {
    listed(page).into_iter().map(|(name, _)| name).collect()
}

/// The "N items" / "N of M items" line.
fn count_line(page: &Mounted) -> String {
    page.get(".card-head .muted").text_content().unwrap()
}

/// The state chip labelled `label`.
fn chip(page: &Mounted, label: &str) -> web_sys::Element {
    page.all(".filter-chips button")
        .into_iter()
        .find(|b| b.text_content().unwrap().starts_with(label))
        .unwrap_or_else(|| panic!("no chip {label}"))
}

#[wasm_bindgen_test]
async fn before_anything_is_queued_the_card_says_what_to_do() {
    let (run, page) = results_with(Vec::new()).await;
    assert!(page
        .get(".empty-state")
        .text_content()
        .unwrap()
        .contains("No results yet"));
    assert!(page.find("input[type=search]").is_none());
    run.items.set(rows());
    tick().await;
    assert!(page.find(".empty-state").is_none());
    assert_eq!(page.all("[data-testid=result-row]").len(), 7);
}

#[wasm_bindgen_test]
async fn every_row_is_listed_in_input_order_with_its_state() {
    let (_run, page) = results_with(rows()).await;
    let want = [
        ("a", "done"),
        ("b", "failed"),
        ("c", "done"),
        ("d", "queued"),
        ("e", "retrying"),
        ("f", "cancelled"),
        ("g", "in-flight"),
    ];
    let want: Vec<(String, String)> = want
        .iter()
        .map(|(n, s)| (n.to_string(), s.to_string()))
        .collect();
    assert_eq!(listed(&page), want);
    assert_eq!(count_line(&page), "7 items");
    let first = &page.all("[data-testid=result-row]")[0];
    let cell = |sel: &str| {
        first
            .query_selector(sel)
            .unwrap()
            .unwrap()
            .text_content()
            .unwrap()
    };
    assert_eq!(cell(".col-tries"), "1");
    assert_eq!(cell(".col-latency"), "120 ms");
    assert!(cell(".col-pred").contains("kitchen"));
}

#[wasm_bindgen_test]
async fn the_state_chips_count_and_filter() {
    let (_run, page) = results_with(rows()).await;
    let chips: Vec<String> = page
        .all(".filter-chips button")
        .iter()
        .map(|b| b.text_content().unwrap())
        .collect();
    assert_eq!(
        chips,
        [
            "All7",
            "Waiting2",
            "In flight1",
            "Done2",
            "Failed1",
            "Cancelled1"
        ]
    );
    let pressed = |label: &str| chip(&page, label).get_attribute("aria-pressed").unwrap();
    assert_eq!(pressed("All"), "true");

    let cases: [(&str, &[&str]); 5] = [
        ("Failed", &["b"]),
        ("Waiting", &["d", "e"]),
        ("In flight", &["g"]),
        ("Done", &["a", "c"]),
        ("Cancelled", &["f"]),
    ];
    for (label, want) in cases {
        click(&chip(&page, label));
        tick().await;
        assert_eq!(names(&page), want, "chip {label}");
        assert_eq!(pressed(label), "true");
        assert_eq!(pressed("All"), "false");
        assert_eq!(count_line(&page), format!("{} of 7 items", want.len()));
    }
    click(&chip(&page, "All"));
    tick().await;
    assert_eq!(names(&page).len(), 7);
    assert_eq!(count_line(&page), "7 items");
}

#[wasm_bindgen_test]
async fn the_text_filter_reads_labels_urls_and_reasons() {
    let (_run, page) = results_with(rows()).await;
    let search = page.get("input[type=search]");
    let cases: [(&str, &[&str]); 4] = [
        ("kitchen", &["a"]),
        ("UPSTREAM", &["b"]),
        ("  /c.JPG ", &["c"]),
        ("127.0.0.1", &["a", "b", "c", "d", "e", "f", "g"]),
    ];
    for (text, want) in cases {
        type_into(&search, text);
        tick().await;
        assert_eq!(names(&page), want, "filter {text:?}");
    }
    type_into(&search, "no such thing");
    tick().await;
    assert!(names(&page).is_empty());
    assert!(page
        .get(".vlist-none")
        .text_content()
        .unwrap()
        .contains("No item matches the filter."));
    assert_eq!(count_line(&page), "0 of 7 items");

    // Text and state together: done items whose label has "room".
    type_into(&search, "room");
    click(&chip(&page, "Done"));
    tick().await;
    assert_eq!(names(&page), ["c"]);
    type_into(&search, "");
    tick().await;
    assert_eq!(names(&page), ["a", "c"]);
}

#[wasm_bindgen_test]
async fn the_sorts_order_the_list() {
    let (_run, page) = results_with(rows()).await;
    let select = page.get("select[aria-label='Sort by']");
    let cases: [(&str, &[&str]); 5] = [
        // Unanswered rows last, in input order.
        ("latency", &["c", "b", "a", "d", "e", "f", "g"]),
        // Ties keep input order.
        ("attempts", &["b", "c", "a", "e", "g", "d", "f"]),
        ("confidence", &["c", "a", "b", "d", "e", "f", "g"]),
        ("label", &["c", "a", "b", "d", "e", "f", "g"]),
        ("input", &["a", "b", "c", "d", "e", "f", "g"]),
    ];
    for (sort, want) in cases {
        choose(&select, sort);
        tick().await;
        assert_eq!(names(&page), want, "sort {sort}");
    }
    // A sort applies within a filter.
    choose(&select, "latency");
    click(&chip(&page, "Done"));
    tick().await;
    assert_eq!(names(&page), ["c", "a"]);
}

#[wasm_bindgen_test]
async fn rows_follow_the_run_and_open_their_details() {
    let (run, page) = results_with(rows()).await;
    // The run moves on: d is sent and answered.
    let mut next = rows();
    next[3] = ItemRow {
        result: labelled("bedroom", 0.7),
        ..row(3, "d", ItemState::Done, 1, Some(200.0))
    };
    run.items.set(next);
    tick().await;
    assert_eq!(listed(&page)[3], ("d".to_owned(), "done".to_owned()));
    assert_eq!(chip(&page, "Done").text_content().unwrap(), "Done3");

    // A click opens the item's details; the close button shuts them.
    assert!(page.find("aside.detail").is_none());
    click(&page.all("[data-testid=result-row]")[1]);
    tick().await;
    let detail = page.get("aside.detail");
    assert_eq!(
        detail.get_attribute("aria-label").as_deref(),
        Some("Details of item 2")
    );
    assert_eq!(
        page.get("aside.detail .error-text").text_content().unwrap(),
        "HTTP 500: upstream down"
    );
    assert_eq!(
        page.all("[data-testid=result-row]")[1]
            .get_attribute("aria-current")
            .as_deref(),
        Some("true")
    );
    click(&page.get(".detail-close"));
    tick().await;
    assert!(page.find("aside.detail").is_none());
}
