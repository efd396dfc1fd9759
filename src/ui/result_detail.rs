//! The selected item in full: the image with logo boxes drawn over it, each
//! model's labels with their confidences, detections, score, every attempt
//! and the raw JSON on demand.
//!
//! Everything here comes from the network and is rendered as text only.
//!
//! Opened from the keyboard, the panel takes the focus (so that it scrolls
//! into view and a screen reader reads its name); Escape or its close
//! button closes it and the list gives the focus back to the row.

use leptos::prelude::*;
use pacer_core::api::{Prediction, Solution};

use super::predictions::percent;
use crate::run::{AttemptRecord, ItemResult, RunHandle};

/// The details of item `selected`, or nothing when none is selected.
#[component]
pub fn ResultDetail(
    /// The item shown (`None`: nothing).
    selected: RwSignal<Option<usize>>,
    /// Set when the details were opened from the keyboard: the panel then
    /// takes the focus once drawn, and clears this.
    take_focus: RwSignal<bool>,
    /// Closes the details of the item (its id).
    on_close: Callback<usize>,
) -> impl IntoView {
    let run = expect_context::<RunHandle>();
    let row = Memo::new(move |_| selected.get().and_then(|id| run.items.row(id)));
    let panel = NodeRef::<leptos::html::Aside>::new();
    // After the frame's redraw, when the panel shows the item just opened.
    Effect::new(move |_| {
        if take_focus.get() {
            take_focus.set(false);
            request_animation_frame(move || {
                if let Some(el) = panel.get_untracked() {
                    let _ = el.focus();
                }
            });
        }
    });
    move || {
        let item = row.get()?;
        let id = item.id;
        let attempts = run.attempts_of(item.id);
        let url = item.source.to_string();
        let thumb = item.thumb.to_string();
        // A local file is named, not linked.
        let is_file = thumb != url;
        let (boxes, solutions, raw, reason) = match &item.result {
            Some(ItemResult::Ok(p)) => {
                (logo_boxes(p), p.solutions.clone(), Some(raw_json(p)), None)
            }
            Some(ItemResult::Err(reason)) => (Vec::new(), Vec::new(), None, Some(reason.clone())),
            None => (Vec::new(), Vec::new(), None, None),
        };
        Some(view! {
            <aside
                class="detail"
                node_ref=panel
                tabindex="-1"
                aria-label=format!("Details of item {}", item.id + 1)
                on:keydown=move |ev| {
                    if ev.key() == "Escape" {
                        ev.prevent_default();
                        on_close.run(id);
                    }
                }
            >
                <div class="detail-head">
                    <h3 class="detail-title">
                        "Item " {item.id + 1}
                        {item.model.as_deref().map(|m| format!(" · {m}"))}
                    </h3>
                    <span class=format!("badge badge-{}", item.state.as_str())>{item.state.as_str()}</span>
                    <button
                        type="button"
                        class="detail-close"
                        aria-label="Close the details"
                        on:click=move |_| on_close.run(id)
                    >
                        "×"
                    </button>
                </div>
                <div class="detail-body">
                    <figure class="detail-figure">
                        <img src=thumb alt=format!("Image of item {}", item.id + 1) />
                        {boxes
                            .into_iter()
                            .map(|(label, [left, top, width, height])| {
                                let title = label.clone();
                                // Per property, through the CSSOM: the CSP
                                // refuses `style` attributes.
                                view! {
                                    <span
                                        class="bbox"
                                        style:left=left
                                        style:top=top
                                        style:width=width
                                        style:height=height
                                        title=title
                                    >
                                        <span class="bbox-label">{label}</span>
                                    </span>
                                }
                            })
                            .collect_view()}
                    </figure>
                    <div class="detail-facts">
                        {if is_file {
                            view! { <span class="url detail-url">{url.clone()}</span> }.into_any()
                        } else {
                            view! {
                                <a class="url detail-url" href=url.clone() target="_blank" rel="noopener noreferrer">
                                    {url.clone()}
                                </a>
                            }
                                .into_any()
                        }}
                        {reason.map(|r| view! { <p class="error-text">{r}</p> })}
                        {solutions.into_iter().map(|s| view! { <SolutionDetail solution=s /> }).collect_view()}
                        <AttemptsTable attempts=attempts />
                        {raw.map(|raw| {
                            view! {
                                <details class="raw-json">
                                    <summary>"Raw JSON"</summary>
                                    <pre>{raw}</pre>
                                </details>
                            }
                        })}
                    </div>
                </div>
            </aside>
        })
    }
}

