//! A run as saved in the browser's IndexedDB, so that a reload (or closing
//! the tab) loses nothing: the settings without the key, the item list, and
//! per item its state, attempts and result.
//!
//! Pure data and conversions; the store itself is `browser::RunStore`.

use pacer_core::api::Prediction;
use pacer_core::bounds::{plausible_latency, plausible_send_time};
use std::sync::Arc;

use pacer_core::schedule::{ItemId, ItemStatus};
use pacer_core::stats::RunStats;
use pacer_core::timeline::Mark;
use serde::{Deserialize, Serialize};

use super::checked::{drop_implausible_attempts, implausible_note};
use super::id::RunId;
use super::model::{ItemResult, ItemState, Settings};
use super::record::{AttemptRecord, RunRecord};

/// Bumped when the saved shape changes; older saves are ignored.
pub const SAVE_VERSION: u32 = 1;

/// A run's fixed part, saved once at its start.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SavedRun {
    /// [`SAVE_VERSION`] when written.
    pub version: u32,
    /// The run's id; absent in runs saved (or jobs written) before runs
    /// had one (see [`RunId::legacy`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<RunId>,
    /// When the run started, ms since the Unix epoch.
    pub started_unix_ms: f64,
    /// The settings, without the key.
    pub settings: SavedSettings,
    /// The image URLs and local files' names, in order.
    pub sources: Vec<String>,
    /// Which of them are local files (their JPEGs are kept beside the run).
    #[serde(default)]
    pub files: Vec<usize>,
}

impl SavedRun {
    /// The run's id, or the stable one of a run from before ids.
    pub fn id_or_legacy(&self) -> RunId {
        self.id
            .clone()
            .unwrap_or_else(|| RunId::legacy(&self.sources))
    }

    /// The models of per-model calls (empty for multipredict calls): how
    /// the run's items are cut from its images (see [`super::work::Work`]).
    pub fn per_model(&self) -> Vec<String> {
        if self.settings.per_model {
            self.settings.models.clone()
        } else {
            Vec::new()
        }
    }

    /// Items per image (as [`super::work::Work::items_per_image`]).
    pub fn items_per_image(&self) -> usize {
        if self.settings.per_model {
            self.settings.models.len().max(1)
        } else {
            1
        }
    }
}

/// [`Settings`] minus the client key: there is deliberately no field for it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SavedSettings {
    /// API base URL.
    pub endpoint: String,
    /// Model ids.
    pub models: Vec<String>,
    /// One call per image × model instead of one multipredict call.
    #[serde(default)]
    pub per_model: bool,
    /// Requests per second.
    pub rate: f64,
    /// Fetch tasks.
    pub concurrency: usize,
    /// Auto rate (AIMD).
    pub auto_rate: bool,
    /// Spread a long quota over its time left.
    #[serde(default)]
    pub spread_quota: bool,
    /// Per-request timeout, ms.
    pub timeout_ms: u32,
    /// Sends per item before a retryable failure is final.
    #[serde(default = "default_attempts")]
    pub max_attempts: u32,
}

impl SavedSettings {
    /// Settings for tests: one model, multipredict calls, 4/s.
    #[cfg(test)]
    pub(super) fn example() -> Self {
        Self {
            endpoint: "https://api.example".into(),
            models: vec!["re_logo".into()],
            per_model: false,
            rate: 4.0,
            concurrency: 6,
            auto_rate: false,
            spread_quota: false,
            timeout_ms: 30_000,
            max_attempts: 5,
        }
    }

    /// A run of these settings over `sources`, for tests.
    #[cfg(test)]
    pub(super) fn run_over(self, sources: Vec<String>, files: Vec<usize>) -> SavedRun {
        SavedRun {
            version: SAVE_VERSION,
            id: None,
            started_unix_ms: 0.0,
            settings: self,
            sources,
            files,
        }
    }

    /// These settings with the item cut of `work`, which a run keeps from
    /// its start whatever the form says later: per-model calls, and their
    /// models.
    pub fn cut_as(mut self, work: &super::work::Work) -> Self {
        self.per_model = !work.per_model.is_empty();
        if self.per_model {
            self.models.clone_from(&work.per_model);
        }
        self
    }
}

fn default_attempts() -> u32 {
    pacer_core::schedule::RetryPolicy::default().max_attempts
}

