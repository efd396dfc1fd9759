//! Proxy mode (`--proxy-to`): a proxy emulator in front of an upstream
//! that sends no CORS headers (another emulator with `--no-cors`, or a
//! small test server), all on loopback. Checks that statuses, bodies and
//! headers pass through untouched, that CORS headers are added and
//! preflights answered locally, that POST bodies arrive as sent, that
//! bodies stream, that HTTPS upstreams work, that an upstream that is down
//! or too slow becomes a 502 in the API's error shape, and that keys stay
//! out of the proxy's access log and error messages.

mod common;

use axum::body::{Body, Bytes, HttpBody};
use axum::extract::Request;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::any;
use axum::Router;
use clap::Parser;
use common::*;
use http_body::Frame;
use pacer_core::api::multipredict_form;
use pacer_emulator::Cli;
use serde_json::{json, Value};
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

/// Starts a proxy emulator forwarding to `upstream`, with `flags` on top.
async fn proxy(upstream: &str, flags: &[&str]) -> String {
    let mut args = vec!["--proxy-to", upstream];
    args.extend_from_slice(flags);
    emulator(&args).await
}

/// A base URL on loopback where nothing listens (connections are refused).
fn nothing_listening() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    format!("http://{addr}")
}

/// A response's body as JSON (panics if it is not).
async fn body_json(res: reqwest::Response) -> Value {
    let text = res.text().await.unwrap();
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}: {text}"))
}

/// The names in `Access-Control-Expose-Headers`, lowercased.
fn exposed(res: &reqwest::Response) -> Vec<String> {
    header(res, "access-control-expose-headers")
        .unwrap_or_default()
        .split(',')
        .map(|h| h.trim().to_ascii_lowercase())
        .collect()
}

/// Asserts the CORS headers a page needs: any origin, the rate headers exposed.
fn assert_cors_for_pages(res: &reqwest::Response) {
    assert_eq!(
        header(res, "access-control-allow-origin").as_deref(),
        Some("*"),
        "{:?}",
        res.headers()
    );
    let exposed = exposed(res);
    for name in [
        "x-ratelimit-limit-second",
        "x-ratelimit-remaining-second",
        "x-ratelimit-limit-minute",
        "x-ratelimit-remaining-minute",
        "ratelimit-limit",
        "ratelimit-remaining",
        "ratelimit-reset",
        "retry-after",
    ] {
        assert!(
            exposed.contains(&name.to_string()),
            "{name} not in {exposed:?}"
        );
    }
}

/// The rate-limit headers of a response, by name (lowercase).
fn rate_headers(res: &reqwest::Response) -> Vec<(String, String)> {
    let mut h: Vec<(String, String)> = res
        .headers()
        .iter()
        .filter(|(n, _)| {
            n.as_str().starts_with("x-ratelimit-")
                || n.as_str().starts_with("ratelimit-")
                || n.as_str() == "retry-after"
        })
        .map(|(n, v)| (n.to_string(), v.to_str().unwrap().to_string()))
        .collect();
    h.sort();
    h
}

#[tokio::test]
async fn answers_pass_through_with_cors_headers_added() {
    let upstream = emulator(&[
        "--no-cors",
        "--limiter",
        "fixed-window",
        "--limit",
        "2",
        "--limit-minute",
        "100",
        "--retry-after",
        "--ietf-headers",
    ])
    .await;
    let via = proxy(&upstream, &[]).await;
    let image = "http://127.0.0.1/samples/img-0003.jpg";
    let models = ["re_roomtype_global_v2", "re_logo"];

    // The upstream alone: no CORS, so a page could not read it.
    let direct = get_cross_origin(&predict_url(&upstream, "other", &models, image)).await;
    assert_eq!(direct.status(), 200);
    assert_eq!(header(&direct, "access-control-allow-origin"), None);
    let direct: Value = body_json(direct).await;

    // Two answers and a 429 in one fixed window, through the proxy.
    align_to_next_second().await;
    let url = predict_url(&via, "key-1", &models, image);
    let first = get_cross_origin(&url).await;
    let second = get_cross_origin(&url).await;
    let refused = get_cross_origin(&url).await;

    assert_eq!(first.status(), 200);
    assert_cors_for_pages(&first);
    assert_eq!(
        rate_headers(&first),
        [
            ("ratelimit-limit", "2"),
            ("ratelimit-remaining", "1"),
            ("ratelimit-reset", "1"),
            ("x-ratelimit-limit-minute", "100"),
            ("x-ratelimit-limit-second", "2"),
            ("x-ratelimit-remaining-minute", "99"),
            ("x-ratelimit-remaining-second", "1"),
        ]
        .map(|(n, v)| (n.to_string(), v.to_string()))
    );
    assert_eq!(
        header(&first, "content-type").as_deref(),
        Some("application/json")
    );
    let body: Value = body_json(first).await;
    assert_eq!(body["error"], "false");
    assert_eq!(
        body["response"], direct["response"],
        "the upstream's predictions, as they are"
    );
    assert_eq!(
        header(&second, "x-ratelimit-remaining-second").as_deref(),
        Some("0")
    );

    assert_eq!(refused.status(), 429);
    assert_cors_for_pages(&refused);
    assert_eq!(header(&refused, "retry-after").as_deref(), Some("1"));
    assert_eq!(
        header(&refused, "x-ratelimit-limit-second").as_deref(),
        Some("2")
    );
    assert_eq!(
        header(&refused, "x-ratelimit-remaining-second").as_deref(),
        Some("0")
    );
    let body: Value = body_json(refused).await;
    assert_eq!(body, json!({"message": "API rate limit exceeded"}));
}

