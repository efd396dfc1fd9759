//! `--refuse-post`: an API that reads only the query string, for the page's
//! fallback from POST to GET; and the access log never holds a real key.

mod common;

use common::*;
use pacer_core::api::{multipredict_body, post_refused, Image};
use serde_json::Value;

#[tokio::test]
async fn refuse_post_answers_405_and_get_still_works() {
    let path = temp_path("refuse-post");
    let base = emulator(&["--refuse-post", "--access-log", path.to_str().unwrap()]).await;
    let c = client();
    let models = vec!["re_logo".to_string()];
    let res = c
        .post(format!("{base}/vision/v2/multipredict"))
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body(multipredict_body(
            "real-secret-key",
            &models,
            Image::Url("http://x/1.jpg"),
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 405);
    assert_eq!(res.headers()["allow"], "GET");
    let body = res.text().await.unwrap();
    assert!(
        post_refused(405, &body),
        "the page's check takes it as a refusal"
    );
    let res = c
        .get(predict_url(
            &base,
            "real-secret-key",
            &["re_logo"],
            "http://x/1.jpg",
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);

    let text = std::fs::read_to_string(&path).unwrap();
    let _ = std::fs::remove_file(&path);
    assert!(!text.contains("real-secret-key"), "{text}");
    let lines: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 2);
    assert_eq!(
        (lines[0]["method"].as_str(), lines[0]["status"].as_u64()),
        (Some("POST"), Some(405))
    );
    assert_eq!(lines[1]["status"], 200);
    assert_eq!(lines[0]["key"], lines[1]["key"], "one tag per key");
    assert!(lines[0]["key"].as_str().unwrap().starts_with("sha256:"));
}
