//! The saved run in IndexedDB (through `rexie`): one `run` record (its
//! fixed part, as JSON) and one `items` record per item that changed (as
//! JSON, keyed by the item's index). Values are JSON text so that the
//! shapes live in plain serde types (`run::saved`). A local image's JPEG is
//! kept in `files` (bytes, keyed by the item's index), so that a resumed
//! run can still send it.

use std::rc::Rc;

use js_sys::Uint8Array;

use rexie::{ObjectStore, Rexie, TransactionMode};
use wasm_bindgen::{JsCast, JsValue};

const DB: &str = "pacer";
const RUN: &str = "run";
const ITEMS: &str = "items";
const FILES: &str = "files";
const CURRENT: &str = "current";

/// What [`RunStore::load`] finds.
pub struct SavedRecords {
    /// The run's fixed part (JSON).
    pub run: String,
    /// Each saved item (JSON), by index.
    pub items: Vec<(usize, String)>,
    /// Each local image's JPEG, by index.
    pub files: Vec<(usize, Rc<[u8]>)>,
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

impl RunStore {
    /// Opens (or creates) the database.
    pub async fn open() -> Result<Self, StoreError> {
        let db = Rexie::builder(DB)
            .version(2)
            .add_object_store(ObjectStore::new(RUN))
            .add_object_store(ObjectStore::new(ITEMS))
            .add_object_store(ObjectStore::new(FILES))
            .build()
            .await
            .map_err(err)?;
        Ok(Self { db })
    }

    /// Keeps `run` as the saved run's fixed part; `fresh` also forgets the
    /// items and files of the one before (a new run, not a resumed one) and
    /// keeps this run's `files`.
    pub async fn begin(
        &self,
        run: &str,
        fresh: bool,
        files: &[(usize, Rc<[u8]>)],
    ) -> Result<(), StoreError> {
        let tx = self
            .db
            .transaction(&[RUN, ITEMS, FILES], TransactionMode::ReadWrite)
            .map_err(err)?;
        if fresh {
            tx.store(ITEMS).map_err(err)?.clear().await.map_err(err)?;
            let kept = tx.store(FILES).map_err(err)?;
            kept.clear().await.map_err(err)?;
            for (id, jpeg) in files {
                let bytes = Uint8Array::from(&jpeg[..]);
                kept.put(&bytes, Some(&JsValue::from(*id as f64)))
                    .await
                    .map_err(err)?;
            }
        }
        tx.store(RUN)
            .map_err(err)?
            .put(&JsValue::from_str(run), Some(&JsValue::from_str(CURRENT)))
            .await
            .map_err(err)?;
        tx.done().await.map_err(err)?;
        Ok(())
    }

    /// Saves the items that changed, in one transaction.
    pub async fn save_items(&self, items: &[(usize, String)]) -> Result<(), StoreError> {
        let tx = self
            .db
            .transaction(&[ITEMS], TransactionMode::ReadWrite)
            .map_err(err)?;
        let store = tx.store(ITEMS).map_err(err)?;
        for (id, json) in items {
            store
                .put(&JsValue::from_str(json), Some(&JsValue::from(*id as f64)))
                .await
                .map_err(err)?;
        }
        tx.done().await.map_err(err)?;
        Ok(())
    }

    /// The saved run, its saved items and its files, if there is one.
    pub async fn load(&self) -> Result<Option<SavedRecords>, StoreError> {
        let tx = self
            .db
            .transaction(&[RUN, ITEMS, FILES], TransactionMode::ReadOnly)
            .map_err(err)?;
        let run = tx
            .store(RUN)
            .map_err(err)?
            .get(JsValue::from_str(CURRENT))
            .await
            .map_err(err)?
            .and_then(|v| v.as_string());
        let Some(run) = run else {
            return Ok(None);
        };
        let items = tx.store(ITEMS).map_err(err)?;
        // Keys and values both come in key order.
        let keys = items.get_all_keys(None, None).await.map_err(err)?;
        let values = items.get_all(None, None).await.map_err(err)?;
        let items = keys
            .iter()
            .zip(values)
            .filter_map(|(k, v)| Some((k.as_f64()? as usize, v.as_string()?)))
            .collect();
        let kept = tx.store(FILES).map_err(err)?;
        let keys = kept.get_all_keys(None, None).await.map_err(err)?;
        let values = kept.get_all(None, None).await.map_err(err)?;
        let files = keys
            .iter()
            .zip(values)
            .filter_map(|(k, v)| {
                let bytes = v.dyn_into::<Uint8Array>().ok()?;
                Some((k.as_f64()? as usize, bytes.to_vec().into()))
            })
            .collect();
        tx.done().await.map_err(err)?;
        Ok(Some(SavedRecords { run, items, files }))
    }

    /// Forgets the saved run.
    pub async fn clear(&self) -> Result<(), StoreError> {
        let tx = self
            .db
            .transaction(&[RUN, ITEMS, FILES], TransactionMode::ReadWrite)
            .map_err(err)?;
        tx.store(ITEMS).map_err(err)?.clear().await.map_err(err)?;
        tx.store(FILES).map_err(err)?.clear().await.map_err(err)?;
        tx.store(RUN).map_err(err)?.clear().await.map_err(err)?;
        tx.done().await.map_err(err)?;
        Ok(())
    }
}
