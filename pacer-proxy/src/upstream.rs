//! The API behind the proxy: its base URL, the HTTP client that reaches
//! it, and the 502s for when it cannot be had. Errors name the API and
//! the cause, never the request URL (its query may carry the key).

use crate::error::error;
use crate::path::{self, Refused};
use anyhow::Context;
use axum::http::StatusCode;
use axum::response::Response;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// A proxy that forwarded nothing for this long may have lost its
/// connections to the API (its own pool drops idle ones after 90 s, and
/// servers close them sooner): it opens new ones as requests come again.
const IDLE: Duration = Duration::from_secs(30);
/// The most connections opened ahead.
const MAX_WARM: usize = 16;

/// What reaching the API takes: plain values, whoever parsed them.
#[derive(Clone, Debug)]
pub struct UpstreamConfig {
    /// The API's base URL (`https://api-us.restb.ai`); see [`parse_base`].
    pub base: String,
    /// How long to wait for the API's answer headers (and at most between
    /// two pieces of its body).
    pub timeout: Duration,
    /// Accept any TLS certificate (for a self-signed upstream).
    pub insecure: bool,
}

/// The API and the client that reaches it.
pub struct Upstream {
    pub(crate) client: reqwest::Client,
    /// The base URL, without a trailing slash.
    base: String,
    /// The base URL's path, without a trailing slash (`""` or `/prefix`).
    base_path: String,
    pub(crate) timeout: Duration,
    /// When a request last went to the API (or a warm-up began).
    last_use: Mutex<Option<Instant>>,
}

/// Checks a base URL: an absolute http(s) URL with a host and no query or
/// fragment. Returns it without trailing slashes.
pub fn parse_base(url: &str) -> anyhow::Result<String> {
    let parsed = reqwest::Url::parse(url).with_context(|| format!("{url}: not an absolute URL"))?;
    anyhow::ensure!(
        matches!(parsed.scheme(), "http" | "https"),
        "{url}: must be an http:// or https:// URL"
    );
    anyhow::ensure!(
        parsed.host_str().is_some_and(|h| !h.is_empty()),
        "{url}: has no host"
    );
    anyhow::ensure!(
        parsed.query().is_none() && parsed.fragment().is_none(),
        "{url}: give the API's base URL, without a query or fragment"
    );
    Ok(url.trim_end_matches('/').to_string())
}

impl Upstream {
    /// The API per `config`.
    pub fn new(config: &UpstreamConfig) -> anyhow::Result<Upstream> {
        let base = parse_base(&config.base)?;
        let base_path = reqwest::Url::parse(&base)?
            .path()
            .trim_end_matches('/')
            .to_string();
        let client = reqwest::Client::builder()
            // Redirects go back to the page as they are, like any answer.
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(config.timeout.min(Duration::from_secs(10)))
            .read_timeout(config.timeout)
            .danger_accept_invalid_certs(config.insecure)
            .build()
            .context("building the proxy's HTTP client")?;
        Ok(Upstream {
            client,
            base,
            base_path,
            timeout: config.timeout,
            last_use: Mutex::new(None),
        })
    }

    /// Opens `connections` connections to the API at once (concurrent
    /// `HEAD`s of the base URL, answers ignored; over HTTP/2 they share
    /// one). A held request is forwarded at its slot; if it must first
    /// open a connection (TCP, TLS: 70-140 ms on a busy machine) it
    /// reaches the API that much late, while the next ones, on connections
    /// already open, arrive on time: they bunch, and the API counts more
    /// than its limit in a second. So a budgeted proxy keeps as many
    /// connections open as its rate can have requests in flight.
    pub async fn warm(&self, connections: usize) {
        let mut heads = tokio::task::JoinSet::new();
        for _ in 0..connections.clamp(1, MAX_WARM) {
            let head = self.client.head(format!("{}/", self.base)).send();
            heads.spawn(tokio::time::timeout(self.timeout, head));
        }
        while heads.join_next().await.is_some() {}
    }

    /// How many connections a proxy forwarding at `rate` wants open: a
    /// second's worth of requests in flight, at least 2.
    pub fn connections_for(rate: f64) -> usize {
        ((rate.max(0.0)).ceil() as usize).clamp(2, MAX_WARM)
    }

    /// Notes a request going to the API now; true when none went for a
    /// while (the connections may be gone: time to open new ones).
    pub(crate) fn woke(&self) -> bool {
        let now = Instant::now();
        let mut last = self.last_use.lock().unwrap_or_else(|e| e.into_inner());
        let idle = last.is_none_or(|t| now.duration_since(t) >= IDLE);
        *last = Some(now);
        idle
    }

    /// The base URL.
    pub fn base(&self) -> &str {
        &self.base
    }

    /// The URL a request for `path_and_query` goes to, once the HTTP
    /// client's URL parser has normalised it; refused unless it stays
    /// under the base's `/vision/`.
    pub fn url(&self, path_and_query: &str) -> Result<reqwest::Url, Refused> {
        let url = reqwest::Url::parse(&format!("{}{}", self.base, path_and_query))
            .map_err(|_| Refused::OutsideVision)?;
        path::check_resolved(&url, &self.base_path)?;
        Ok(url)
    }

    /// The 502 for a failed request to the API.
    pub(crate) fn unreachable(&self, e: reqwest::Error) -> Response {
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

    /// The 502 for an API whose answer headers did not come in time.
    pub(crate) fn timed_out(&self) -> Response {
        let message = format!(
            "Pacer's proxy got no answer from {} within {} s",
            self.base,
            self.timeout.as_secs_f64()
        );
        error(StatusCode::BAD_GATEWAY, "proxy_upstream_timeout", &message)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
    fn urls_stay_under_the_base_and_vision() {
        let up = |base: &str| {
            Upstream::new(&UpstreamConfig {
                base: base.into(),
                timeout: Duration::from_secs(1),
                insecure: false,
            })
            .unwrap()
        };
        let api = up("https://api.example");
        assert_eq!(
            api.url("/vision/v2/multipredict?a=1").unwrap().as_str(),
            "https://api.example/vision/v2/multipredict?a=1"
        );
        assert!(api.url("/vision/%2e%2e/admin").is_err());
        assert!(api.url("/vision/../admin").is_err());
        let prefixed = up("http://127.0.0.1:9000/p/");
        assert!(prefixed.url("/vision/v2/x").is_ok());
        assert!(prefixed.url("/vision/../../x").is_err());
    }
}
