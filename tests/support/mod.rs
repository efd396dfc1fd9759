//! What the component tests share: mounting one part of the page into a
//! fresh element (removed again when the test ends), the contexts the parts
//! read, finding elements inside that part only, and driving it as a user
//! would (bubbling DOM events, so that Leptos' delegated handlers see them).
//!
//! Each test file uses a different subset of these helpers.
#![allow(dead_code)]

use std::any::Any;

use leptos::prelude::*;
use pacer::run::RunHandle;
use pacer::ui::FormState;
use wasm_bindgen::{JsCast, JsValue};

/// One part of the page, drawn into its own element of the document.
pub struct Mounted {
    host: web_sys::HtmlElement,
    handle: Option<Box<dyn Any>>,
}

impl Drop for Mounted {
    /// Unmounts the part (its reactive owner and nodes), then removes the
    /// element, so that the next test starts from an empty body.
    fn drop(&mut self) {
        self.handle.take();
        self.host.remove();
    }
}

/// The form as a fresh page has it (defaults, or this test page's query
/// and remembered settings), then every field set to something Start
/// accepts: the parts read it from context.
pub fn valid_form() -> FormState {
    let form = FormState::from_page();
    form.endpoint.set("http://127.0.0.1:9".into());
    form.key.set("k".into());
    form.models.set("re_roomtype_global_v2".into());
    form.rate.set("4".into());
    form.concurrency.set("6".into());
    form.timeout.set("30".into());
    form.attempts.set("5".into());
    form.urls.set("http://127.0.0.1:9/a.jpg".into());
    form
}

/// Mounts `part` into a fresh `<div>` of the body, with `run` and `form`
/// provided as the page's root provides them.
pub fn mount<N>(run: RunHandle, form: FormState, part: impl FnOnce() -> N + 'static) -> Mounted
where
    N: IntoView + 'static,
{
    let host: web_sys::HtmlElement = document().create_element("div").unwrap().unchecked_into();
    document().body().unwrap().append_child(&host).unwrap();
    let handle = leptos::mount::mount_to(host.clone(), move || {
        provide_context(run);
        provide_context(form);
        part()
    });
    Mounted {
        host,
        handle: Some(Box::new(handle)),
    }
}

impl Mounted {
    /// The first element inside the part matching `selector`.
    pub fn find(&self, selector: &str) -> Option<web_sys::Element> {
        self.host.query_selector(selector).unwrap()
    }

    /// The first element inside the part matching `selector`; fails the
    /// test when there is none.
    pub fn get(&self, selector: &str) -> web_sys::Element {
        self.find(selector)
            .unwrap_or_else(|| panic!("nothing matches {selector}"))
    }

    /// Every element inside the part matching `selector`, in document order.
    pub fn all(&self, selector: &str) -> Vec<web_sys::Element> {
        // Called through JavaScript: the `NodeList` binding is not among
        // the web-sys features the page builds with.
        let query: js_sys::Function = js_sys::Reflect::get(&self.host, &"querySelectorAll".into())
            .unwrap()
            .unchecked_into();
        let list = query.call1(&self.host, &selector.into()).unwrap();
        js_sys::Array::from(&list)
            .iter()
            .map(JsCast::unchecked_into)
            .collect()
    }

    /// The element with `data-testid="{id}"`.
    pub fn testid(&self, id: &str) -> web_sys::Element {
        self.get(&format!("[data-testid=\"{id}\"]"))
    }

    /// Whether an element with `data-testid="{id}"` is drawn.
    pub fn has_testid(&self, id: &str) -> bool {
        self.find(&format!("[data-testid=\"{id}\"]")).is_some()
    }

    /// The text of the element with `data-testid="{id}"`.
    pub fn text(&self, id: &str) -> String {
        self.testid(id).text_content().unwrap_or_default()
    }

    /// Whether the button with `data-testid="{id}"` is disabled.
    pub fn disabled(&self, id: &str) -> bool {
        self.testid(id)
            .unchecked_into::<web_sys::HtmlButtonElement>()
            .disabled()
    }
}

/// Lets Leptos run what a change scheduled (effects and redraws run on
/// microtasks; a zero timeout comes after them).
pub async fn tick() {
    gloo_timers::future::TimeoutFuture::new(0).await;
}

/// Fires a bubbling event of `kind` at `target`, as the browser does for
/// a user's input.
pub fn fire(target: &web_sys::Element, kind: &str) {
    let init = js_sys::Object::new();
    js_sys::Reflect::set(&init, &"bubbles".into(), &JsValue::TRUE).unwrap();
    let ctor: js_sys::Function = js_sys::Reflect::get(&window(), &"Event".into())
        .unwrap()
        .unchecked_into();
    let args = js_sys::Array::of2(&kind.into(), &init);
    let event: web_sys::Event = js_sys::Reflect::construct(&ctor, &args)
        .unwrap()
        .unchecked_into();
    target.dispatch_event(&event).unwrap();
}

/// Types `text` into an `<input>` or `<textarea>` (replacing what it held)
/// and fires its `input` event.
pub fn type_into(target: &web_sys::Element, text: &str) {
    js_sys::Reflect::set(target, &"value".into(), &text.into()).unwrap();
    fire(target, "input");
}

/// Picks `value` in a `<select>` and fires its `change` event.
pub fn choose(select: &web_sys::Element, value: &str) {
    select
        .unchecked_ref::<web_sys::HtmlSelectElement>()
        .set_value(value);
    fire(select, "change");
}

/// Clicks `target` (a bubbling click, as a user's).
pub fn click(target: &web_sys::Element) {
    target.unchecked_ref::<web_sys::HtmlElement>().click();
}
