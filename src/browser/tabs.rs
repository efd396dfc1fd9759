//! What tabs sharing one rate budget need from the browser: a clock they
//! all share, a `BroadcastChannel` named from a hash of endpoint and key,
//! a Web Lock to elect the leader, and the page events on which a leader
//! must let go (`pagehide`, `freeze`).
//!
//! web-sys's `LockManager` is behind `web_sys_unstable_apis`, so the lock is
//! requested through `js_sys::Reflect`. The key never leaves this module in
//! clear: only a SHA-256 of it (with the endpoint) names the channel and the
//! lock, and it is neither stored nor logged.

use std::cell::RefCell;
use std::rc::Rc;
use std::time::Duration;

use pacer_core::shared::{Bus, Msg};
use pacer_core::Clock;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;
use web_sys::{BroadcastChannel, MessageEvent};

use super::clock::unix_now;
use super::local::storage;

/// `performance.timeOrigin + performance.now()`: the same instant in every
/// tab of the machine, with sub-millisecond precision.
#[derive(Clone, Copy, Debug, Default)]
pub struct SharedClock;

impl Clock for SharedClock {
    fn now(&self) -> Duration {
        unix_now()
    }
}

/// The name of the budget of `scope` (see `pacer_core::input::budget_scope`)
/// with `key`: `pacer-budget-` and the first 128 bits of SHA-256(scope, NUL,
/// key) in hex. `None` where `crypto.subtle` is missing (not a secure
/// context): then nothing is shared.
pub async fn budget_name(scope: &str, key: &str) -> Option<String> {
    let subtle = web_sys::window()?.crypto().ok()?.subtle();
    let mut text = format!("{scope}\u{0}{key}").into_bytes();
    let promise = subtle.digest_with_str_and_u8_array("SHA-256", &text).ok()?;
    text.fill(0);
    let digest = JsFuture::from(promise).await.ok()?;
    let bytes = js_sys::Uint8Array::new(&digest).to_vec();
    let hex: String = bytes[..16].iter().map(|b| format!("{b:02x}")).collect();
    Some(format!("pacer-budget-{hex}"))
}

/// A `BroadcastChannel` carrying [`Msg`]s as JSON text.
pub struct BudgetChannel {
    channel: BroadcastChannel,
    _on_message: Closure<dyn FnMut(MessageEvent)>,
}

impl BudgetChannel {
    /// Opens channel `name`; `on_message` gets every message of the other tabs.
    pub fn open(name: &str, on_message: impl Fn(Msg) + 'static) -> Option<Rc<Self>> {
        let channel = BroadcastChannel::new(name).ok()?;
        let on_message = Closure::<dyn FnMut(MessageEvent)>::new(move |e: MessageEvent| {
            if let Some(msg) = e
                .data()
                .as_string()
                .and_then(|text| serde_json::from_str::<Msg>(&text).ok())
            {
                on_message(msg);
            }
        });
        channel.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
        Some(Rc::new(Self {
            channel,
            _on_message: on_message,
        }))
    }

    /// Sends `msg` to every other tab on the channel.
    pub fn post(&self, msg: &Msg) {
        if let Ok(text) = serde_json::to_string(msg) {
            let _ = self.channel.post_message(&JsValue::from_str(&text));
        }
    }

    /// Closes the channel.
    pub fn close(&self) {
        self.channel.set_onmessage(None);
        self.channel.close();
    }
}

/// A [`Bus`] whose channel opens later (the name is hashed asynchronously);
/// messages before that go nowhere.
#[derive(Clone, Default)]
pub struct LateBus(pub Rc<RefCell<Option<Rc<BudgetChannel>>>>);

impl Bus for LateBus {
    fn post(&self, msg: &Msg) {
        if let Some(channel) = &*self.0.borrow() {
            channel.post(msg);
        }
    }
}

/// A Web Lock held until [`HeldLock::release`] (or the page goes).
pub struct HeldLock {
    resolve: js_sys::Function,
}

