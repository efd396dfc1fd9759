//! An answer's predictions, per model: top label with confidence, detections
//! as chips, a condition score, or the raw JSON of an unknown shape.
//!
//! Everything here comes from the network and is rendered as text only.

use leptos::prelude::*;
use pacer_core::api::{Prediction, Solution};

/// Most characters of raw JSON shown for an unknown solution shape.
const RAW_PREVIEW: usize = 160;

/// `0.934` → `"93%"`.
pub fn percent(confidence: f64) -> String {
    format!("{:.0}%", (confidence * 100.0).clamp(0.0, 100.0))
}

/// A prefix of `text` of at most `max` characters, with `…` when cut.
fn preview(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text.to_owned(),
    }
}

/// All solutions of one answer.
#[component]
pub fn Predictions(
    /// The answer.
    prediction: Prediction,
) -> impl IntoView {
    view! {
        <div class="predictions">
            {prediction
                .solutions
                .into_iter()
                .map(|solution| view! { <SolutionView solution=solution /> })
                .collect_view()}
        </div>
    }
}

/// One model's solution.
#[component]
fn SolutionView(
    /// The solution.
    solution: Solution,
) -> impl IntoView {
    let Solution {
        model,
        top,
        detections,
        score,
        raw,
    } = solution;
    // A detection model that found nothing answers `"detections": []`.
    let found_nothing = detections.is_empty()
        && raw
            .get("detections")
            .and_then(|d| d.as_array())
            .is_some_and(Vec::is_empty);
    let known = top.is_some() || !detections.is_empty() || score.is_some() || found_nothing;
    let raw_text = (!known).then(|| raw.to_string());
    view! {
        <div class="solution">
            <span class="model">{model}</span>
            {top.map(|label| {
                view! {
                    <span class="top-label">
                        {label.label}
                        {label.confidence.map(|c| view! { <span class="confidence">{percent(c)}</span> })}
                    </span>
                }
            })}
            {(!detections.is_empty()).then(|| {
                view! {
                    <span class="chips">
                        {detections
                            .into_iter()
                            .map(|d| {
                                let title = d.details.join(", ");
                                view! { <span class="chip" title=title>{d.label}</span> }
                            })
                            .collect_view()}
                    </span>
                }
            })}
            {found_nothing.then(|| view! { <span class="muted">"nothing found"</span> })}
            {score.map(|s| view! { <span class="score">"score " {format!("{s:.2}")}</span> })}
            {raw_text.map(|text| {
                view! { <code class="raw" title=text.clone()>{preview(&text, RAW_PREVIEW)}</code> }
            })}
        </div>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_confidence_and_previews() {
        assert_eq!(percent(0.934), "93%");
        assert_eq!(percent(1.2), "100%");
        assert_eq!(preview("abc", 5), "abc");
        assert_eq!(preview("äbcdef", 3), "äbc…");
    }
}
