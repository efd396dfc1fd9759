//! Fault injection over real HTTP: each fault at probability 1 does exactly
//! what it says (and the access log says so), a seeded mix replays, a 429
//! is never faulted, and `--xss-labels` puts hostile labels in valid JSON.

mod common;

use clap::{CommandFactory, Parser};
use common::*;
use pacer_core::api::{classify, ApiError, KNOWN_MODELS};
use pacer_emulator::faults::{Faults, NOT_JSON_BODY, XSS_LABELS};
use pacer_emulator::{start, Cli};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::io::{Read, Write};
use std::path::Path;
use std::time::{Duration, Instant};

/// A temporary access-log path and its flag pair.
fn log_flags(tag: &str) -> (std::path::PathBuf, String) {
    let path = temp_path(tag);
    let flag = path.to_str().unwrap().to_string();
    (path, flag)
}

fn url(base: &str, i: usize) -> String {
    predict_url(
        base,
        "demo",
        &["re_roomtype_global_v2", "re_logo"],
        &format!("http://x/{i}.jpg"),
    )
}

/// The log's `fault` fields, in order (`None` for null).
fn faults_of(log: &[Value]) -> Vec<Option<String>> {
    log.iter()
        .map(|l| l["fault"].as_str().map(String::from))
        .collect()
}

/// Sends `request` on a fresh socket to `addr` and reads until the server
/// closes it (an error on a 5 s read timeout or a reset).
async fn raw_exchange(
    addr: std::net::SocketAddr,
    request: &'static str,
) -> std::io::Result<String> {
    tokio::task::spawn_blocking(move || {
        let mut s = std::net::TcpStream::connect(addr)?;
        s.set_read_timeout(Some(Duration::from_secs(5)))?;
        s.write_all(request.as_bytes())?;
        let mut got = Vec::new();
        s.read_to_end(&mut got)?;
        Ok(String::from_utf8_lossy(&got).into_owned())
    })
    .await
    .unwrap()
}

