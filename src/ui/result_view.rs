//! Which rows the results list shows, in which order, and which of them are
//! in view: plain functions of the rows and the scroll position, so that
//! they are tested natively and the list draws only what is visible.

use std::cmp::Ordering;
use std::ops::Range;

use crate::browser::lowercase;
use crate::run::{ItemResult, ItemRow, ItemState};

/// Lists at most this long are drawn whole: the cost is small and every
/// row stays in the page (for find-in-page and for checks that count
/// them). Longer lists draw only the rows in view.
pub const DRAW_ALL_UP_TO: usize = 200;

/// Rows drawn beyond each edge of the view, so that a quick scroll does not
/// show blank space before the next frame.
pub const OVERSCAN: usize = 8;

/// The state filter's choices.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum StateFilter {
    /// Every row.
    #[default]
    All,
    /// Waiting: queued or retrying.
    Waiting,
    /// On the wire.
    InFlight,
    /// Answered with predictions.
    Done,
    /// Ended without predictions.
    Failed,
    /// Stopped by Cancel.
    Cancelled,
}

impl StateFilter {
    /// Every choice, in the order the filter shows them.
    pub const ALL: [StateFilter; 6] = [
        StateFilter::All,
        StateFilter::Waiting,
        StateFilter::InFlight,
        StateFilter::Done,
        StateFilter::Failed,
        StateFilter::Cancelled,
    ];

    /// The choice's name on the page.
    pub fn label(self) -> &'static str {
        match self {
            StateFilter::All => "All",
            StateFilter::Waiting => "Waiting",
            StateFilter::InFlight => "In flight",
            StateFilter::Done => "Done",
            StateFilter::Failed => "Failed",
            StateFilter::Cancelled => "Cancelled",
        }
    }

    /// True when a row in `state` passes.
    pub fn admits(self, state: ItemState) -> bool {
        match self {
            StateFilter::All => true,
            StateFilter::Waiting => matches!(state, ItemState::Queued | ItemState::Retrying),
            StateFilter::InFlight => state == ItemState::InFlight,
            StateFilter::Done => state == ItemState::Done,
            StateFilter::Failed => state == ItemState::Failed,
            StateFilter::Cancelled => state == ItemState::Cancelled,
        }
    }
}

/// How many rows each state filter admits, in [`StateFilter::ALL`] order.
pub fn state_counts(rows: &[ItemRow]) -> [usize; 6] {
    let mut counts = [0; 6];
    for row in rows {
        for (count, filter) in counts.iter_mut().zip(StateFilter::ALL) {
            *count += usize::from(filter.admits(row.state));
        }
    }
    counts
}

/// The sort's choices.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum SortKey {
    /// As the user gave them.
    #[default]
    Input,
    /// Slowest answer first (unanswered last).
    LatencyDesc,
    /// Most requests first.
    AttemptsDesc,
    /// Least confident top label first (rows without one last): the
    /// answers most worth a second look.
    ConfidenceAsc,
    /// By top label, A to Z (rows without one last).
    Label,
}

impl SortKey {
    /// Every choice, in the order the picker shows them.
    pub const ALL: [SortKey; 5] = [
        SortKey::Input,
        SortKey::LatencyDesc,
        SortKey::AttemptsDesc,
        SortKey::ConfidenceAsc,
        SortKey::Label,
    ];

    /// The choice's name on the page.
    pub fn label(self) -> &'static str {
        match self {
            SortKey::Input => "Input order",
            SortKey::LatencyDesc => "Slowest first",
            SortKey::AttemptsDesc => "Most tries first",
            SortKey::ConfidenceAsc => "Least confident first",
            SortKey::Label => "Label A–Z",
        }
    }

    /// The value of the picker's `<option>`.
    pub fn value(self) -> &'static str {
        match self {
            SortKey::Input => "input",
            SortKey::LatencyDesc => "latency",
            SortKey::AttemptsDesc => "attempts",
            SortKey::ConfidenceAsc => "confidence",
            SortKey::Label => "label",
        }
    }

    /// The choice whose [`SortKey::value`] is `value`.
    pub fn from_value(value: &str) -> Self {
        Self::ALL
            .into_iter()
            .find(|k| k.value() == value)
            .unwrap_or_default()
    }
}

/// The first model's top label and its confidence, if the row has one.
fn top_label(row: &ItemRow) -> Option<(&str, Option<f64>)> {
    match &row.result {
        Some(ItemResult::Ok(p)) => p
            .solutions
            .iter()
            .find_map(|s| s.top.as_ref())
            .map(|l| (l.label.as_str(), l.confidence)),
        _ => None,
    }
}

