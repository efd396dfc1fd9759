//! The word between this origin's tabs about saved runs: a tab that
//! started, saved, finished or deleted a run posts its id on the
//! `pacer-runs` channel, and the others read their history again at once
//! instead of at their next look. Only the id travels (no key, no URL).

use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use web_sys::{BroadcastChannel, MessageEvent};

const NAME: &str = "pacer-runs";

/// Longest message read (an id is far shorter).
const MAX_LEN: usize = 256;

/// The channel, open for the page's life.
pub struct RunsChannel {
    channel: BroadcastChannel,
    _on_message: Closure<dyn FnMut(MessageEvent)>,
}

impl RunsChannel {
    /// Opens the channel; `on_run` gets the text of each run id another
    /// tab posts (checked by the caller).
    pub fn open(on_run: impl Fn(String) + 'static) -> Option<Self> {
        let channel = BroadcastChannel::new(NAME).ok()?;
        let on_message = Closure::<dyn FnMut(MessageEvent)>::new(move |e: MessageEvent| {
            if let Some(text) = e.data().as_string().filter(|t| t.len() <= MAX_LEN) {
                on_run(text);
            }
        });
        channel.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
        Some(Self {
            channel,
            _on_message: on_message,
        })
    }

    /// Tells the other tabs that run `id` changed.
    pub fn post(&self, id: &str) {
        let _ = self.channel.post_message(&JsValue::from_str(id));
    }
}
