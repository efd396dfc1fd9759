//! The results table: one row per work item, keyed by its id, or a helpful
//! empty state before anything is queued.

use leptos::prelude::*;

use super::result_row::ResultRow;
use crate::run::{ItemRow, RunHandle};

/// The results card.
#[component]
pub fn ResultsTable() -> impl IntoView {
    let items = expect_context::<RunHandle>().items;
    let empty = move || items.with(Vec::is_empty);
    view! {
        <section class="card results-card" aria-labelledby="results-title">
            <div class="card-head">
                <h2 id="results-title" class="card-title">"Results"</h2>
                <span class="muted">{move || items.with(|i| format!("{} items", i.len()))}</span>
            </div>
            <Show
                when=move || !empty()
                fallback=|| {
                    view! {
                        <div class="empty-state">
                            <p class="empty-title">"No results yet"</p>
                            <p class="muted">
                                "Paste image URLs or load the sample images, then press Start"
                            </p>
                        </div>
                    }
                }
            >
                <div class="table-scroll">
                    <table class="results">
                        <thead>
                            <tr>
                                <th class="col-index" scope="col">"#"</th>
                                <th class="col-thumb" scope="col">
                                    <span class="sr-only">"Image"</span>
                                </th>
                                <th class="col-url" scope="col">"URL"</th>
                                <th class="col-state" scope="col">"State"</th>
                                <th class="col-num" scope="col">"Tries"</th>
                                <th class="col-num" scope="col">"Latency"</th>
                                <th class="col-pred" scope="col">"Predictions"</th>
                            </tr>
                        </thead>
                        <tbody>
                            <For
                                each=move || items.get()
                                key=|row: &ItemRow| row.id
                                children=move |row: ItemRow| view! { <ResultRow row=row /> }
                            />
                        </tbody>
                    </table>
                </div>
            </Show>
        </section>
    }
}