/// True when `needle` (already lower case) is in the row's labels (top
/// labels, detections and their details), its URL, its model (per-model
/// calls) or its failure reason.
fn matches_text(row: &ItemRow, needle: &str) -> bool {
    let has = |text: &str| lowercase(text).contains(needle);
    if has(&row.source) || row.model.as_deref().is_some_and(has) {
        return true;
    }
    match &row.result {
        Some(ItemResult::Ok(p)) => p.solutions.iter().any(|s| {
            s.top.as_ref().is_some_and(|l| has(&l.label))
                || s.detections
                    .iter()
                    .any(|d| has(&d.label) || d.details.iter().any(|x| has(x)))
        }),
        Some(ItemResult::Err(reason)) => has(reason),
        None => false,
    }
}

/// What the list shows: every row in input order, or a picked and sorted
/// subset (kept apart so that the common case allocates nothing).
#[derive(Clone, Debug, PartialEq)]
pub enum Shown {
    /// Rows `0..n` in input order.
    All(usize),
    /// These row ids, in this order.
    Picked(Vec<usize>),
}

impl Shown {
    /// How many rows are shown.
    pub fn len(&self) -> usize {
        match self {
            Shown::All(n) => *n,
            Shown::Picked(ids) => ids.len(),
        }
    }

    /// True when nothing is shown.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The row id at position `at` of the list.
    pub fn id_at(&self, at: usize) -> Option<usize> {
        match self {
            Shown::All(n) => (at < *n).then_some(at),
            Shown::Picked(ids) => ids.get(at).copied(),
        }
    }
}

/// The rows that pass `filter` and `text` (case-insensitive), sorted by
/// `sort`; ties keep input order.
pub fn shown(rows: &[ItemRow], filter: StateFilter, text: &str, sort: SortKey) -> Shown {
    let needle = lowercase(text.trim());
    if filter == StateFilter::All && needle.is_empty() && sort == SortKey::Input {
        return Shown::All(rows.len());
    }
    let mut ids: Vec<usize> = rows
        .iter()
        .filter(|r| filter.admits(r.state) && (needle.is_empty() || matches_text(r, &needle)))
        .map(|r| r.id)
        .collect();
    let by = |id: &usize| &rows[*id];
    // One comparator behind `dyn` and one unstable sort with the id as the
    // last key (ids ascend in input order, so ties keep it): a single sort
    // in the wasm instead of one stable sort per key.
    let latency = |a: &usize, b: &usize| {
        let key = |id| by(id).latency_ms.unwrap_or(f64::NEG_INFINITY);
        key(b).total_cmp(&key(a))
    };
    let attempts = |a: &usize, b: &usize| by(b).attempts.cmp(&by(a).attempts);
    let confidence = |a: &usize, b: &usize| {
        let key = |id| {
            top_label(by(id))
                .and_then(|(_, c)| c)
                .unwrap_or(f64::INFINITY)
        };
        key(a).total_cmp(&key(b))
    };
    // Lower-cased once per row, not once per comparison (it may ask the
    // browser), and only for this sort.
    let labels: Vec<(bool, String)> = if sort == SortKey::Label {
        rows.iter()
            .map(|r| top_label(r).map_or((true, String::new()), |(l, _)| (false, lowercase(l))))
            .collect()
    } else {
        Vec::new()
    };
    let label = |a: &usize, b: &usize| labels[*a].cmp(&labels[*b]);
    let order: &dyn Fn(&usize, &usize) -> Ordering = match sort {
        SortKey::Input => return Shown::Picked(ids),
        SortKey::LatencyDesc => &latency,
        SortKey::AttemptsDesc => &attempts,
        SortKey::ConfidenceAsc => &confidence,
        SortKey::Label => &label,
    };
    pacer_core::sort::sort_positions(&mut ids, &mut |a, b| order(&a, &b));
    Shown::Picked(ids)
}

/// The list positions to draw for a view `view_px` tall scrolled to
/// `scroll_px`, with rows `row_px` tall and `len` rows in all.
pub fn in_view(scroll_px: f64, view_px: f64, row_px: f64, len: usize) -> Range<usize> {
    if len <= DRAW_ALL_UP_TO || row_px <= 0.0 {
        return 0..len;
    }
    let first = (scroll_px.max(0.0) / row_px).floor() as usize;
    let visible = (view_px.max(0.0) / row_px).ceil() as usize + 1;
    let start = first.saturating_sub(OVERSCAN).min(len);
    let end = first
        .saturating_add(visible)
        .saturating_add(OVERSCAN)
        .min(len);
    start..end.max(start)
}

