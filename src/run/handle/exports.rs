//! The results of a run as downloads: the run on show (its rows and
//! record) as CSV or JSON, with its id; never the key.

use std::rc::Rc;

use leptos::prelude::*;

use super::{ExportFormat, RunHandle};
use crate::run::export::{to_csv, to_json, ExportItem};
use crate::run::id::RunId;
use crate::run::model::{ItemRow, NoticeLevel};
use crate::run::record::RunRecord;

impl RunHandle {
    /// Downloads the results of the run on show as CSV or JSON; never the key.
    pub fn export(&self, format: ExportFormat) {
        let (id, record) = self
            .shown
            .with_value(|s| (s.id.clone(), Rc::clone(&s.record)));
        let record = record.borrow();
        let rows = self.items.with_untracked(<[ItemRow]>::to_vec);
        self.download(format, id.as_ref(), &rows, &record);
    }

    pub(super) fn download(
        &self,
        format: ExportFormat,
        id: Option<&RunId>,
        rows: &[ItemRow],
        record: &RunRecord,
    ) {
        let items: Vec<ExportItem> = rows
            .iter()
            .map(|r| ExportItem {
                image: &r.source,
                model: r.model.as_deref(),
                state: r.state,
            })
            .collect();
        let (name, mime, text) = match format {
            ExportFormat::Csv => ("pacer-results.csv", "text/csv", to_csv(&items, record)),
            ExportFormat::Json => (
                "pacer-results.json",
                "application/json",
                to_json(id.map(RunId::as_str), &items, record),
            ),
        };
        if let Err(e) = crate::browser::download(name, mime, &text) {
            self.say(
                NoticeLevel::Error,
                &format!("The export could not be saved: {e}"),
            );
        }
    }
}