/// Polls the access log until it has `n` lines (or 10 s passed).
async fn wait_for_lines(path: &Path, n: usize) -> Vec<Value> {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let log = read_log(path);
        if log.len() >= n || Instant::now() > deadline {
            return log;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn fail_5xx_answers_500_502_or_503_with_the_json_error_envelope() {
    let (path, log) = log_flags("fault-5xx");
    let base = emulator(&["--limiter", "none", "--fail-5xx", "1", "--access-log", &log]).await;
    let mut statuses = Vec::new();
    for i in 0..30 {
        let res = get_cross_origin(&url(&base, i)).await;
        let status = res.status().as_u16();
        assert!([500, 502, 503].contains(&status), "{status}");
        assert_eq!(
            header(&res, "access-control-allow-origin").as_deref(),
            Some("*")
        );
        assert_eq!(
            header(&res, "content-type").as_deref(),
            Some("application/json")
        );
        let body = res.text().await.unwrap();
        let raw: Value = serde_json::from_str(&body).unwrap();
        assert_eq!(raw["error"], "true", "{body}");
        assert!(raw["error_id"].is_string() && raw["correlation_id"].is_string());
        assert!(matches!(
            classify(status, &body, None),
            Err(ApiError::Server { status: s, message }) if s == status && !message.is_empty()
        ));
        statuses.push(status);
    }
    let kinds: BTreeSet<u16> = statuses.iter().copied().collect();
    assert_eq!(kinds, BTreeSet::from([500, 502, 503]), "all three are used");

    let lines = read_log(&path);
    let _ = std::fs::remove_file(&path);
    assert_eq!(lines.len(), 30);
    for (line, status) in lines.iter().zip(&statuses) {
        assert_eq!(line["fault"], "5xx", "{line}");
        assert_eq!(line["status"].as_u64(), Some(u64::from(*status)), "{line}");
    }
}

#[tokio::test]
async fn drop_closes_an_http1_connection_without_a_byte() {
    let (path, log) = log_flags("fault-drop-h1");
    let running = start_emulator(&["--drop", "1", "--access-log", &log]).await;
    let addr = running.http;
    // A raw socket: the request goes out, and the server closes without answering.
    let got = raw_exchange(
        addr,
        "GET /vision/v2/multipredict?client_key=k&model_id=re_logo&image_url=http://x/a.jpg \
         HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n",
    )
    .await;
    assert_eq!(
        got.expect("closed, not timed out"),
        "",
        "not a byte of answer"
    );
    // Every answer closes its connection, so no request rides a reused one
    // (which browsers would silently resend when dropped).
    let health = raw_exchange(addr, "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        .await
        .expect("answered, then closed");
    assert!(health.starts_with("HTTP/1.1 200"), "{health}");
    assert!(
        health
            .to_ascii_lowercase()
            .contains("\r\nconnection: close\r\n"),
        "{health}"
    );
    assert!(health.ends_with("ok"), "{health}");
    let base = format!("http://{}", start_emulator(&[]).await.http);
    let keep_alive = client()
        .get(format!("{base}/healthz"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        header(&keep_alive, "connection"),
        None,
        "keep-alive without --drop"
    );

    // And a real client sees a transport error, not an HTTP answer.
    let base = format!("http://{addr}");
    let err = client().get(url(&base, 1)).send().await.unwrap_err();
    assert!(!err.is_timeout() && !err.is_status(), "{err:?}");
    // The server is fine: the next connection works.
    assert_eq!(get_text(&format!("{base}/healthz")).await, "ok");

    let lines = read_log(&path);
    let _ = std::fs::remove_file(&path);
    assert_eq!(lines.len(), 2, "{lines:?}");
    for l in &lines {
        assert_eq!(
            (l["status"].as_u64(), l["fault"].as_str()),
            (Some(0), Some("drop"))
        );
    }
}

#[tokio::test]
async fn drop_resets_the_stream_on_http2_and_the_connection_lives_on() {
    let (path, log) = log_flags("fault-drop-h2");
    let running = start_emulator(&["--tls-port", "0", "--drop", "1", "--access-log", &log]).await;
    let base = format!("https://{}", running.https.unwrap());
    let c = reqwest::Client::builder()
        .danger_accept_invalid_certs(true)
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap();
    let health = c.get(format!("{base}/healthz")).send().await.unwrap();
    assert_eq!(health.version(), reqwest::Version::HTTP_2);
    for i in 0..3 {
        let err = c.get(url(&base, i)).send().await.unwrap_err();
        assert!(!err.is_timeout() && !err.is_status(), "{err:?}");
        // A stream reset, not a closed connection: the pooled h2 connection still answers.
        let ok = c.get(format!("{base}/healthz")).send().await.unwrap();
        assert_eq!(ok.version(), reqwest::Version::HTTP_2);
        assert_eq!(ok.text().await.unwrap(), "ok");
    }
    let lines = read_log(&path);
    let _ = std::fs::remove_file(&path);
    assert_eq!(lines.len(), 3, "{lines:?}");
    assert!(lines
        .iter()
        .all(|l| l["status"] == 0 && l["fault"] == "drop"));
}

#[tokio::test]
async fn slow_answers_outlast_a_client_timeout_and_are_still_logged() {
    let (path, log) = log_flags("fault-slow");
    let base = emulator(&["--slow", "1", "--slow-ms", "3000", "--access-log", &log]).await;
    let impatient = reqwest::Client::builder()
        .timeout(Duration::from_millis(300))
        .build()
        .unwrap();
    let t = Instant::now();
    let err = impatient.get(url(&base, 1)).send().await.unwrap_err();
    assert!(err.is_timeout(), "{err:?}");
    assert!(t.elapsed() < Duration::from_secs(2));
    // The client hung up: the line comes then, long before the 3 s, with status 0.
    let lines = wait_for_lines(&path, 1).await;
    let _ = std::fs::remove_file(&path);
    assert_eq!(lines.len(), 1, "logged when the client went away");
    assert_eq!(lines[0]["fault"], "slow");
    assert_eq!(lines[0]["status"], 0, "nothing was sent");
    let latency = lines[0]["latency_ms"].as_f64().unwrap();
    assert!((250.0..2_500.0).contains(&latency), "{latency}");

    // A patient client gets the real answer, late.
    let (path, log) = log_flags("fault-slow-patient");
    let base = emulator(&["--slow", "1", "--slow-ms", "400", "--access-log", &log]).await;
    let t = Instant::now();
    let res = client().get(url(&base, 2)).send().await.unwrap();
    assert_eq!(res.status(), 200);
    assert!(t.elapsed() >= Duration::from_millis(400));
    assert!(classify(200, &res.text().await.unwrap(), None).is_ok());
    let lines = read_log(&path);
    let _ = std::fs::remove_file(&path);
    assert_eq!(lines.len(), 1);
    assert_eq!(
        (lines[0]["status"].as_u64(), lines[0]["fault"].as_str()),
        (Some(200), Some("slow"))
    );
    assert!(lines[0]["latency_ms"].as_f64().unwrap() >= 400.0);
}

#[tokio::test]
async fn a_request_whose_client_goes_away_is_logged_without_a_fault_too() {
    // A tab closed mid-run: the limiter counted its requests, so the log
    // shows them (status 0), or its last arrivals would look like a stall.
    let (path, log) = log_flags("gone");
    let base = emulator(&["--latency-ms", "2000", "--access-log", &log]).await;
    let impatient = reqwest::Client::builder()
        .timeout(Duration::from_millis(300))
        .build()
        .unwrap();
    let err = impatient.get(url(&base, 1)).send().await.unwrap_err();
    assert!(err.is_timeout(), "{err:?}");
    let lines = wait_for_lines(&path, 1).await;
    let _ = std::fs::remove_file(&path);
    assert_eq!(lines.len(), 1, "logged when the client went away");
    assert_eq!(lines[0]["status"], 0, "nothing was sent");
    assert!(lines[0]["fault"].is_null());
}

#[tokio::test]
async fn bad_json_is_a_200_that_does_not_parse_as_the_contract() {
    let (path, log) = log_flags("fault-bad-json");
    let base = emulator(&["--limiter", "none", "--bad-json", "1", "--access-log", &log]).await;
    let mut kinds = BTreeMap::new();
    for i in 0..30 {
        let res = client().get(url(&base, i)).send().await.unwrap();
        assert_eq!(res.status(), 200);
        let content_type = header(&res, "content-type").unwrap();
        let body = res.text().await.unwrap();
        let err = classify(200, &body, None).unwrap_err();
        assert!(matches!(err, ApiError::Malformed { .. }), "{err:?}");
        let kind = if body == NOT_JSON_BODY {
            assert!(content_type.starts_with("text/html"));
            "not-json"
        } else if let Ok(v) = serde_json::from_str::<Value>(&body) {
            assert_eq!(content_type, "application/json");
            assert!(v["response"].get("solutions").is_none(), "{body}");
            "wrong-shape"
        } else {
            assert_eq!(content_type, "application/json");
            assert!(
                body.starts_with(r#"{"error":"false","response":{"solutions":{"#),
                "{body}"
            );
            "truncated"
        };
        *kinds.entry(kind).or_insert(0) += 1;
    }
    assert_eq!(kinds.len(), 3, "all three kinds are used: {kinds:?}");
    let lines = read_log(&path);
    let _ = std::fs::remove_file(&path);
    assert_eq!(lines.len(), 30);
    assert!(lines
        .iter()
        .all(|l| l["status"] == 200 && l["fault"] == "bad-json"));
}

/// What a client saw of one request, in the log's terms.
fn outcome(res: Result<(u16, String), reqwest::Error>) -> &'static str {
    match res {
        Err(e) => {
            assert!(!e.is_timeout(), "{e:?}");
            "drop"
        }
        Ok((500..=599, _)) => "5xx",
        Ok((200, body)) if classify(200, &body, None).is_err() => "bad-json",
        Ok((200, _)) => "ok",
        Ok((status, body)) => panic!("unexpected {status}: {body}"),
    }
}

/// Sends 400 requests one at a time to an emulator with `flags`; returns
/// the log's faults and what the client saw, in order.
async fn mix_run(flags: &[&str], tag: &str) -> (Vec<Option<String>>, Vec<&'static str>) {
    let (path, log) = log_flags(tag);
    let mut all = flags.to_vec();
    all.extend(["--limiter", "none", "--access-log", &log]);
    let base = emulator(&all).await;
    let c = client();
    let mut seen = Vec::new();
    for i in 0..400 {
        let res = match c.get(url(&base, i)).send().await {
            Ok(r) => {
                let status = r.status().as_u16();
                Ok((status, r.text().await.unwrap()))
            }
            Err(e) => Err(e),
        };
        seen.push(outcome(res));
    }
    let lines = read_log(&path);
    let _ = std::fs::remove_file(&path);
    assert_eq!(lines.len(), 400, "one line per request, no retries");
    (faults_of(&lines), seen)
}

#[tokio::test]
async fn a_seeded_mix_replays_and_matches_the_probabilities() {
    let flags = [
        "--fail-5xx",
        "0.1",
        "--drop",
        "0.1",
        "--slow",
        "0.1",
        "--slow-ms",
        "1",
        "--bad-json",
        "0.1",
        "--fault-seed",
        "42",
    ];
    let (faults, seen) = mix_run(&flags, "mix-a").await;
    let (again, seen_again) = mix_run(&flags, "mix-b").await;
    assert_eq!(faults, again, "same seed, same faults in the same order");
    assert_eq!(seen, seen_again);

    // What the client saw is what the log says was done (a slow answer is a good one).
    for (fault, saw) in faults.iter().zip(&seen) {
        let expected = match fault.as_deref() {
            None | Some("slow") => "ok",
            Some(f) => f,
        };
        assert_eq!(*saw, expected, "{faults:?}");
    }
    // One step of the seeded sequence per request: the library's own draws.
    let cli = Cli::try_parse_from(["pacer-emulator"].iter().chain(&flags)).unwrap();
    let sequence = Faults::new(cli.faults());
    let drawn: Vec<Option<String>> = (0..400)
        .map(|_| sequence.draw().map(|f| f.name().to_string()))
        .collect();
    assert_eq!(faults, drawn);

    // Roughly the probabilities: 40 expected of each, sd 6.
    let mut counts: BTreeMap<Option<&str>, usize> = BTreeMap::new();
    for f in &faults {
        *counts.entry(f.as_deref()).or_insert(0) += 1;
    }
    for f in ["5xx", "drop", "slow", "bad-json"] {
        let n = counts.get(&Some(f)).copied().unwrap_or(0);
        assert!((20..=60).contains(&n), "{f}: {n} of 400 ({counts:?})");
    }
    let clean = counts.get(&None).copied().unwrap_or(0);
    assert!((200..=280).contains(&clean), "{clean} of 400 clean");

    // Another seed, another sequence.
    let mut other = flags.to_vec();
    *other.last_mut().unwrap() = "43";
    let (different, _) = mix_run(&other, "mix-c").await;
    assert_ne!(faults, different);
}

#[tokio::test]
async fn a_429_or_a_bad_request_is_never_faulted() {
    let (path, log) = log_flags("fault-429");
    let base = emulator(&[
        "--limiter",
        "gcra",
        "--limit",
        "1",
        "--fail-5xx",
        "0.5",
        "--drop",
        "0.5",
        "--access-log",
        &log,
    ])
    .await;
    let c = client();
    let mut limited = 0;
    for i in 0..8 {
        match c.get(url(&base, i)).send().await {
            Ok(res) if res.status() == 429 => {
                limited += 1;
                let body = res.text().await.unwrap();
                assert_eq!(body, r#"{"message":"API rate limit exceeded"}"#);
            }
            Ok(res) => assert!(res.status().is_server_error(), "{}", res.status()),
            Err(e) => assert!(!e.is_timeout(), "{e:?}"),
        }
    }
    assert!(limited >= 5, "{limited} of 8 refused");
    // Not a 200 either way: a bad request stays a 400, a missing key a 401.
    let bad = predict_url(&base, "other", &["nope"], "http://x/a.jpg");
    assert_eq!(c.get(&bad).send().await.unwrap().status(), 400);
    let no_key = predict_url(&base, "", &["re_logo"], "http://x/a.jpg");
    assert_eq!(c.get(&no_key).send().await.unwrap().status(), 401);

    let lines = read_log(&path);
    let _ = std::fs::remove_file(&path);
    assert_eq!(lines.len(), 10);
    for l in &lines {
        match l["status"].as_u64().unwrap() {
            400 | 401 | 429 => assert!(l["fault"].is_null(), "{l}"),
            0 => assert_eq!(l["fault"], "drop"),
            _ => assert_eq!(l["fault"], "5xx"),
        }
    }
    assert_eq!(lines.iter().filter(|l| l["status"] == 429).count(), limited);
}

/// Every `"label"` string in `v`.
fn labels(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::Object(map) => {
            for (k, child) in map {
                match child {
                    Value::String(s) if k == "label" => out.push(s.clone()),
                    _ => labels(child, out),
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|i| labels(i, out)),
        _ => {}
    }
}

#[tokio::test]
async fn xss_labels_come_as_hostile_strings_in_valid_json() {
    let (path, log) = log_flags("fault-xss");
    let base = emulator(&["--limiter", "none", "--xss-labels", "--access-log", &log]).await;
    let mut all = Vec::new();
    for i in 0..5 {
        let image = format!("http://127.0.0.1/samples/img-000{i}.jpg");
        let body = get_text(&predict_url(&base, "demo", KNOWN_MODELS, &image)).await;
        let p = classify(200, &body, None).expect("valid contract JSON");
        assert_eq!(p.solutions.len(), KNOWN_MODELS.len());
        let raw: Value = serde_json::from_str(&body).unwrap();
        let mut found = Vec::new();
        labels(&raw["response"]["solutions"], &mut found);
        assert!(found.len() >= KNOWN_MODELS.len(), "{body}");
        assert!(
            found.iter().all(|l| XSS_LABELS.contains(&l.as_str())),
            "{body}"
        );
        // The parsed view carries them too, untouched.
        let room = &p.solutions[0];
        assert_eq!(room.model, "re_roomtype_global_v2");
        assert_eq!(room.top.as_ref().unwrap().label, XSS_LABELS[0]);
        assert_eq!(room.raw["predictions"][0]["label"], XSS_LABELS[0]);
        all.extend(found);
    }
    for hostile in [
        "<script>alert(1)</script>",
        "<img src=x onerror=alert(1)>",
        "\"><svg onload=alert(1)>",
    ] {
        assert!(all.iter().any(|l| l == hostile), "{hostile} is used");
    }
    let lines = read_log(&path);
    let _ = std::fs::remove_file(&path);
    assert!(lines
        .iter()
        .all(|l| l["status"] == 200 && l["fault"].is_null()));
}

#[tokio::test]
async fn fault_flags_are_validated_with_clear_errors() {
    let err = Cli::try_parse_from(["pacer-emulator", "--drop", "1.5"]).unwrap_err();
    assert!(err.to_string().contains("not a probability"), "{err}");
    let err = Cli::try_parse_from(["pacer-emulator", "--slow", "lots"]).unwrap_err();
    assert!(err.to_string().contains("not a number"), "{err}");
    let cli = Cli::try_parse_from([
        "pacer-emulator",
        "--port",
        "0",
        "--fail-5xx",
        "0.6",
        "--bad-json",
        "0.6",
    ])
    .unwrap();
    let err = start(cli).await.unwrap_err().to_string();
    assert!(err.contains("at most 1"), "{err}");

    let cli = Cli::try_parse_from(["pacer-emulator", "--seed", "5"]).unwrap();
    assert_eq!(cli.faults().seed, 5, "--fault-seed defaults to --seed");
    let cli = Cli::try_parse_from(["pacer-emulator", "--seed", "5", "--fault-seed", "9"]).unwrap();
    assert_eq!(cli.faults().seed, 9);
    assert_eq!(
        cli.faults().slow_after,
        Duration::from_secs(30),
        "--slow-ms default"
    );

    let help = Cli::command().render_long_help().to_string();
    for flag in [
        "--fail-5xx",
        "--drop",
        "--slow",
        "--slow-ms",
        "--bad-json",
        "--fault-seed",
        "--xss-labels",
    ] {
        assert!(help.contains(flag), "--help documents {flag}");
    }
}
