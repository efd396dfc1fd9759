//! The tab's visibility and the Page Lifecycle's `freeze`/`resume`, as plain
//! events for the run to react to.

use std::cell::Cell;
use std::rc::Rc;
use std::time::Duration;

use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;

use super::timer::now_ms;

/// What happened to the tab.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Lifecycle {
    /// Another tab is in front, or the window is minimised.
    Hidden,
    /// The tab is shown again.
    Visible,
    /// The page is being left (reload, navigation, tab closed):
    /// `beforeunload` (the earliest word of it) or `pagehide`.
    Leaving,
    /// The page came back from the back/forward cache (`pageshow` with
    /// `persisted`): everything it had going when it was hidden was cut
    /// off then, and its timers may now run on as if nothing happened.
    Restored,
    /// The browser froze the tab (nothing ran) and has now let it go on.
    Resumed {
        /// How long nothing ran.
        frozen_for: Duration,
    },
}

/// Calls `on_event` for every change, for the page's life.
pub fn watch_lifecycle(on_event: impl Fn(Lifecycle) + 'static) {
    let Some(document) = web_sys::window().and_then(|w| w.document()) else {
        return;
    };
    let on_event = Rc::new(on_event);
    let frozen_at = Rc::new(Cell::new(None::<f64>));
    let listen = |name: &str, f: Box<dyn FnMut()>| {
        let closure = Closure::<dyn FnMut()>::new(f);
        let _ = document.add_event_listener_with_callback(name, closure.as_ref().unchecked_ref());
        // The listeners live as long as the page.
        closure.forget();
    };
    {
        let on_event = Rc::clone(&on_event);
        let document = document.clone();
        listen(
            "visibilitychange",
            Box::new(move || {
                on_event(if document.hidden() {
                    Lifecycle::Hidden
                } else {
                    Lifecycle::Visible
                })
            }),
        );
    }
    {
        let on_event = Rc::clone(&on_event);
        let again = Rc::clone(&on_event);
        listen("beforeunload", Box::new(move || again(Lifecycle::Leaving)));
        listen("pagehide", Box::new(move || on_event(Lifecycle::Leaving)));
    }
    if let Some(window) = web_sys::window() {
        let on_event = Rc::clone(&on_event);
        let closure = Closure::<dyn FnMut(web_sys::Event)>::new(move |e: web_sys::Event| {
            let persisted = js_sys::Reflect::get(&e, &"persisted".into())
                .ok()
                .and_then(|v| v.as_bool())
                == Some(true);
            if persisted {
                on_event(Lifecycle::Restored);
            }
        });
        let _ =
            window.add_event_listener_with_callback("pageshow", closure.as_ref().unchecked_ref());
        closure.forget();
    }
    {
        let frozen_at = Rc::clone(&frozen_at);
        listen("freeze", Box::new(move || frozen_at.set(Some(now_ms()))));
    }
    listen(
        "resume",
        Box::new(move || {
            let since = frozen_at.take().unwrap_or_else(now_ms);
            let ms = (now_ms() - since).max(0.0);
            on_event(Lifecycle::Resumed {
                frozen_for: Duration::from_secs_f64(ms / 1000.0),
            })
        }),
    );
}
