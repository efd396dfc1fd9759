//! Which run may do what, decided in one place: the commands each state of
//! the run on show allows, what a saved run is in the history (owned here,
//! by another tab, or by none), and what the history lets the user do with
//! it. Plain data in, plain data out; the handle and the history panel
//! only ask.

use super::model::RunState;
use super::summary::{RunSummary, SavedPhase};

/// What the user can ask of the run on show.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Command {
    /// Start a new run from the form.
    Start,
    /// Hold the run.
    Pause,
    /// Lift a pause, or take up an interrupted run.
    Resume,
    /// Abort and send nothing more.
    Cancel,
    /// Send the failed items again.
    RetryFailed,
    /// Stop showing the run (it stays in the history).
    Clear,
    /// Open another saved run, or import a job.
    Replace,
}

/// The state `command` takes the run on show to, or `None` when it is not
/// allowed there. Starting from an interrupted or finished run is allowed:
/// it makes a new run, and the old one stays in the history.
pub fn next_state(state: RunState, command: Command) -> Option<RunState> {
    use RunState::*;
    match (command, state) {
        (Command::Start, Idle | Done | Cancelled | Interrupted) => Some(Running),
        (Command::Pause, Running | WaitingForQuota) => Some(Paused),
        (Command::Resume, Paused | Interrupted) => Some(Running),
        (Command::Cancel, Running | Paused | WaitingForQuota) => Some(Cancelled),
        (Command::RetryFailed, Done) => Some(Running),
        (Command::Clear | Command::Replace, s) if !s.is_active() => Some(Idle),
        _ => None,
    }
}

/// A saved run as the history shows it (`data-state` of its item).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HistoryState {
    /// This tab is sending it.
    Running,
    /// Another tab holds it (its owner lock is taken): watch only.
    RunningElsewhere,
    /// This tab holds it, paused.
    Paused,
    /// This tab holds it, parked until a quota returns.
    WaitingForQuota,
    /// Nobody holds it and items are left: the first tab to take its lock
    /// may resume it.
    Interrupted,
    /// Nobody holds it, and it was left waiting for a quota to return (its
    /// tab closed during the wait): the first tab to open it waits out
    /// the rest and resumes it at the reset.
    LeftWaiting,
    /// Every item ended.
    Done,
    /// Cancelled with items left unsent.
    Cancelled,
}

impl HistoryState {
    /// The exact text of the test interface.
    pub fn as_str(self) -> &'static str {
        match self {
            HistoryState::Running => "running",
            HistoryState::RunningElsewhere => "running-elsewhere",
            HistoryState::Paused => "paused",
            HistoryState::WaitingForQuota | HistoryState::LeftWaiting => "waiting-for-quota",
            HistoryState::Interrupted => "interrupted",
            HistoryState::Done => "done",
            HistoryState::Cancelled => "cancelled",
        }
    }

    /// Who carries the run out, in words.
    pub fn owner(self) -> &'static str {
        match self {
            HistoryState::Running | HistoryState::Paused | HistoryState::WaitingForQuota => {
                "this tab"
            }
            HistoryState::RunningElsewhere => "another tab",
            _ => "none",
        }
    }
}

/// Where a run stands outside this tab.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Elsewhere {
    /// Another tab holds its owner lock.
    Held,
    /// Nobody holds it, and it was noted as waiting for a quota that has
    /// not returned yet.
    LeftWaiting,
    /// Nobody holds it.
    Free,
}

/// What run `summary` is: `here` is the state of this tab's own active
/// run when it is this one; `elsewhere`, where it stands outside this tab.
pub fn history_state(
    summary: &RunSummary,
    here: Option<RunState>,
    elsewhere: Elsewhere,
) -> HistoryState {
    match here {
        Some(RunState::Running) => return HistoryState::Running,
        Some(RunState::Paused) => return HistoryState::Paused,
        Some(RunState::WaitingForQuota) => return HistoryState::WaitingForQuota,
        _ => {}
    }
    match (elsewhere, summary.phase) {
        (Elsewhere::Held, _) => HistoryState::RunningElsewhere,
        (_, SavedPhase::Cancelled) => HistoryState::Cancelled,
        _ if summary.pending == 0 => HistoryState::Done,
        (Elsewhere::LeftWaiting, _) => HistoryState::LeftWaiting,
        _ => HistoryState::Interrupted,
    }
}

/// What the history lets the user do with a run.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Actions {
    /// Show its results in the page.
    pub open: bool,
    /// Take it up (after taking its lock).
    pub resume: bool,
    /// Download its results.
    pub export: bool,
    /// Forget it.
    pub delete: bool,
}

/// The actions on a run in `state`, while this tab's own run on show is
/// `busy` (running or paused) or not.
pub fn actions(state: HistoryState, busy: bool) -> Actions {
    match state {
        HistoryState::Running | HistoryState::Paused | HistoryState::WaitingForQuota => Actions {
            export: true,
            ..Actions::default()
        },
        HistoryState::RunningElsewhere => Actions {
            export: true,
            ..Actions::default()
        },
        HistoryState::Interrupted | HistoryState::LeftWaiting => Actions {
            open: !busy,
            resume: !busy,
            export: true,
            delete: true,
        },
        HistoryState::Done | HistoryState::Cancelled => Actions {
            open: !busy,
            resume: false,
            export: true,
            delete: true,
        },
    }
}

