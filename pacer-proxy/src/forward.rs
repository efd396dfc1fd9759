//! Forwarding one request: the path checked, the page's request passed on
//! with the allowed headers (the body streamed as it arrives), and the
//! API's answer passed back as it comes (status, headers less the
//! filtered ones, body streamed); one access-log line per request.

use crate::error::error;
use crate::headers::{request_headers, response_headers};
use crate::log::{since_epoch, AccessLog, Entry};
use crate::path;
use crate::upstream::Upstream;
use axum::body::{Body, Bytes, HttpBody};
use axum::extract::{Request, State};
use axum::http::{header, Method, StatusCode};
use axum::response::Response;
use http_body::{Frame, SizeHint};
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context as TaskContext, Poll};
use std::time::Duration;

/// A running proxy: the API and the access log.
pub struct Proxy {
    pub(crate) upstream: Upstream,
    pub(crate) log: Option<AccessLog>,
}

impl Proxy {
    /// A proxy to `upstream`, logging to `log`.
    pub fn new(upstream: Upstream, log: Option<AccessLog>) -> Proxy {
        Proxy { upstream, log }
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
    let mut request = upstream
        .client
        .request(parts.method.clone(), url)
        .headers(request_headers(&parts.headers));
    if has_body {
        // Streamed as it arrives; a Content-Length of the page's request is
        // kept, so the API gets the body as the page sent it.
        request = request.body(reqwest::Body::wrap(SyncBody(Mutex::new(body))));
    }
    let answer = match tokio::time::timeout(upstream.timeout, request.send()).await {
        Ok(Ok(answer)) => answer,
        Ok(Err(e)) => return logged.finish(upstream.unreachable(e), Some("upstream")),
        Err(_) => return logged.finish(upstream.timed_out(), Some("upstream")),
    };
    let status = answer.status();
    let headers = response_headers(answer.headers());
    let body: axum::http::Response<reqwest::Body> = answer.into();
    let mut res = Response::new(Body::new(body.into_body()));
    *res.status_mut() = status;
    *res.headers_mut() = headers;
    logged.finish(res, None)
}

/// A forwarded request as the access log shows it. A request whose page
/// went away before its answer is logged with status 0.
struct Logged<'a> {
    log: Option<&'a AccessLog>,
    method: Method,
    image: String,
    models: String,
    arrival: Duration,
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
            hold_ms: None,
            budget: None,
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

/// The page's request body, streamed on to the API. reqwest wants a
/// `Sync` body and axum's is only `Send`: a mutex makes it `Sync`, and
/// costs nothing, being reached only through `&mut` (and for size hints).
struct SyncBody(Mutex<Body>);

impl HttpBody for SyncBody {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut TaskContext<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, axum::Error>>> {
        let body = self
            .get_mut()
            .0
            .get_mut()
            .unwrap_or_else(PoisonError::into_inner);
        Pin::new(body).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .size_hint()
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