#[cfg(test)]
mod tests {
    use super::*;
    use pacer_core::api::{Label, Prediction, Solution};
    use std::sync::Arc;

    fn row(id: usize, state: ItemState, label: Option<(&str, f64)>, latency: f64) -> ItemRow {
        let result = label.map(|(l, c)| {
            ItemResult::Ok(Arc::new(Prediction {
                solutions: vec![Solution {
                    model: "m".into(),
                    top: Some(Label {
                        label: l.into(),
                        confidence: Some(c),
                    }),
                    detections: vec![],
                    score: None,
                    raw: serde_json::Value::Null,
                }],
                correlation_id: None,
            }))
        });
        ItemRow {
            state,
            result,
            latency_ms: (latency > 0.0).then_some(latency),
            attempts: id as u32,
            ..ItemRow::queued(id, &format!("https://img.test/{id}.jpg"))
        }
    }

    fn rows() -> Vec<ItemRow> {
        vec![
            row(0, ItemState::Done, Some(("kitchen", 0.9)), 120.0),
            row(1, ItemState::Failed, None, 300.0),
            row(2, ItemState::Done, Some(("Bathroom", 0.4)), 80.0),
            row(3, ItemState::Queued, None, 0.0),
            row(4, ItemState::Retrying, None, 0.0),
        ]
    }

    fn ids(shown: Shown) -> Vec<usize> {
        (0..shown.len()).filter_map(|i| shown.id_at(i)).collect()
    }

    #[test]
    fn nothing_picked_is_every_row_without_a_copy() {
        assert_eq!(
            shown(&rows(), StateFilter::All, "  ", SortKey::Input),
            Shown::All(5)
        );
    }

    #[test]
    fn filters_by_state_and_text() {
        let rows = rows();
        assert_eq!(
            ids(shown(&rows, StateFilter::Done, "", SortKey::Input)),
            [0, 2]
        );
        assert_eq!(
            ids(shown(&rows, StateFilter::Waiting, "", SortKey::Input)),
            [3, 4]
        );
        assert_eq!(
            ids(shown(&rows, StateFilter::All, "BATH", SortKey::Input)),
            [2]
        );
        assert_eq!(
            ids(shown(&rows, StateFilter::All, "3.jpg", SortKey::Input)),
            [3]
        );
        assert_eq!(
            ids(shown(&rows, StateFilter::Failed, "kitchen", SortKey::Input)),
            Vec::<usize>::new()
        );
        assert_eq!(state_counts(&rows), [5, 2, 0, 2, 1, 0]);
    }

    #[test]
    fn sorts_with_missing_values_last() {
        let rows = rows();
        let all = |sort| ids(shown(&rows, StateFilter::All, "", sort));
        assert_eq!(all(SortKey::LatencyDesc), [1, 0, 2, 3, 4]);
        assert_eq!(all(SortKey::AttemptsDesc), [4, 3, 2, 1, 0]);
        assert_eq!(all(SortKey::ConfidenceAsc), [2, 0, 1, 3, 4]);
        assert_eq!(all(SortKey::Label), [2, 0, 1, 3, 4]);
        for key in SortKey::ALL {
            assert_eq!(SortKey::from_value(key.value()), key);
        }
    }

    #[test]
    fn short_lists_are_drawn_whole_and_long_ones_only_in_view() {
        assert_eq!(
            in_view(5_000.0, 600.0, 64.0, DRAW_ALL_UP_TO),
            0..DRAW_ALL_UP_TO
        );
        // 600 px of 64 px rows scrolled to row 100: rows 100..110 are
        // visible (one partly), plus the overscan on both sides.
        let r = in_view(6_400.0, 600.0, 64.0, 100_000);
        assert_eq!(r, 100 - OVERSCAN..111 + OVERSCAN);
        assert_eq!(in_view(0.0, 600.0, 64.0, 100_000).start, 0);
        let end = in_view(64.0 * 100_000.0, 600.0, 64.0, 100_000);
        assert_eq!(end.end, 100_000);
        assert!(end.start <= end.end);
        assert_eq!(in_view(1e12, 600.0, 64.0, 1_000), 1_000..1_000);
    }
}
