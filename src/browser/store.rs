//! Saved runs in IndexedDB (through `rexie`), many at once, each under its
//! id: `runs` holds a run's fixed part (JSON), `summaries` its line in the
//! history (JSON, rewritten with each save), `run_items` one record per
//! item that changed and `run_files` a local image's JPEG, both keyed by
//! `[run id, index]`. Values are JSON text so that the shapes live in
//! plain serde types (`run::saved`, `run::summary`).
//!
//! Version 2 of the database kept one run (`run/"current"`, `items` and
//! `files` keyed by index). Those stores stay declared so that opening
//! does not drop them; [`RunStore::migrate_legacy`] moves their run under
//! an id and empties them.

use std::rc::Rc;

use js_sys::{Array, Uint8Array};
use rexie::{KeyRange, ObjectStore, Rexie, TransactionMode, TransactionResult};
use wasm_bindgen::{JsCast, JsValue};

const DB: &str = "pacer";
/// 3: many runs, by id.
const VERSION: u32 = 3;
const RUNS: &str = "runs";
const SUMMARIES: &str = "summaries";
const ITEMS: &str = "run_items";
const FILES: &str = "run_files";
const LEGACY_RUN: &str = "run";
const LEGACY_ITEMS: &str = "items";
const LEGACY_FILES: &str = "files";
const LEGACY_CURRENT: &str = "current";

/// What [`RunStore::load_run`] finds of one run (and the legacy store).
pub struct SavedRecords {
    /// The run's fixed part (JSON).
    pub run: String,
    /// Each saved item (JSON), by index (empty from
    /// [`RunStore::load_run`]: see [`RunStore::items_from`]).
    pub items: Vec<(usize, String)>,
    /// Each local image's JPEG, by index.
    pub files: Vec<(usize, Rc<[u8]>)>,
}

/// The run saved by version 2 of the database, taken out of its stores.
pub struct LegacyRun {
    /// Its records.
    pub records: SavedRecords,
}

/// The page's saved-run database.
pub struct RunStore {
    db: Rexie,
}

/// What went wrong with the browser's storage, in words.
pub type StoreError = String;

fn err(e: impl std::fmt::Display) -> StoreError {
    format!("browser storage: {e}")
}

/// Waits for `tx` to end: an aborted transaction (a quota exceeded at
/// commit, say) is an error, not a success that kept nothing.
async fn commit(tx: rexie::Transaction) -> Result<(), StoreError> {
    match tx.done().await.map_err(err)? {
        TransactionResult::Committed => Ok(()),
        TransactionResult::Aborted => Err(err(
            "the browser refused to keep it (storage full, or the quota exceeded)",
        )),
    }
}

/// `[run, index]`, the key of an item or a file.
fn item_key(run: &str, index: usize) -> JsValue {
    Array::of2(&JsValue::from_str(run), &JsValue::from(index as f64)).into()
}

/// Every `[run, …]` key.
fn run_range(run: &str) -> Result<KeyRange, StoreError> {
    let upper = Array::of2(&JsValue::from_str(run), &JsValue::from(f64::INFINITY));
    KeyRange::bound(&item_key(run, 0), &upper.into(), Some(false), Some(false)).map_err(err)
}

/// The index of a `[run, index]` key.
fn index_of(key: &JsValue) -> Option<usize> {
    let index = Array::from(key).get(1).as_f64()?;
    (index >= 0.0 && index.fract() == 0.0 && index < 1e15).then_some(index as usize)
}

impl RunStore {
    /// Opens (or creates, or upgrades) the database.
    pub async fn open() -> Result<Self, StoreError> {
        let db = Rexie::builder(DB)
            .version(VERSION)
            .add_object_store(ObjectStore::new(RUNS))
            .add_object_store(ObjectStore::new(SUMMARIES))
            .add_object_store(ObjectStore::new(ITEMS))
            .add_object_store(ObjectStore::new(FILES))
            .add_object_store(ObjectStore::new(LEGACY_RUN))
            .add_object_store(ObjectStore::new(LEGACY_ITEMS))
            .add_object_store(ObjectStore::new(LEGACY_FILES))
            .build()
            .await
            .map_err(err)?;
        Ok(Self { db })
    }

