//! Forwarding one request: the path checked, the team budget's slot
//! waited for (when there is a budget), the page's request passed on with
//! the allowed headers (the body streamed as it arrives, or read first
//! when the budget needs the key from a form body), and the API's answer
//! passed back as it comes (status, headers less the filtered ones, the
//! budget's own added, body streamed); one access-log line per request.

use crate::announce::{announce, refusal};
use crate::body::SyncBody;
use crate::budget::{Budget, Decision, Mode};
use crate::error::error;
use crate::headers::{request_headers, response_headers};
use crate::log::{since_epoch, AccessLog, Entry};
use crate::path;
use crate::upstream::Upstream;
use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, Method, StatusCode};
use axum::response::Response;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Largest form body read to find the key (a base64 image).
const MAX_FORM_BODY: usize = 32 * 1024 * 1024;
/// How many times a request woken late takes a new slot before it goes
/// anyway (a machine always that late would otherwise hold it for ever).
const MAX_RETAKES: u32 = 2;

/// A running proxy: the API, the access log, and the team budget if any.
pub struct Proxy {
    pub(crate) upstream: Upstream,
    pub(crate) log: Option<AccessLog>,
    pub(crate) budget: Option<Arc<Budget>>,
}

impl Proxy {
    /// A proxy to `upstream`, logging to `log`.
    pub fn new(upstream: Upstream, log: Option<AccessLog>) -> Proxy {
        Proxy {
            upstream,
            log,
            budget: None,
        }
    }

    /// The same, holding every request to `budget`.
    pub fn with_budget(mut self, budget: Arc<Budget>) -> Proxy {
        self.budget = Some(budget);
        self
    }

    /// The team budget, if any.
    pub fn budget(&self) -> Option<&Arc<Budget>> {
        self.budget.as_ref()
    }

    /// The API's base URL.
    pub fn base(&self) -> &str {
        self.upstream.base()
    }
}

/// The handler of every `/vision/...` request.
pub async fn forward(State(proxy): State<Arc<Proxy>>, req: Request) -> Response {
    let arrival = since_epoch();
    let (parts, body) = req.into_parts();
    let query = parts.uri.query();
    let mut logged = Logged {
        log: proxy.log.as_ref(),
        method: parts.method.clone(),
        image: query_param(query, "image_url"),
        models: query_param(query, "model_id"),
        arrival,
        hold: None,
        mode: None,
        done: false,
    };
    let refused = |why: path::Refused| {
        let message = format!("Pacer's proxy refused the path: {why}");
        error(StatusCode::BAD_REQUEST, "proxy_path_refused", &message)
    };
    if let Err(why) = path::check(parts.uri.path()) {
        return logged.finish(refused(why), Some("path"));
    }
    let path_and_query = parts.uri.path_and_query().map_or("/", |p| p.as_str());
    let url = match proxy.upstream.url(path_and_query) {
        Ok(url) => url,
        Err(why) => return logged.finish(refused(why), Some("path")),
    };

    let upstream = &proxy.upstream;
    let has_body = parts.headers.contains_key(header::CONTENT_LENGTH)
        || parts.headers.contains_key(header::TRANSFER_ENCODING);
    let mut body = if has_body {
        Some(Outgoing::Streamed(body))
    } else {
        None
    };

    let mut held = None;
    if let Some(budget) = &proxy.budget {
        let mut key = query_param(query, "client_key");
        // The key of a POST is in its form body: read it (bounded) first.
        if let Some(Outgoing::Streamed(streamed)) = body.take_if(|_| is_form(&parts.headers)) {
            let bytes = match axum::body::to_bytes(streamed, MAX_FORM_BODY).await {
                Ok(bytes) => bytes,
                Err(_) => {
                    let message = "Pacer's proxy could not read the request body (at most 32 MB)";
                    let res = error(StatusCode::PAYLOAD_TOO_LARGE, "proxy_body_refused", message);
                    return logged.finish(res, Some("body"));
                }
            };
            let form = std::str::from_utf8(&bytes).ok();
            if key.is_empty() {
                key = query_param(form, "client_key");
            }
            if logged.image.is_empty() {
                logged.image = match query_param(form, "image_base64").len() {
                    0 => query_param(form, "image_url"),
                    n => format!("base64:{n}"),
                };
            }
            if logged.models.is_empty() {
                logged.models = query_param(form, "model_id");
            }
            body = Some(Outgoing::Read(bytes));
        }
        // After a quiet spell the API connections may be gone: open new
        // ones while this request waits for its slot, so that the next
        // ones do not lose a connect's time and bunch (see `Upstream::warm`).
        if upstream.woke() {
            let (warm, connections) = (proxy.clone(), Upstream::connections_for(budget.rate()));
            tokio::spawn(async move { warm.upstream.warm(connections).await });
        }
        // Counted as held from here: waiting for Redis is part of the hold.
        let _counted = budget.hold();
        let mut retakes = 0;
        loop {
            match budget.take(&key).await {
                Decision::Refuse(retry, mode) => {
                    logged.mode = Some(mode);
                    return logged.finish(refusal(budget, retry, mode), Some("budget"));
                }
                Decision::Hold(wait, mode) => {
                    let slot = tokio::time::Instant::now() + wait;
                    tokio::time::sleep_until(slot).await;
                    // A stalled process (a busy machine) wakes its held
                    // requests late, several at once: sent now they would
                    // reach the API together with the ones sent on time
                    // after them. Forwarded only at a slot: a late one
                    // takes the next free slot instead.
                    let late = tokio::time::Instant::now().saturating_duration_since(slot);
                    if late > budget.late_after() && retakes < MAX_RETAKES {
                        retakes += 1;
                        continue;
                    }
                    let hold = since_epoch().saturating_sub(arrival);
                    logged.hold = Some(hold);
                    logged.mode = Some(mode);
                    held = Some((budget, hold, mode));
                    break;
                }
            }
        }
    }

    let mut request = upstream
        .client
        .request(parts.method.clone(), url)
        .headers(request_headers(&parts.headers));
    match body {
        // Streamed as it arrives; a Content-Length of the page's request is
        // kept, so the API gets the body as the page sent it.
        Some(Outgoing::Streamed(body)) => {
            request = request.body(reqwest::Body::wrap(SyncBody(Mutex::new(body))))
        }
        Some(Outgoing::Read(bytes)) => request = request.body(bytes),
        None => {}
    }
    let answer = match tokio::time::timeout(upstream.timeout, request.send()).await {
        Ok(Ok(answer)) => answer,
        Ok(Err(e)) => {
            let mut res = upstream.unreachable(e);
            announce(res.headers_mut(), held);
            return logged.finish(res, Some("upstream"));
        }
        Err(_) => {
            let mut res = upstream.timed_out();
            announce(res.headers_mut(), held);
            return logged.finish(res, Some("upstream"));
        }
    };
    let status = answer.status();
    let headers = response_headers(answer.headers());
    let body: axum::http::Response<reqwest::Body> = answer.into();
    let mut res = Response::new(Body::new(body.into_body()));
    *res.status_mut() = status;
    *res.headers_mut() = headers;
    announce(res.headers_mut(), held);
    logged.finish(res, None)
}

