//! Row updates, batched: the pool marks items as changed, and the run's
//! ticker writes their current state into the row signals a few times a
//! second. The saved run is written from the same kind of marks, but as
//! soon as an answer is in (see `persist`), so a reload loses none.
//!
//! Writing each answer straight into the DOM cost a style, layout and paint
//! pass of the whole table per answer: at 50 answers/s over 500 rows the
//! page's one thread spent ~25 ms per frame rendering (a Chromium trace:
//! PrePaint 5.4 s, Layout 4.4 s, Paint 3.2 s in a 20 s run), delayed the
//! sends behind it and held the run to 0.61 of its rate. Rows four times a
//! second cost the same few passes whatever the rate.

use std::cell::RefCell;
use std::rc::Rc;

use leptos::prelude::*;
use pacer_core::driver::RunControl;
use pacer_core::schedule::{ItemId, ItemStatus};

use super::model::{ItemResult, ItemRow, ItemState};
use super::record::RunRecord;
use super::saved::SavedItem;

/// Items whose row is out of date, each once.
#[derive(Debug, Default)]
pub struct DirtyRows {
    ids: Vec<ItemId>,
    marked: Vec<bool>,
}

impl DirtyRows {
    /// Room for `items` items.
    pub fn new(items: usize) -> Self {
        Self {
            ids: Vec::new(),
            marked: vec![false; items],
        }
    }

    /// Notes that `item` changed.
    pub fn mark(&mut self, item: ItemId) {
        if let Some(marked) = self.marked.get_mut(item) {
            if !*marked {
                *marked = true;
                self.ids.push(item);
            }
        }
    }

    /// True when nothing is marked.
    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }

    fn take(&mut self) -> Vec<ItemId> {
        for &id in &self.ids {
            self.marked[id] = false;
        }
        std::mem::take(&mut self.ids)
    }
}

/// Shared between the pool's observer (marks) and the ticker (flushes).
pub type SharedDirty = Rc<RefCell<DirtyRows>>;

/// An item as the run knows it now: the scheduler's status mapped to the
/// row's state, its result, attempts sent and the last latency.
fn current(
    id: ItemId,
    control: &RunControl,
    record: &RunRecord,
) -> (ItemState, Option<ItemResult>, u32, Option<f64>) {
    let (status, attempts) = control.read(|s| (s.status(id).clone(), s.attempts(id)));
    let state = match &status {
        ItemStatus::Queued => ItemState::Queued,
        ItemStatus::Retrying { .. } => ItemState::Retrying,
        ItemStatus::InFlight { .. } => ItemState::InFlight,
        ItemStatus::Done => ItemState::Done,
        ItemStatus::Failed { .. } => ItemState::Failed,
        ItemStatus::Cancelled => ItemState::Cancelled,
    };
    let result = match status {
        ItemStatus::Done => record.predictions[id].clone().map(ItemResult::Ok),
        ItemStatus::Failed { reason } => Some(ItemResult::Err(reason)),
        _ => None,
    };
    let latency = record.attempts[id].last().map(|a| a.latency_ms);
    (state, result, attempts, latency)
}

/// Writes the current state of every changed item into its row.
pub fn flush(
    dirty: &SharedDirty,
    rows: &[ItemRow],
    control: &RunControl,
    record: &RefCell<RunRecord>,
) {
    let ids = dirty.borrow_mut().take();
    let record = record.borrow();
    for id in ids {
        let Some(row) = rows.get(id) else { continue };
        let (state, result, attempts, latency) = current(id, control, &record);
        set_if_changed(row.state, state);
        set_if_changed(row.attempts, attempts);
        set_if_changed(row.latency_ms, latency);
        set_if_changed(row.result, result);
    }
}

/// The changed items as JSON for the saved run (`persist`).
pub fn take_saved(
    unsaved: &SharedDirty,
    control: &RunControl,
    record: &RefCell<RunRecord>,
) -> Vec<(ItemId, String)> {
    let ids = unsaved.borrow_mut().take();
    let record = record.borrow();
    ids.into_iter()
        .filter_map(|id| {
            let (state, result, _, _) = current(id, control, &record);
            let item = SavedItem::capture(state, result.as_ref(), &record.attempts[id]);
            Some((id, serde_json::to_string(&item).ok()?))
        })
        .collect()
}

fn set_if_changed<T: PartialEq + Send + Sync + 'static>(signal: RwSignal<T>, value: T) {
    if signal.with_untracked(|old| *old != value) {
        signal.set(value);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn marks_each_item_once_until_taken() {
        let mut dirty = DirtyRows::new(3);
        dirty.mark(2);
        dirty.mark(0);
        dirty.mark(2);
        dirty.mark(7);
        assert_eq!(dirty.take(), vec![2, 0]);
        assert!(dirty.take().is_empty());
        dirty.mark(2);
        assert_eq!(dirty.take(), vec![2]);
    }
}
