//! The run's results as CSV and JSON documents. Built from the run's record
//! and the item list only: the settings (and so the client key) are never
//! an input here, so they cannot leak into an export.

use std::borrow::Cow;

use pacer_core::api::Prediction;
use serde::Serialize;

use super::model::ItemState;
use super::record::{AttemptRecord, RunRecord};

/// One work item as exports name it: its image, the one model it asked
/// for (per-model calls), and its state.
pub struct ExportItem<'a> {
    /// URL or file name.
    pub image: &'a str,
    /// With per-model calls, the item's model.
    pub model: Option<&'a str>,
    /// Where it is.
    pub state: ItemState,
}

/// One item of the JSON export.
#[derive(Serialize)]
struct JsonItem<'a> {
    index: usize,
    image: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    model: Option<&'a str>,
    state: &'static str,
    attempts: &'a [AttemptRecord],
    prediction: Option<&'a Prediction>,
}

/// The whole run as pretty JSON: the run's id, per item its state, every
/// attempt (send time, latency, status, error, whether it was cut off by
/// leaving the page and may have been charged) and the full predictions.
/// [`JsonParts`] writes the same text a part at a time (the page's
/// exports do; this whole-document form is the tests' reference).
#[cfg(test)]
pub fn to_json(run: Option<&str>, items: &[ExportItem], record: &RunRecord) -> String {
    let parts = JsonParts {
        run,
        possibly_charged: record.possibly_charged(),
        total: items.len(),
    };
    let mut text = parts.head();
    text.push_str(&parts.items(0, items, record));
    text.push_str(&parts.tail());
    text
}

/// The JSON export written a part at a time, so that a run of a million
/// items never lies in memory as one string: [`JsonParts::head`], then
/// [`JsonParts::items`] for consecutive slices of the items (each slice
/// starting at its index in the run), then [`JsonParts::tail`]. The parts
/// put together are the text `serde_json::to_string_pretty` gives of the
/// whole export.
pub struct JsonParts<'r> {
    /// The run's id.
    pub run: Option<&'r str>,
    /// Requests of the run that may have been charged.
    pub possibly_charged: usize,
    /// Items in the run.
    pub total: usize,
}

impl JsonParts<'_> {
    /// Everything before the first item.
    pub fn head(&self) -> String {
        let head = JsonExport {
            run: self.run,
            possibly_charged: self.possibly_charged,
            items: Vec::new(),
        };
        let text = serde_json::to_string_pretty(&head).unwrap_or_default();
        // `…"items": []\n}`: cut before the closing bracket.
        let cut = text.rfind(']').unwrap_or(text.len());
        let mut head = text[..cut].to_owned();
        if self.total > 0 {
            head.push('\n');
        }
        head
    }

    /// Items `items`, the first of which is item `first` of the run, each
    /// as the whole export prints it (a comma after each but the run's
    /// last).
    pub fn items(&self, first: usize, items: &[ExportItem], record: &RunRecord) -> String {
        let mut out = String::new();
        for (k, item) in items.iter().enumerate() {
            let i = first + k;
            let json = JsonItem {
                index: i,
                image: item.image,
                model: item.model,
                state: item.state.as_str(),
                attempts: record.attempts.get(i).map_or(&[], Vec::as_slice),
                prediction: record.predictions.get(i).and_then(Option::as_deref),
            };
            let text = serde_json::to_string_pretty(&json).unwrap_or_default();
            // Strings in JSON hold no raw line breaks: every one is the
            // printer's, indented two levels deeper inside the list.
            out.push_str("    ");
            out.push_str(&text.replace('\n', "\n    "));
            if i + 1 < self.total {
                out.push(',');
            }
            out.push('\n');
        }
        out
    }

    /// Everything after the last item.
    pub fn tail(&self) -> String {
        if self.total > 0 {
            "  ]\n}".to_owned()
        } else {
            "]\n}".to_owned()
        }
    }
}

/// The JSON export's top level, `{"items": [...]}`. Serialized directly
/// rather than through `json!` (a `Value`), so the export shares its
/// pretty printer with the job files and adds no `Value` serializer to the
/// wasm; the text is the same.
#[derive(Serialize)]
struct JsonExport<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    run: Option<&'a str>,
    #[serde(skip_serializing_if = "is_zero")]
    possibly_charged: usize,
    items: Vec<JsonItem<'a>>,
}

fn is_zero(n: &usize) -> bool {
    *n == 0
}