impl From<&Settings> for SavedSettings {
    fn from(s: &Settings) -> Self {
        Self {
            endpoint: s.endpoint.clone(),
            models: s.models.clone(),
            per_model: s.per_model,
            rate: s.rate,
            concurrency: s.concurrency,
            auto_rate: s.auto_rate,
            spread_quota: s.spread_quota,
            timeout_ms: s.timeout_ms,
            max_attempts: s.max_attempts,
        }
    }
}

/// One item's changing part, saved whenever it changes.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SavedItem {
    /// The run it belongs to (absent in saves from before runs had ids):
    /// an item of another run is never taken for one of this run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run: Option<RunId>,
    /// Its state when saved.
    pub state: ItemState,
    /// Every request sent for it.
    pub attempts: Vec<AttemptRecord>,
    /// The predictions, once done.
    pub prediction: Option<Prediction>,
    /// Why it failed, once failed.
    pub reason: Option<String>,
}

impl SavedItem {
    /// The item `id` as the run knows it now.
    pub fn capture(
        state: ItemState,
        result: Option<&ItemResult>,
        attempts: &[AttemptRecord],
    ) -> Self {
        let (prediction, reason) = match result {
            Some(ItemResult::Ok(p)) => (Some(Prediction::clone(p)), None),
            Some(ItemResult::Err(r)) => (None, Some(r.clone())),
            None => (None, None),
        };
        Self {
            run: None,
            state,
            attempts: attempts.to_vec(),
            prediction,
            reason,
        }
    }

    /// This item, marked as one of run `id`.
    pub fn of_run(mut self, id: &RunId) -> Self {
        self.run = Some(id.clone());
        self
    }

    /// Whether it may be one of run `id` (items from before ids may).
    pub fn belongs_to(&self, id: Option<&RunId>) -> bool {
        match (&self.run, id) {
            (Some(mine), Some(id)) => mine == id,
            _ => true,
        }
    }

    /// Whether it had ended (done with its predictions, failed or
    /// cancelled): an ended item is never sent again on resume.
    pub fn has_ended(&self) -> bool {
        match self.state {
            ItemState::Done => self.prediction.is_some(),
            ItemState::Failed | ItemState::Cancelled => true,
            _ => false,
        }
    }
}

/// The most requests of one run noted as cut off (a bound on what is read
/// back from storage).
pub const MAX_CUT: usize = 4096;

/// Puts the requests cut off by leaving the page (`cut`: item and its
/// attempt, noted at once when the page went) into `items`, as possibly
/// charged attempts: an attempt of the same number already saved without
/// an answer is replaced, one with an answer kept, and an item never
/// saved is added as queued. Returns the items changed.
pub fn add_cut(
    items: &mut Vec<(usize, SavedItem)>,
    cut: &[(usize, AttemptRecord)],
    id: &RunId,
) -> Vec<usize> {
    let mut changed = Vec::new();
    for (index, attempt) in cut.iter().take(MAX_CUT) {
        let at = match items.iter().position(|(i, _)| i == index) {
            Some(at) => at,
            None => {
                let item = SavedItem::capture(ItemState::Queued, None, &[]).of_run(id);
                items.push((*index, item));
                items.len() - 1
            }
        };
        let slot = &mut items[at].1;
        if slot.has_ended() && slot.state == ItemState::Done {
            continue;
        }
        match slot
            .attempts
            .iter_mut()
            .find(|a| a.attempt == attempt.attempt)
        {
            Some(same) if same.status.is_some() || same.possibly_charged => continue,
            Some(same) => *same = attempt.clone(),
            None => {
                slot.attempts.push(attempt.clone());
                pacer_core::sort::sort_by(&mut slot.attempts, |a, b| a.attempt.cmp(&b.attempt));
            }
        }
        changed.push(*index);
    }
    changed
}

