//! The saved runs as the history lists them: each run's line with what it
//! is now (running here, in another tab, interrupted, finished) and what
//! may be done with it. Pure: the lines, the held lock names and this
//! tab's own run come in as data.

use super::id::RunId;
use super::model::RunState;
use super::states::{actions, history_state, Actions, Elsewhere, HistoryState};
use super::summary::RunSummary;

/// One saved run in the history.
#[derive(Clone, Debug, PartialEq)]
pub struct HistoryEntry {
    /// Its line (counts, endpoint, models, start).
    pub summary: RunSummary,
    /// What it is now.
    pub state: HistoryState,
    /// What the user may do with it.
    pub actions: Actions,
}

/// The history: `lines` newest first, each with its state; `held` are the
/// Web Locks held now (any tab's); `left_waiting` are the runs noted as
/// waiting for a quota that has not returned yet; `own` is this tab's run
/// on show and its state.
pub fn entries(
    lines: Vec<RunSummary>,
    held: &[String],
    left_waiting: &[RunId],
    own: Option<(&RunId, RunState)>,
) -> Vec<HistoryEntry> {
    let busy = own.is_some_and(|(_, s)| s.is_active());
    let mut out: Vec<HistoryEntry> = lines
        .into_iter()
        .map(|summary| {
            let here = own
                .filter(|(id, s)| **id == summary.id && s.is_active())
                .map(|(_, s)| s);
            let lock = summary.id.lock_name();
            let elsewhere = if here.is_none() && held.contains(&lock) {
                Elsewhere::Held
            } else if left_waiting.contains(&summary.id) {
                Elsewhere::LeftWaiting
            } else {
                Elsewhere::Free
            };
            let state = history_state(&summary, here, elsewhere);
            HistoryEntry {
                actions: actions(state, busy),
                summary,
                state,
            }
        })
        .collect();
    pacer_core::sort::sort_by(&mut out, |a, b| {
        b.summary
            .started_unix_ms
            .total_cmp(&a.summary.started_unix_ms)
    });
    out
}

/// Which run a tab opening the page shows: the one it had before a reload
/// (`tab_run`) if no other tab holds it, else the newest run no tab holds.
pub fn run_to_open<'a>(entries: &'a [HistoryEntry], tab_run: Option<&str>) -> Option<&'a RunId> {
    let free = |e: &&HistoryEntry| e.state != HistoryState::RunningElsewhere;
    if let Some(mine) = tab_run {
        if let Some(e) = entries.iter().find(|e| e.summary.id.as_str() == mine) {
            return free(&e).then_some(&e.summary.id);
        }
    }
    entries.iter().find(free).map(|e| &e.summary.id)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::run::summary::SavedPhase;

    fn line(id: &str, started: f64, pending: usize) -> RunSummary {
        RunSummary {
            pending,
            phase: if pending > 0 {
                SavedPhase::Running
            } else {
                SavedPhase::Done
            },
            ..RunSummary::new(RunId::parse(id).unwrap(), started, 20)
        }
    }

    #[test]
    fn runs_held_by_other_tabs_are_running_elsewhere_and_this_tabs_own_is_running() {
        let a = RunId::parse("a").unwrap();
        let lines = vec![line("a", 1.0, 5), line("b", 2.0, 7), line("c", 3.0, 0)];
        let held = vec![a.lock_name(), RunId::parse("b").unwrap().lock_name()];
        let list = entries(lines, &held, &[], Some((&a, RunState::Running)));
        let seen: Vec<(&str, &str)> = list
            .iter()
            .map(|e| (e.summary.id.as_str(), e.state.as_str()))
            .collect();
        assert_eq!(
            seen,
            [("c", "done"), ("b", "running-elsewhere"), ("a", "running")]
        );
        // While this tab runs, nothing else can be opened or resumed here.
        assert!(!list[0].actions.open);
        assert!(!list[1].actions.resume && !list[1].actions.delete);
    }

    #[test]
    fn a_freed_run_is_interrupted_and_a_reloaded_tab_takes_up_its_own() {
        let lines = vec![line("a", 1.0, 5), line("b", 2.0, 7)];
        let held = vec![RunId::parse("b").unwrap().lock_name()];
        let list = entries(lines, &held, &[], None);
        assert_eq!(list[1].state, HistoryState::Interrupted);
        assert!(list[1].actions.resume);
        // The reloaded tab had "a": it opens "a", not the newer "b" (held).
        assert_eq!(run_to_open(&list, Some("a")).unwrap().as_str(), "a");
        // A new tab opens the newest run nobody holds.
        assert_eq!(run_to_open(&list, None).unwrap().as_str(), "a");
        // A tab whose own run is held elsewhere opens nothing.
        assert_eq!(run_to_open(&list, Some("b")), None);
        // Everything held: nothing to open.
        let all = vec![
            RunId::parse("a").unwrap().lock_name(),
            RunId::parse("b").unwrap().lock_name(),
        ];
        let list = entries(vec![line("a", 1.0, 5), line("b", 2.0, 7)], &all, &[], None);
        assert_eq!(run_to_open(&list, None), None);
    }
}
