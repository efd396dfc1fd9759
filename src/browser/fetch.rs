//! `fetch` with an `AbortController`: started synchronously (the send instant
//! is the call) or handed to the timer worker to go at a given instant,
//! finished asynchronously, aborted on timeout, on request, or when dropped
//! unfinished.

use std::time::Duration;

use futures::future::{select, Either};
use js_sys::{Promise, Reflect, Uint8Array};
use pacer_core::api::{scrub_secrets, RateHeaders, TeamBudget};
use pacer_core::Sleep;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::{
    AbortController, Headers, ReadableStreamDefaultReader, RequestInit, RequestMode, Response,
};

use super::timer::{send_at, SendCanceller, SendTime, TimedSend, ABORTED};
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
    /// What a team-budget proxy said of its budget, when the answer came
    /// through one.
    pub team: Option<TeamBudget>,
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
    /// The answer's body was larger than [`MAX_BODY_BYTES`]: not read.
    TooLarge,
}

/// The largest answer body Pacer reads (an answer is a few KB; a huge one
/// from a misbehaving server or proxy must not exhaust the tab's memory).
pub const MAX_BODY_BYTES: usize = 10 * 1024 * 1024;

/// A request on the wire, or handed to the timer worker to go at an instant.
pub struct PendingFetch {
    kind: Kind,
    timeout: Duration,
    finished: bool,
}

enum Kind {
    /// Sent by the page itself.
    Page {
        controller: AbortController,
        promise: Promise,
    },
    /// Sent by the worker ([`PendingFetch::start_at`]).
    Worker(TimedSend),
}

/// Cancels a [`PendingFetch`] from elsewhere.
#[derive(Clone)]
pub struct AbortHandle(Abort);

#[derive(Clone)]
enum Abort {
    /// A fetch of the page.
    Page(AbortController),
    /// A request of the worker.
    Worker(SendCanceller),
}

impl AbortHandle {
    /// Aborts the request (sent or still waiting for its instant).
    pub fn abort(&self) {
        match &self.0 {
            Abort::Page(c) => c.abort(),
            Abort::Worker(c) => c.abort(),
        }
    }
}

/// A form body's content type.
const FORM: &str = "application/x-www-form-urlencoded";

impl PendingFetch {
    /// Starts a `GET` of `url` now.
    pub fn get(url: &str, timeout: Duration) -> Result<Self, FetchError> {
        Self::start(url, None, timeout)
    }

    /// Starts a form `POST` of `body` to `url` now.
    pub fn post_form(url: &str, body: &str, timeout: Duration) -> Result<Self, FetchError> {
        Self::start(url, Some(body), timeout)
    }

    /// Starts a `GET` of `url` (`form` `None`) or a form `POST` of `form`
    /// to `url`, now.
    pub fn send(url: &str, form: Option<&str>, timeout: Duration) -> Result<Self, FetchError> {
        Self::start(url, form, timeout)
    }

    /// Hands a `GET` of `url` (or a form `POST` of `form`) to the timer
    /// worker, to go at `at` (time since the Unix epoch, as
    /// [`super::unix_now`]) however busy the page is then, and at least
    /// `min_gap` after the last request the worker made. `None` when
    /// there is no worker: the caller sends it itself.
    pub fn start_at(
        url: &str,
        form: Option<&str>,
        timeout: Duration,
        at: Duration,
        min_gap: Duration,
    ) -> Option<Self> {
        let body = form.map(|body| (FORM, body));
        let when = SendTime {
            at_unix_ms: at.as_secs_f64() * 1000.0,
            min_gap_ms: min_gap.as_secs_f64() * 1000.0,
        };
        let send = send_at(url, body, when)?;
        Some(Self {
            kind: Kind::Worker(send),
            timeout,
            finished: false,
        })
    }

    fn start(url: &str, form: Option<&str>, timeout: Duration) -> Result<Self, FetchError> {
        let window = web_sys::window().ok_or_else(|| FetchError::Network("no window".into()))?;
        let controller = AbortController::new().map_err(js_error)?;
        let init = RequestInit::new();
        init.set_signal(Some(&controller.signal()));
        if let Some(body) = form {
            init.set_method("POST");
            let headers = Headers::new().map_err(js_error)?;
            headers.set("Content-Type", FORM).map_err(js_error)?;
            init.set_headers(&headers);
            init.set_body(&JsValue::from_str(body));
        }
        let promise = window.fetch_with_str_and_init(url, &init);
        Ok(Self {
            kind: Kind::Page {
                controller,
                promise,
            },
            timeout,
            finished: false,
        })
    }

    /// A handle that aborts this request.
    pub fn abort_handle(&self) -> AbortHandle {
        match &self.kind {
            Kind::Page { controller, .. } => AbortHandle(Abort::Page(controller.clone())),
            Kind::Worker(send) => AbortHandle(Abort::Worker(send.canceller())),
        }
    }

    /// When a request handed to the worker went (time since the Unix
    /// epoch); `None` if it never did (aborted first, or the worker
    /// stopped). A page's own fetch went when it was made: `None`.
    pub async fn sent(&mut self) -> Option<Duration> {
        match &mut self.kind {
            Kind::Page { .. } => None,
            Kind::Worker(send) => {
                let ms = (&mut send.sent).await.ok()?;
                Some(pacer_core::bounds::duration_from_ms(ms))
            }
        }
    }