/// The items of one run known from two places (this browser's storage and
/// an imported job file), merged: per item, a done answer wins over
/// anything else, then an ended one over one still pending, and attempts
/// are those of the kept side. So importing a job again never sends what
/// either side already has as done.
pub fn merge_items(
    stored: impl IntoIterator<Item = (usize, SavedItem)>,
    imported: impl IntoIterator<Item = (usize, SavedItem)>,
) -> Vec<(usize, SavedItem)> {
    use std::collections::BTreeMap;
    let rank = |item: &SavedItem| match item.state {
        ItemState::Done if item.prediction.is_some() => 3,
        _ if item.has_ended() => 2,
        _ => 1,
    };
    let mut merged: BTreeMap<usize, SavedItem> = stored.into_iter().collect();
    for (id, item) in imported {
        match merged.get(&id) {
            Some(kept) if rank(kept) >= rank(&item) => {}
            _ => {
                merged.insert(id, item);
            }
        }
    }
    merged.into_iter().collect()
}

/// A saved run put back together: rows' states and results, the record
/// for exports, and what the scheduler must not send again.
#[derive(Debug, Default)]
pub struct Restored {
    /// Per item: state and result (requests that were on the wire or
    /// waiting come back as queued).
    pub rows: Vec<(ItemState, Option<ItemResult>)>,
    /// Attempts and predictions, as the run had them.
    pub record: RunRecord,
    /// Items that had ended, for `Scheduler::restore`.
    pub ended: Vec<(ItemId, ItemStatus, u32)>,
    /// What had to be left out, in words (empty when nothing was).
    pub notes: Vec<String>,
}

impl Restored {
    /// Items that had not ended and are sent on resume.
    pub fn pending(&self) -> usize {
        self.rows.len().saturating_sub(self.ended.len())
    }

    /// Ends the items of `ids` that had not ended as failed with `reason`
    /// (a local file whose bytes were not kept cannot be sent again).
    pub fn fail_pending(&mut self, ids: impl IntoIterator<Item = ItemId>, reason: &str) {
        for id in ids {
            let Some(row) = self.rows.get_mut(id) else {
                continue;
            };
            if self.ended.iter().any(|(ended, _, _)| *ended == id) {
                continue;
            }
            *row = (ItemState::Failed, Some(ItemResult::Err(reason.to_owned())));
            let tries = u32::try_from(self.record.attempts[id].len()).unwrap_or(u32::MAX);
            let status = ItemStatus::Failed {
                reason: reason.to_owned(),
            };
            self.ended.push((id, status, tries));
        }
    }
}

/// The figures of a saved run, from its attempts: the first send, each
/// success's end and latency (times are ms since the Unix epoch).
/// The chart's rate line is `rate` (the saved setting) throughout.
/// Times no clock could have read are left out (see `checked`), so any
/// saved numbers give figures, never a panic.
pub fn stats_of(record: &RunRecord, rate: f64) -> RunStats {
    let ms = pacer_core::bounds::duration_from_ms;
    let plausible =
        |a: &&AttemptRecord| plausible_send_time(a.sent_unix_ms) && plausible_latency(a.latency_ms);
    let mut stats = RunStats::new();
    let attempts = record.attempts.iter().flatten().filter(plausible);
    if let Some(first) = attempts.clone().map(|a| a.sent_unix_ms).reduce(f64::min) {
        stats.on_send(ms(first));
        stats.sample_rate(ms(first), rate);
    }
    let mut answered: Vec<&AttemptRecord> = attempts
        .filter(|a| a.status.is_some() || a.error.is_some())
        .collect();
    pacer_core::sort::sort_by(&mut answered, |a, b| {
        (a.sent_unix_ms + a.latency_ms).total_cmp(&(b.sent_unix_ms + b.latency_ms))
    });
    for a in answered {
        let end = ms(a.sent_unix_ms + a.latency_ms);
        match (a.status, &a.error) {
            (Some(200), None) => stats.on_success(end, ms(a.api_latency_ms())),
            (Some(429), _) => stats.on_failure(end, Mark::RateLimited),
            _ => stats.on_failure(end, Mark::Failure),
        }
    }
    stats
}

