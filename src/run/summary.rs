//! A saved run's line in the history: what it is (when, where, which
//! models) and how far it got, kept beside the run and rewritten with each
//! save, so that listing runs never reads their items.

use serde::{Deserialize, Serialize};

use super::id::RunId;
use super::saved::SavedRun;

/// Where the owner tab had the run at its last save.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SavedPhase {
    /// Sending (or just started).
    #[default]
    Running,
    /// Paused by the user.
    Paused,
    /// Every item ended.
    Done,
    /// Cancelled.
    Cancelled,
}

/// One saved run, as listed.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RunSummary {
    /// The run.
    pub id: RunId,
    /// When it started, ms since the Unix epoch.
    pub started_unix_ms: f64,
    /// Its endpoint (the key is never saved).
    #[serde(default)]
    pub endpoint: String,
    /// Its models.
    #[serde(default)]
    pub models: Vec<String>,
    /// Items in all.
    pub total: usize,
    /// Items answered with predictions.
    #[serde(default)]
    pub done: usize,
    /// Items ended as failed.
    #[serde(default)]
    pub failed: usize,
    /// Items not ended yet.
    #[serde(default)]
    pub pending: usize,
    /// Requests cut off by leaving the page, maybe counted by the server.
    #[serde(default)]
    pub possibly_charged: usize,
    /// Where its owner had it.
    #[serde(default)]
    pub phase: SavedPhase,
    /// When this line was written, ms since the Unix epoch.
    #[serde(default)]
    pub updated_unix_ms: f64,
}

impl RunSummary {
    /// A run of `total` items that has not sent anything yet.
    pub fn new(id: RunId, started_unix_ms: f64, total: usize) -> Self {
        Self {
            id,
            started_unix_ms,
            endpoint: String::new(),
            models: Vec::new(),
            total,
            done: 0,
            failed: 0,
            pending: total,
            possibly_charged: 0,
            phase: SavedPhase::Running,
            updated_unix_ms: started_unix_ms,
        }
    }

    /// The line of `run` (which has an id), nothing sent yet.
    pub fn of(run: &SavedRun, id: RunId) -> Self {
        Self {
            endpoint: run.settings.endpoint.clone(),
            models: run.settings.models.clone(),
            ..Self::new(
                id,
                run.started_unix_ms,
                run.sources.len() * run.items_per_image(),
            )
        }
    }

    /// The endpoint's host, for the list ("api-us.restb.ai", "127.0.0.1:8080").
    pub fn host(&self) -> &str {
        let rest = self
            .endpoint
            .split_once("://")
            .map_or(self.endpoint.as_str(), |(_, rest)| rest);
        rest.split(['/', '?', '#']).next().unwrap_or(rest)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_host_is_read_from_the_endpoint() {
        let mut s = RunSummary::new(RunId::parse("x").unwrap(), 0.0, 3);
        s.endpoint = "https://api-us.restb.ai/vision".into();
        assert_eq!(s.host(), "api-us.restb.ai");
        s.endpoint = "http://127.0.0.1:8080".into();
        assert_eq!(s.host(), "127.0.0.1:8080");
        s.endpoint = "odd".into();
        assert_eq!(s.host(), "odd");
        assert_eq!(s.pending, 3);
    }

    #[test]
    fn old_lines_read_with_defaults() {
        let s: RunSummary =
            serde_json::from_str(r#"{"id":"abc","started_unix_ms":1.0,"total":4}"#).unwrap();
        assert_eq!((s.done, s.pending, s.phase), (0, 0, SavedPhase::Running));
    }
}