/// When the browser's storage runs short: the finished runs to offer to
/// delete, oldest first, keeping the `keep` newest runs whatever they are.
/// `runs` is (id, started, state) in any order.
pub fn old_runs<T>(runs: &[(T, f64, HistoryState)], keep: usize) -> Vec<&T> {
    let mut by_age: Vec<&(T, f64, HistoryState)> = runs.iter().collect();
    pacer_core::sort::sort_by(&mut by_age, |a, b| b.1.total_cmp(&a.1));
    let mut old: Vec<&(T, f64, HistoryState)> = by_age
        .into_iter()
        .skip(keep)
        .filter(|r| matches!(r.2, HistoryState::Done | HistoryState::Cancelled))
        .collect();
    old.reverse();
    old.into_iter().map(|r| &r.0).collect()
}

/// True when storage is short: less than a tenth of the quota, or less
/// than 20 MB, is left.
pub fn storage_short(used: f64, quota: f64) -> bool {
    const MIN_FREE: f64 = 20.0 * 1024.0 * 1024.0;
    let free = (quota - used).max(0.0);
    quota > 0.0 && (free < quota / 10.0 || free < MIN_FREE)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::run::id::RunId;

    fn summary(pending: usize, phase: SavedPhase) -> RunSummary {
        RunSummary {
            pending,
            phase,
            ..RunSummary::new(RunId::parse("r").unwrap(), 0.0, 10)
        }
    }

    #[test]
    fn start_never_replaces_an_active_run_but_does_replace_an_interrupted_one() {
        use RunState::*;
        assert_eq!(next_state(Interrupted, Command::Start), Some(Running));
        assert_eq!(next_state(Done, Command::Start), Some(Running));
        assert_eq!(next_state(Running, Command::Start), None);
        assert_eq!(next_state(Paused, Command::Start), None);
        assert_eq!(next_state(Running, Command::Clear), None);
        assert_eq!(next_state(Paused, Command::Replace), None);
        assert_eq!(next_state(Interrupted, Command::Clear), Some(Idle));
        assert_eq!(next_state(Idle, Command::Resume), None);
        assert_eq!(next_state(Interrupted, Command::Resume), Some(Running));
        assert_eq!(next_state(Done, Command::RetryFailed), Some(Running));
        assert_eq!(next_state(Cancelled, Command::Cancel), None);
        assert!(Running.is_active() && Paused.is_active() && WaitingForQuota.is_active());
        assert_eq!(next_state(WaitingForQuota, Command::Pause), Some(Paused));
        assert_eq!(
            next_state(WaitingForQuota, Command::Cancel),
            Some(Cancelled)
        );
        assert_eq!(next_state(WaitingForQuota, Command::Start), None);
        assert_eq!(next_state(WaitingForQuota, Command::Clear), None);
        assert!(![Idle, Done, Cancelled, Interrupted]
            .iter()
            .any(|s| s.is_active()));
    }

    #[test]
    fn a_run_held_by_another_tab_is_running_elsewhere_not_interrupted() {
        let unfinished = summary(5, SavedPhase::Running);
        assert_eq!(
            history_state(&unfinished, None, Elsewhere::Held),
            HistoryState::RunningElsewhere
        );
        // Its owner went (the lock is free): interrupted, for whoever takes it.
        assert_eq!(
            history_state(&unfinished, None, Elsewhere::Free),
            HistoryState::Interrupted
        );
        // This tab's own run.
        assert_eq!(
            history_state(&unfinished, Some(RunState::Paused), Elsewhere::Free),
            HistoryState::Paused
        );
        assert_eq!(
            history_state(&summary(0, SavedPhase::Done), None, Elsewhere::Free),
            HistoryState::Done
        );
        assert_eq!(
            history_state(&summary(3, SavedPhase::Cancelled), None, Elsewhere::Free),
            HistoryState::Cancelled
        );
    }

    #[test]
    fn a_run_left_waiting_for_its_quota_says_so_and_can_be_taken_up() {
        let unfinished = summary(5, SavedPhase::Running);
        let left = history_state(&unfinished, None, Elsewhere::LeftWaiting);
        assert_eq!(left, HistoryState::LeftWaiting);
        assert_eq!(left.as_str(), "waiting-for-quota");
        assert_eq!(left.owner(), "none");
        assert_eq!(
            actions(left, false),
            actions(HistoryState::Interrupted, false)
        );
        // A tab that holds it is running it, whatever the mark says.
        assert_eq!(
            history_state(&unfinished, None, Elsewhere::Held),
            HistoryState::RunningElsewhere
        );
        // Nothing left to wait for.
        assert_eq!(
            history_state(
                &summary(0, SavedPhase::Running),
                None,
                Elsewhere::LeftWaiting
            ),
            HistoryState::Done
        );
    }

    #[test]
    fn only_a_free_interrupted_run_can_be_resumed_and_a_held_one_never_deleted() {
        let elsewhere = actions(HistoryState::RunningElsewhere, false);
        assert!(!elsewhere.resume && !elsewhere.delete && !elsewhere.open);
        let free = actions(HistoryState::Interrupted, false);
        assert!(free.resume && free.delete && free.open);
        // Not while this tab runs something else.
        assert!(!actions(HistoryState::Interrupted, true).resume);
        assert!(!actions(HistoryState::Running, false).delete);
        assert!(!actions(HistoryState::Done, false).resume);
    }

    #[test]
    fn old_finished_runs_are_offered_oldest_first_keeping_the_newest() {
        use HistoryState::*;
        let runs = [
            ("a", 1.0, Done),
            ("b", 2.0, Interrupted),
            ("c", 3.0, Cancelled),
            ("d", 4.0, Done),
            ("e", 5.0, Done),
        ];
        assert_eq!(old_runs(&runs, 2), [&"a", &"c"]);
        assert!(old_runs(&runs, 5).is_empty());
        assert!(storage_short(95.0, 100.0));
        assert!(!storage_short(0.0, 1e12));
        assert!(storage_short(1e12 - 1e6, 1e12));
        assert!(!storage_short(0.0, 0.0));
    }
}
