//! A session's part in quotas: the run on show waits (`waiting-for-quota`)
//! while the scheduler is parked, says until when and counts down, notes
//! the park where a reload finds it, and names the window that binds the
//! pacing. The sends themselves resume from the pool's timer (the timer
//! worker's, so a hidden tab resumes too); this only shows it.

use std::cell::Cell;
use std::time::Duration;

use leptos::prelude::*;
use pacer_core::driver::RunControl;
use pacer_core::schedule::Scheduler;
use pacer_core::Clock;

use crate::browser::{quota_mark, set_quota_mark, SharedClock};
use crate::run::id::RunId;
use crate::run::model::{NoticeLevel, RunState};
use crate::run::quota_text::{binding_text, cap_notice, countdown, waiting_notice};
use crate::run::view::{QuotaShown, RunView};

/// The longest a noted wait may hold a run: a month's quota window.
const LONGEST_WAIT: Duration = Duration::from_secs(31 * 24 * 3600);

/// Before the first send: a park noted before a reload (or before the tab
/// was closed) holds again, until the same instant.
pub(super) fn take_up_mark(id: &RunId, scheduler: &mut Scheduler) {
    let Some(until_ms) = quota_mark(id.as_str()) else {
        return;
    };
    // The run's clock is wall-clock time ([`SharedClock`]), as is the mark.
    // The mark is outside data: one beyond the longest quota window (a
    // month) or not a time at all is dropped, not waited for.
    let now = SharedClock.now();
    let until_unix = Duration::try_from_secs_f64(until_ms / 1000.0).unwrap_or_default();
    if until_unix > now && until_unix - now <= LONGEST_WAIT {
        scheduler.park_until(until_unix, None);
    } else {
        // The quota is back already (or the mark is unreadable): a later
        // reload is an interruption like any other, not a wait.
        set_quota_mark(id.as_str(), None);
    }
}

/// The run's ticker: shows, notes and lifts the wait for a quota, names
/// the window that binds the pacing, and says once when a concurrency cap
/// was learnt (`cap_said`: the cap last said).
pub(super) fn tick(
    view: RunView,
    control: &RunControl,
    id: &RunId,
    cap_said: &Cell<Option<usize>>,
) {
    let now = SharedClock.now();
    let cap = control.read(Scheduler::concurrency_cap);
    if cap.is_some() && cap_said.replace(cap) != cap {
        if let Some(n) = cap {
            view.say(NoticeLevel::Warning, &cap_notice(n));
        }
    }
    let (park, announced) = control.read(|s| (s.quota_park(now), s.pacing().announced()));
    let binding = announced.and_then(|a| a.window).map(|w| binding_text(&w));
    if view.binding.with_untracked(|b| *b != binding) {
        view.binding.set(binding);
    }
    let state = view.state.get_untracked();
    match park {
        Some(p) if matches!(state, RunState::Running | RunState::WaitingForQuota) => {
            let until_unix_ms = p.until.as_secs_f64() * 1000.0;
            let shown = QuotaShown {
                until_unix_ms,
                left: countdown(p.until.saturating_sub(now)),
            };
            let moved = view
                .quota
                .with_untracked(|q| q.as_ref().map(|q| q.until_unix_ms) != Some(until_unix_ms));
            if state == RunState::Running || moved {
                view.state.set(RunState::WaitingForQuota);
                view.say(
                    NoticeLevel::Warning,
                    &waiting_notice(p.window.as_ref(), until_unix_ms),
                );
                set_quota_mark(id.as_str(), Some(until_unix_ms));
            }
            if view.quota.with_untracked(|q| q.as_ref() != Some(&shown)) {
                view.quota.set(Some(shown));
            }
        }
        None if state == RunState::WaitingForQuota => {
            lift(view, id);
            view.state.set(RunState::Running);
            view.say(
                NoticeLevel::Info,
                "The quota is back: Pacer goes on sending.",
            );
        }
        _ => {}
    }
}

/// Forgets a wait (the quota is back, or the run ended).
pub(super) fn lift(view: RunView, id: &RunId) {
    set_quota_mark(id.as_str(), None);
    if view.quota.with_untracked(Option::is_some) {
        view.quota.set(None);
    }
}
