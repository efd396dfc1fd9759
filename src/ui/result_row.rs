//! One work item's row in the virtualised list. It is drawn at its list
//! position and re-reads its item when the run's rows change, so a redraw
//! touches the few rows in view, not the list.
//!
//! A row of a table (`role="row"`, cells inside). It is also a tab stop:
//! Enter or Space opens its details and moves focus there (a click opens
//! them and leaves focus where it is); the `#` cell holds a button that
//! does the same, for screen readers, which do not treat rows as controls.

use leptos::prelude::*;

use pacer_core::api::Prediction;

use super::predictions::Predictions;
use super::result_detail::box_fractions;
use crate::browser::image_aspect;
use crate::run::{ItemResult, ItemState, RunHandle};

/// Thumbnail side, CSS px.
const THUMB_PX: f64 = 48.0;

/// Where the whole image lies under a square `side` thumbnail that covers
/// it (`object-fit: cover`, centred): left, top, width, height in px, for
/// an image of `aspect` = width ÷ height.
fn cover_frame(aspect: f64, side: f64) -> [f64; 4] {
    let (w, h) = if aspect >= 1.0 {
        (side * aspect, side)
    } else {
        (side, side / aspect)
    };
    [(side - w) / 2.0, (side - h) / 2.0, w, h]
}

/// One `result-row`, at list position `at` (0-based).
#[component]
pub fn ResultRow(
    /// The item's id.
    id: usize,
    /// Position in the shown list.
    at: usize,
    /// Row height in CSS px (as measured).
    row_px: Signal<f64>,
    /// The item whose details are open.
    selected: Signal<Option<usize>>,
    /// Opens an item's details: its id, and whether focus moves there
    /// (opened from the keyboard).
    on_open: Callback<(usize, bool)>,
    /// Set to this item's id to give this row the focus back (when its
    /// details close); the row clears it once focused.
    refocus: RwSignal<Option<usize>>,
) -> impl IntoView {
    let row_ref = NodeRef::<leptos::html::Div>::new();
    Effect::new(move |_| {
        if refocus.get() == Some(id) {
            if let Some(el) = row_ref.get() {
                let _ = el.focus();
                refocus.set(None);
            }
        }
    });
    let items = expect_context::<RunHandle>().items;
    let row = Memo::new(move |_| items.row(id));
    let state = Memo::new(move |_| row.with(|r| r.as_ref().map_or(ItemState::Queued, |r| r.state)));
    let result = Memo::new(move |_| row.with(|r| r.as_ref().and_then(|r| r.result.clone())));
    let (url, thumb, model) = row.with_untracked(|r| {
        r.as_ref()
            .map(|r| {
                let model = r.model.as_deref().map(str::to_owned);
                (r.source.to_string(), r.thumb.to_string(), model)
            })
            .unwrap_or_default()
    });
    let broken = RwSignal::new(false);
    // Logo boxes over the thumbnail, once its shape is known.
    let aspect = RwSignal::new(None::<f64>);
    let boxes = move || {
        let frame = cover_frame(aspect.get()?, THUMB_PX);
        let boxes = result.with(|r| match r {
            Some(ItemResult::Ok(p)) => box_fractions(p),
            _ => Vec::new(),
        });
        if boxes.is_empty() {
            return None;
        }
        let px = |v: f64| format!("{v:.1}px");
        let pc = |v: f64| format!("{:.2}%", v * 100.0);
        Some(view! {
            <span
                class="thumb-boxes"
                aria-hidden="true"
                style:left=px(frame[0])
                style:top=px(frame[1])
                style:width=px(frame[2])
                style:height=px(frame[3])
            >
                {boxes
                    .into_iter()
                    .map(|(label, [left, top, width, height])| {
                        view! {
                            <span
                                class="bbox bbox-mini"
                                title=label
                                style:left=pc(left)
                                style:top=pc(top)
                                style:width=pc(width)
                                style:height=pc(height)
                            ></span>
                        }
                    })
                    .collect_view()}
            </span>
        })
    };
    let latency = move || {
        row.with(|r| r.as_ref().and_then(|r| r.latency_ms))
            .map(|ms| format!("{ms:.0} ms"))
            .unwrap_or_else(|| "—".to_owned())
    };
    let attempts = move || row.with(|r| r.as_ref().map_or(0, |r| r.attempts));
    let outcome = move || {
        result.with(|result| match result {
            None => None,
            Some(ItemResult::Ok(prediction)) => {
                Some(view! { <Predictions prediction=Prediction::clone(prediction) /> }.into_any())
            }
            Some(ItemResult::Err(reason)) => {
                Some(view! { <span class="error-text">{reason.clone()}</span> }.into_any())
            }
        })
    };
    view! {
        <div
            class="vrow"
            class:selected=move || selected.get() == Some(id)
            node_ref=row_ref
            role="row"
            tabindex="0"
            aria-rowindex=at + 2
            aria-current=move || (selected.get() == Some(id)).then_some("true")
            title="Show details"
            data-testid="result-row"
            data-state=move || state.get().as_str()
            style:transform=move || format!("translateY({}px)", at as f64 * row_px.get())
            on:click=move |_| on_open.run((id, false))
            on:keydown=move |ev| {
                if ev.key() == "Enter" || ev.key() == " " {
                    ev.prevent_default();
                    on_open.run((id, true));
                }
            }
        >
            <span class="col-index" role="cell">
                <button
                    type="button"
                    class="row-open"
                    tabindex="-1"
                    aria-label=format!("Show the details of item {}", id + 1)
                    on:click=move |ev| {
                        ev.stop_propagation();
                        on_open.run((id, true));
                    }
                >
                    {id + 1}
                </button>
            </span>
            <span class="col-thumb" role="cell">
                <Show when=move || broken.get()>
                    <span class="thumb thumb-missing" title="The image did not load" aria-hidden="true"></span>
                </Show>
                <img
                    class="thumb"
                    class:broken=move || broken.get()
                    src=thumb
                    alt=""
                    loading="lazy"
                    decoding="async"
                    width="48"
                    height="48"
                    on:error=move |_| broken.set(true)
                    on:load=move |ev| aspect.set(image_aspect(&ev))
                />
                {boxes}
            </span>
            <span class="col-url" role="cell">
                <span class="url" title=url.clone()>{url.clone()}</span>
                {model.map(|m| view! { <span class="item-model" title="The one model this call asks for">{m}</span> })}
            </span>
            <span class="col-state" role="cell">
                <span class=move || format!("badge badge-{}", state.get().as_str())>
                    {move || state.get().as_str()}
                </span>
            </span>
            <span class="col-num col-tries" role="cell" data-label="tries">{attempts}</span>
            <span class="col-num col-latency" role="cell">{latency}</span>
            <span class="col-pred" role="cell">{outcome}</span>
        </div>
    }
}

#[cfg(test)]
mod tests {
    use super::cover_frame;

    #[test]
    fn a_cover_thumbnail_crops_the_long_side_evenly() {
        assert_eq!(cover_frame(1.0, 48.0), [0.0, 0.0, 48.0, 48.0]);
        // Landscape 2:1: 96 px wide, 24 px cut off each side.
        assert_eq!(cover_frame(2.0, 48.0), [-24.0, 0.0, 96.0, 48.0]);
        // Portrait 1:2.
        assert_eq!(cover_frame(0.5, 48.0), [0.0, -24.0, 48.0, 96.0]);
    }
}
