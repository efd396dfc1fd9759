//! One work item's row. It reads only its own [`ItemRow`] signals, so an
//! answer re-renders this row and not the table.

use leptos::prelude::*;

use super::predictions::Predictions;
use crate::run::{ItemResult, ItemRow};

/// One `result-row`.
#[component]
pub fn ResultRow(
    /// The item's live signals.
    row: ItemRow,
) -> impl IntoView {
    let url = row.source.get_value();
    let broken = RwSignal::new(false);
    let state = move || row.state.get().as_str();
    let latency = move || {
        row.latency_ms
            .get()
            .map(|ms| format!("{ms:.0} ms"))
            .unwrap_or_else(|| "—".to_owned())
    };
    let outcome = move || {
        row.result.with(|result| match result {
            None => None,
            Some(ItemResult::Ok(prediction)) => {
                Some(view! { <Predictions prediction=prediction.clone() /> }.into_any())
            }
            Some(ItemResult::Err(reason)) => {
                Some(view! { <span class="error-text">{reason.clone()}</span> }.into_any())
            }
        })
    };
    view! {
        <tr data-testid="result-row" data-state=state>
            <td class="col-index">{row.id + 1}</td>
            <td class="col-thumb">
                <Show when=move || broken.get()>
                    <span class="thumb thumb-missing" title="The image did not load" aria-hidden="true"></span>
                </Show>
                <img
                    class="thumb"
                    class:broken=move || broken.get()
                    src=url.clone()
                    alt=""
                    loading="lazy"
                    decoding="async"
                    width="48"
                    height="48"
                    on:error=move |_| broken.set(true)
                />
            </td>
            <td class="col-url">
                <span class="url" title=url.clone()>{url.clone()}</span>
            </td>
            <td class="col-state">
                <span class=move || format!("badge badge-{}", state())>{state}</span>
            </td>
            <td class="col-num col-tries" data-label="tries">{move || row.attempts.get()}</td>
            <td class="col-num col-latency">{latency}</td>
            <td class="col-pred">{outcome}</td>
        </tr>
    }
}