#[derive(Serialize)]
struct CsvRow<'a> {
    image: Cow<'a, str>,
    model: Cow<'a, str>,
    label: Cow<'a, str>,
    confidence: Option<f64>,
    status: &'static str,
    latency_ms: Option<String>,
    attempts: usize,
    error: Cow<'a, str>,
    /// Requests cut off by leaving the page that the server may have
    /// counted (and billed).
    possibly_charged: usize,
}

/// A text cell that a spreadsheet will not take for a formula: text from
/// the network (labels, model names, error messages) or the user (image
/// URLs, file names) that starts with `=`, `+`, `-`, `@`, a tab or a
/// carriage return gets a leading `'` (OWASP's advice against CSV
/// injection: `=HYPERLINK(...)` in a label must stay text).
pub fn spreadsheet_safe(text: &str) -> Cow<'_, str> {
    if text.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        Cow::Owned(format!("'{text}"))
    } else {
        Cow::Borrowed(text)
    }
}

/// One row per image × model (one row per image when it has no prediction,
/// naming its model with per-model calls): image, model, label,
/// confidence, status, latency ms, attempts, error. The page writes it a
/// part at a time with [`csv_part`].
#[cfg(test)]
pub fn to_csv(items: &[ExportItem], record: &RunRecord) -> String {
    csv_part(0, items, record)
}