/// Rebuilds a run of `len` items from its saved items (any order; unknown
/// ids ignored; items never saved were still queued).
/// Items marked as another run's than `run` are ignored.
pub fn restore(
    run: Option<&RunId>,
    len: usize,
    items: impl IntoIterator<Item = (usize, SavedItem)>,
) -> Restored {
    let mut out = Restored {
        rows: vec![(ItemState::Queued, None); len],
        record: RunRecord::new(len),
        ended: Vec::new(),
        notes: Vec::new(),
    };
    let mut seen = vec![false; len];
    let (mut dropped, mut example) = (0, None);
    for (id, mut item) in items {
        // Unknown ids are ignored, and an id seen before too (a store
        // keeps one record per id; a file may not).
        if id >= len || !item.belongs_to(run) || std::mem::replace(&mut seen[id], true) {
            continue;
        }
        let (n, e) = drop_implausible_attempts([&mut item]);
        dropped += n;
        example = example.or(e);
        let tries = u32::try_from(item.attempts.len()).unwrap_or(u32::MAX);
        let (state, result, status) = match item.state {
            ItemState::Done => match item.prediction.map(Arc::new) {
                Some(p) => (
                    ItemState::Done,
                    Some(ItemResult::Ok(p)),
                    Some(ItemStatus::Done),
                ),
                // Done without its predictions cannot be shown: send again.
                None => (ItemState::Queued, None, None),
            },
            ItemState::Failed => {
                let reason = item.reason.clone().unwrap_or_else(|| "failed".into());
                (
                    ItemState::Failed,
                    Some(ItemResult::Err(reason.clone())),
                    Some(ItemStatus::Failed { reason }),
                )
            }
            ItemState::Cancelled => (ItemState::Cancelled, None, Some(ItemStatus::Cancelled)),
            ItemState::Queued | ItemState::InFlight | ItemState::Retrying => {
                (ItemState::Queued, None, None)
            }
        };
        if let Some(status) = status {
            out.ended.push((id, status, tries));
        }
        if let Some(ItemResult::Ok(p)) = &result {
            out.record.predictions[id] = Some(Arc::clone(p));
        }
        out.rows[id] = (state, result);
        out.record.attempts[id] = item.attempts;
    }
    if dropped > 0 {
        out.notes.push(implausible_note(dropped, example));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn attempt(n: u32, status: Option<u16>) -> AttemptRecord {
        AttemptRecord {
            attempt: n,
            sent_unix_ms: 1.0e12,
            latency_ms: 300.0,
            status,
            error: None,
            possibly_charged: false,
            held_ms: None,
        }
    }

    fn prediction() -> Prediction {
        Prediction {
            solutions: Vec::new(),
            correlation_id: Some("c-1".into()),
        }
    }

    #[test]
    fn settings_are_saved_without_the_key() {
        let s = Settings {
            endpoint: "https://api.example".into(),
            key: "s3cret-key".into(),
            models: vec!["re_logo".into()],
            per_model: false,
            rate: 4.0,
            concurrency: 6,
            auto_rate: false,
            spread_quota: true,
            timeout_ms: 30_000,
            max_attempts: 5,
        };
        let json = serde_json::to_string(&SavedSettings::from(&s)).unwrap();
        assert!(!json.contains("s3cret-key"), "{json}");
        assert!(json.contains("api.example"));
        assert!(json.contains(r#""spread_quota":true"#), "{json}");
    }

    #[test]
    fn a_run_keeps_its_per_model_cut_whatever_the_form_says() {
        let form = SavedSettings::example();
        let work = super::super::work::Work::new(
            vec!["https://x/1.jpg".into()],
            vec![None],
            vec!["m1".into(), "m2".into()],
        );
        let run = form
            .clone()
            .cut_as(&work)
            .run_over(work.images.clone(), Vec::new());
        assert_eq!(run.per_model(), ["m1", "m2"]);
        assert_eq!(run.items_per_image(), 2);
        // A multipredict run keeps the form's models.
        let plain = super::super::work::Work::new(vec!["u".into()], vec![None], Vec::new());
        assert_eq!(form.clone().cut_as(&plain), form);
        // Saves from before per-model calls read as multipredict runs.
        let old = r#"{"endpoint":"e","models":["a","b"],"rate":2.0,"concurrency":1,"auto_rate":false,"timeout_ms":1000}"#;
        let old: SavedSettings = serde_json::from_str(old).unwrap();
        assert!(!old.per_model);
    }

    #[test]
    fn restore_keeps_ended_items_and_requeues_the_rest() {
        let items = vec![
            (
                0,
                SavedItem::capture(
                    ItemState::Done,
                    Some(&ItemResult::Ok(Arc::new(prediction()))),
                    &[attempt(1, Some(200))],
                ),
            ),
            (
                1,
                SavedItem::capture(ItemState::InFlight, None, &[attempt(1, None)]),
            ),
            (
                3,
                SavedItem::capture(
                    ItemState::Failed,
                    Some(&ItemResult::Err("HTTP 400: bad image".into())),
                    &[attempt(1, Some(400))],
                ),
            ),
            (9, SavedItem::capture(ItemState::Done, None, &[])),
        ];
        // Through JSON, as the store keeps them.
        let items = items.into_iter().map(|(id, item)| {
            let json = serde_json::to_string(&item).unwrap();
            (id, serde_json::from_str::<SavedItem>(&json).unwrap())
        });
        let r = restore(None, 4, items);
        assert_eq!(r.rows[0].0, ItemState::Done);
        assert_eq!(r.rows[1].0, ItemState::Queued);
        assert_eq!(r.rows[2].0, ItemState::Queued);
        assert_eq!(r.rows[3].0, ItemState::Failed);
        assert_eq!(r.pending(), 2);
        assert_eq!(r.ended.len(), 2);
        assert_eq!(r.ended[0], (0, ItemStatus::Done, 1));
        assert_eq!(
            r.record.attempts[1].len(),
            1,
            "the lost attempt stays on record"
        );
        assert_eq!(r.record.predictions[0], Some(Arc::new(prediction())));

        // Local files whose bytes are gone: the pending one fails with the
        // reason, the done one stays done.
        let mut r = r;
        r.fail_pending([0, 1, 7], "file gone");
        assert_eq!(r.rows[0].0, ItemState::Done);
        assert_eq!(
            r.rows[1],
            (ItemState::Failed, Some(ItemResult::Err("file gone".into())))
        );
        assert_eq!(r.pending(), 1);
        assert_eq!(
            r.ended.last(),
            Some(&(
                1,
                ItemStatus::Failed {
                    reason: "file gone".into()
                },
                1
            ))
        );
    }

    #[test]
    fn figures_come_back_from_the_attempts() {
        let mut record = RunRecord::new(3);
        const T0: f64 = 1.7e12;
        let at = |sent: f64, latency: f64, status: Option<u16>| AttemptRecord {
            attempt: 1,
            sent_unix_ms: T0 + sent,
            latency_ms: latency,
            status,
            error: None,
            possibly_charged: false,
            held_ms: None,
        };
        record.attempts[0] = vec![at(1000.0, 300.0, Some(200))];
        record.attempts[1] = vec![at(1250.0, 100.0, Some(503)), at(1500.0, 500.0, Some(200))];
        record.attempts[2] = vec![at(1750.0, 250.0, None)];
        let mut stats = stats_of(&record, 4.0);
        let now = std::time::Duration::from_millis(T0 as u64 + 10_000);
        assert_eq!(stats.successes(), 2);
        // First send 1.0 s, last success ends at 2.0 s.
        assert!((stats.elapsed(now, true).as_secs_f64() - 1.0).abs() < 1e-9);
        assert!((stats.throughput(now, true) - 2.0).abs() < 1e-9);
        assert!((stats.latency_avg_ms() - 400.0).abs() < 1e-9);
        assert!(stats.latency_quantile_ms(0.95) >= 300.0);
        // The chart: a success and the 503 in the run's first second, the
        // other success (ending at 2.0 s) in its second, the 4/s setting as
        // the rate line; the unanswered attempt is not an answer.
        let columns = stats.timeline().columns(10);
        let seen: Vec<_> = columns
            .iter()
            .map(|c| (c.per_s, c.failures, c.rate))
            .collect();
        assert_eq!(seen, [(1.0, 1, Some(4.0)), (1.0, 0, Some(4.0))]);
    }

    #[test]
    fn done_without_predictions_is_sent_again() {
        let r = restore(
            None,
            1,
            [(0, SavedItem::capture(ItemState::Done, None, &[]))],
        );
        assert_eq!(r.rows[0].0, ItemState::Queued);
        assert_eq!(r.pending(), 1);
    }

    #[test]
    fn items_of_another_run_are_never_restored_into_this_one() {
        let a = RunId::parse("run-a").unwrap();
        let b = RunId::parse("run-b").unwrap();
        let done = |id: &RunId| {
            SavedItem::capture(
                ItemState::Done,
                Some(&ItemResult::Ok(Arc::new(prediction()))),
                &[attempt(1, Some(200))],
            )
            .of_run(id)
        };
        let r = restore(Some(&a), 2, [(0, done(&a)), (1, done(&b))]);
        assert_eq!(r.rows[0].0, ItemState::Done);
        assert_eq!(
            r.rows[1].0,
            ItemState::Queued,
            "run b's answer is not run a's"
        );
        // Items saved before ids belong to whichever run holds them.
        let old = SavedItem::capture(ItemState::Failed, None, &[]);
        assert!(old.belongs_to(Some(&a)));
    }

    #[test]
    fn a_job_imported_again_keeps_every_done_item_of_either_side() {
        let done = SavedItem::capture(
            ItemState::Done,
            Some(&ItemResult::Ok(Arc::new(prediction()))),
            &[attempt(1, Some(200))],
        );
        let failed = SavedItem::capture(
            ItemState::Failed,
            Some(&ItemResult::Err("HTTP 400".into())),
            &[attempt(1, Some(400))],
        );
        let queued = SavedItem::capture(ItemState::Queued, None, &[attempt(1, None)]);
        let stored = vec![(0, done.clone()), (1, queued.clone()), (2, failed.clone())];
        let imported = vec![
            (0, queued.clone()),
            (1, done.clone()),
            (2, done.clone()),
            (3, queued),
        ];
        let merged = merge_items(stored, imported);
        let states: Vec<(usize, ItemState)> = merged.iter().map(|(i, it)| (*i, it.state)).collect();
        assert_eq!(
            states,
            [
                (0, ItemState::Done),
                (1, ItemState::Done),
                (2, ItemState::Done),
                (3, ItemState::Queued)
            ]
        );
        assert!(merged[..3].iter().all(|(_, it)| it.has_ended()));
    }

    #[test]
    fn requests_cut_off_by_leaving_come_back_as_possibly_charged_once() {
        let id = RunId::parse("r").unwrap();
        let cut = |n: u32| AttemptRecord {
            possibly_charged: true,
            ..attempt(n, None)
        };
        let mut items = vec![(
            0,
            SavedItem::capture(ItemState::InFlight, None, &[attempt(1, Some(503))]),
        )];
        let changed = add_cut(&mut items, &[(0, cut(2)), (3, cut(1))], &id);
        assert_eq!(changed, [0, 3]);
        assert_eq!(items[0].1.attempts.len(), 2);
        assert!(items[0].1.attempts[1].possibly_charged);
        assert_eq!(items[1].0, 3);
        assert_eq!(items[1].1.run, Some(id.clone()));
        // Applied again (the page reloaded twice): nothing doubles.
        assert!(add_cut(&mut items, &[(0, cut(2)), (3, cut(1))], &id).is_empty());
        let r = restore(Some(&id), 4, items);
        assert_eq!(r.record.possibly_charged(), 2);
        assert_eq!(r.rows[3].0, ItemState::Queued, "sent again on resume");
    }

    /// An answer noted as the page was left, in case its save never
    /// committed: where the save did commit, the item stays done and the
    /// note is ignored; where it did not (the item saved in flight, or
    /// never), the item is sent again and shows as possibly charged.
    #[test]
    fn an_answer_noted_at_leaving_counts_only_where_its_save_was_lost() {
        let id = RunId::parse("r").unwrap();
        let noted = AttemptRecord {
            possibly_charged: true,
            ..attempt(1, None)
        };
        let mut items = vec![
            (
                0,
                SavedItem::capture(
                    ItemState::Done,
                    Some(&ItemResult::Ok(Arc::new(prediction()))),
                    &[attempt(1, Some(200))],
                ),
            ),
            (
                1,
                SavedItem::capture(ItemState::InFlight, None, &[attempt(1, None)]),
            ),
        ];
        let changed = add_cut(
            &mut items,
            &[(0, noted.clone()), (1, noted.clone()), (2, noted)],
            &id,
        );
        assert_eq!(changed, [1, 2]);
        let r = restore(Some(&id), 3, items);
        assert_eq!(r.rows[0].0, ItemState::Done);
        assert_eq!(r.record.possibly_charged(), 2);
        assert_eq!(r.rows[1].0, ItemState::Queued, "sent again on resume");
        assert_eq!(r.rows[2].0, ItemState::Queued, "sent again on resume");
    }
}