#[tokio::test]
async fn client_errors_pass_through_with_the_api_message() {
    let upstream = emulator(&["--no-cors"]).await;
    let via = proxy(&upstream, &[]).await;

    let bad_model = get_cross_origin(&predict_url(&via, "k", &["nope"], "http://x/a.jpg")).await;
    assert_eq!(bad_model.status(), 400);
    assert_cors_for_pages(&bad_model);
    let body: Value = body_json(bad_model).await;
    assert_eq!(body["error"], "true");
    assert_eq!(body["error_id"], "invalid_model_id");
    assert_eq!(body["message"], "Invalid model_id: nope");

    let no_key = get_cross_origin(&predict_url(&via, "", &["re_logo"], "http://x/a.jpg")).await;
    assert_eq!(no_key.status(), 401);
    let body: Value = body_json(no_key).await;
    assert_eq!(body["error_id"], "invalid_client_key");

    // Paths the upstream does not know are forwarded too: its 404.
    let unknown = get_cross_origin(&format!("{via}/vision/v9/nothing?x=1")).await;
    assert_eq!(unknown.status(), 404);
    assert_eq!(unknown.text().await.unwrap(), "not found");
}

#[tokio::test]
async fn post_form_bodies_are_forwarded_and_keys_stay_out_of_the_proxy_log() {
    let upstream_log = temp_path("upstream-log");
    let proxy_log = temp_path("proxy-log");
    let upstream = emulator(&["--no-cors", "--access-log", upstream_log.to_str().unwrap()]).await;
    let via = proxy(&upstream, &["--access-log", proxy_log.to_str().unwrap()]).await;
    let key = "secret-key-0123456789";
    let models = vec!["re_features_v4".to_string(), "re_logo".to_string()];
    let image = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=".repeat(200);
    let form = multipredict_form(key, &models, &image);

    let post = |base: String, form: String| async move {
        client()
            .post(format!("{base}/vision/v2/multipredict"))
            .header("Origin", ORIGIN)
            .header("Content-Type", "application/x-www-form-urlencoded")
            .body(form)
            .send()
            .await
            .unwrap()
    };
    let res = post(via.clone(), form.clone()).await;
    assert_eq!(res.status(), 200);
    assert_cors_for_pages(&res);
    let proxied: Value = body_json(res).await;
    let direct: Value = body_json(post(upstream.clone(), form).await).await;
    assert_eq!(proxied["error"], "false");
    assert_eq!(
        proxied["response"], direct["response"],
        "the same image reached the upstream"
    );

    let get = predict_url(
        &via,
        key,
        &models[..1].iter().map(String::as_str).collect::<Vec<_>>(),
        "http://x/b.jpg",
    );
    assert_eq!(get_cross_origin(&get).await.status(), 200);

    // The upstream saw the key and both requests as sent...
    let seen = read_log(&upstream_log);
    assert_eq!(seen.len(), 3);
    assert_eq!(seen[0]["method"], "POST");
    assert_eq!(seen[0]["key"], pacer_emulator::access_log::key_tag(key));
    assert_eq!(seen[0]["image"], seen[1]["image"]);
    assert!(seen[0]["image"].as_str().unwrap().starts_with("base64:"));
    assert_eq!(seen[2]["image"], "http://x/b.jpg");
    // ...the proxy logged both, without the key.
    let text = std::fs::read_to_string(&proxy_log).unwrap();
    assert!(!text.contains(key), "the key is in the proxy's log: {text}");
    let logged = read_log(&proxy_log);
    assert_eq!(logged.len(), 2);
    assert_eq!(logged[0]["method"], "POST");
    assert_eq!(logged[0]["status"], 200);
    assert_eq!(logged[0]["key"], "");
    assert_eq!(logged[1]["method"], "GET");
    assert_eq!(logged[1]["image"], "http://x/b.jpg");
    assert_eq!(logged[1]["models"], "re_features_v4");
    assert!(logged.iter().all(|l| l["fault"].is_null()));
}

