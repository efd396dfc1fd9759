//! Reading the layout a virtualised list needs: where its scroll box is
//! scrolled to, how tall it is, and how tall its rows are drawn (CSS owns
//! the row height, which changes with the page's width).

use wasm_bindgen::JsCast;

/// A scroll box's position and size, and its rows' height, in CSS px.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ScrollBox {
    /// `scrollTop`.
    pub top: f64,
    /// `clientHeight`.
    pub height: f64,
    /// Height of the first element matching the row selector, if one is drawn.
    pub row: Option<f64>,
}

/// Measures `scroller` and the first of its rows matching `row_selector`.
pub fn measure(scroller: &web_sys::HtmlElement, row_selector: &str) -> ScrollBox {
    let row = scroller
        .query_selector(row_selector)
        .ok()
        .flatten()
        .and_then(|e| e.dyn_into::<web_sys::HtmlElement>().ok())
        .map(|e| f64::from(e.offset_height()))
        .filter(|h| *h > 0.0);
    ScrollBox {
        top: f64::from(scroller.scroll_top()),
        height: f64::from(scroller.client_height()),
        row,
    }
}

/// Where `scroller` is scrolled to and how tall it is (no row lookup: cheap
/// enough for every frame of a scroll).
pub fn scroll_state(scroller: &web_sys::HtmlElement) -> (f64, f64) {
    (
        f64::from(scroller.scroll_top()),
        f64::from(scroller.client_height()),
    )
}

/// Scrolls `scroller` so that its content at `top` px is at the top.
pub fn scroll_to(scroller: &web_sys::HtmlElement, top: f64) {
    scroller.set_scroll_top(top.max(0.0) as i32);
}

/// The natural width ÷ height of the image an event (its `load`) came
/// from, once it has one.
pub fn image_aspect(ev: &web_sys::Event) -> Option<f64> {
    use wasm_bindgen::JsCast;
    let img: web_sys::HtmlImageElement = ev.target()?.dyn_into().ok()?;
    let (w, h) = (img.natural_width(), img.natural_height());
    (w > 0 && h > 0).then(|| f64::from(w) / f64::from(h))
}
