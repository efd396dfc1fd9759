//! The results of a run as downloads: the run on show (its rows and
//! record) as CSV or JSON, with its id; never the key.
//!
//! Written a slice of items at a time into a file of parts, with a pause
//! between slices: a run of a million items never lies in memory as one
//! string (nor its rows copied), and the page keeps drawing while the
//! file is written. A run still going on is exported as each slice is when
//! it is written.

use std::cell::RefCell;
use std::rc::Rc;
use std::time::Duration;

use leptos::prelude::*;
use pacer_core::Sleep;

use super::{ExportFormat, RunHandle};
use crate::browser::{FileParts, TimerSleep};
use crate::run::export::{csv_part, ExportItem, JsonParts};
use crate::run::id::RunId;
use crate::run::model::{ItemRow, NoticeLevel};
use crate::run::record::RunRecord;
use crate::run::rows::ItemRows;

/// Items written between two pauses.
const SLICE: usize = 5_000;
/// Why an export stopped half-way.
const CHANGED: &str = "the run on show changed while it was being written; export it again";

/// Where an export reads its items from.
enum Source {
    /// The rows on show (the run may still be going on).
    Shown(ItemRows),
    /// Rows made for a saved run not on show.
    Rows(Vec<ItemRow>),
}

impl Source {
    fn with<R>(&self, f: impl FnOnce(&[ItemRow]) -> R) -> R {
        match self {
            Source::Shown(rows) => rows.with_untracked(f),
            Source::Rows(rows) => f(rows),
        }
    }
}

/// One slice of the export, `range` of the rows, as text.
fn slice_text(
    format: ExportFormat,
    json: &JsonParts,
    rows: &[ItemRow],
    first: usize,
    record: &RunRecord,
) -> String {
    let items: Vec<ExportItem> = rows
        .iter()
        .map(|r| ExportItem {
            image: &r.source,
            model: r.model.as_deref(),
            state: r.state,
        })
        .collect();
    match format {
        ExportFormat::Csv => csv_part(first, &items, record),
        ExportFormat::Json => json.items(first, &items, record),
    }
}

impl RunHandle {
    /// Downloads the results of the run on show as CSV or JSON; never the key.
    pub fn export(&self, format: ExportFormat) {
        let (id, record) = self
            .shown
            .with_value(|s| (s.id.clone(), Rc::clone(&s.record)));
        self.write_export(format, id, Source::Shown(self.items), record);
    }

    pub(super) fn download(
        &self,
        format: ExportFormat,
        id: Option<&RunId>,
        rows: Vec<ItemRow>,
        record: RunRecord,
    ) {
        let record = Rc::new(RefCell::new(record));
        self.write_export(format, id.cloned(), Source::Rows(rows), record);
    }

    fn write_export(
        &self,
        format: ExportFormat,
        id: Option<RunId>,
        source: Source,
        record: Rc<RefCell<RunRecord>>,
    ) {
        let handle = *self;
        wasm_bindgen_futures::spawn_local(async move {
            let total = source.with(<[ItemRow]>::len);
            let charged = record.borrow().possibly_charged();
            let json = JsonParts {
                run: id.as_ref().map(RunId::as_str),
                possibly_charged: charged,
                total,
            };
            let mut file = FileParts::new();
            let mut written = if format == ExportFormat::Json {
                file.push(&json.head())
            } else {
                Ok(())
            };
            let mut first = 0;
            while written.is_ok() && first < total {
                let end = (first + SLICE).min(total);
                let text = source.with(|rows| {
                    // Cleared or replaced meanwhile: the file would mix runs.
                    let rows = rows.get(first..end).filter(|_| rows.len() == total)?;
                    Some(slice_text(format, &json, rows, first, &record.borrow()))
                });
                written = match text {
                    Some(text) => file.push(&text),
                    None => Err(CHANGED.to_owned()),
                };
                first = end;
                // Lets the page draw (and the run go on) between slices.
                TimerSleep.sleep(Duration::ZERO).await;
            }
            let (name, mime) = match format {
                ExportFormat::Csv => ("pacer-results.csv", "text/csv"),
                ExportFormat::Json => {
                    if written.is_ok() {
                        written = file.push(&json.tail());
                    }
                    ("pacer-results.json", "application/json")
                }
            };
            if let Err(e) = written.and_then(|()| file.save(name, mime)) {
                handle.say(
                    NoticeLevel::Error,
                    &format!("The export could not be saved: {e}"),
                );
            }
        });
    }
}
