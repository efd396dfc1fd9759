//! Shared helpers of the emulator's integration tests: start an emulator
//! in-process on 127.0.0.1 port 0 with given flags, and a real HTTP client.

#![allow(dead_code)]

use clap::Parser;
use pacer_emulator::{start, Cli, Running};
use serde_json::Value;
use std::path::Path;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// The page origin the tests pretend to be.
pub const ORIGIN: &str = "http://127.0.0.1:9999";

/// A running emulator's base URL, e.g. `http://127.0.0.1:41234`.
pub async fn emulator(flags: &[&str]) -> String {
    format!("http://{}", start_emulator(flags).await.http)
}

/// Starts an emulator on port 0 without latency or page, with `flags` on top.
pub async fn start_emulator(flags: &[&str]) -> Running {
    let mut args = vec![
        "pacer-emulator",
        "--port",
        "0",
        "--latency-ms",
        "0",
        "--dist",
        "/nonexistent-dist",
    ];
    args.extend_from_slice(flags);
    start(Cli::try_parse_from(args).expect("flags parse"))
        .await
        .expect("emulator starts")
}

/// A plain reqwest client.
pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap()
}

/// The CORS preflight a cross-origin page sends before a `method` request
/// with a form body to `{base}/vision/v2/multipredict`.
pub async fn preflight(base: &str, method: &str) -> reqwest::Response {
    client()
        .request(
            reqwest::Method::OPTIONS,
            format!("{base}/vision/v2/multipredict"),
        )
        .header("Origin", ORIGIN)
        .header("Access-Control-Request-Method", method)
        .header("Access-Control-Request-Headers", "content-type")
        .send()
        .await
        .unwrap()
}

/// GETs `url` as a cross-origin page would (with an `Origin` header).
pub async fn get_cross_origin(url: &str) -> reqwest::Response {
    client()
        .get(url)
        .header("Origin", ORIGIN)
        .send()
        .await
        .unwrap()
}

/// GETs `url` and returns the body as text (panics on a transport error).
pub async fn get_text(url: &str) -> String {
    client()
        .get(url)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
}

pub fn predict_url(base: &str, key: &str, models: &[&str], image: &str) -> String {
    let models: Vec<String> = models.iter().map(|m| m.to_string()).collect();
    pacer_core::api::multipredict_url(base, key, &models, image)
}

/// Sleeps until just after the next wall-clock second starts, so that a
/// quick burst lands in one fixed window.
pub async fn align_to_next_second() {
    let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap();
    let into = Duration::from_nanos(u64::from(now.subsec_nanos()));
    tokio::time::sleep(Duration::from_secs(1) - into + Duration::from_millis(20)).await;
}

/// A header as text, if present.
pub fn header(res: &reqwest::Response, name: &str) -> Option<String> {
    res.headers()
        .get(name)
        .map(|v| v.to_str().unwrap().to_string())
}

/// A unique temporary file path.
pub fn temp_path(tag: &str) -> std::path::PathBuf {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    std::env::temp_dir().join(format!(
        "pacer-emulator-{tag}-{}-{nanos}",
        std::process::id()
    ))
}

/// The access log at `path`, one JSON value per line (empty if missing).
pub fn read_log(path: &Path) -> Vec<Value> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}
