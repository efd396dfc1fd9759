//! Everything besides the API: sample images, health, the built page (or
//! the hint to build it), and HTTPS with HTTP/2.

mod common;

use clap::Parser;
use common::*;
use pacer_emulator::{start, Cli};

#[tokio::test]
async fn sample_images_are_decodable_jpegs_with_cors() {
    let base = emulator(&[]).await;
    let res = get_cross_origin(&format!("{base}/samples/img-0007.jpg")).await;
    assert_eq!(res.status(), 200);
    assert_eq!(header(&res, "content-type").as_deref(), Some("image/jpeg"));
    assert_eq!(
        header(&res, "access-control-allow-origin").as_deref(),
        Some("*")
    );
    let bytes = res.bytes().await.unwrap();
    assert_eq!(&bytes[..2], &[0xFF, 0xD8]);
    let mut decoder = jpeg_decoder::Decoder::new(&bytes[..]);
    let pixels = decoder.decode().expect("decodes");
    let info = decoder.info().unwrap();
    assert_eq!((info.width, info.height), (320, 240));
    assert_eq!(pixels.len(), 320 * 240 * 3);

    let again = client()
        .get(format!("{base}/samples/img-0007.jpg"))
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    assert_eq!(again, bytes, "deterministic");
    let missing = client()
        .get(format!("{base}/samples/img-7.jpg"))
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), 404);
}

#[tokio::test]
async fn healthz_and_missing_dist_hint() {
    let base = emulator(&[]).await;
    let health = client()
        .get(format!("{base}/healthz"))
        .send()
        .await
        .unwrap();
    assert_eq!(health.status(), 200);
    assert_eq!(health.text().await.unwrap(), "ok");
    let root = client().get(format!("{base}/")).send().await.unwrap();
    assert_eq!(root.status(), 200);
    assert!(root.text().await.unwrap().contains("trunk build"));
}

#[tokio::test]
async fn serves_the_built_page_with_index_fallback() {
    let dist = temp_path("dist");
    std::fs::create_dir_all(&dist).unwrap();
    std::fs::write(dist.join("index.html"), "<html>pacer page</html>").unwrap();
    std::fs::write(dist.join("app.js"), "console.log(1)").unwrap();
    let base = emulator(&["--dist", dist.to_str().unwrap()]).await;
    let c = client();
    assert_eq!(
        get_text(&format!("{base}/")).await,
        "<html>pacer page</html>"
    );
    assert_eq!(get_text(&format!("{base}/app.js")).await, "console.log(1)");
    let deep = c
        .get(format!("{base}/some/route"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(deep, "<html>pacer page</html>");
    let _ = std::fs::remove_dir_all(&dist);
}

#[tokio::test]
async fn https_speaks_http2() {
    let args = [
        "pacer-emulator",
        "--port",
        "0",
        "--tls-port",
        "0",
        "--latency-ms",
        "0",
        "--dist",
        "/nonexistent-dist",
    ];
    let running = start(Cli::try_parse_from(args).unwrap()).await.unwrap();
    let https = running.https.expect("https listener");
    let c = reqwest::Client::builder()
        .danger_accept_invalid_certs(true)
        .build()
        .unwrap();
    let base = format!("https://{https}");
    let res = c.get(format!("{base}/healthz")).send().await.unwrap();
    assert_eq!(res.version(), reqwest::Version::HTTP_2);
    assert_eq!(res.text().await.unwrap(), "ok");
    let url = predict_url(&base, "tls", &["re_roomtype_global_v2"], "http://x/a.jpg");
    let res = c.get(&url).send().await.unwrap();
    assert_eq!(res.status(), 200);
    assert!(header(&res, "x-ratelimit-limit-second").is_some());
}
