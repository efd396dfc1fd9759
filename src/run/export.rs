//! The run's results as CSV and JSON documents. Built from the run's record
//! and the item list only: the settings (and so the client key) are never
//! an input here, so they cannot leak into an export.

use pacer_core::api::Prediction;
use serde::Serialize;

use super::model::ItemState;
use super::record::{AttemptRecord, RunRecord};

/// One item of the JSON export.
#[derive(Serialize)]
struct JsonItem<'a> {
    index: usize,
    image: &'a str,
    state: &'static str,
    attempts: &'a [AttemptRecord],
    prediction: Option<&'a Prediction>,
}

/// The whole run as pretty JSON: per item its state, every attempt (send
/// time, latency, status, error) and the full predictions.
pub fn to_json(sources: &[String], states: &[ItemState], record: &RunRecord) -> String {
    let items: Vec<JsonItem> = sources
        .iter()
        .enumerate()
        .map(|(i, image)| JsonItem {
            index: i,
            image,
            state: states.get(i).map_or("queued", |s| s.as_str()),
            attempts: record.attempts.get(i).map_or(&[], Vec::as_slice),
            prediction: record.predictions.get(i).and_then(Option::as_deref),
        })
        .collect();
    serde_json::to_string_pretty(&serde_json::json!({ "items": items })).unwrap_or_default()
}

#[derive(Serialize)]
struct CsvRow<'a> {
    image: &'a str,
    model: &'a str,
    label: &'a str,
    confidence: Option<f64>,
    status: &'static str,
    latency_ms: Option<String>,
    attempts: usize,
    error: &'a str,
}

/// One row per image × model (one row per image when it has no prediction):
/// image, model, label, confidence, status, latency ms, attempts, error.
pub fn to_csv(sources: &[String], states: &[ItemState], record: &RunRecord) -> String {
    let mut w = csv::Writer::from_writer(Vec::new());
    for (i, image) in sources.iter().enumerate() {
        let attempts = record.attempts.get(i).map_or(&[][..], Vec::as_slice);
        let last = attempts.last();
        let base = CsvRow {
            image,
            model: "",
            label: "",
            confidence: None,
            status: states.get(i).map_or("queued", |s| s.as_str()),
            latency_ms: last.map(|a| format!("{:.1}", a.latency_ms)),
            attempts: attempts.len(),
            error: last.and_then(|a| a.error.as_deref()).unwrap_or(""),
        };
        match record.predictions.get(i).and_then(Option::as_deref) {
            Some(p) if !p.solutions.is_empty() => {
                for s in &p.solutions {
                    let top = s.top.as_ref();
                    let detections = (top.is_none()).then(|| {
                        s.detections
                            .iter()
                            .map(|d| d.label.as_str())
                            .collect::<Vec<_>>()
                            .join("; ")
                    });
                    let label = top
                        .map(|t| t.label.clone())
                        .or(detections)
                        .unwrap_or_default();
                    let _ = w.serialize(CsvRow {
                        model: &s.model,
                        label: &label,
                        confidence: top.and_then(|t| t.confidence).or(s.score),
                        error: "",
                        latency_ms: base.latency_ms.clone(),
                        ..base
                    });
                }
            }
            _ => {
                let _ = w.serialize(&base);
            }
        }
    }
    String::from_utf8(w.into_inner().unwrap_or_default()).unwrap_or_default()
}
