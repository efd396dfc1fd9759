//! What the user sees if Pacer panics anyway: the release build aborts on a
//! panic (`panic = "abort"`), which leaves a page that no longer reacts.
//! The hook logs the panic with its stack to the console (for a bug
//! report) and puts a message on the page saying what happened, that the
//! run is saved, and to reload to resume it.
//!
//! Built with plain DOM calls, not Leptos: the reactive system may be the
//! thing that panicked (a `RefCell` already borrowed), and nothing of the
//! app may run after the hook.

use std::panic::PanicHookInfo;

use wasm_bindgen::JsCast;

/// The page's message for a panic, without the panic's details (those go
/// to the console): what happened, what is kept, what to do.
pub const PANIC_TEXT: &str = "Pacer stopped because of an internal error and no longer \
     reacts. The run so far is saved in this browser: reload the page to resume it (Resume \
     sends only what had not finished). The details are in the browser's console (F12), \
     for a bug report.";

/// Installs the hook: the console message with its stack, then the page's
/// message. Call once, first thing.
pub fn install_panic_hook() {
    std::panic::set_hook(Box::new(|info: &PanicHookInfo<'_>| {
        console_error_panic_hook::hook(info);
        show_panic(&first_line(&info.to_string()));
    }));
}

/// The panic message's first line, short: shown under [`PANIC_TEXT`].
fn first_line(message: &str) -> String {
    let line = message.lines().next().unwrap_or_default();
    line.chars().take(200).collect()
}

/// Puts the panic notice on the page (once: a second panic keeps the
/// first message). Does nothing where there is no document.
pub fn show_panic(detail: &str) {
    let Some(document) = web_sys::window().and_then(|w| w.document()) else {
        return;
    };
    if document.get_element_by_id("pacer-panic").is_some() {
        return;
    }
    let Some(body) = document.body() else {
        return;
    };
    let build = || -> Result<web_sys::Element, wasm_bindgen::JsValue> {
        let notice = document.create_element("div")?;
        notice.set_id("pacer-panic");
        notice.set_attribute("role", "alert")?;
        notice.set_attribute("data-testid", "panic-notice")?;
        notice.set_class_name("panic-notice");
        let text = document.create_element("p")?;
        text.set_text_content(Some(PANIC_TEXT));
        notice.append_child(&text)?;
        if !detail.is_empty() {
            let small = document.create_element("p")?;
            small.set_class_name("panic-detail");
            small.set_text_content(Some(detail));
            notice.append_child(&small)?;
        }
        let reload = document.create_element("a")?;
        reload.set_attribute("href", "")?;
        reload.set_class_name("btn btn-primary");
        reload.set_text_content(Some("Reload"));
        notice.append_child(&reload)?;
        Ok(notice)
    };
    if let Ok(notice) = build() {
        let _ = body.insert_before(&notice, body.first_child().as_ref());
        if let Some(el) = notice.dyn_ref::<web_sys::HtmlElement>() {
            let _ = el.focus();
        }
    }
}
