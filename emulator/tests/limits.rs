//! The limiters over real HTTP: fixed-window 429s with Kong headers, GCRA
//! 429s without, latency only for admitted requests, and CORS on 429s.

mod common;

use common::*;
use pacer_core::api::{classify, ApiError, RateHeaders};
use std::time::{Duration, Instant};

#[tokio::test]
async fn fixed_window_refuses_after_n_in_a_second_with_headers() {
    let base = emulator(&["--limit", "3", "--retry-after"]).await;
    let url = predict_url(&base, "fw", &["re_logo"], "http://x/a.jpg");
    let c = client();
    align_to_next_second().await;
    let mut seen = Vec::new();
    for _ in 0..4 {
        let res = c.get(&url).header("Origin", ORIGIN).send().await.unwrap();
        let h = RateHeaders::from_lookup(|n| header(&res, n));
        let allow_origin = header(&res, "access-control-allow-origin");
        let expose = header(&res, "access-control-expose-headers")
            .unwrap_or_default()
            .to_ascii_lowercase();
        let status = res.status().as_u16();
        seen.push((status, h.limit_second, h.remaining_second));
        assert_eq!(allow_origin.as_deref(), Some("*"), "CORS on {status}");
        assert!(
            expose.contains("x-ratelimit-remaining-second") && expose.contains("retry-after"),
            "{expose}"
        );
        if status == 429 {
            assert_eq!(h.retry_after.as_deref(), Some("1"));
            let body = res.text().await.unwrap();
            assert_eq!(body, r#"{"message":"API rate limit exceeded"}"#);
            assert_eq!(
                classify(429, &body, h.retry_after.as_deref()),
                Err(ApiError::RateLimited {
                    retry_after: Some(Duration::from_secs(1)),
                    message: "API rate limit exceeded".into()
                })
            );
        }
    }
    assert_eq!(
        seen,
        [
            (200, Some(3), Some(2)),
            (200, Some(3), Some(1)),
            (200, Some(3), Some(0)),
            (429, Some(3), Some(0))
        ]
    );
    // Another key has its own budget.
    let other = predict_url(&base, "other", &["re_logo"], "http://x/a.jpg");
    assert_eq!(c.get(&other).send().await.unwrap().status(), 200);
}

#[tokio::test]
async fn gcra_burst_zero_refuses_an_immediate_second_request_without_headers() {
    let base = emulator(&["--limiter", "gcra", "--limit", "1", "--retry-after"]).await;
    let url = predict_url(&base, "g", &["re_logo"], "http://x/a.jpg");
    let c = client();
    let first = c.get(&url).send().await.unwrap();
    assert_eq!(first.status(), 200);
    assert!(RateHeaders::from_lookup(|n| header(&first, n)).is_empty());
    let second = c.get(&url).header("Origin", ORIGIN).send().await.unwrap();
    assert_eq!(second.status(), 429);
    let h = RateHeaders::from_lookup(|n| header(&second, n));
    assert_eq!(
        h,
        RateHeaders {
            retry_after: Some("1".into()),
            ..RateHeaders::default()
        },
        "nginx-style: no rate headers, Retry-After as asked"
    );
    assert_eq!(
        header(&second, "access-control-allow-origin").as_deref(),
        Some("*")
    );
}

#[tokio::test]
async fn gcra_burst_lets_burst_plus_one_through() {
    let base = emulator(&["--limiter", "gcra", "--limit", "0.5", "--burst", "2"]).await;
    let url = predict_url(&base, "g", &["re_logo"], "http://x/a.jpg");
    let c = client();
    let mut statuses = Vec::new();
    for _ in 0..4 {
        statuses.push(c.get(&url).send().await.unwrap().status().as_u16());
    }
    assert_eq!(statuses, [200, 200, 200, 429]);
}

#[tokio::test]
async fn latency_applies_to_admitted_requests_only() {
    let base = emulator(&[
        "--limit",
        "1",
        "--latency-ms",
        "250",
        "--jitter-ms",
        "20",
        "--seed",
        "7",
    ])
    .await;
    let url = predict_url(&base, "lat", &["re_logo"], "http://x/a.jpg");
    let c = client();
    align_to_next_second().await;
    let t = Instant::now();
    assert_eq!(c.get(&url).send().await.unwrap().status(), 200);
    let admitted = t.elapsed();
    let t = Instant::now();
    assert_eq!(c.get(&url).send().await.unwrap().status(), 429);
    let refused = t.elapsed();
    assert!(admitted >= Duration::from_millis(230), "{admitted:?}");
    assert!(
        refused < Duration::from_millis(150),
        "429s are answered at once: {refused:?}"
    );
}

#[tokio::test]
async fn no_cors_on_429_strips_cors_from_429s_only() {
    let base = emulator(&["--limiter", "gcra", "--limit", "1", "--no-cors-on-429"]).await;
    let url = predict_url(&base, "n", &["re_logo"], "http://x/a.jpg");
    let c = client();
    let ok = c.get(&url).header("Origin", ORIGIN).send().await.unwrap();
    assert_eq!(ok.status(), 200);
    assert_eq!(
        header(&ok, "access-control-allow-origin").as_deref(),
        Some("*")
    );
    let refused = c.get(&url).header("Origin", ORIGIN).send().await.unwrap();
    assert_eq!(refused.status(), 429);
    let cors: Vec<_> = refused
        .headers()
        .keys()
        .filter(|k| k.as_str().starts_with("access-control-"))
        .collect();
    assert!(cors.is_empty(), "{cors:?}");
}

#[tokio::test]
async fn no_expose_headers_omits_the_expose_list() {
    let base = emulator(&["--no-expose-headers"]).await;
    let url = predict_url(&base, "e", &["re_logo"], "http://x/a.jpg");
    let res = get_cross_origin(&url).await;
    assert_eq!(res.status(), 200);
    assert_eq!(
        header(&res, "access-control-allow-origin").as_deref(),
        Some("*")
    );
    assert_eq!(header(&res, "access-control-expose-headers"), None);
    assert!(
        header(&res, "x-ratelimit-limit-second").is_some(),
        "sent, just not exposed"
    );
}

#[tokio::test]
async fn preflight_allows_get_and_post_from_any_origin() {
    let base = emulator(&[]).await;
    let res = preflight(&base, "POST").await;
    assert!(res.status().is_success());
    assert_eq!(
        header(&res, "access-control-allow-origin").as_deref(),
        Some("*")
    );
    let methods = header(&res, "access-control-allow-methods").unwrap();
    assert!(
        methods.contains("GET") && methods.contains("POST"),
        "{methods}"
    );
}

#[tokio::test]
async fn no_cors_sends_no_cors_headers_at_all() {
    let base = emulator(&["--no-cors"]).await;
    let url = predict_url(&base, "c", &["re_logo"], "http://x/a.jpg");
    let res = get_cross_origin(&url).await;
    assert_eq!(res.status(), 200, "the answer itself is unchanged");
    assert_eq!(header(&res, "access-control-allow-origin"), None);
    let preflight = client()
        .request(reqwest::Method::OPTIONS, &url)
        .header("Origin", ORIGIN)
        .header("Access-Control-Request-Method", "GET")
        .send()
        .await
        .unwrap();
    assert_eq!(header(&preflight, "access-control-allow-origin"), None);
}
