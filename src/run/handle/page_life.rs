//! The handle and the page's life: leaving mid-run saves and cuts the run
//! off cleanly, a page back from the back/forward cache loads again, and
//! the browser's handling of hidden tabs is explained.

use leptos::prelude::*;

use super::RunHandle;
use crate::browser::{reload_page, watch_lifecycle, worker_timers, Lifecycle};
use crate::run::model::{NoticeLevel, RunState};
use crate::run::tab::{frozen_text, HIDDEN_TEXT, LATE};

impl RunHandle {
    /// Watches the tab for the page's life: leaving saves and cuts the run
    /// off cleanly; the browser's handling of hidden tabs is explained.
    pub fn watch_tab(&self) {
        let handle = *self;
        watch_lifecycle(move |event| {
            if event == Lifecycle::Leaving {
                if let Some(s) = handle.active_session() {
                    s.leave();
                }
                return;
            }
            if event == Lifecycle::Restored && handle.active_session().is_some() {
                // Back from the back/forward cache: the run left its shared
                // budget and cut its requests off when the page was hidden,
                // and would now send unpaced by the other tabs. Loading the
                // page again shows it from storage, interrupted, to be
                // resumed through its lock like any other.
                reload_page();
                return;
            }
            if handle.view.state.get_untracked() != RunState::Running {
                return;
            }
            match event {
                Lifecycle::Hidden if !worker_timers() => {
                    handle.say(NoticeLevel::Warning, HIDDEN_TEXT)
                }
                Lifecycle::Resumed { frozen_for } if frozen_for >= LATE => {
                    handle.say(NoticeLevel::Warning, &frozen_text(frozen_for))
                }
                _ => {}
            }
        });
    }
}