    /// Saves a new run: its fixed part, its line and its local files, in
    /// one transaction. Nothing of any other run is touched; if this fails
    /// (e.g. the quota), nothing of this run is kept either.
    pub async fn begin(
        &self,
        id: &str,
        run: &str,
        summary: &str,
        files: &[(usize, Rc<[u8]>)],
    ) -> Result<(), StoreError> {
        let tx = self
            .db
            .transaction(&[RUNS, SUMMARIES, FILES], TransactionMode::ReadWrite)
            .map_err(err)?;
        let kept = tx.store(FILES).map_err(err)?;
        for (index, jpeg) in files {
            let bytes = Uint8Array::from(&jpeg[..]);
            kept.put(&bytes, Some(&item_key(id, *index)))
                .await
                .map_err(err)?;
        }
        let key = JsValue::from_str(id);
        tx.store(RUNS)
            .map_err(err)?
            .put(&JsValue::from_str(run), Some(&key))
            .await
            .map_err(err)?;
        tx.store(SUMMARIES)
            .map_err(err)?
            .put(&JsValue::from_str(summary), Some(&key))
            .await
            .map_err(err)?;
        commit(tx).await?;
        Ok(())
    }

    /// Saves run `id`'s items that changed and its new line, in one
    /// transaction.
    pub async fn save_items(
        &self,
        id: &str,
        items: &[(usize, String)],
        summary: &str,
    ) -> Result<(), StoreError> {
        let tx = self
            .db
            .transaction(&[ITEMS, SUMMARIES], TransactionMode::ReadWrite)
            .map_err(err)?;
        // Every put is issued at once and only the last awaited: awaited
        // one by one, each costs a round trip to the storage backend, and
        // on a busy machine the saves can fall behind the answers, so that
        // a reload loses what was answered but not yet written (and sends
        // it again).
        tx.store(ITEMS)
            .map_err(err)?
            .put_all(
                items
                    .iter()
                    .map(|(index, json)| (JsValue::from_str(json), Some(item_key(id, *index)))),
            )
            .await
            .map_err(err)?;
        tx.store(SUMMARIES)
            .map_err(err)?
            .put(&JsValue::from_str(summary), Some(&JsValue::from_str(id)))
            .await
            .map_err(err)?;
        commit(tx).await?;
        Ok(())
    }

    /// Every saved run's line (JSON), in no particular order.
    pub async fn summaries(&self) -> Result<Vec<String>, StoreError> {
        let tx = self
            .db
            .transaction(&[SUMMARIES], TransactionMode::ReadOnly)
            .map_err(err)?;
        let values = tx
            .store(SUMMARIES)
            .map_err(err)?
            .get_all(None, None)
            .await
            .map_err(err)?;
        commit(tx).await?;
        Ok(values.iter().filter_map(JsValue::as_string).collect())
    }

    /// Run `id`'s fixed part and its files, if it is saved; its items are
    /// read apart, a batch at a time ([`RunStore::items_from`]).
    pub async fn load_run(&self, id: &str) -> Result<Option<SavedRecords>, StoreError> {
        let tx = self
            .db
            .transaction(&[RUNS, FILES], TransactionMode::ReadOnly)
            .map_err(err)?;
        let run = tx
            .store(RUNS)
            .map_err(err)?
            .get(JsValue::from_str(id))
            .await
            .map_err(err)?
            .and_then(|v| v.as_string());
        let Some(run) = run else {
            return Ok(None);
        };
        let kept = tx.store(FILES).map_err(err)?;
        let keys = kept
            .get_all_keys(Some(run_range(id)?), None)
            .await
            .map_err(err)?;
        let values = kept
            .get_all(Some(run_range(id)?), None)
            .await
            .map_err(err)?;
        let files = keys
            .iter()
            .zip(values)
            .filter_map(|(k, v)| {
                let bytes = v.dyn_into::<Uint8Array>().ok()?;
                Some((index_of(k)?, bytes.to_vec().into()))
            })
            .collect();
        commit(tx).await?;
        Ok(Some(SavedRecords {
            run,
            items: Vec::new(),
            files,
        }))
    }

    /// Up to `count` of run `id`'s saved items (JSON) from index `from`
    /// on, in index order. Fewer than `count` means there are no more.
    /// Each batch is a transaction of its own, so that a long run is read
    /// with pauses between batches and never as one array of every item.
    pub async fn items_from(
        &self,
        id: &str,
        from: usize,
        count: u32,
    ) -> Result<Vec<(usize, String)>, StoreError> {
        let tx = self
            .db
            .transaction(&[ITEMS], TransactionMode::ReadOnly)
            .map_err(err)?;
        let items = tx.store(ITEMS).map_err(err)?;
        let range = || {
            let upper = Array::of2(&JsValue::from_str(id), &JsValue::from(f64::INFINITY));
            KeyRange::bound(&item_key(id, from), &upper.into(), Some(false), Some(false))
                .map_err(err)
        };
        // Keys and values both come in key order.
        let keys = items
            .get_all_keys(Some(range()?), Some(count))
            .await
            .map_err(err)?;
        let values = items
            .get_all(Some(range()?), Some(count))
            .await
            .map_err(err)?;
        let batch = keys
            .iter()
            .zip(values)
            .filter_map(|(k, v)| Some((index_of(k)?, v.as_string()?)))
            .collect();
        commit(tx).await?;
        Ok(batch)
    }