    /// Waits for the whole answer (status, headers and body) or the timeout
    /// (from now: for a request handed to the worker, wait for
    /// [`PendingFetch::sent`] first).
    pub async fn finish(mut self) -> Result<HttpAnswer, FetchError> {
        // On the worker's timers, so a hidden tab's timeouts are on time too.
        let deadline = TimerSleep.sleep(self.timeout);
        let out = match &mut self.kind {
            Kind::Page {
                controller,
                promise,
            } => {
                let read = Box::pin(read_answer(promise.clone()));
                let out = match select(read, deadline).await {
                    Either::Left((answer, _)) => answer,
                    Either::Right(((), _)) => {
                        controller.abort();
                        Err(FetchError::Timeout)
                    }
                };
                match out {
                    Err(FetchError::Network(_)) if controller.signal().aborted() => {
                        Err(FetchError::Aborted)
                    }
                    other => other,
                }
            }
            Kind::Worker(send) => match select(&mut send.done, deadline).await {
                Either::Left((Ok(answer), _)) => worker_answer(&answer),
                Either::Left((Err(_), _)) => Err(FetchError::Network(
                    "the request was dropped before it was answered (the timer worker stopped)"
                        .into(),
                )),
                Either::Right(((), _)) => {
                    send.canceller().abort();
                    Err(FetchError::Timeout)
                }
            },
        };
        self.finished = true;
        out
    }
}

/// The worker's `{status, headers, body}` or `{error}`, or [`ABORTED`].
fn worker_answer(answer: &JsValue) -> Result<HttpAnswer, FetchError> {
    if answer.as_string().as_deref() == Some(ABORTED) {
        return Err(FetchError::Aborted);
    }
    let get = |k: &str| js_sys::Reflect::get(answer, &k.into()).unwrap_or(JsValue::UNDEFINED);
    if let Some(error) = get("error").as_string() {
        return Err(FetchError::Network(scrub_secrets(&error, "")));
    }
    if get("tooLarge").is_truthy() {
        return Err(FetchError::TooLarge);
    }
    let headers = get("headers");
    // The worker's names are lower-case (as `Headers` iterates them).
    let lookup = |name: &str| {
        js_sys::Reflect::get(&headers, &name.to_ascii_lowercase().into())
            .ok()
            .and_then(|v| v.as_string())
    };
    Ok(HttpAnswer {
        status: get("status").as_f64().unwrap_or(0.0) as u16,
        body: get("body").as_string().unwrap_or_default(),
        headers: RateHeaders::from_lookup(lookup),
        team: TeamBudget::from_lookup(lookup),
    })
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
            self.abort_handle().abort();
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
    let lookup = |name: &str| headers.get(name).ok().flatten();
    let rate = RateHeaders::from_lookup(lookup);
    let team = TeamBudget::from_lookup(lookup);
    let declared = headers
        .get("content-length")
        .ok()
        .flatten()
        .and_then(|v| v.trim().parse::<u64>().ok());
    if declared.is_some_and(|n| n > MAX_BODY_BYTES as u64) {
        if let Some(body) = response.body() {
            let _ = body.cancel();
        }
        return Err(FetchError::TooLarge);
    }
    Ok(HttpAnswer {
        status: response.status(),
        body: read_capped(&response).await?,
        headers: rate,
        team,
    })
}

/// The body as text, read chunk by chunk and given up (the stream
/// cancelled) past [`MAX_BODY_BYTES`], whatever the headers said.
async fn read_capped(response: &Response) -> Result<String, FetchError> {
    let Some(stream) = response.body() else {
        return Ok(String::new());
    };
    let reader: ReadableStreamDefaultReader = stream.get_reader().unchecked_into();
    let mut bytes: Vec<u8> = Vec::new();
    loop {
        let chunk = JsFuture::from(reader.read()).await.map_err(network_error)?;
        let done = Reflect::get(&chunk, &"done".into())
            .ok()
            .and_then(|v| v.as_bool())
            .unwrap_or(true);
        if done {
            break;
        }
        let value: Uint8Array = Reflect::get(&chunk, &"value".into())
            .map_err(js_error)?
            .unchecked_into();
        let start = bytes.len();
        let len = value.length() as usize;
        if start + len > MAX_BODY_BYTES {
            let _ = reader.cancel();
            return Err(FetchError::TooLarge);
        }
        bytes.resize(start + len, 0);
        value.copy_to(&mut bytes[start..]);
    }
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}

fn network_error(e: JsValue) -> FetchError {
    FetchError::Network(describe(&e))
}

fn js_error(e: JsValue) -> FetchError {
    FetchError::Network(describe(&e))
}

/// The browser's words for a failed fetch, without secrets: a message
/// may quote the request's URL (a URL the parser refuses, one with
/// credentials), and with a GET that URL carries the key.
fn describe(e: &JsValue) -> String {
    let text = match e.dyn_ref::<js_sys::Error>() {
        Some(err) => String::from(err.message()),
        None => e.as_string().unwrap_or_else(|| "network error".into()),
    };
    scrub_secrets(&text, "")
}
