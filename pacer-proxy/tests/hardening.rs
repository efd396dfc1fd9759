//! What crosses the proxy, checked over loopback against a hand-made
//! upstream that records what it gets: only allow-listed request headers
//! (no cookie of another local app, no `Authorization`), no `Set-Cookie`
//! back, no path that leaves `/vision/` (sent raw, as `curl --path-as-is`
//! would, since HTTP clients normalise dot segments before sending), and a
//! loud warning from the binary when bound beyond loopback.

use axum::extract::Request;
use axum::http::HeaderMap;
use axum::response::IntoResponse;
use axum::routing::any;
use axum::Router;
use pacer_proxy::{start, ProxyConfig, UpstreamConfig};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};

/// What the upstream saw: each request's path and query, and headers.
type Seen = Arc<Mutex<Vec<(String, HeaderMap)>>>;

/// An upstream on loopback that records every request and answers 200
/// with two cookies; returns its base URL and the record.
async fn recording_upstream() -> (String, Seen) {
    let seen: Seen = Arc::default();
    let record = seen.clone();
    let app = Router::new().fallback(any(move |req: Request| {
        let record = record.clone();
        async move {
            let pq = req.uri().path_and_query().map_or("", |p| p.as_str());
            record
                .lock()
                .unwrap()
                .push((pq.to_string(), req.headers().clone()));
            (
                [
                    ("set-cookie", "session=api-cookie; Domain=127.0.0.1"),
                    ("set-cookie", "other=1"),
                    ("x-ratelimit-limit-second", "5"),
                ],
                "{\"error\":\"false\"}",
            )
                .into_response()
        }
    }));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (format!("http://{addr}"), seen)
}

/// A proxy on loopback port 0 to `base`; returns its address.
async fn proxy_to(base: &str) -> std::net::SocketAddr {
    let config = ProxyConfig {
        host: "127.0.0.1".parse().unwrap(),
        port: 0,
        upstream: UpstreamConfig {
            base: base.to_string(),
            timeout: Duration::from_secs(5),
            insecure: false,
        },
        access_log: None,
        dist: None,
        budget: None,
    };
    start(config).await.unwrap().http
}

/// Sends `head` (request line and headers, without the blank line) as is
/// over a fresh connection; returns the status and the whole answer.
async fn raw(addr: std::net::SocketAddr, head: &str) -> (u16, String) {
    let mut conn = tokio::net::TcpStream::connect(addr).await.unwrap();
    let request = format!("{head}\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    conn.write_all(request.as_bytes()).await.unwrap();
    let mut answer = String::new();
    conn.read_to_string(&mut answer).await.unwrap();
    let status = answer
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no status in {answer:?}"));
    (status, answer)
}

#[tokio::test]
async fn cookies_and_authorization_stay_home_and_no_cookie_comes_back() {
    let (base, seen) = recording_upstream().await;
    let via = proxy_to(&base).await;
    let (status, answer) = raw(
        via,
        "GET /vision/v2/multipredict?client_key=k&model_id=re_logo HTTP/1.1\r\n\
         Cookie: username-127-0-0-1-8888=jupyter-secret; sid=admin\r\n\
         Authorization: Bearer local-admin\r\n\
         Origin: http://127.0.0.1:8080\r\n\
         Referer: http://127.0.0.1:8080/\r\n\
         X-Forwarded-For: 10.1.2.3\r\n\
         Accept: application/json\r\n\
         User-Agent: test-agent",
    )
    .await;
    assert_eq!(status, 200, "{answer}");
    let lower = answer.to_ascii_lowercase();
    assert!(!lower.contains("set-cookie"), "{answer}");
    assert!(!lower.contains("api-cookie"), "{answer}");
    assert!(lower.contains("x-ratelimit-limit-second: 5"), "{answer}");
    assert!(lower.contains("access-control-allow-origin: *"), "{answer}");

    let seen = seen.lock().unwrap();
    assert_eq!(seen.len(), 1);
    let (pq, headers) = &seen[0];
    assert_eq!(pq, "/vision/v2/multipredict?client_key=k&model_id=re_logo");
    for gone in [
        "cookie",
        "authorization",
        "origin",
        "referer",
        "x-forwarded-for",
    ] {
        assert!(headers.get(gone).is_none(), "{gone} reached the API");
    }
    assert_eq!(headers["accept"], "application/json");
    assert_eq!(headers["user-agent"], "test-agent");
}

#[tokio::test]
async fn paths_that_leave_vision_are_refused_before_the_api_sees_them() {
    let (base, seen) = recording_upstream().await;
    let via = proxy_to(&base).await;
    for path in [
        "/vision/../admin",
        "/vision/v2/../../admin",
        "/vision/%2e%2e/admin",
        "/vision/%2E%2E/admin",
        "/vision/.%2e/admin",
        "/vision/..%2fadmin",
        "/vision/..%5Cadmin",
        "/vision/./v2/multipredict",
    ] {
        let (status, answer) = raw(via, &format!("GET {path}?client_key=k HTTP/1.1")).await;
        assert_eq!(status, 400, "{path}: {answer}");
        assert!(answer.contains("proxy_path_refused"), "{path}: {answer}");
        assert!(!answer.contains("client_key"), "{path}: {answer}");
    }
    // Outside /vision/ altogether: not a proxy route.
    let (status, _) = raw(via, "GET /admin HTTP/1.1").await;
    assert_eq!(status, 404);
    assert!(
        seen.lock().unwrap().is_empty(),
        "the API saw {:?}",
        seen.lock().unwrap()
    );
    // A plain path still goes through.
    let (status, _) = raw(via, "GET /vision/v2/multipredict HTTP/1.1").await;
    assert_eq!(status, 200);
    assert_eq!(seen.lock().unwrap().len(), 1);
}

#[tokio::test]
async fn the_binary_warns_loudly_off_loopback_and_not_on_it() {
    let stderr_of = |host: &'static str| async move {
        let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_pacer-proxy"))
            .args(["--host", host, "--port", "0", "--to", "http://127.0.0.1:9"])
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .unwrap();
        // The first stdout line comes once it listens; by then any warning
        // has been written.
        let mut out = BufReader::new(child.stdout.take().unwrap()).lines();
        let first = tokio::time::timeout(Duration::from_secs(10), out.next_line())
            .await
            .expect("the proxy starts")
            .unwrap()
            .unwrap_or_default();
        assert!(
            first.starts_with("pacer-proxy listening on http://"),
            "{first}"
        );
        child.start_kill().unwrap();
        let mut err = String::new();
        child
            .stderr
            .take()
            .unwrap()
            .read_to_string(&mut err)
            .await
            .unwrap();
        child.wait().await.unwrap();
        err
    };
    let loud = stderr_of("0.0.0.0").await;
    assert!(loud.contains("WARNING"), "{loud}");
    assert!(loud.contains("every network interface"), "{loud}");
    let quiet = stderr_of("127.0.0.1").await;
    assert!(!quiet.contains("WARNING"), "{quiet}");
}