#[tokio::test]
async fn an_upstream_that_is_down_is_a_502_in_the_api_shape() {
    let down = nothing_listening();
    let log = temp_path("proxy-down-log");
    let via = proxy(&down, &["--access-log", log.to_str().unwrap()]).await;
    let key = "do-not-show-this-key";
    let started = Instant::now();
    let res = get_cross_origin(&predict_url(&via, key, &["re_logo"], "http://x/a.jpg")).await;
    assert!(started.elapsed() < Duration::from_secs(5));
    assert_eq!(res.status(), 502);
    assert_cors_for_pages(&res);
    let body: Value = body_json(res).await;
    assert_eq!(body["error"], "true");
    assert_eq!(body["error_id"], "proxy_upstream_unreachable");
    let message = body["message"].as_str().unwrap();
    assert!(message.contains(&down), "{message}");
    assert!(message.contains("refused"), "{message}");
    assert!(!message.contains(key), "{message}");
    let logged = read_log(&log);
    assert_eq!(logged.len(), 1);
    assert_eq!(logged[0]["status"], 502);
    assert_eq!(logged[0]["fault"], "upstream");

    // A POST too.
    let res = client()
        .post(format!("{via}/vision/v2/multipredict"))
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body(multipredict_form(key, &["re_logo".into()], "AAAA"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 502);
}

#[tokio::test]
async fn an_upstream_too_slow_to_answer_is_a_502() {
    let upstream = emulator(&["--no-cors", "--latency-ms", "5000"]).await;
    let via = proxy(&upstream, &["--proxy-timeout-ms", "300"]).await;
    let started = Instant::now();
    let res = get_cross_origin(&predict_url(&via, "k", &["re_logo"], "http://x/a.jpg")).await;
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(res.status(), 502);
    let body: Value = body_json(res).await;
    assert_eq!(body["error"], "true");
    assert_eq!(body["error_id"], "proxy_upstream_timeout");
    assert!(
        body["message"].as_str().unwrap().contains("within 0.3 s"),
        "{body}"
    );
}

#[tokio::test]
async fn preflights_are_answered_locally_and_the_page_and_samples_still_served() {
    // Nothing upstream: whatever answers here is the proxy's own.
    let dist = temp_path("proxy-dist");
    std::fs::create_dir_all(&dist).unwrap();
    std::fs::write(dist.join("index.html"), "<html>pacer page</html>").unwrap();
    let via = proxy(&nothing_listening(), &["--dist", dist.to_str().unwrap()]).await;
    let preflight = preflight(&via, "POST").await;
    assert!(preflight.status().is_success(), "{}", preflight.status());
    assert_eq!(
        header(&preflight, "access-control-allow-origin").as_deref(),
        Some("*")
    );
    let methods = header(&preflight, "access-control-allow-methods").unwrap();
    assert!(methods.contains("POST"), "{methods}");

    assert_eq!(
        get_text(&format!("{via}/")).await,
        "<html>pacer page</html>"
    );
    let sample = get_cross_origin(&format!("{via}/samples/img-0001.jpg")).await;
    assert_eq!(sample.status(), 200);
    assert_eq!(
        header(&sample, "content-type").as_deref(),
        Some("image/jpeg")
    );
    assert_eq!(get_text(&format!("{via}/healthz")).await, "ok");
}

#[tokio::test]
async fn https_upstreams_work_and_certificates_are_checked() {
    let upstream = start_emulator(&["--no-cors", "--tls-port", "0"]).await;
    let https = format!("https://{}", upstream.https.unwrap());
    let url = |via: &str| predict_url(via, "k", &["re_logo"], "http://x/a.jpg");

    // Its certificate is self-signed: refused unless told otherwise.
    let strict = proxy(&https, &[]).await;
    let res = get_cross_origin(&url(&strict)).await;
    assert_eq!(res.status(), 502);
    let body: Value = body_json(res).await;
    assert!(
        body["message"].as_str().unwrap().contains("certificate"),
        "{body}"
    );

    let lenient = proxy(&https, &["--proxy-insecure"]).await;
    let res = get_cross_origin(&url(&lenient)).await;
    assert_eq!(res.status(), 200);
    assert_cors_for_pages(&res);
    assert!(header(&res, "x-ratelimit-limit-second").is_some());
    let body: Value = body_json(res).await;
    assert_eq!(body["error"], "false");
}

#[test]
fn proxy_flags_are_checked() {
    let parse = |args: &[&str]| {
        let mut all = vec!["pacer-emulator"];
        all.extend_from_slice(args);
        Cli::try_parse_from(all)
    };
    assert!(parse(&["--proxy-to", "https://api-us.restb.ai"]).is_ok());
    assert!(
        parse(&["--proxy-to", "https://api-us.restb.ai", "--no-cors"]).is_err(),
        "a proxy without CORS is no use"
    );
    assert!(parse(&["--proxy-insecure"]).is_err(), "needs --proxy-to");
    assert!(
        parse(&["--proxy-timeout-ms", "5"]).is_err(),
        "needs --proxy-to"
    );
    for bad in ["api-us.restb.ai", "ftp://x", "https://x/?client_key=k"] {
        let cli = parse(&["--proxy-to", bad]).unwrap();
        assert!(cli.validate().is_err(), "{bad}");
    }
}

// A hand-made upstream, to see what the proxy sends and how it streams.

/// Echoes the request it got as JSON, with headers of its own: some to
/// pass through, some the proxy must drop or replace.
async fn echo(req: Request) -> Response {
    let (parts, body) = req.into_parts();
    let body = axum::body::to_bytes(body, 1 << 20).await.unwrap();
    let headers: serde_json::Map<String, Value> = parts
        .headers
        .iter()
        .map(|(n, v)| (n.to_string(), json!(v.to_str().unwrap())))
        .collect();
    let echoed = json!({
        "method": parts.method.as_str(),
        "path_and_query": parts.uri.path_and_query().unwrap().as_str(),
        "headers": headers,
        "body": String::from_utf8_lossy(&body),
    });
    let mut h = HeaderMap::new();
    let set = |h: &mut HeaderMap, n: &'static str, v: &'static str| {
        h.append(n, HeaderValue::from_static(v));
    };
    set(&mut h, "x-custom", "kept");
    set(&mut h, "set-cookie", "a=1");
    set(&mut h, "set-cookie", "b=2");
    set(&mut h, "vary", "accept-encoding");
    set(
        &mut h,
        "access-control-allow-origin",
        "https://elsewhere.example",
    );
    set(&mut h, "access-control-allow-credentials", "true");
    set(&mut h, "connection", "x-hop-res");
    set(&mut h, "x-hop-res", "dropped");
    set(&mut h, "retry-after", "7");
    (StatusCode::IM_A_TEAPOT, h, axum::Json(echoed)).into_response()
}

/// A body sent in two pieces, the second `gap` after the first.
struct TwoPieces {
    first: Option<Bytes>,
    second: Option<Bytes>,
    gap: Pin<Box<tokio::time::Sleep>>,
}

impl HttpBody for TwoPieces {
    type Data = Bytes;
    type Error = std::convert::Infallible;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        if let Some(first) = self.first.take() {
            return Poll::Ready(Some(Ok(Frame::data(first))));
        }
        if self.second.is_none() {
            return Poll::Ready(None);
        }
        match self.gap.as_mut().poll(cx) {
            Poll::Ready(()) => Poll::Ready(self.second.take().map(|b| Ok(Frame::data(b)))),
            Poll::Pending => Poll::Pending,
        }
    }
}

