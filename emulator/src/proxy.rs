//! Proxy mode (`--proxy-to URL`), for an API that sends no CORS headers and
//! so refuses pages: every request under `/vision/` is forwarded to
//! `URL/vision/...` (method, query string, headers and body as they came,
//! the body streamed), and the answer comes back as it is (status, headers,
//! body streamed as it arrives), minus hop-by-hop headers and the
//! upstream's own `Access-Control-*` headers; the router's CORS layer then
//! adds the CORS headers pages need (the rate-limit headers exposed) and
//! answers preflights locally. The emulator's own limiter and fake API are
//! not used for `/vision/`; the page and `/samples/` are still served.
//!
//! An upstream that cannot be reached, fails, or sends no answer headers
//! within `--proxy-timeout-ms` gets a 502 in the API's error shape, which
//! names the upstream but never the request URL (it carries the client
//! key). The access log (if any) gets one line per forwarded request,
//! without the key.

use crate::access_log::{since_epoch, AccessLog, LoggedRequest};
use crate::error::error;
use anyhow::Context;
use axum::body::{Body, Bytes, HttpBody};
use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, HeaderName, Method, StatusCode};
use axum::response::Response;
use http_body::{Frame, SizeHint};
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context as TaskContext, Poll};
use std::time::Duration;

/// Headers that belong to one connection, not to the message (RFC 9110
/// §7.6.1), plus `Proxy-*`: never forwarded, either way. Headers named in
/// a `Connection` header are dropped too.
const HOP_BY_HOP: &[&str] = &[
    "connection",
    "keep-alive",
    "proxy-connection",
    "proxy-authenticate",
    "proxy-authorization",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
];

/// Request headers not forwarded besides the hop-by-hop ones: `Host` (the
/// upstream's is set from its URL), `Expect` (answered by this server),
/// and what says which page sent the request (`Origin`, `Referer`): an API
/// that refuses browsers may refuse requests carrying them, and the proxy
/// exists to make the page's requests look like any other client's.
const NOT_FORWARDED: &[&str] = &["host", "expect", "origin", "referer"];

/// What a proxy needs to know: plain values, whoever parsed them.
#[derive(Clone, Debug)]
pub struct ProxyConfig {
    /// The API's base URL (`https://api-us.restb.ai`); see [`parse_base`].
    pub upstream: String,
    /// How long to wait for the API's answer headers (and at most between
    /// two pieces of its body).
    pub timeout: Duration,
    /// Accept any TLS certificate (for a self-signed upstream).
    pub insecure: bool,
}

/// The upstream and the HTTP client that reaches it.
pub struct Proxy {
    client: reqwest::Client,
    access_log: Option<Arc<AccessLog>>,
    /// The base URL, without a trailing slash (`https://api-us.restb.ai`).
    base: String,
    /// How long to wait for the upstream's answer headers.
    timeout: Duration,
}

/// Checks a `--proxy-to` value: an absolute http(s) URL with a host and no
/// query or fragment. Returns it without trailing slashes.
pub fn parse_base(url: &str) -> anyhow::Result<String> {
    let parsed = reqwest::Url::parse(url)
        .with_context(|| format!("--proxy-to {url}: not an absolute URL"))?;
    anyhow::ensure!(
        matches!(parsed.scheme(), "http" | "https"),
        "--proxy-to {url}: must be an http:// or https:// URL"
    );
    anyhow::ensure!(
        parsed.host_str().is_some_and(|h| !h.is_empty()),
        "--proxy-to {url}: has no host"
    );
    anyhow::ensure!(
        parsed.query().is_none() && parsed.fragment().is_none(),
        "--proxy-to {url}: give the API's base URL, without a query or fragment"
    );
    Ok(url.trim_end_matches('/').to_string())
}

impl Proxy {
    /// A proxy per `config`, logging each forwarded request to `access_log`.
    pub fn new(config: ProxyConfig, access_log: Option<Arc<AccessLog>>) -> anyhow::Result<Proxy> {
        let ProxyConfig {
            upstream,
            timeout,
            insecure,
        } = config;
        let base = parse_base(&upstream)?;
        let client = reqwest::Client::builder()
            // Redirects go back to the page as they are, like any answer.
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(timeout.min(Duration::from_secs(10)))
            .read_timeout(timeout)
            .danger_accept_invalid_certs(insecure)
            .build()
            .context("building the proxy's HTTP client")?;
        Ok(Proxy {
            client,
            access_log,
            base,
            timeout,
        })
    }

