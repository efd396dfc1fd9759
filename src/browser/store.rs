//! The saved run in IndexedDB (through `rexie`): one `run` record (its
//! fixed part, as JSON) and one `items` record per item that changed (as
//! JSON, keyed by the item's index). Values are JSON text so that the
//! shapes live in plain serde types (`run::saved`).

use rexie::{ObjectStore, Rexie, TransactionMode};
use wasm_bindgen::JsValue;

const DB: &str = "pacer";
const RUN: &str = "run";
const ITEMS: &str = "items";
const CURRENT: &str = "current";

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
            .version(1)
            .add_object_store(ObjectStore::new(RUN))
            .add_object_store(ObjectStore::new(ITEMS))
            .build()
            .await
            .map_err(err)?;
        Ok(Self { db })
    }

    /// Keeps `run` as the saved run's fixed part; `fresh` also forgets the
    /// items of the one before (a new run, not a resumed one).
    pub async fn begin(&self, run: &str, fresh: bool) -> Result<(), StoreError> {
        let tx = self
            .db
            .transaction(&[RUN, ITEMS], TransactionMode::ReadWrite)
            .map_err(err)?;
        if fresh {
            tx.store(ITEMS).map_err(err)?.clear().await.map_err(err)?;
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

    /// The saved run and its saved items, if there is one.
    pub async fn load(&self) -> Result<Option<(String, Vec<(usize, String)>)>, StoreError> {
        let tx = self
            .db
            .transaction(&[RUN, ITEMS], TransactionMode::ReadOnly)
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
        let saved = keys
            .iter()
            .zip(values)
            .filter_map(|(k, v)| Some((k.as_f64()? as usize, v.as_string()?)))
            .collect();
        tx.done().await.map_err(err)?;
        Ok(Some((run, saved)))
    }

    /// Forgets the saved run.
    pub async fn clear(&self) -> Result<(), StoreError> {
        let tx = self
            .db
            .transaction(&[RUN, ITEMS], TransactionMode::ReadWrite)
            .map_err(err)?;
        tx.store(ITEMS).map_err(err)?.clear().await.map_err(err)?;
        tx.store(RUN).map_err(err)?.clear().await.map_err(err)?;
        tx.done().await.map_err(err)?;
        Ok(())
    }
}
