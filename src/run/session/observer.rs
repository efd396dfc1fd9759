//! The pool's observer of a session: marks rows changed, feeds send times
//! to the figures, says what limit the server announced, and tells the
//! session's listeners (the saver) of every answer at once.

use std::rc::Rc;
use std::time::Duration;

use pacer_core::driver::Observer;
use pacer_core::schedule::{AnnouncedLimit, ItemId, ItemStatus};

use super::Hook;
use crate::run::figures::announced_text;
use crate::run::rows::SharedDirty;
use crate::run::transport::FetchTransport;
use crate::run::view::RunView;

/// Marks rows changed (drawn by the ticker, see `rows`), feeds the send
/// times to the figures and tells the session's listeners.
pub(super) struct RowObserver {
    pub(super) view: RunView,
    pub(super) dirty: SharedDirty,
    pub(super) transport: Rc<FetchTransport>,
    pub(super) changed: Rc<Hook<dyn Fn(ItemId)>>,
}

impl Observer for RowObserver {
    fn on_send(&self, item: ItemId, _attempt: u32, at: Duration) {
        self.dirty.borrow_mut().mark(item);
        self.transport.stats.borrow_mut().on_send(at);
    }

    fn on_announced(&self, limit: AnnouncedLimit) {
        self.view.tell(&announced_text(&limit));
    }

    fn on_complete(&self, item: ItemId, _status: &ItemStatus, _at: Duration) {
        // The row and the figures are redrawn by the run's 250 ms ticker
        // and at its end, not per answer (see `rows`); p95 also sorts
        // every latency, which per answer would cost O(n² log n). The
        // listeners (the saver) hear at once: an answer not saved before
        // a reload would be sent again.
        self.dirty.borrow_mut().mark(item);
        for f in self.changed.borrow().iter() {
            f(item);
        }
    }
}
