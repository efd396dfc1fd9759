//! The results card: a filter and sort bar, a virtualised list of rows (only
//! the rows in view are in the page, so 100 000 items scroll like 100), the
//! selected item's details, or a helpful empty state before anything is
//! queued.

use leptos::prelude::*;

use super::result_detail::ResultDetail;
use super::result_row::ResultRow;
use super::result_view::{self, Shown, SortKey, StateFilter};
use crate::browser::{measure, scroll_state, scroll_to};
use crate::run::RunHandle;

/// Row height before one is drawn and measured (the wide layout's, CSS px).
const ROW_PX_GUESS: f64 = 64.0;

/// The results card.
#[component]
pub fn ResultsTable() -> impl IntoView {
    let items = expect_context::<RunHandle>().items;
    let filter = RwSignal::new(StateFilter::All);
    let text = RwSignal::new(String::new());
    let sort = RwSignal::new(SortKey::Input);
    let selected = RwSignal::new(None::<usize>);
    let shown = Memo::new(move |_| {
        let (filter, sort) = (filter.get(), sort.get());
        text.with(|text| items.with(|rows| result_view::shown(rows, filter, text, sort)))
    });
    let counts = Memo::new(move |_| items.with(result_view::state_counts));

    let scroller = NodeRef::<leptos::html::Div>::new();
    let scroll_top = RwSignal::new(0.0_f64);
    let view_px = RwSignal::new(640.0_f64);
    let row_px = RwSignal::new(ROW_PX_GUESS);
    let remeasure = move || {
        if let Some(el) = scroller.get_untracked() {
            let m = measure(&el, ".vrow");
            scroll_top.set(m.top);
            view_px.set(m.height);
            if let Some(h) = m.row {
                row_px.set(h);
            }
        }
    };
    // Rows change height with the page's width (CSS), and the first rows
    // are measured once drawn.
    // A scroll only moves the window of rows: read the position once per
    // frame, however many scroll events came (a fling fires dozens).
    let frame_pending = StoredValue::new(false);
    let on_scroll = move |_| {
        if frame_pending.get_value() {
            return;
        }
        frame_pending.set_value(true);
        request_animation_frame(move || {
            frame_pending.set_value(false);
            if let Some(el) = scroller.get_untracked() {
                let (top, height) = scroll_state(&el);
                scroll_top.set(top);
                view_px.set(height);
            }
        });
    };
    let resize = window_event_listener(leptos::ev::resize, move |_| remeasure());
    on_cleanup(move || resize.remove());
    Effect::new(move |_| {
        shown.with(|_| ());
        request_animation_frame(remeasure);
    });
    // A new filter or sort starts at the top of the list.
    Effect::new(move |first: Option<()>| {
        filter.track();
        sort.track();
        text.track();
        if first.is_some() {
            if let Some(el) = scroller.get_untracked() {
                scroll_to(&el, 0.0);
                scroll_top.set(0.0);
            }
        }
    });

    let len = move || shown.with(Shown::len);
    let window = Memo::new(move |_| {
        result_view::in_view(scroll_top.get(), view_px.get(), row_px.get(), len())
    });
    let visible = move || {
        let range = window.get();
        shown.with(|s| {
            range
                .filter_map(|at| Some((at, s.id_at(at)?)))
                .collect::<Vec<_>>()
        })
    };
    // From the keyboard, focus follows into the details, and back to the
    // row when they close (or to the card's title, if that row scrolled
    // out of the drawn window).
    let title = NodeRef::<leptos::html::H2>::new();
    let detail_focus = RwSignal::new(false);
    let refocus = RwSignal::new(None::<usize>);
    let on_open = Callback::new(move |(id, keyboard): (usize, bool)| {
        selected.set(Some(id));
        detail_focus.set(keyboard);
    });
    let on_close = Callback::new(move |id: usize| {
        selected.set(None);
        refocus.set(Some(id));
        request_animation_frame(move || {
            if refocus.get_untracked().is_some() {
                refocus.set(None);
                if let Some(el) = title.get_untracked() {
                    let _ = el.focus();
                }
            }
        });
    });
    let empty = move || items.is_empty();
    view! {
        <section class="card results-card" aria-labelledby="results-title">
            <div class="card-head">
                <h2 id="results-title" class="card-title" tabindex="-1" node_ref=title>
                    "Results"
                </h2>
                <span class="muted">
                    {move || {
                        let (n, all) = (len(), items.len());
                        if n == all { format!("{all} items") } else { format!("{n} of {all} items") }
                    }}
                </span>
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
                <div class="results-tools">
                    <div class="filter-chips" role="group" aria-label="Show items that are">
                        {StateFilter::ALL
                            .into_iter()
                            .enumerate()
                            .map(|(i, f)| {
                                view! {
                                    <button
                                        type="button"
                                        class="chip-toggle"
                                        class:on=move || filter.get() == f
                                        aria-pressed=move || (filter.get() == f).to_string()
                                        on:click=move |_| filter.set(f)
                                    >
                                        {f.label()}
                                        <span class="chip-count">{move || counts.with(|c| c[i])}</span>
                                    </button>
                                }
                            })
                            .collect_view()}
                    </div>
                    <div class="results-search">
                        <input
                            type="search"
                            placeholder="Filter by label, URL or reason"
                            aria-label="Filter by label, URL or reason"
                            prop:value=move || text.get()
                            on:input=move |ev| text.set(event_target_value(&ev))
                        />
                        <select
                            aria-label="Sort by"
                            on:change=move |ev| sort.set(SortKey::from_value(&event_target_value(&ev)))
                        >
                            {SortKey::ALL
                                .into_iter()
                                .map(|k| {
                                    view! {
                                        <option value=k.value() selected=move || sort.get() == k>
                                            {k.label()}
                                        </option>
                                    }
                                })
                                .collect_view()}
                        </select>
                    </div>
                </div>
                <div
                    class="vlist"
                    role="table"
                    aria-label="Results"
                    aria-rowcount=move || len() + 1
                >
                    <div class="vrow vhead" role="row" aria-rowindex="1">
                        <span class="col-index" role="columnheader">"#"</span>
                        <span class="col-thumb" role="columnheader">
                            <span class="sr-only">"Image"</span>
                        </span>
                        <span class="col-url" role="columnheader">"URL"</span>
                        <span class="col-state" role="columnheader">"State"</span>
                        <span class="col-num col-tries" role="columnheader">"Tries"</span>
                        <span class="col-num col-latency" role="columnheader">"Latency"</span>
                        <span class="col-pred" role="columnheader">"Predictions"</span>
                    </div>
                    <div class="vlist-scroll" node_ref=scroller on:scroll=on_scroll>
                        <Show
                            when=move || !shown.with(Shown::is_empty)
                            fallback=|| {
                                view! {
                                    <div class="vlist-none muted" role="row">
                                        <span role="cell">"No item matches the filter."</span>
                                    </div>
                                }
                            }
                        >
                            <div
                                class="vlist-body"
                                role="rowgroup"
                                style:height=move || format!("{}px", len() as f64 * row_px.get())
                            >
                                <For
                                    each=visible
                                    key=|&(at, id)| (at, id)
                                    children=move |(at, id)| {
                                        view! {
                                            <ResultRow
                                                id=id
                                                at=at
                                                row_px=row_px.into()
                                                selected=selected.into()
                                                on_open=on_open
                                                refocus=refocus
                                            />
                                        }
                                    }
                                />
                            </div>
                        </Show>
                    </div>
                </div>
                <ResultDetail selected=selected take_focus=detail_focus on_close=on_close />
            </Show>
        </section>
    }
}
