//! The rows of a run and their updates, batched: the pool marks items as
//! changed, and the run's ticker writes their current state into
//! [`ItemRows`] a few times a second. The saved run is written from the
//! same kind of marks, but as soon as an answer is in (see `saver`), so a
//! reload loses none.
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

/// Every item's row, in input order, behind one version signal: the list
/// shows only the rows in view (see `ui::results_table`), and each of those
/// re-reads its row when the version moves.
#[derive(Clone, Copy, Debug)]
pub struct ItemRows {
    rows: StoredValue<Vec<ItemRow>>,
    version: RwSignal<u64>,
}

impl ItemRows {
    /// No rows.
    pub fn new() -> Self {
        Self {
            rows: StoredValue::new(Vec::new()),
            version: RwSignal::new(0),
        }
    }

    /// Replaces every row.
    pub fn set(&self, rows: Vec<ItemRow>) {
        self.rows.set_value(rows);
        self.version.update(|v| *v += 1);
    }

    /// Takes every row out, leaving none, without telling the readers
    /// (for a session about to [`ItemRows::set`] them again).
    pub fn take(&self) -> Vec<ItemRow> {
        self.rows
            .try_update_value(std::mem::take)
            .unwrap_or_default()
    }

    /// Reads the rows and redraws the reader when they change.
    pub fn with<R>(&self, f: impl FnOnce(&[ItemRow]) -> R) -> R {
        self.version.track();
        self.rows.with_value(|rows| f(rows))
    }

    /// Reads the rows without tracking.
    pub fn with_untracked<R>(&self, f: impl FnOnce(&[ItemRow]) -> R) -> R {
        self.rows.with_value(|rows| f(rows))
    }

    /// Row `id` as it is now (tracked).
    pub fn row(&self, id: usize) -> Option<ItemRow> {
        self.with(|rows| rows.get(id).cloned())
    }

    /// How many rows (tracked).
    pub fn len(&self) -> usize {
        self.with(<[ItemRow]>::len)
    }

    /// True when there are no rows (tracked).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Changes rows in place; readers are told only when `f` says it
    /// changed something.
    fn update(&self, f: impl FnOnce(&mut [ItemRow]) -> bool) {
        if self.rows.try_update_value(|rows| f(rows)) == Some(true) {
            self.version.update(|v| *v += 1);
        }
    }
}

impl Default for ItemRows {
    fn default() -> Self {
        Self::new()
    }
}

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

    /// True when no item is marked.
    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }

    /// The marked items, each once, left marked.
    pub fn ids(&self) -> &[ItemId] {
        &self.ids
    }

    /// The marked items, each once; none are marked after.
    pub fn take(&mut self) -> Vec<ItemId> {
        for &id in &self.ids {
            self.marked[id] = false;
        }
        std::mem::take(&mut self.ids)
    }
}

/// Shared between the pool's observer (marks) and the ticker (flushes).
pub type SharedDirty = Rc<RefCell<DirtyRows>>;

/// An item's shown state and result as the run knows them now.
pub fn current_state(
    id: ItemId,
    control: &RunControl,
    record: &RunRecord,
) -> (ItemState, Option<ItemResult>) {
    let (state, result, _, _) = current(id, control, record);
    (state, result)
}

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
    rows: ItemRows,
    control: &RunControl,
    record: &RefCell<RunRecord>,
) {
    let ids = dirty.borrow_mut().take();
    if ids.is_empty() {
        return;
    }
    let record = record.borrow();
    rows.update(|rows| {
        let mut changed = false;
        for id in ids {
            let Some(row) = rows.get_mut(id) else {
                continue;
            };
            let (state, result, attempts, latency_ms) = current(id, control, &record);
            if row.state != state
                || row.attempts != attempts
                || row.latency_ms != latency_ms
                || row.result != result
            {
                (row.state, row.attempts, row.latency_ms, row.result) =
                    (state, attempts, latency_ms, result);
                changed = true;
            }
        }
        changed
    });
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