/// One model's answer in full.
#[component]
fn SolutionDetail(solution: Solution) -> impl IntoView {
    let labels = ranked_labels(&solution);
    let nothing = labels.is_empty() && solution.detections.is_empty() && solution.score.is_none();
    view! {
        <section class="detail-solution">
            <h4 class="model">{solution.model.clone()}</h4>
            {(!labels.is_empty()).then(|| {
                view! {
                    <ul class="bars">
                        {labels
                            .into_iter()
                            .map(|(label, confidence)| {
                                let width = format!("{:.1}%", (confidence * 100.0).clamp(0.0, 100.0));
                                view! {
                                    <li class="bar-row">
                                        <span class="bar-label">{label}</span>
                                        <span class="bar-track"><span class="bar-fill" style:width=width></span></span>
                                        <span class="confidence">{percent(confidence)}</span>
                                    </li>
                                }
                            })
                            .collect_view()}
                    </ul>
                }
            })}
            {(!solution.detections.is_empty()).then(|| {
                view! {
                    <div class="chips">
                        {solution
                            .detections
                            .iter()
                            .map(|d| {
                                let text = if d.details.is_empty() {
                                    d.label.clone()
                                } else {
                                    format!("{}: {}", d.label, d.details.join(", "))
                                };
                                view! { <span class="chip">{text}</span> }
                            })
                            .collect_view()}
                    </div>
                }
            })}
            {solution.score.map(|s| view! { <p class="score">"Condition score " {format!("{s:.2}")}</p> })}
            {nothing.then(|| view! { <p class="muted nothing">"Nothing found."</p> })}
        </section>
    }
}

/// Every request of the item.
#[component]
fn AttemptsTable(attempts: Vec<AttemptRecord>) -> impl IntoView {
    (!attempts.is_empty()).then(|| {
        view! {
            <table class="attempts">
                <caption>"Requests"</caption>
                <thead>
                    <tr>
                        <th scope="col">"#"</th>
                        <th scope="col">"Answer"</th>
                        <th scope="col">"Latency"</th>
                        <th scope="col">"Error"</th>
                    </tr>
                </thead>
                <tbody>
                    {attempts
                        .into_iter()
                        .map(|a| {
                            view! {
                                <tr>
                                    <td>{a.attempt}</td>
                                    <td>{a.status.map_or_else(|| "none".to_owned(), |s| s.to_string())}</td>
                                    <td>{format!("{:.0} ms", a.latency_ms)}</td>
                                    <td class="error-text">{a.error.unwrap_or_default()}</td>
                                </tr>
                            }
                        })
                        .collect_view()}
                </tbody>
            </table>
        }
    })
}

/// A classification's labels, most confident first: the answer's
/// `predictions` list when it has one, else its top label.
fn ranked_labels(solution: &Solution) -> Vec<(String, f64)> {
    let listed: Vec<(String, f64)> = solution
        .raw
        .get("predictions")
        .and_then(|p| p.as_array())
        .map(|list| {
            list.iter()
                .filter_map(|p| {
                    Some((
                        p.get("label")?.as_str()?.to_owned(),
                        p.get("confidence")?.as_f64()?,
                    ))
                })
                .collect()
        })
        .unwrap_or_default();
    let mut labels = if listed.is_empty() {
        solution
            .top
            .iter()
            .filter_map(|l| Some((l.label.clone(), l.confidence?)))
            .collect()
    } else {
        listed
    };
    pacer_core::sort::sort_by(&mut labels, |a, b| b.1.total_cmp(&a.1));
    labels
}