/// The page's body on its way to the API.
enum Outgoing {
    /// Passed on as it arrives.
    Streamed(Body),
    /// Read whole first (to find the key in a form).
    Read(Bytes),
}

/// Whether a request's body is a urlencoded form.
fn is_form(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.trim_start()
                .to_ascii_lowercase()
                .starts_with("application/x-www-form-urlencoded")
        })
}

/// A forwarded request as the access log shows it. A request whose page
/// went away before its answer is logged with status 0.
struct Logged<'a> {
    log: Option<&'a AccessLog>,
    method: Method,
    image: String,
    models: String,
    arrival: Duration,
    hold: Option<Duration>,
    mode: Option<Mode>,
    done: bool,
}

impl Logged<'_> {
    fn finish(&mut self, res: Response, fault: Option<&'static str>) -> Response {
        self.write(res.status().as_u16(), fault);
        self.done = true;
        res
    }

    fn write(&self, status: u16, fault: Option<&'static str>) {
        let Some(log) = self.log else {
            return;
        };
        let end = since_epoch();
        let ms = |d: Duration| d.as_secs_f64() * 1000.0;
        log.write(&Entry {
            arrival_ms: ms(self.arrival),
            end_ms: ms(end),
            method: self.method.as_str(),
            key: "",
            image: &self.image,
            models: &self.models,
            status,
            latency_ms: ms(end.saturating_sub(self.arrival)),
            fault,
            hold_ms: self.hold.map(ms),
            budget: self.mode.map(Mode::word),
        });
    }
}

impl Drop for Logged<'_> {
    fn drop(&mut self) {
        if !self.done {
            self.write(0, None);
        }
    }
}

/// One parameter of a query string or form body, decoded ("" when absent).
pub(crate) fn query_param(query: Option<&str>, name: &str) -> String {
    form_urlencoded::parse(query.unwrap_or("").as_bytes())
        .find(|(n, _)| n == name)
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_params() {
        let q =
            Some("client_key=k&model_id=re_logo%2Cre_features_v4&image_url=http%3A%2F%2Fx%2Fa.jpg");
        assert_eq!(query_param(q, "model_id"), "re_logo,re_features_v4");
        assert_eq!(query_param(q, "image_url"), "http://x/a.jpg");
        assert_eq!(query_param(None, "image_url"), "");
    }
}