async fn slow_stream() -> Response {
    Body::new(TwoPieces {
        first: Some(Bytes::from_static(b"first piece\n")),
        second: Some(Bytes::from_static(b"second piece\n")),
        gap: Box::pin(tokio::time::sleep(Duration::from_millis(1500))),
    })
    .into_response()
}

/// Serves the hand-made upstream on loopback; returns its base URL.
async fn hand_made_upstream() -> String {
    let app = Router::new()
        .route("/vision/echo/{*rest}", any(echo))
        .route("/vision/stream", any(slow_stream));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    format!("http://{addr}")
}

#[tokio::test]
async fn requests_go_upstream_with_only_the_allowed_headers_and_no_cookies_come_back() {
    let upstream = hand_made_upstream().await;
    let via = proxy(&upstream, &[]).await;
    let query = "client_key=k%20k&model_id=re_logo%2Cre_features_v4&image_url=http%3A%2F%2Fx%2Fa%20b.jpg&x=%2F";
    let res = client()
        .put(format!("{via}/vision/echo/a%20b/c?{query}"))
        .header("Origin", ORIGIN)
        .header("Cookie", "username-127-0-0-1-8888=jupyter-secret")
        .header("Authorization", "Bearer local-admin")
        .header("Referer", format!("{ORIGIN}/"))
        .header("Content-Type", "application/x-www-form-urlencoded")
        .header("X-Custom-Request", "yes")
        .header("Connection", "keep-alive, x-hop-req")
        .header("X-Hop-Req", "dropped")
        .header("Keep-Alive", "timeout=5")
        .body("client_key=k&image_base64=AAAA")
        .send()
        .await
        .unwrap();

    // The answer: status and headers as sent, hop-by-hop, CORS and
    // Set-Cookie aside (the API may not plant cookies on the page's host).
    assert_eq!(res.status(), 418);
    assert_cors_for_pages(&res);
    assert_eq!(header(&res, "x-custom").as_deref(), Some("kept"));
    assert_eq!(header(&res, "retry-after").as_deref(), Some("7"));
    assert_eq!(res.headers().get_all("set-cookie").iter().count(), 0);
    assert!(header(&res, "vary").unwrap().contains("accept-encoding"));
    assert_eq!(header(&res, "x-hop-res"), None);
    assert_eq!(header(&res, "access-control-allow-credentials"), None);

    // The request: method, path and query byte for byte, the body, its
    // length, and only the allow-listed headers: no cookie of another local
    // app, no Authorization, nothing naming the page.
    let seen: Value = body_json(res).await;
    assert_eq!(seen["method"], "PUT");
    assert_eq!(
        seen["path_and_query"],
        format!("/vision/echo/a%20b/c?{query}")
    );
    assert_eq!(seen["body"], "client_key=k&image_base64=AAAA");
    let h = &seen["headers"];
    assert_eq!(h["content-length"], "30");
    assert_eq!(h["transfer-encoding"], Value::Null);
    assert_eq!(h["content-type"], "application/x-www-form-urlencoded");
    for gone in [
        "origin",
        "referer",
        "x-hop-req",
        "keep-alive",
        "cookie",
        "authorization",
        "x-custom-request",
    ] {
        assert_eq!(h[gone], Value::Null, "{gone} was forwarded: {h}");
    }
    assert_eq!(
        h["host"],
        upstream.trim_start_matches("http://"),
        "its own Host"
    );

    // A GET carries no body, and no Content-Length or chunked encoding.
    let res = client()
        .get(format!("{via}/vision/echo/x"))
        .send()
        .await
        .unwrap();
    let seen: Value = body_json(res).await;
    assert_eq!(seen["method"], "GET");
    assert_eq!(seen["path_and_query"], "/vision/echo/x");
    assert_eq!(seen["headers"]["content-length"], Value::Null);
    assert_eq!(seen["headers"]["transfer-encoding"], Value::Null);
}

#[tokio::test]
async fn answers_stream_through_as_they_come() {
    let via = proxy(&hand_made_upstream().await, &[]).await;
    let started = Instant::now();
    let mut res = get_cross_origin(&format!("{via}/vision/stream")).await;
    assert_eq!(res.status(), 200);
    let first = res.chunk().await.unwrap().unwrap();
    let first_at = started.elapsed();
    assert_eq!(&first[..], b"first piece\n");
    assert!(
        first_at < Duration::from_millis(1000),
        "the first piece came only after {first_at:?}: the body was buffered"
    );
    let mut rest = Vec::new();
    while let Some(piece) = res.chunk().await.unwrap() {
        rest.extend_from_slice(&piece);
    }
    assert_eq!(rest, b"second piece\n");
    assert!(started.elapsed() >= Duration::from_millis(1400));
}
