//! `fetch` with an `AbortController`: started synchronously (the send instant
//! is the call), finished asynchronously, aborted on timeout, on request, or
//! when dropped unfinished.

use std::time::Duration;

use futures::future::{select, Either};
use js_sys::Promise;
use pacer_core::api::RateHeaders;
use pacer_core::Sleep;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::{AbortController, Headers, RequestInit, RequestMode, Response};

use super::TimerSleep;

/// An HTTP answer, whatever its status.
#[derive(Clone, Debug, PartialEq)]
pub struct HttpAnswer {
    /// HTTP status.
    pub status: u16,
    /// The body as text.
    pub body: String,
    /// The rate-limit headers the page may read (CORS-exposed ones only).
    pub headers: RateHeaders,
}

/// Why no [`HttpAnswer`] came.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FetchError {
    /// Refused, dropped, or blocked by CORS: the browser does not say which.
    Network(String),
    /// No complete answer within the timeout; the request was aborted.
    Timeout,
    /// Aborted by [`PendingFetch::abort`] (the run was cancelled).
    Aborted,
}

/// A request on the wire.
pub struct PendingFetch {
    controller: AbortController,
    promise: Promise,
    timeout: Duration,
    finished: bool,
}

impl PendingFetch {
    /// Starts a `GET` of `url` now.
    pub fn get(url: &str, timeout: Duration) -> Result<Self, FetchError> {
        Self::start(url, None, timeout)
    }

    /// Starts a form `POST` of `body` to `url` now.
    pub fn post_form(url: &str, body: &str, timeout: Duration) -> Result<Self, FetchError> {
        Self::start(url, Some(body), timeout)
    }

    fn start(url: &str, form: Option<&str>, timeout: Duration) -> Result<Self, FetchError> {
        let window = web_sys::window().ok_or_else(|| FetchError::Network("no window".into()))?;
        let controller = AbortController::new().map_err(js_error)?;
        let init = RequestInit::new();
        init.set_signal(Some(&controller.signal()));
        if let Some(body) = form {
            init.set_method("POST");
            let headers = Headers::new().map_err(js_error)?;
            headers
                .set("Content-Type", "application/x-www-form-urlencoded")
                .map_err(js_error)?;
            init.set_headers(&headers);
            init.set_body(&JsValue::from_str(body));
        }
        let promise = window.fetch_with_str_and_init(url, &init);
        Ok(Self {
            controller,
            promise,
            timeout,
            finished: false,
        })
    }

    /// A handle that aborts this request.
    pub fn abort_handle(&self) -> AbortController {
        self.controller.clone()
    }

    /// Waits for the whole answer (status, headers and body) or the timeout.
    pub async fn finish(mut self) -> Result<HttpAnswer, FetchError> {
        // On the worker's timers, so a hidden tab's timeouts are on time too.
        let deadline = TimerSleep.sleep(self.timeout);
        let read = Box::pin(read_answer(self.promise.clone()));
        let out = match select(read, deadline).await {
            Either::Left((answer, _)) => answer,
            Either::Right(((), _)) => {
                self.controller.abort();
                Err(FetchError::Timeout)
            }
        };
        self.finished = true;
        match out {
            Err(FetchError::Network(_)) if self.controller.signal().aborted() => {
                Err(FetchError::Aborted)
            }
            other => other,
        }
    }
}

/// Whether anything answers at `url`, CORS aside: a `no-cors` fetch
/// resolves (with an opaque answer the page cannot read) whenever the server
/// answers at all, and fails only when nothing answers within `timeout`.
/// Tells a CORS refusal from an unreachable server after a network error.
pub async fn answers_at_all(url: &str, timeout: Duration) -> bool {
    let Some(window) = web_sys::window() else {
        return false;
    };
    let Ok(controller) = AbortController::new() else {
        return false;
    };
    let init = RequestInit::new();
    init.set_mode(RequestMode::NoCors);
    init.set_signal(Some(&controller.signal()));
    let answer = JsFuture::from(window.fetch_with_str_and_init(url, &init));
    match select(Box::pin(answer), TimerSleep.sleep(timeout)).await {
        Either::Left((answer, _)) => answer.is_ok(),
        Either::Right(_) => {
            controller.abort();
            false
        }
    }
}

impl Drop for PendingFetch {
    fn drop(&mut self) {
        if !self.finished {
            self.controller.abort();
        }
    }
}

async fn read_answer(promise: Promise) -> Result<HttpAnswer, FetchError> {
    let response: Response = JsFuture::from(promise)
        .await
        .map_err(network_error)?
        .dyn_into()
        .map_err(js_error)?;
    let headers = response.headers();
    let rate = RateHeaders::from_lookup(|name| headers.get(name).ok().flatten());
    let text = response.text().map_err(js_error)?;
    let body = JsFuture::from(text).await.map_err(network_error)?;
    Ok(HttpAnswer {
        status: response.status(),
        body: body.as_string().unwrap_or_default(),
        headers: rate,
    })
}

fn network_error(e: JsValue) -> FetchError {
    FetchError::Network(describe(&e))
}

fn js_error(e: JsValue) -> FetchError {
    FetchError::Network(describe(&e))
}

fn describe(e: &JsValue) -> String {
    if let Some(err) = e.dyn_ref::<js_sys::Error>() {
        return String::from(err.message());
    }
    e.as_string().unwrap_or_else(|| "network error".into())
}
