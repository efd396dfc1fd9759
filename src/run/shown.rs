//! The run on show when no session runs it: a saved run opened from this
//! browser's storage or from a job file, put back together (rows, figures,
//! what is left to send), and what resuming it needs.

use std::cell::RefCell;
use std::collections::HashSet;
use std::rc::Rc;

use leptos::prelude::*;
use pacer_core::schedule::{ItemId, ItemStatus};

use super::figures::saved_figures;
use super::id::RunId;
use super::model::{ItemRow, ItemState, NoticeLevel, RunState, Upload};
use super::record::{AttemptRecord, RunRecord};
use super::rows_of::rows_of;
use super::saved::{add_cut, restore, SavedItem, SavedRun};
use super::view::RunView;
use super::work::Work;
use crate::browser::{jpeg_object_url, unix_now};

/// The run on show (its session's, or a saved one's).
#[derive(Clone, Default)]
pub(super) struct Shown {
    /// Its id (none when nothing is on show).
    pub id: Option<RunId>,
    /// Its fixed part as saved, when it was opened from storage or a job.
    pub run: Option<SavedRun>,
    /// Its images and items.
    pub work: Rc<Work>,
    /// What it recorded.
    pub record: Rc<RefCell<RunRecord>>,
    /// Set while it can be taken up (items left, no session).
    pub resumable: Option<Rc<Resumable>>,
}

/// What resuming a saved run needs.
pub(super) struct Resumable {
    /// Items that had ended: never sent again.
    pub ended: Vec<(ItemId, ItemStatus, u32)>,
    /// Whether this browser's storage holds the run (else it came from a
    /// job file and is saved whole on resume).
    pub in_store: bool,
    /// Items to save at once on resume (those a job file brought, and
    /// requests noted as cut off when a page was left).
    pub extra: Vec<ItemId>,
    /// Its items came (in part) from a job file, not only from storage.
    pub from_job: bool,
}

/// Shows saved run `run` (its `items` and local `files`) in `view`:
/// interrupted when items are left, else done or cancelled. `in_store`:
/// this browser's storage holds it; `from_job`: its items came (in part)
/// from a job file and are saved on resume. Requests noted as cut off when
/// a page was left (`cut`) are added as possibly charged. Returns what is
/// on show and the URLs for the form (local files are not URLs).
pub(super) fn show_saved(
    view: RunView,
    run: SavedRun,
    mut items: Vec<(usize, SavedItem)>,
    files: Vec<(usize, Rc<[u8]>)>,
    (in_store, from_job): (bool, bool),
    cut: &[(usize, AttemptRecord)],
) -> (Shown, Vec<String>) {
    let id = run.id_or_legacy();
    let cut_items = add_cut(&mut items, cut, &id);
    let images = run.sources.len();
    let mut uploads: Vec<Option<Upload>> = vec![None; images];
    for (index, jpeg) in files.into_iter().filter(|(i, _)| *i < images) {
        uploads[index] = Some(Upload {
            thumb_url: jpeg_object_url(&jpeg),
            jpeg,
        });
    }
    let work = Work::new(run.sources.clone(), uploads, run.per_model());
    let total = work.len();
    let extra: Vec<ItemId> = if from_job {
        items
            .iter()
            .map(|(i, _)| *i)
            .filter(|&i| i < total)
            .collect()
    } else {
        cut_items.into_iter().filter(|&i| i < total).collect()
    };
    let mut restored = restore(Some(&id), total, items);
    let lost = run
        .files
        .iter()
        .copied()
        .filter(|&i| work.uploads.get(i).is_some_and(Option::is_none))
        .flat_map(|i| work.items_of(i..i + 1));
    restored.fail_pending(
        lost,
        "the local file was not kept in this browser's storage; add it again to send it",
    );
    let rows: Vec<ItemRow> = rows_of(&work)
        .into_iter()
        .map(|row| {
            let i = row.id;
            let (state, result) = restored.rows[i].clone();
            let attempts = &restored.record.attempts[i];
            ItemRow {
                state,
                result,
                attempts: u32::try_from(attempts.len()).unwrap_or(u32::MAX),
                latency_ms: attempts.last().map(|a| a.latency_ms),
                ..row
            }
        })
        .collect();
    let count = |s: ItemState| restored.rows.iter().filter(|r| r.0 == s).count();
    let (done, failed, cancelled) = (
        count(ItemState::Done),
        count(ItemState::Failed),
        count(ItemState::Cancelled),
    );
    let pending = restored.pending();
    let charged = restored.record.possibly_charged();
    saved_figures(
        view,
        &restored.record,
        run.settings.rate,
        (done, failed, pending),
        total,
    );
    view.items.set(rows);
    let files: HashSet<usize> = run.files.iter().copied().collect();
    let urls: Vec<String> = run
        .sources
        .iter()
        .enumerate()
        .filter(|(i, _)| !files.contains(i))
        .map(|(_, source)| source.clone())
        .collect();
    let when = when_text(run.started_unix_ms, unix_now().as_secs_f64() * 1000.0);
    let charged_text = if charged > 0 {
        format!(
            " {charged} request(s) were cut off on the wire when the page was left: the server \
             may have counted them, so they are marked as possibly charged."
        )
    } else {
        String::new()
    };
    // What the reader of the saved run had to leave out (attempts with
    // impossible times), said once with the rest.
    let mended: String = restored.notes.iter().map(|n| format!(" {n}")).collect();
    let charged_text = format!("{charged_text}{mended}");
    let resumable = if pending > 0 && cancelled == 0 {
        view.state.set(RunState::Interrupted);
        view.say(
            NoticeLevel::Warning,
            &format!(
                "A run started {when} was interrupted with {done} of {total} done. \
                 Resume sends the {pending} left (nothing that succeeded is sent again); \
                 Start makes a new run and keeps this one in the history.{charged_text}"
            ),
        );
        Some(Rc::new(Resumable {
            ended: restored.ended,
            in_store,
            extra,
            from_job,
        }))
    } else {
        view.state.set(if cancelled > 0 {
            RunState::Cancelled
        } else {
            RunState::Done
        });
        view.say(
            NoticeLevel::Info,
            &format!(
                "The results of the last run (started {when}) are shown; Clear forgets them.{charged_text}"
            ),
        );
        None
    };
    view.run_id.set(Some(id.clone()));
    let shown = Shown {
        id: Some(id),
        run: Some(run),
        work: Rc::new(work),
        record: Rc::new(RefCell::new(restored.record)),
        resumable,
    };
    (shown, urls)
}

/// "12 min ago", "3 h ago", "2 days ago" for a run's start.
pub fn when_text(started_ms: f64, now_ms: f64) -> String {
    let s = ((now_ms - started_ms) / 1000.0).max(0.0);
    if s < 90.0 {
        "moments ago".to_owned()
    } else if s < 90.0 * 60.0 {
        format!("{:.0} min ago", s / 60.0)
    } else if s < 36.0 * 3600.0 {
        format!("{:.0} h ago", s / 3600.0)
    } else {
        format!("{:.0} days ago", s / 86_400.0)
    }
}

#[cfg(test)]
mod tests {
    use super::when_text;

    #[test]
    fn when_reads_naturally() {
        assert_eq!(when_text(0.0, 30_000.0), "moments ago");
        assert_eq!(when_text(0.0, 12.0 * 60_000.0), "12 min ago");
        assert_eq!(when_text(0.0, 5.0 * 3_600_000.0), "5 h ago");
        assert_eq!(when_text(0.0, 3.0 * 86_400_000.0), "3 days ago");
    }
}
