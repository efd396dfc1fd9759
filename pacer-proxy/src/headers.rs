//! Which headers cross the proxy. Towards the API: an allow-list, because
//! the page's origin is often shared (`127.0.0.1`, any port), so the
//! browser attaches cookies of unrelated local apps, and an
//! `Authorization` meant for the proxy's host is no business of the API's.
//! Back to the page: everything (the rate-limit headers, `Retry-After`)
//! but hop-by-hop headers, the API's own CORS headers (the proxy sets its
//! own) and `Set-Cookie`, which would plant the API's cookies on every
//! local app of the page's host.

use axum::http::{header, HeaderMap, HeaderName};

/// The only request headers the API gets from a page: what describes the
/// body and what the answer may be.
pub const FORWARDED_REQUEST_HEADERS: &[&str] = &[
    "accept",
    "accept-encoding",
    "accept-language",
    "content-type",
    "content-length",
    "user-agent",
];

/// Headers that belong to one connection, not to the message (RFC 9110
/// §7.6.1), plus `Proxy-*`: never passed back. Headers named in a
/// `Connection` header are dropped too.
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

/// Answer headers never passed back besides the hop-by-hop ones.
const NOT_RETURNED: &[&str] = &["set-cookie", "set-cookie2"];

/// The page's request headers as the API gets them: the allow-list only.
pub fn request_headers(from: &HeaderMap) -> HeaderMap {
    let mut headers = HeaderMap::new();
    for name in FORWARDED_REQUEST_HEADERS {
        for value in from.get_all(*name) {
            headers.append(HeaderName::from_static(name), value.clone());
        }
    }
    headers
}

/// The API's answer headers as the page gets them.
pub fn response_headers(from: &HeaderMap) -> HeaderMap {
    let mut headers = from.clone();
    let named: Vec<HeaderName> = from
        .get_all(header::CONNECTION)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|n| HeaderName::from_bytes(n.trim().as_bytes()).ok())
        .collect();
    let cors: Vec<HeaderName> = from
        .keys()
        .filter(|n| n.as_str().starts_with("access-control-"))
        .cloned()
        .collect();
    for name in HOP_BY_HOP.iter().chain(NOT_RETURNED) {
        headers.remove(*name);
    }
    for name in named.into_iter().chain(cors) {
        headers.remove(name);
    }
    headers
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn map(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (n, v) in pairs {
            h.append(*n, HeaderValue::from_static(v));
        }
        h
    }

    fn names(h: &HeaderMap) -> Vec<&str> {
        let mut n: Vec<&str> = h.keys().map(HeaderName::as_str).collect();
        n.sort();
        n
    }

    #[test]
    fn only_the_allow_list_goes_upstream() {
        let page = map(&[
            ("cookie", "username-127-0-0-1-8888=secret"),
            ("authorization", "Bearer local-admin"),
            ("proxy-authorization", "Basic x"),
            ("host", "127.0.0.1:8080"),
            ("origin", "http://127.0.0.1:8080"),
            ("referer", "http://127.0.0.1:8080/"),
            ("expect", "100-continue"),
            ("connection", "keep-alive"),
            ("x-forwarded-for", "10.0.0.1"),
            ("x-api-secret", "s"),
            ("content-type", "application/x-www-form-urlencoded"),
            ("content-length", "12"),
            ("accept", "*/*"),
            ("user-agent", "Mozilla/5.0"),
        ]);
        let up = request_headers(&page);
        assert_eq!(
            names(&up),
            ["accept", "content-length", "content-type", "user-agent"]
        );
        assert_eq!(up["content-type"], "application/x-www-form-urlencoded");
    }

    #[test]
    fn set_cookie_hop_by_hop_and_cors_stay_behind() {
        let api = map(&[
            ("connection", "keep-alive, x-secret-hop"),
            ("keep-alive", "timeout=5"),
            ("x-secret-hop", "1"),
            ("transfer-encoding", "chunked"),
            ("access-control-allow-origin", "https://other.example"),
            ("access-control-allow-credentials", "true"),
            ("x-ratelimit-limit-second", "5"),
            ("retry-after", "1"),
            ("content-length", "12"),
            ("set-cookie", "a=1"),
            ("set-cookie", "b=2; Domain=127.0.0.1"),
        ]);
        assert_eq!(
            names(&response_headers(&api)),
            ["content-length", "retry-after", "x-ratelimit-limit-second"]
        );
    }
}
