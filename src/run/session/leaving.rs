//! A session when its page is being left: the requests on the wire are
//! cut off and noted at once as possibly charged, the savers save, and a
//! page that stays after all goes on.

use std::rc::Rc;

use leptos::prelude::*;
use pacer_core::schedule::{ItemId, Scheduler};

use super::{Session, STAY_AFTER};
use crate::browser::{after, cut_marks, set_cut_marks};
use crate::run::model::RunState;
use crate::run::record::AttemptRecord;
use crate::run::saved::MAX_CUT;

/// Why an answered item is sent again after the page was left.
const ANSWERED_AS_LEFT: &str =
    "answered as the page was left, before its answer was saved (the server may have counted it)";

impl Session {
    /// The page is going away mid-run (`beforeunload`, `pagehide`): cuts
    /// off the requests on the wire (recorded as possibly charged: the
    /// server may have counted them), lets the savers save at once, and if
    /// the page is still here a moment later (the leaving was called off),
    /// goes on.
    pub(in crate::run) fn leave(self: &Rc<Self>) {
        if !self.view.state.get_untracked().is_active() {
            return;
        }
        self.control.update(Scheduler::hold);
        let cut = self.transport.abort_for_leaving();
        self.note_cut(&cut);
        for item in cut {
            self.mark(item);
        }
        for f in self.leaving.borrow().clone() {
            f();
        }
        let me = Rc::downgrade(self);
        after(STAY_AFTER, move || {
            let Some(me) = me.upgrade() else { return };
            me.transport.stay();
            if matches!(
                me.view.state.get_untracked(),
                RunState::Running | RunState::WaitingForQuota
            ) {
                me.control.update(Scheduler::resume);
            }
        });
    }

    /// Notes the requests just cut off at once, where the page can still
    /// write as it goes (the saver's transaction may never commit): the
    /// run taken up later counts them as possibly charged.
    fn note_cut(&self, items: &[ItemId]) {
        self.note_marks(items, |last| Some(last.clone()));
    }

    /// Notes at once the items answered whose save may not commit before
    /// the page goes (`items`: not saved yet, or being saved): should the
    /// saved run not have them done, the run taken up later sends them
    /// again and shows them as possibly charged, never silently twice. A
    /// run whose save did commit keeps them done (the mark is ignored).
    pub(in crate::run) fn note_unsaved_answers(&self, items: &[ItemId]) {
        let answered: Vec<ItemId> = {
            let record = self.record.borrow();
            items
                .iter()
                .copied()
                .filter(|&i| record.predictions.get(i).is_some_and(Option::is_some))
                .collect()
        };
        self.note_marks(&answered, |last| {
            Some(AttemptRecord {
                status: None,
                error: Some(ANSWERED_AS_LEFT.to_owned()),
                possibly_charged: true,
                ..last.clone()
            })
        });
    }

    /// Adds to the run's marks, for each of `items`, what `mark` makes of
    /// its last attempt.
    fn note_marks(&self, items: &[ItemId], mark: impl Fn(&AttemptRecord) -> Option<AttemptRecord>) {
        if items.is_empty() {
            return;
        }
        let record = self.record.borrow();
        let mut noted: Vec<(usize, AttemptRecord)> = cut_marks(self.id.as_str())
            .and_then(|json| serde_json::from_str(&json).ok())
            .unwrap_or_default();
        for &item in items {
            if let Some(marked) = record
                .attempts
                .get(item)
                .and_then(|a| a.last())
                .and_then(&mark)
            {
                noted.push((item, marked));
            }
        }
        noted.truncate(MAX_CUT);
        if let Ok(json) = serde_json::to_string(&noted) {
            set_cut_marks(self.id.as_str(), Some(&json));
        }
    }
}