    /// The upstream's base URL.
    pub fn base(&self) -> &str {
        &self.base
    }

    /// The 502 for a failed upstream request. The message names the
    /// upstream and the cause, never the URL (its query has the key).
    fn unreachable(&self, e: reqwest::Error) -> Response {
        let e = e.without_url();
        // The innermost cause says most ("Connection refused (os error
        // 111)", "invalid peer certificate: UnknownIssuer"); reqwest's
        // own text is the fallback.
        let mut cause: &dyn std::error::Error = &e;
        while let Some(inner) = cause.source() {
            cause = inner;
        }
        if e.is_connect() {
            let message = format!(
                "Pacer's proxy could not connect to {base}: {cause}",
                base = self.base
            );
            error(
                StatusCode::BAD_GATEWAY,
                "proxy_upstream_unreachable",
                &message,
            )
        } else if e.is_timeout() {
            self.timed_out()
        } else {
            let message = format!(
                "Pacer's proxy got no answer from {base}: {cause}",
                base = self.base
            );
            error(StatusCode::BAD_GATEWAY, "proxy_upstream_error", &message)
        }
    }

    /// The 502 for an upstream whose answer headers did not come in time.
    fn timed_out(&self) -> Response {
        let message = format!(
            "Pacer's proxy got no answer from {} within {} s",
            self.base,
            self.timeout.as_secs_f64()
        );
        error(StatusCode::BAD_GATEWAY, "proxy_upstream_timeout", &message)
    }
}

/// The handler of every `/vision/...` request in proxy mode.
pub async fn forward(State(proxy): State<Arc<Proxy>>, req: Request) -> Response {
    let arrival = since_epoch();
    let (parts, body) = req.into_parts();
    let path_and_query = parts.uri.path_and_query().map_or("/", |p| p.as_str());
    let url = format!("{}{}", proxy.base, path_and_query);
    let mut logged = Logged {
        log: proxy.access_log.as_deref(),
        method: parts.method.clone(),
        image: query_param(parts.uri.query(), "image_url"),
        models: query_param(parts.uri.query(), "model_id"),
        arrival,
        done: false,
    };

    let has_body = parts.headers.contains_key(header::CONTENT_LENGTH)
        || parts.headers.contains_key(header::TRANSFER_ENCODING);
    let mut upstream = proxy
        .client
        .request(parts.method.clone(), &url)
        .headers(request_headers(&parts.headers));
    if has_body {
        // Streamed as it arrives; a Content-Length of the page's request is
        // kept, so the upstream gets the body as the page sent it.
        upstream = upstream.body(reqwest::Body::wrap(SyncBody(Mutex::new(body))));
    }
    let answer = match tokio::time::timeout(proxy.timeout, upstream.send()).await {
        Ok(Ok(answer)) => answer,
        Ok(Err(e)) => return logged.finish(proxy.unreachable(e), Some("upstream")),
        Err(_) => return logged.finish(proxy.timed_out(), Some("upstream")),
    };
    let status = answer.status();
    let headers = response_headers(answer.headers());
    let body: axum::http::Response<reqwest::Body> = answer.into();
    let mut res = Response::new(Body::new(body.into_body()));
    *res.status_mut() = status;
    *res.headers_mut() = headers;
    logged.finish(res, None)
}

/// A forwarded request as the access log shows it: no key, the image and
/// models of a GET's query string (a POST's form body is streamed through
/// unread), and the status when the upstream's answer headers came (or the
/// proxy's 502). A request whose page went away before that is logged with
/// status 0.
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
        let request = LoggedRequest {
            arrival: self.arrival,
            method: self.method.as_str(),
            key: "",
            image: &self.image,
            models: &self.models,
        };
        log.record(&request, status, fault);
    }
}

impl Drop for Logged<'_> {
    fn drop(&mut self) {
        if !self.done {
            self.write(0, None);
        }
    }
}

/// The page's request headers as the upstream gets them.
fn request_headers(from: &HeaderMap) -> HeaderMap {
    let mut headers = without_hop_by_hop(from);
    for name in NOT_FORWARDED {
        headers.remove(*name);
    }
    headers
}