impl HeldLock {
    /// Lets the lock go: the next tab waiting for it gets it.
    pub fn release(&self) {
        let _ = self.resolve.call0(&JsValue::UNDEFINED);
    }
}

/// True when the browser has Web Locks (`navigator.locks`).
pub fn locks_available() -> bool {
    lock_manager().is_some()
}

fn lock_manager() -> Option<JsValue> {
    let window: JsValue = web_sys::window()?.into();
    let navigator = js_sys::Reflect::get(&window, &"navigator".into()).ok()?;
    let locks = js_sys::Reflect::get(&navigator, &"locks".into()).ok()?;
    (!locks.is_undefined() && !locks.is_null()).then_some(locks)
}

/// Requests the Web Lock `name`. With `if_available`, `on_result` gets
/// `None` at once when another tab holds it; otherwise the request waits
/// its turn and `on_result` gets the lock when it comes. `on_result`
/// returns whether to keep it (`false` lets it go at once).
pub fn request_lock(
    name: &str,
    if_available: bool,
    on_result: impl FnOnce(Option<HeldLock>) -> bool + 'static,
) -> bool {
    let Some(locks) = lock_manager() else {
        return false;
    };
    let Ok(request) = js_sys::Reflect::get(&locks, &"request".into()) else {
        return false;
    };
    let Ok(request) = request.dyn_into::<js_sys::Function>() else {
        return false;
    };
    let options = js_sys::Object::new();
    let _ = js_sys::Reflect::set(&options, &"ifAvailable".into(), &if_available.into());
    let callback = Closure::once_into_js(move |lock: JsValue| -> JsValue {
        if lock.is_null() || lock.is_undefined() {
            on_result(None);
            return JsValue::UNDEFINED;
        }
        let mut resolve = None;
        let promise = js_sys::Promise::new(&mut |ok, _| resolve = Some(ok));
        let Some(resolve) = resolve else {
            return JsValue::UNDEFINED;
        };
        if on_result(Some(HeldLock {
            resolve: resolve.clone(),
        })) {
            promise.into()
        } else {
            JsValue::UNDEFINED
        }
    });
    let result = request.call3(&locks, &JsValue::from_str(name), &options, &callback);
    if let Ok(p) = result.and_then(|p| p.dyn_into::<js_sys::Promise>()) {
        // A refused request rejects; nothing to do about it but not to
        // leave it unhandled.
        let ignore = Closure::<dyn FnMut(JsValue)>::new(|_| {});
        let _ = p.catch(&ignore);
        ignore.forget();
    }
    true
}

/// The names of the Web Locks held now by any tab of this origin
/// (`navigator.locks.query()`), this one included; empty without Web Locks.
pub async fn held_locks() -> Vec<String> {
    let Some(locks) = lock_manager() else {
        return Vec::new();
    };
    let query = js_sys::Reflect::get(&locks, &"query".into())
        .ok()
        .and_then(|f| f.dyn_into::<js_sys::Function>().ok());
    let Some(promise) = query
        .and_then(|f| f.call0(&locks).ok())
        .and_then(|p| p.dyn_into::<js_sys::Promise>().ok())
    else {
        return Vec::new();
    };
    let Ok(snapshot) = JsFuture::from(promise).await else {
        return Vec::new();
    };
    let Ok(held) = js_sys::Reflect::get(&snapshot, &"held".into()) else {
        return Vec::new();
    };
    js_sys::Array::from(&held)
        .iter()
        .filter_map(|lock| {
            js_sys::Reflect::get(&lock, &"name".into())
                .ok()?
                .as_string()
        })
        .collect()
}

/// What a tab sharing a budget must react to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PageEvent {
    /// `pagehide`: the page is going (closed, reloaded, navigated away).
    Hide,
    /// `freeze`: the browser is about to freeze the page.
    Freeze,
    /// `resume`: it runs again after a freeze.
    Resume,
}

type Listeners = Rc<RefCell<Vec<Box<dyn Fn(PageEvent)>>>>;

