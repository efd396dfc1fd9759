//! The saved runs in this browser's storage, read and written whole: open
//! the store (moving a run saved by the one-slot version under an id),
//! list the runs' lines, load one run, forget one.

use std::rc::Rc;
use std::time::Duration;

use pacer_core::Sleep;

use super::id::RunId;
use super::model::ItemState;
use super::saved::{restore, SavedItem, SavedRun, SAVE_VERSION};
use super::summary::{RunSummary, SavedPhase};
use crate::browser::{random_run_id, RunStore, StoreError, TimerSleep};

/// One run as loaded: its fixed part, items and local files.
pub(super) struct LoadedRun {
    /// The fixed part.
    pub run: SavedRun,
    /// Its items, by index.
    pub items: Vec<(usize, SavedItem)>,
    /// Its local images' JPEGs, by image index.
    pub files: Vec<(usize, Rc<[u8]>)>,
}

/// Opens the store and moves a run saved before runs had ids under one.
pub(super) async fn open_store() -> Result<Rc<RunStore>, StoreError> {
    let store = RunStore::open().await?;
    if let Some(legacy) = store.legacy().await? {
        let fresh = RunId::parse(&random_run_id())
            .unwrap_or_else(|_| RunId::legacy(std::slice::from_ref(&legacy.records.run)));
        if let Some(adopted) = adopt_legacy(&legacy.records.run, &legacy.records.items, fresh) {
            store
                .adopt_legacy(
                    adopted.id.as_str(),
                    &adopted.run,
                    &adopted.line,
                    &legacy,
                    &adopted.items,
                )
                .await?;
        }
    }
    Ok(Rc::new(store))
}

/// A one-slot run rewritten for the store by id.
#[derive(Debug, PartialEq)]
pub(super) struct Adopted {
    /// Its new id.
    pub id: RunId,
    /// The fixed part (JSON), now with its id.
    pub run: String,
    /// Its history line (JSON).
    pub line: String,
    /// Its items (JSON), each marked as the run's.
    pub items: Vec<(usize, String)>,
}

/// Rewrites a run saved by the one-slot version (`run` JSON and its
/// `items`) under `id`; `None` when it cannot be read (then it is left
/// where it is).
pub(super) fn adopt_legacy(run: &str, items: &[(usize, String)], id: RunId) -> Option<Adopted> {
    let mut saved: SavedRun = serde_json::from_str(run).ok()?;
    if saved.version != SAVE_VERSION {
        return None;
    }
    saved.id = Some(id.clone());
    let items: Vec<(usize, SavedItem)> = items
        .iter()
        .filter_map(|(i, json)| {
            Some((
                *i,
                serde_json::from_str::<SavedItem>(json).ok()?.of_run(&id),
            ))
        })
        .collect();
    let line = line_of(&saved, &id, &items);
    Some(Adopted {
        run: serde_json::to_string(&saved).ok()?,
        line: serde_json::to_string(&line).ok()?,
        items: items
            .iter()
            .filter_map(|(i, item)| Some((*i, serde_json::to_string(item).ok()?)))
            .collect(),
        id,
    })
}

/// The history line of `run` with `items`.
pub(super) fn line_of(run: &SavedRun, id: &RunId, items: &[(usize, SavedItem)]) -> RunSummary {
    let mut line = RunSummary::of(run, id.clone());
    let restored = restore(Some(id), line.total, items.iter().cloned());
    let count = |s: ItemState| restored.rows.iter().filter(|r| r.0 == s).count();
    line.done = count(ItemState::Done);
    line.failed = count(ItemState::Failed);
    line.pending = restored.pending();
    line.possibly_charged = restored.record.possibly_charged();
    line.phase = if count(ItemState::Cancelled) > 0 {
        SavedPhase::Cancelled
    } else if line.pending == 0 {
        SavedPhase::Done
    } else {
        SavedPhase::Running
    };
    line
}

/// Every saved run's line (unreadable ones left out).
pub(super) async fn lines(store: &RunStore) -> Result<Vec<RunSummary>, StoreError> {
    Ok(store
        .summaries()
        .await?
        .iter()
        .filter_map(|json| serde_json::from_str(json).ok())
        .collect())
}

/// Saved items read from storage at a time: a batch is parsed and its
/// JSON let go before the next is read, and the page draws between
/// batches.
const LOAD_BATCH: u32 = 5_000;

/// Run `id` as saved, if it is (and readable). Its items are read a batch
/// at a time, with a pause between batches, so that a long run neither
/// holds every item's JSON at once nor stops the page while it loads.
pub(super) async fn load(store: &RunStore, id: &RunId) -> Result<Option<LoadedRun>, StoreError> {
    let Some(records) = store.load_run(id.as_str()).await? else {
        return Ok(None);
    };
    let Ok(run) = serde_json::from_str::<SavedRun>(&records.run) else {
        return Err("browser storage: the saved run could not be read".into());
    };
    drop(records.run);
    let mut items: Vec<(usize, SavedItem)> = Vec::new();
    let mut from = 0;
    loop {
        let batch = store.items_from(id.as_str(), from, LOAD_BATCH).await?;
        let full = batch.len() == LOAD_BATCH as usize;
        let Some(last) = batch.last().map(|(i, _)| *i) else {
            break;
        };
        items.extend(
            batch
                .into_iter()
                .filter_map(|(i, json)| Some((i, serde_json::from_str::<SavedItem>(&json).ok()?))),
        );
        // Keys come in order, so the next batch starts past this one's last.
        match last.checked_add(1) {
            Some(next) if full => from = next,
            _ => break,
        }
        TimerSleep.sleep(Duration::ZERO).await;
    }
    Ok(Some(LoadedRun {
        run,
        items,
        files: records.files,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::run::model::ItemResult;
    use crate::run::saved::SavedSettings;

    #[test]
    fn a_run_from_the_one_slot_store_is_moved_under_an_id_with_its_items() {
        let run = SavedSettings::example().run_over(
            vec![
                "https://x/1.jpg".into(),
                "https://x/2.jpg".into(),
                "https://x/3.jpg".into(),
            ],
            vec![],
        );
        let run_json = serde_json::to_string(&run).unwrap();
        assert!(!run_json.contains("\"id\""), "old saves had no id");
        let failed = SavedItem::capture(
            ItemState::Failed,
            Some(&ItemResult::Err("HTTP 400".into())),
            &[],
        );
        let items = vec![
            (1, serde_json::to_string(&failed).unwrap()),
            (7, "{bad".into()),
        ];
        let id = RunId::parse("new-id").unwrap();
        let adopted = adopt_legacy(&run_json, &items, id.clone()).unwrap();
        let saved: SavedRun = serde_json::from_str(&adopted.run).unwrap();
        assert_eq!(saved.id, Some(id.clone()));
        assert_eq!(saved.sources, run.sources);
        assert_eq!(adopted.items.len(), 1, "an unreadable item is left out");
        let item: SavedItem = serde_json::from_str(&adopted.items[0].1).unwrap();
        assert_eq!(item.run, Some(id.clone()));
        let line: RunSummary = serde_json::from_str(&adopted.line).unwrap();
        assert_eq!((line.total, line.failed, line.pending), (3, 1, 2));
        assert_eq!(line.phase, SavedPhase::Running);
        assert_eq!(line.endpoint, "https://api.example");
        // Not a run at all: left alone.
        assert!(adopt_legacy("{}", &[], id).is_none());
    }
}