/// Logo boxes as (label, [left, top, width, height] in CSS percent).
fn logo_boxes(prediction: &Prediction) -> Vec<(String, [String; 4])> {
    box_fractions(prediction)
        .into_iter()
        .map(|(label, [left, top, width, height])| {
            let pc = |v: f64| format!("{:.2}%", v * 100.0);
            (label, [pc(left), pc(top), pc(width), pc(height)])
        })
        .collect()
}

/// Each detection's box as fractions of the image (left, top, width,
/// height), clamped to it; empty boxes left out.
pub(super) fn box_fractions(prediction: &Prediction) -> Vec<(String, [f64; 4])> {
    prediction
        .solutions
        .iter()
        .flat_map(|s| &s.detections)
        .filter_map(|d| {
            let b = d.bounding_box?;
            let unit = |v: f64| v.clamp(0.0, 1.0);
            let (left, top) = (unit(b.top_left_x), unit(b.top_left_y));
            let (width, height) = (unit(b.bottom_right_x) - left, unit(b.bottom_right_y) - top);
            (width > 0.0 && height > 0.0).then(|| (d.label.clone(), [left, top, width, height]))
        })
        .collect()
}

/// The answer's solutions as the API sent them, keyed by model.
fn raw_json(prediction: &Prediction) -> String {
    let solutions: serde_json::Map<String, serde_json::Value> = prediction
        .solutions
        .iter()
        .map(|s| (s.model.clone(), s.raw.clone()))
        .collect();
    let value = serde_json::json!({
        "correlation_id": prediction.correlation_id,
        "solutions": solutions,
    });
    serde_json::to_string_pretty(&value).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use pacer_core::api::{BoundingBox, Detection, Label};

    fn solution(raw: serde_json::Value, detections: Vec<Detection>) -> Solution {
        Solution {
            model: "m".into(),
            top: Some(Label {
                label: "kitchen".into(),
                confidence: Some(0.8),
            }),
            detections,
            score: None,
            raw,
        }
    }

    #[test]
    fn ranks_the_listed_labels_or_falls_back_to_the_top_one() {
        let listed = serde_json::json!({"predictions": [
            {"label": "b", "confidence": 0.1}, {"label": "a", "confidence": 0.7}, {"label": 3}
        ]});
        let ranked = ranked_labels(&solution(listed, vec![]));
        assert_eq!(ranked, [("a".to_owned(), 0.7), ("b".to_owned(), 0.1)]);
        let top = ranked_labels(&solution(serde_json::Value::Null, vec![]));
        assert_eq!(top, [("kitchen".to_owned(), 0.8)]);
    }

    #[test]
    fn places_logo_boxes_in_percent_and_skips_empty_ones() {
        let det = |b| Detection {
            label: "acme".into(),
            details: vec![],
            bounding_box: Some(b),
        };
        let p = Prediction {
            solutions: vec![solution(
                serde_json::Value::Null,
                vec![
                    det(BoundingBox {
                        top_left_x: 0.1,
                        top_left_y: 0.2,
                        bottom_right_x: 0.5,
                        bottom_right_y: 0.6,
                    }),
                    det(BoundingBox {
                        top_left_x: 0.5,
                        top_left_y: 0.5,
                        bottom_right_x: 0.5,
                        bottom_right_y: 0.9,
                    }),
                ],
            )],
            correlation_id: None,
        };
        let boxes = logo_boxes(&p);
        assert_eq!(boxes.len(), 1);
        assert_eq!(boxes[0].1, ["10.00%", "20.00%", "40.00%", "40.00%"]);
    }
}