thread_local! {
    static PAGE_LISTENERS: RefCell<Option<Listeners>> = const { RefCell::new(None) };
}

/// Calls `f` on every [`PageEvent`] for the page's life (listeners are
/// installed once and shared).
pub fn on_page_event(f: impl Fn(PageEvent) + 'static) {
    let list = PAGE_LISTENERS.with(|cell| {
        cell.borrow_mut()
            .get_or_insert_with(|| {
                let list: Listeners = Rc::default();
                install(&list);
                list
            })
            .clone()
    });
    list.borrow_mut().push(Box::new(f));
}

fn install(list: &Listeners) {
    let Some(window) = web_sys::window() else {
        return;
    };
    let Some(document) = window.document() else {
        return;
    };
    let add = |target: &web_sys::EventTarget, name: &str, event: PageEvent| {
        let list = Rc::clone(list);
        let closure = Closure::<dyn FnMut()>::new(move || {
            for f in list.borrow().iter() {
                f(event);
            }
        });
        let _ = target.add_event_listener_with_callback(name, closure.as_ref().unchecked_ref());
        closure.forget();
    };
    add(&window, "pagehide", PageEvent::Hide);
    add(&document, "freeze", PageEvent::Freeze);
    add(&document, "resume", PageEvent::Resume);
}

/// The `localStorage` item in which a tab leading a shared budget says so
/// (the unix ms it took the lead): no key, no endpoint, only that some
/// budget of this origin is paced by a tab.
const LEADING_ITEM: &str = "pacer.tabs.leading";
/// A mark older than this is a leftover (a tab that crashed while leading).
const LEADING_STALE_MS: f64 = 3_600_000.0;

/// Marks this tab as leading a shared budget; returns the mark, to
/// [`clear_leading`] it (only if still ours) when it stops.
pub fn mark_leading() -> Option<String> {
    let mark = format!("{}", unix_now().as_millis());
    storage()?.set_item(LEADING_ITEM, &mark).ok()?;
    Some(mark)
}

/// Takes this tab's mark away, unless another tab has put its own since.
pub fn clear_leading(mark: &str) {
    let Some(storage) = storage() else { return };
    if storage.get_item(LEADING_ITEM).ok().flatten().as_deref() == Some(mark) {
        let _ = storage.remove_item(LEADING_ITEM);
    }
}

/// True when a tab of this origin leads a shared budget (as far as the
/// marks say): read synchronously, before a run's first send, which then
/// waits for the election (its budget may be that one).
pub fn leading_lately() -> bool {
    let Some(mark) = storage().and_then(|s| s.get_item(LEADING_ITEM).ok().flatten()) else {
        return false;
    };
    let Ok(at) = mark.parse::<f64>() else {
        return false;
    };
    let now = unix_now().as_secs_f64() * 1000.0;
    now - at < LEADING_STALE_MS
}

/// A random tab id.
pub fn random_tab_id() -> u64 {
    let hi = (js_sys::Math::random() * f64::from(u32::MAX)) as u64;
    let lo = (js_sys::Math::random() * f64::from(u32::MAX)) as u64;
    (hi << 32) | lo
}

/// Appends `{kind, …fields}` to `globalThis.__pacerTabTrace` when a test
/// (or a developer, from the console) made it an array: the shared
/// budget's diagnostics. Nothing is kept otherwise.
pub fn trace_to_page(kind: &str, fields: &[(&str, f64)]) {
    let global = js_sys::global();
    let Ok(list) = js_sys::Reflect::get(&global, &"__pacerTabTrace".into()) else {
        return;
    };
    let Ok(list) = list.dyn_into::<js_sys::Array>() else {
        return;
    };
    let entry = js_sys::Object::new();
    let _ = js_sys::Reflect::set(&entry, &"kind".into(), &kind.into());
    for &(name, value) in fields {
        let _ = js_sys::Reflect::set(&entry, &name.into(), &value.into());
    }
    list.push(&entry);
}