/// The CSV rows of `items`, the first of which is item `first` of the run;
/// the header line comes with the part that starts at item 0. Parts of
/// consecutive slices put together are [`to_csv`] of the whole run.
pub fn csv_part(first: usize, items: &[ExportItem], record: &RunRecord) -> String {
    let mut w = csv::WriterBuilder::new()
        .has_headers(first == 0)
        .from_writer(Vec::new());
    for (k, item) in items.iter().enumerate() {
        let i = first + k;
        let attempts = record.attempts.get(i).map_or(&[][..], Vec::as_slice);
        let last = attempts.last();
        let base = CsvRow {
            image: spreadsheet_safe(item.image),
            model: spreadsheet_safe(item.model.unwrap_or("")),
            label: Cow::Borrowed(""),
            confidence: None,
            status: item.state.as_str(),
            latency_ms: last.map(|a| format!("{:.1}", a.latency_ms)),
            attempts: attempts.len(),
            error: spreadsheet_safe(last.and_then(|a| a.error.as_deref()).unwrap_or("")),
            possibly_charged: attempts.iter().filter(|a| a.possibly_charged).count(),
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
                        image: base.image.clone(),
                        model: spreadsheet_safe(&s.model),
                        label: spreadsheet_safe(&label),
                        confidence: top.and_then(|t| t.confidence).or(s.score),
                        status: base.status,
                        latency_ms: base.latency_ms.clone(),
                        attempts: base.attempts,
                        error: Cow::Borrowed(""),
                        possibly_charged: base.possibly_charged,
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

#[cfg(test)]
mod tests {
    use super::*;
    use pacer_core::api::classify;

    #[test]
    fn a_per_model_item_names_its_model_even_when_it_failed() {
        let mut record = RunRecord::new(2);
        record.add(
            1,
            AttemptRecord {
                attempt: 1,
                sent_unix_ms: 0.0,
                latency_ms: 12.0,
                status: Some(500),
                error: Some("HTTP 500".into()),
                possibly_charged: false,
                held_ms: None,
            },
            None,
        );
        let items = [
            ExportItem {
                image: "https://x/1.jpg",
                model: Some("re_logo"),
                state: ItemState::Queued,
            },
            ExportItem {
                image: "https://x/1.jpg",
                model: Some("re_features_v4"),
                state: ItemState::Failed,
            },
        ];
        let csv = to_csv(&items, &record);
        let lines: Vec<&str> = csv.lines().collect();
        assert_eq!(lines[1], "https://x/1.jpg,re_logo,,,queued,,0,,0");
        assert_eq!(
            lines[2],
            "https://x/1.jpg,re_features_v4,,,failed,12.0,1,HTTP 500,0"
        );
        let json = to_json(None, &items, &record);
        assert!(json.contains("\"model\": \"re_features_v4\""), "{json}");
    }

    #[test]
    fn formula_cells_are_neutralised() {
        // Regression: labels such as `=HYPERLINK(...)` from the API went
        // into the CSV as they were, and a spreadsheet ran them.
        let body = serde_json::json!({"error": "false", "response": {"solutions": {
            "m1": {"top_prediction": {"label": "=HYPERLINK(\"http://evil.test\",\"x\")", "confidence": 0.5}},
            "m2": {"top_prediction": {"label": "+1+1"}},
            "m3": {"top_prediction": {"label": "-2"}},
            "m4": {"top_prediction": {"label": "@SUM(A1)"}},
            "m5": {"top_prediction": {"label": "\tTAB"}},
            "m6": {"top_prediction": {"label": "\rCR"}},
            "=m7": {"detections": [{"label": "kitchen"}]}
        }}})
        .to_string();
        let mut record = RunRecord::new(2);
        let attempt = |status, error: Option<&str>| AttemptRecord {
            attempt: 1,
            sent_unix_ms: 1.7e12,
            latency_ms: 1.0,
            status,
            error: error.map(str::to_owned),
            possibly_charged: false,
            held_ms: None,
        };
        record.add(
            0,
            attempt(Some(200), None),
            Some(classify(200, &body, None).unwrap()),
        );
        record.add(1, attempt(Some(400), Some("=cmd|' /C calc'!A0")), None);
        let items = [
            ExportItem {
                image: "https://x/1.jpg",
                model: None,
                state: ItemState::Done,
            },
            ExportItem {
                image: "-local.jpg",
                model: None,
                state: ItemState::Failed,
            },
        ];
        let csv = to_csv(&items, &record);
        let mut reader = csv::Reader::from_reader(csv.as_bytes());
        let cells: Vec<String> = reader
            .records()
            .flat_map(|r| r.unwrap().iter().map(str::to_owned).collect::<Vec<_>>())
            .collect();
        for cell in &cells {
            assert!(
                !cell.starts_with(['=', '+', '-', '@', '\t', '\r']),
                "{cell:?} would be a formula in {csv}"
            );
        }
        for want in [
            "'=HYPERLINK",
            "'+1+1",
            "'-2",
            "'@SUM(A1)",
            "'\tTAB",
            "'\rCR",
            "'=m7",
            "'-local.jpg",
            "'=cmd",
        ] {
            assert!(cells.iter().any(|c| c.starts_with(want)), "{want} in {csv}");
        }
        assert_eq!(spreadsheet_safe("kitchen"), "kitchen");
        assert_eq!(spreadsheet_safe(""), "");
    }

    #[test]
    fn requests_cut_off_by_leaving_are_counted_as_possibly_charged_in_both_exports() {
        let mut record = RunRecord::new(1);
        let cut = AttemptRecord {
            attempt: 1,
            sent_unix_ms: 0.0,
            latency_ms: 900.0,
            status: None,
            error: Some("cut off".into()),
            possibly_charged: true,
            held_ms: None,
        };
        record.add(0, cut, None);
        let items = [ExportItem {
            image: "https://x/1.jpg",
            model: None,
            state: ItemState::Queued,
        }];
        let csv = to_csv(&items, &record);
        assert!(csv.lines().next().unwrap().ends_with(",possibly_charged"));
        assert!(csv.lines().nth(1).unwrap().ends_with(",1"), "{csv}");
        let json = to_json(Some("run-1"), &items, &record);
        assert!(json.contains("\"run\": \"run-1\""), "{json}");
        assert!(json.contains("\"possibly_charged\": 1"), "{json}");
        assert!(json.contains("\"possibly_charged\": true"), "{json}");
    }

    /// A run of three items: answered (after a retry), failed, queued.
    fn run() -> (Vec<String>, Vec<ItemState>, RunRecord) {
        let body = serde_json::json!({"error": "false", "correlation_id": "c-1", "response": {"solutions": {
            "re_roomtype_global_v2": {"top_prediction": {"label": "kitchen", "confidence": 0.9}},
            "re_logo": {"detections": [{"label": "remax", "bounding_box": {
                "top_left_x": 0.1, "top_left_y": 0.2, "bottom_right_x": 0.3, "bottom_right_y": 0.4}}]},
            "a_new_model": {"whatever": [1, 2.5, null]}
        }}})
        .to_string();
        let attempt = |attempt, status, error: Option<&str>| AttemptRecord {
            attempt,
            sent_unix_ms: 1_700_000_000_123.25,
            latency_ms: 310.5,
            status,
            error: error.map(str::to_owned),
            possibly_charged: false,
            held_ms: None,
        };
        let mut record = RunRecord::new(3);
        record.add(0, attempt(1, Some(503), Some("server error")), None);
        record.add(
            0,
            attempt(2, Some(200), None),
            Some(classify(200, &body, None).unwrap()),
        );
        record.add(1, attempt(1, None, Some("network")), None);
        let sources = ["https://x/1.jpg", "https://x/2.jpg", "https://x/3.jpg"].map(String::from);
        let states = vec![ItemState::Done, ItemState::Failed, ItemState::Queued];
        (sources.into(), states, record)
    }

    #[test]
    fn json_export_text_is_what_json_macro_gave() {
        // Regression guard for the size change: the export used to go
        // through `json!({"items": items})`; the text must not change.
        let (sources, states, record) = run();
        let items: Vec<JsonItem> = (0..3)
            .map(|i| JsonItem {
                index: i,
                image: &sources[i],
                model: None,
                state: states[i].as_str(),
                attempts: &record.attempts[i],
                prediction: record.predictions[i].as_deref(),
            })
            .collect();
        let before = serde_json::to_string_pretty(&serde_json::json!({ "items": items })).unwrap();
        let export: Vec<ExportItem> = (0..3)
            .map(|i| ExportItem {
                image: &sources[i],
                model: None,
                state: states[i],
            })
            .collect();
        assert_eq!(to_json(None, &export, &record), before);
        assert!(before.contains("\"whatever\""));
    }
}

#[cfg(test)]
mod parts_tests {
    use super::*;

    fn items(n: usize) -> (Vec<String>, RunRecord) {
        let mut record = RunRecord::new(n);
        for i in (0..n).step_by(2) {
            record.add(
                i,
                AttemptRecord {
                    attempt: 1,
                    sent_unix_ms: 1.7e12 + i as f64,
                    latency_ms: 50.5,
                    status: Some(500),
                    error: Some("HTTP 500:\nline two".into()),
                    held_ms: None,
                    possibly_charged: i % 4 == 0,
                },
                None,
            );
        }
        (
            (0..n).map(|i| format!("https://x/{i}.jpg")).collect(),
            record,
        )
    }

    fn export_items(sources: &[String]) -> Vec<ExportItem<'_>> {
        sources
            .iter()
            .enumerate()
            .map(|(i, s)| ExportItem {
                image: s,
                model: (i % 3 == 0).then_some("m"),
                state: if i % 2 == 0 {
                    ItemState::Failed
                } else {
                    ItemState::Queued
                },
            })
            .collect()
    }

    /// The export as one serde document, as it was written before parts.
    fn whole(run: Option<&str>, items: &[ExportItem], record: &RunRecord) -> String {
        let items = items
            .iter()
            .enumerate()
            .map(|(i, item)| JsonItem {
                index: i,
                image: item.image,
                model: item.model,
                state: item.state.as_str(),
                attempts: &record.attempts[i],
                prediction: record.predictions[i].as_deref(),
            })
            .collect();
        serde_json::to_string_pretty(&JsonExport {
            run,
            possibly_charged: record.possibly_charged(),
            items,
        })
        .unwrap()
    }

    #[test]
    fn json_parts_put_together_are_the_whole_document() {
        for n in [0, 1, 2, 7] {
            let (sources, record) = items(n);
            let items = export_items(&sources);
            for run in [None, Some("run-1")] {
                let parts = JsonParts {
                    run,
                    possibly_charged: record.possibly_charged(),
                    total: n,
                };
                for chunk in [1, 3, 100] {
                    let mut text = parts.head();
                    for (k, slice) in items.chunks(chunk).enumerate() {
                        text.push_str(&parts.items(k * chunk, slice, &record));
                    }
                    text.push_str(&parts.tail());
                    assert_eq!(text, whole(run, &items, &record), "n {n} chunk {chunk}");
                }
                assert_eq!(to_json(run, &items, &record), whole(run, &items, &record));
            }
        }
    }

    #[test]
    fn csv_parts_put_together_are_the_whole_table() {
        let (sources, record) = items(7);
        let items = export_items(&sources);
        let whole = to_csv(&items, &record);
        assert!(whole.starts_with("image,model,"));
        for chunk in [1, 2, 5] {
            let text: String = items
                .chunks(chunk)
                .enumerate()
                .map(|(k, slice)| csv_part(k * chunk, slice, &record))
                .collect();
            assert_eq!(text, whole, "chunk {chunk}");
        }
    }
}