/// The upstream's answer headers as the page gets them: all of them (the
/// rate-limit headers and `Retry-After` included) but the hop-by-hop ones
/// and its `Access-Control-*` (the proxy's CORS layer sets its own).
fn response_headers(from: &HeaderMap) -> HeaderMap {
    let mut headers = without_hop_by_hop(from);
    let cors: Vec<HeaderName> = headers
        .keys()
        .filter(|n| n.as_str().starts_with("access-control-"))
        .cloned()
        .collect();
    for name in cors {
        headers.remove(name);
    }
    headers
}

/// `from` without the hop-by-hop headers and those its `Connection` names.
fn without_hop_by_hop(from: &HeaderMap) -> HeaderMap {
    let mut headers = from.clone();
    let named: Vec<HeaderName> = from
        .get_all(header::CONNECTION)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|n| HeaderName::from_bytes(n.trim().as_bytes()).ok())
        .collect();
    for name in HOP_BY_HOP {
        headers.remove(*name);
    }
    for name in named {
        headers.remove(name);
    }
    headers
}

/// The page's request body, streamed on to the upstream. reqwest wants a
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

/// One parameter of a query string, decoded ("" when absent).
fn query_param(query: Option<&str>, name: &str) -> String {
    form_urlencoded::parse(query.unwrap_or("").as_bytes())
        .find(|(n, _)| n == name)
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    #[test]
    fn base_urls() {
        assert_eq!(
            parse_base("https://api-us.restb.ai/").unwrap(),
            "https://api-us.restb.ai"
        );
        assert_eq!(
            parse_base("http://127.0.0.1:9000/prefix").unwrap(),
            "http://127.0.0.1:9000/prefix"
        );
        for bad in [
            "api-us.restb.ai",
            "ftp://x",
            "https://x/?a=1",
            "https://x/#f",
            "",
        ] {
            assert!(parse_base(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn hop_by_hop_and_cors_headers_stay_behind() {
        let mut h = HeaderMap::new();
        let set = |h: &mut HeaderMap, n: &'static str, v: &'static str| {
            h.append(n, HeaderValue::from_static(v));
        };
        set(&mut h, "connection", "keep-alive, x-secret-hop");
        set(&mut h, "keep-alive", "timeout=5");
        set(&mut h, "x-secret-hop", "1");
        set(&mut h, "transfer-encoding", "chunked");
        set(
            &mut h,
            "access-control-allow-origin",
            "https://other.example",
        );
        set(&mut h, "access-control-allow-credentials", "true");
        set(&mut h, "x-ratelimit-limit-second", "5");
        set(&mut h, "retry-after", "1");
        set(&mut h, "content-length", "12");
        set(&mut h, "set-cookie", "a=1");
        set(&mut h, "set-cookie", "b=2");
        let res = response_headers(&h);
        let mut names: Vec<&str> = res.keys().map(HeaderName::as_str).collect();
        names.sort();
        assert_eq!(
            names,
            [
                "content-length",
                "retry-after",
                "set-cookie",
                "x-ratelimit-limit-second"
            ]
        );
        assert_eq!(res.get_all("set-cookie").iter().count(), 2);

        set(&mut h, "host", "127.0.0.1:8080");
        set(&mut h, "origin", "http://127.0.0.1:8080");
        set(&mut h, "referer", "http://127.0.0.1:8080/");
        set(&mut h, "expect", "100-continue");
        set(&mut h, "content-type", "application/x-www-form-urlencoded");
        let req = request_headers(&h);
        for gone in [
            "host",
            "origin",
            "referer",
            "expect",
            "connection",
            "keep-alive",
            "x-secret-hop",
            "transfer-encoding",
        ] {
            assert!(!req.contains_key(gone), "{gone} forwarded");
        }
        assert_eq!(req["content-length"], "12");
        assert_eq!(req["content-type"], "application/x-www-form-urlencoded");
    }

    #[test]
    fn query_params() {
        let q =
            Some("client_key=k&model_id=re_logo%2Cre_features_v4&image_url=http%3A%2F%2Fx%2Fa.jpg");
        assert_eq!(query_param(q, "model_id"), "re_logo,re_features_v4");
        assert_eq!(query_param(q, "image_url"), "http://x/a.jpg");
        assert_eq!(query_param(None, "image_url"), "");
    }
}
