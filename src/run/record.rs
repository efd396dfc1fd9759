//! What a run keeps per item beyond its state: every attempt's timing and
//! outcome, and the predictions. Exports are written from this; the client
//! key is never part of it.

use std::sync::Arc;

use pacer_core::api::Prediction;
use serde::{Deserialize, Serialize};

/// One request of one item.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AttemptRecord {
    /// 1 for the first send.
    pub attempt: u32,
    /// When it was sent, ms since the Unix epoch (sub-ms precision).
    pub sent_unix_ms: f64,
    /// Send to whole answer, ms.
    pub latency_ms: f64,
    /// HTTP status, if an answer came.
    pub status: Option<u16>,
    /// Why it did not succeed.
    pub error: Option<String>,
    /// Cut off on the wire because the page was being left: the server may
    /// have counted (and billed) it although its answer was never read.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub possibly_charged: bool,
    /// How long a team-budget proxy held it before passing it on, ms (part
    /// of `latency_ms`, but not the API's latency).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub held_ms: Option<f64>,
}

impl AttemptRecord {
    /// The API's own latency, ms: send to whole answer, less a proxy's hold.
    pub fn api_latency_ms(&self) -> f64 {
        (self.latency_ms - self.held_ms.unwrap_or(0.0)).max(0.0)
    }
}

/// Records of a run, indexed by item.
#[derive(Clone, Debug, Default)]
pub struct RunRecord {
    /// Attempts per item.
    pub attempts: Vec<Vec<AttemptRecord>>,
    /// Predictions per item, once answered (shared with the item's row).
    pub predictions: Vec<Option<Arc<Prediction>>>,
}

impl RunRecord {
    /// Empty records for `items` items.
    pub fn new(items: usize) -> Self {
        Self {
            attempts: vec![Vec::new(); items],
            predictions: vec![None; items],
        }
    }

    /// Requests of the run that may have been counted by the server without
    /// their answer being read (see [`AttemptRecord::possibly_charged`]).
    pub fn possibly_charged(&self) -> usize {
        self.attempts
            .iter()
            .flatten()
            .filter(|a| a.possibly_charged)
            .count()
    }

    /// Adds an attempt (and its predictions, if it succeeded).
    pub fn add(&mut self, item: usize, attempt: AttemptRecord, prediction: Option<Prediction>) {
        let attempts = &mut self.attempts[item];
        // Most items are sent once: room for one attempt, not the four a
        // first push makes (three empty records per item are ~150 bytes,
        // 150 MB over a million items).
        if attempts.capacity() == 0 {
            attempts.reserve_exact(1);
        }
        attempts.push(attempt);
        if prediction.is_some() {
            self.predictions[item] = prediction.map(Arc::new);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_item_sent_once_keeps_room_for_one_attempt() {
        let attempt = |n| AttemptRecord {
            attempt: n,
            sent_unix_ms: 1.7e12,
            latency_ms: 50.0,
            status: Some(503),
            error: None,
            possibly_charged: false,
            held_ms: None,
        };
        let mut record = RunRecord::new(2);
        record.add(0, attempt(1), None);
        assert_eq!(record.attempts[0].capacity(), 1);
        record.add(0, attempt(2), None);
        assert_eq!(record.attempts[0].len(), 2);
        assert!(record.attempts[1].is_empty());
    }
}
