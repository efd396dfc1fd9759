//! Timers as a [`Sleep`], run in a dedicated Web Worker so that a hidden tab
//! keeps its pace.
//!
//! Chrome runs a hidden tab's `setTimeout` at most once a second, and after
//! five minutes hidden once a minute. A dedicated worker's timers are not
//! throttled, and its `postMessage` back to the page is delivered at once,
//! so every sleep is a message to one small worker (`[id, ms]`) that answers
//! with `id` when the time is up. Measured in headless Chromium 156 with the
//! tab hidden behind a second one: a 100 ms main-thread chain ran 1/s, the
//! worker's 10/s.
//!
//! When no worker can be started (a CSP without `worker-src blob:`, an old
//! browser), sleeps fall back to the page's own `setTimeout` and
//! [`worker_timers`] says so, for the page to warn when it is hidden.

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};
use std::time::Duration;

use futures::channel::oneshot;
use gloo_timers::future::TimeoutFuture;
use pacer_core::Sleep;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use web_sys::{Blob, BlobPropertyBag, MessageEvent, Url, Worker};

/// The worker: `[id, ms]` starts a timer that posts `id` back after `ms`;
/// `[id, -1]` cancels it.
///
/// It also sends requests at a given instant (`{id, at, gap, url, method,
/// type, body}`, `at` in Unix ms): a page's long tasks hold up its own
/// timers and the start of its own fetches by tens of ms, never the
/// worker's. A request's timer fires no sooner than `gap` ms after the
/// last one the worker fired: the page plans a send before the one before
/// it went, and when that one goes late (the worker's thread is not always
/// free either) a strict server measures the gap between the two, not the
/// plan. A timer fires a millisecond or more late, and sometimes early
/// (its delay is whole ms): a send that keeps a gap (strict pacing, at most
/// 50/s) sets its timer `SPIN` ms short of its instant and waits out the
/// rest on the clock, so that it goes within a fraction of a millisecond
/// of its instant; a later one only pushes the next send back. A timer is
/// set again only while more than `RESIDUAL` ms are left beyond the spin,
/// else the rest is waited out on the clock (at most 3 ms of the worker's
/// thread a send, 15 % at 50/s): a timer for a fraction of a millisecond
/// fires at once, and a chain of them nests until Chromium holds one 4
/// ms, which made every send 1–2 ms late. It posts `{id, sent}` when the
/// request goes (`sent` is the instant of the fetch, not the end of the
/// call: the call's own time is part of the way in, not lateness), then
/// `{id, status, headers, body}`,
/// `{id, status, headers, tooLarge: true}` (a body over `MAX` bytes, left
/// unread) or `{id, error}` (its text with any `client_key=` value and URL
/// credentials hidden, as `scrub_secrets` does); `{abort: id}` cancels it,
/// sent or not.
const WORKER_JS: &str = "\
const timers = new Map(), sends = new Map();
const SPIN = 2, SPIN_GAP = 20, RESIDUAL = 1;
let lastFired = -Infinity;
const now = () => performance.timeOrigin + performance.now();
const MAX = 10485760;
const scrub = (t) => String(t)
  .replace(/(client_key=)[^&#\\s'\"<>()\\[\\]`]+/gi, '$1[hidden]')
  .replace(/(:\\/\\/)[^\\/?#\\s@]*@/g, '$1[hidden]@');
const readCapped = async (r) => {
  const declared = Number(r.headers.get('content-length'));
  if (!r.body) return '';
  if (declared > MAX) { r.body.cancel(); return null; }
  const reader = r.body.getReader(), parts = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.length;
    if (size > MAX) { reader.cancel(); return null; }
    parts.push(value);
  }
  const all = new Uint8Array(size);
  let at = 0;
  for (const p of parts) { all.set(p, at); at += p.length; }
  return new TextDecoder().decode(all);
};
onmessage = (e) => {
  const d = e.data;
  if (Array.isArray(d)) {
    const [id, ms] = d;
    if (ms < 0) { clearTimeout(timers.get(id)); timers.delete(id); return; }
    timers.set(id, setTimeout(() => { timers.delete(id); postMessage(id); }, ms));
    return;
  }
  if (d.abort !== undefined) {
    const s = sends.get(d.abort);
    if (s) { clearTimeout(s.timer); s.controller.abort(); sends.delete(d.abort); }
    return;
  }
  const s = { controller: new AbortController() };
  sends.set(d.id, s);
  const gap = d.gap || 0;
  const spin = gap >= SPIN_GAP ? SPIN : 0;
  const go = () => {
    const due = Math.max(d.at, lastFired + gap);
    const wait = due - now();
    if (wait - spin > RESIDUAL) { s.timer = setTimeout(go, wait - spin); return; }
    while (now() < due) {}
    lastFired = now();
    const init = { method: d.method, signal: s.controller.signal };
    if (d.body !== undefined) { init.body = d.body; init.headers = { 'Content-Type': d.type }; }
    const answer = fetch(d.url, init);
    postMessage({ id: d.id, sent: lastFired });
    answer.then(async (r) => {
      const headers = {};
      r.headers.forEach((v, k) => { headers[k] = v; });
      const body = await readCapped(r);
      if (body === null) postMessage({ id: d.id, status: r.status, headers, tooLarge: true });
      else postMessage({ id: d.id, status: r.status, headers, body });
    }).catch((err) => postMessage({ id: d.id, error: scrub((err && err.message) || err) }))
      .finally(() => sends.delete(d.id));
  };
  s.timer = setTimeout(go, Math.max(0, d.at - now() - spin));
};";

/// Sleeps on the worker's timers (or the page's, when there is no worker).
/// Delays are rounded *up* to whole milliseconds, so a wake-up is never
/// early; the scheduler re-reads the clock on waking, so a late one costs
/// nothing but the lateness.
#[derive(Clone, Copy, Debug, Default)]
pub struct TimerSleep;

impl Sleep for TimerSleep {
    type Fut = SleepFuture;

    fn sleep(&self, d: Duration) -> SleepFuture {
        let ms = (d.as_secs_f64() * 1000.0).ceil().min(f64::from(i32::MAX)) as u32;
        match WorkerTimers::get() {
            Some(timers) => timers.start(ms),
            None => SleepFuture(Inner::Page(TimeoutFuture::new(ms))),
        }
    }
}

/// Whether sleeps run on the worker's timers (and so keep their pace in a
/// hidden tab); starts the worker if it has not started yet.
pub fn worker_timers() -> bool {
    WorkerTimers::get().is_some()
}

/// The latest any sleep woke since the last call (zero when none was late),
/// for the page to tell the user when even the worker's timers were held
/// back (a frozen tab, a browser that throttles workers too).
pub fn take_timer_lateness() -> Duration {
    let ms = MAX_LATE_MS.with(|max| max.replace(0.0));
    Duration::from_secs_f64(ms.max(0.0) / 1000.0)
}

pub(super) fn now_ms() -> f64 {
    web_sys::window()
        .and_then(|w| w.performance())
        .map(|p| p.now())
        .unwrap_or(0.0)
}

/// A pending [`TimerSleep::sleep`]. Dropping it cancels the timer.
pub struct SleepFuture(Inner);

enum Inner {
    Worker {
        id: u32,
        /// `performance.now()` (ms) at which the sleep is due.
        due: f64,
        done: oneshot::Receiver<()>,
        timers: Rc<WorkerTimers>,
    },
    Page(TimeoutFuture),
}

impl Future for SleepFuture {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        match &mut self.0 {
            // A dropped sender (the worker died) ends the sleep too: better
            // an early re-check of the clock than a pool that never wakes.
            Inner::Worker { done, due, .. } => Pin::new(done).poll(cx).map(|_| {
                let late = now_ms() - *due;
                MAX_LATE_MS.with(|max| max.set(max.get().max(late)));
            }),
            Inner::Page(timeout) => Pin::new(timeout).poll(cx),
        }
    }
}

impl Drop for SleepFuture {
    fn drop(&mut self) {
        if let Inner::Worker { id, timers, .. } = &self.0 {
            timers.cancel(*id);
        }
    }
}

/// A request handed to the worker ([`send_at`]): hears when it went, then
/// its answer (the worker's message), or nothing if it never went.
pub(super) struct TimedSend {
    id: u32,
    timers: Rc<WorkerTimers>,
    /// The send instant (Unix ms).
    pub(super) sent: oneshot::Receiver<f64>,
    /// `{status, headers, body}`, `{error}`, or [`ABORTED`].
    pub(super) done: oneshot::Receiver<JsValue>,
}

/// Cancels a [`TimedSend`], sent or not: its `sent` then hears nothing and
/// its `done` hears [`ABORTED`].
#[derive(Clone)]
pub(super) struct SendCanceller {
    id: u32,
    timers: Rc<WorkerTimers>,
}

impl SendCanceller {
    /// Cancels the request.
    pub(super) fn abort(&self) {
        self.timers.abort_send(self.id);
    }
}

impl TimedSend {
    /// A handle that cancels it.
    pub(super) fn canceller(&self) -> SendCanceller {
        SendCanceller {
            id: self.id,
            timers: Rc::clone(&self.timers),
        }
    }
}

/// What a cancelled send's `done` hears.
pub(super) const ABORTED: &str = "aborted";

/// When the worker makes a request.
#[derive(Clone, Copy, Debug)]
pub(super) struct SendTime {
    /// Its instant, in Unix ms.
    pub(super) at_unix_ms: f64,
    /// The least gap after the last request the worker made, in ms.
    pub(super) min_gap_ms: f64,
}

/// Hands a request to the worker, to go at `when`: a `GET` of `url`, or a
/// `POST` of `body` (`content_type`, body). `None` when there is no worker.
pub(super) fn send_at(url: &str, body: Option<(&str, &str)>, when: SendTime) -> Option<TimedSend> {
    WorkerTimers::get()?.send_at(url, body, when)
}

struct SendSlot {
    sent: Option<oneshot::Sender<f64>>,
    done: oneshot::Sender<JsValue>,
}

struct WorkerTimers {
    worker: Worker,
    next_id: Cell<u32>,
    waiting: RefCell<HashMap<u32, oneshot::Sender<()>>>,
    sends: RefCell<HashMap<u32, SendSlot>>,
    _on_message: Closure<dyn FnMut(MessageEvent)>,
    _on_error: Closure<dyn FnMut(web_sys::Event)>,
}

thread_local! {
    static MAX_LATE_MS: Cell<f64> = const { Cell::new(0.0) };
    /// Started on first use; `None` inside when no worker could be started.
    static TIMERS: RefCell<Option<Option<Rc<WorkerTimers>>>> = const { RefCell::new(None) };
}

impl WorkerTimers {
    fn get() -> Option<Rc<WorkerTimers>> {
        TIMERS.with(|cell| {
            cell.borrow_mut()
                .get_or_insert_with(|| match WorkerTimers::start_worker() {
                    Ok(timers) => Some(timers),
                    Err(e) => {
                        web_sys::console::warn_2(
                            &"Pacer: no timer worker, falling back to page timers:".into(),
                            &e,
                        );
                        None
                    }
                })
                .clone()
        })
    }

    fn start_worker() -> Result<Rc<WorkerTimers>, JsValue> {
        let parts = js_sys::Array::of1(&JsValue::from_str(WORKER_JS));
        let options = BlobPropertyBag::new();
        options.set_type("text/javascript");
        let blob = Blob::new_with_str_sequence_and_options(&parts, &options)?;
        let url = Url::create_object_url_with_blob(&blob)?;
        // The URL stays valid for the page's life (one small blob): a worker
        // fetches its script after the constructor returns.
        let worker = Worker::new(&url)?;
        let timers = Rc::new_cyclic(|weak: &std::rc::Weak<WorkerTimers>| {
            let dead = weak.clone();
            let weak = weak.clone();
            let on_message = Closure::<dyn FnMut(MessageEvent)>::new(move |e: MessageEvent| {
                let Some(timers) = weak.upgrade() else {
                    return;
                };
                let data = e.data();
                if let Some(id) = data.as_f64() {
                    let done = timers.waiting.borrow_mut().remove(&(id as u32));
                    if let Some(done) = done {
                        let _ = done.send(());
                    }
                    return;
                }
                timers.heard_of_send(data);
            });
            // A worker the page's CSP forbids is not refused by the
            // constructor: it fails later with an `error` event. Then every
            // sleep falls back to page timers, and those pending now wake
            // (their senders dropped) to be slept again there.
            let on_error = Closure::<dyn FnMut(web_sys::Event)>::new(move |_| {
                web_sys::console::warn_1(
                    &"Pacer: the timer worker failed (a CSP without worker-src blob:?); \
                      falling back to page timers"
                        .into(),
                );
                let old = TIMERS.with(|cell| cell.replace(Some(None)));
                if let Some(timers) = dead.upgrade() {
                    timers.waiting.borrow_mut().clear();
                    timers.sends.borrow_mut().clear();
                    timers.worker.terminate();
                }
                // Not dropped here: this closure belongs to it.
                std::mem::forget(old);
            });
            WorkerTimers {
                worker: worker.clone(),
                next_id: Cell::new(0),
                waiting: RefCell::new(HashMap::new()),
                sends: RefCell::new(HashMap::new()),
                _on_message: on_message,
                _on_error: on_error,
            }
        });
        timers
            .worker
            .set_onmessage(Some(timers._on_message.as_ref().unchecked_ref()));
        timers
            .worker
            .set_onerror(Some(timers._on_error.as_ref().unchecked_ref()));
        Ok(timers)
    }

    fn start(self: Rc<Self>, ms: u32) -> SleepFuture {
        let id = self.next_id.get().wrapping_add(1);
        self.next_id.set(id);
        let (tx, rx) = oneshot::channel();
        self.waiting.borrow_mut().insert(id, tx);
        if self.post(id, f64::from(ms)).is_err() {
            // The worker is gone: wake at once rather than never.
            self.waiting.borrow_mut().remove(&id);
            return SleepFuture(Inner::Page(TimeoutFuture::new(ms)));
        }
        SleepFuture(Inner::Worker {
            id,
            due: now_ms() + f64::from(ms),
            done: rx,
            timers: self,
        })
    }

    fn cancel(&self, id: u32) {
        if self.waiting.borrow_mut().remove(&id).is_some() {
            let _ = self.post(id, -1.0);
        }
    }

    fn send_at(
        self: Rc<Self>,
        url: &str,
        body: Option<(&str, &str)>,
        when: SendTime,
    ) -> Option<TimedSend> {
        let id = self.next_id.get().wrapping_add(1);
        self.next_id.set(id);
        let msg = js_sys::Object::new();
        let set = |k: &str, v: JsValue| js_sys::Reflect::set(&msg, &k.into(), &v).is_ok();
        let mut ok = set("id", id.into())
            && set("at", when.at_unix_ms.into())
            && set("gap", when.min_gap_ms.into())
            && set("url", url.into());
        ok &= match body {
            Some((content_type, body)) => {
                set("method", "POST".into())
                    && set("type", content_type.into())
                    && set("body", body.into())
            }
            None => set("method", "GET".into()),
        };
        let (sent_tx, sent) = oneshot::channel();
        let (done_tx, done) = oneshot::channel();
        let slot = SendSlot {
            sent: Some(sent_tx),
            done: done_tx,
        };
        self.sends.borrow_mut().insert(id, slot);
        if !ok || self.worker.post_message(&msg).is_err() {
            self.sends.borrow_mut().remove(&id);
            return None;
        }
        Some(TimedSend {
            id,
            timers: self,
            sent,
            done,
        })
    }

    fn abort_send(&self, id: u32) {
        let slot = self.sends.borrow_mut().remove(&id);
        if let Some(slot) = slot {
            let msg = js_sys::Object::new();
            let _ = js_sys::Reflect::set(&msg, &"abort".into(), &id.into());
            let _ = self.worker.post_message(&msg);
            let _ = slot.done.send(JsValue::from_str(ABORTED));
        }
    }

    /// A message of the worker about a send: it went, or its outcome.
    fn heard_of_send(&self, data: JsValue) {
        let get = |k: &str| js_sys::Reflect::get(&data, &k.into()).unwrap_or(JsValue::UNDEFINED);
        let Some(id) = get("id").as_f64().map(|id| id as u32) else {
            return;
        };
        if let Some(sent) = get("sent").as_f64() {
            let tx = self
                .sends
                .borrow_mut()
                .get_mut(&id)
                .and_then(|s| s.sent.take());
            if let Some(tx) = tx {
                let _ = tx.send(sent);
            }
            return;
        }
        let slot = self.sends.borrow_mut().remove(&id);
        if let Some(slot) = slot {
            let _ = slot.done.send(data);
        }
    }

    fn post(&self, id: u32, ms: f64) -> Result<(), JsValue> {
        let msg = js_sys::Array::of2(&JsValue::from(id), &JsValue::from(ms));
        self.worker.post_message(&msg)
    }
}