    /// Forgets run `id` (nothing of any other run).
    pub async fn delete(&self, id: &str) -> Result<(), StoreError> {
        let tx = self
            .db
            .transaction(&[RUNS, SUMMARIES, ITEMS, FILES], TransactionMode::ReadWrite)
            .map_err(err)?;
        let key = JsValue::from_str(id);
        tx.store(RUNS)
            .map_err(err)?
            .delete(key.clone())
            .await
            .map_err(err)?;
        tx.store(SUMMARIES)
            .map_err(err)?
            .delete(key)
            .await
            .map_err(err)?;
        for store in [ITEMS, FILES] {
            // `delete` takes a key or, as here, a key range.
            let range = JsValue::from(run_range(id)?);
            tx.store(store)
                .map_err(err)?
                .delete(range)
                .await
                .map_err(err)?;
        }
        commit(tx).await?;
        Ok(())
    }

    /// Takes the run saved by version 2 (one slot, items by index) out of
    /// the old stores, if there is one; [`RunStore::adopt_legacy`] then
    /// saves it under an id in the same transaction's stead.
    pub async fn legacy(&self) -> Result<Option<LegacyRun>, StoreError> {
        let tx = self
            .db
            .transaction(
                &[LEGACY_RUN, LEGACY_ITEMS, LEGACY_FILES],
                TransactionMode::ReadOnly,
            )
            .map_err(err)?;
        let run = tx
            .store(LEGACY_RUN)
            .map_err(err)?
            .get(JsValue::from_str(LEGACY_CURRENT))
            .await
            .map_err(err)?
            .and_then(|v| v.as_string());
        let Some(run) = run else {
            return Ok(None);
        };
        let by_index = |k: &JsValue| {
            let i = k.as_f64()?;
            (i >= 0.0 && i.fract() == 0.0 && i < 1e15).then_some(i as usize)
        };
        let items = tx.store(LEGACY_ITEMS).map_err(err)?;
        let keys = items.get_all_keys(None, None).await.map_err(err)?;
        let values = items.get_all(None, None).await.map_err(err)?;
        let items = keys
            .iter()
            .zip(values)
            .filter_map(|(k, v)| Some((by_index(k)?, v.as_string()?)))
            .collect();
        let kept = tx.store(LEGACY_FILES).map_err(err)?;
        let keys = kept.get_all_keys(None, None).await.map_err(err)?;
        let values = kept.get_all(None, None).await.map_err(err)?;
        let files = keys
            .iter()
            .zip(values)
            .filter_map(|(k, v)| {
                let bytes = v.dyn_into::<Uint8Array>().ok()?;
                Some((by_index(k)?, bytes.to_vec().into()))
            })
            .collect();
        commit(tx).await?;
        Ok(Some(LegacyRun {
            records: SavedRecords { run, items, files },
        }))
    }

    /// Saves the legacy run under `id` (its fixed part rewritten as `run`,
    /// its `items` as given) and empties the old stores, in one
    /// transaction: either the run is in the new stores and gone from the
    /// old, or nothing changed and the next load tries again.
    pub async fn adopt_legacy(
        &self,
        id: &str,
        run: &str,
        summary: &str,
        legacy: &LegacyRun,
        items: &[(usize, String)],
    ) -> Result<(), StoreError> {
        let all = [
            RUNS,
            SUMMARIES,
            ITEMS,
            FILES,
            LEGACY_RUN,
            LEGACY_ITEMS,
            LEGACY_FILES,
        ];
        let tx = self
            .db
            .transaction(&all, TransactionMode::ReadWrite)
            .map_err(err)?;
        let key = JsValue::from_str(id);
        tx.store(RUNS)
            .map_err(err)?
            .put(&JsValue::from_str(run), Some(&key))
            .await
            .map_err(err)?;
        tx.store(SUMMARIES)
            .map_err(err)?
            .put(&JsValue::from_str(summary), Some(&key))
            .await
            .map_err(err)?;
        let store = tx.store(ITEMS).map_err(err)?;
        for (index, json) in items {
            store
                .put(&JsValue::from_str(json), Some(&item_key(id, *index)))
                .await
                .map_err(err)?;
        }
        let store = tx.store(FILES).map_err(err)?;
        for (index, jpeg) in &legacy.records.files {
            let bytes = Uint8Array::from(&jpeg[..]);
            store
                .put(&bytes, Some(&item_key(id, *index)))
                .await
                .map_err(err)?;
        }
        for old in [LEGACY_RUN, LEGACY_ITEMS, LEGACY_FILES] {
            tx.store(old).map_err(err)?.clear().await.map_err(err)?;
        }
        commit(tx).await?;
        Ok(())
    }
}
