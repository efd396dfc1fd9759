//! The multipredict contract over real HTTP: success shapes, errors, POST
//! forms, and the access log.

mod common;

use common::*;
use pacer_core::api::{classify, multipredict_form, ApiError, KNOWN_MODELS};
use serde_json::Value;

#[tokio::test]
async fn success_answer_parses_with_the_core_contract() {
    let base = emulator(&[]).await;
    let url = predict_url(
        &base,
        "demo",
        &[
            "re_roomtype_global_v2",
            "re_logo",
            "re_condition_r1r6_global",
        ],
        "http://127.0.0.1/samples/img-0001.jpg",
    );
    let res = get_cross_origin(&url).await;
    assert_eq!(res.status(), 200);
    assert_eq!(
        header(&res, "access-control-allow-origin").as_deref(),
        Some("*")
    );
    let body = res.text().await.unwrap();
    let raw: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(raw["error"], "false");
    assert_eq!(raw["version"], "2");
    assert!(raw["time"].as_str().unwrap().ends_with('Z'));
    let p = classify(200, &body, None).expect("classifies as success");
    let models: Vec<&str> = p.solutions.iter().map(|s| s.model.as_str()).collect();
    assert_eq!(
        models,
        [
            "re_roomtype_global_v2",
            "re_logo",
            "re_condition_r1r6_global"
        ]
    );
    assert!(p.solutions[0].top.is_some());
    assert!(p.solutions[2].score.is_some());
    assert_eq!(p.correlation_id.map(|c| c.len()), Some(36));

    // Same image, same models: same predictions.
    let again = get_text(&url).await;
    assert_eq!(classify(200, &again, None).unwrap().solutions, p.solutions);
}

#[tokio::test]
async fn every_known_model_is_accepted() {
    let base = emulator(&[]).await;
    let url = predict_url(&base, "demo", KNOWN_MODELS, "https://example.test/a.jpg");
    let body = get_text(&url).await;
    assert_eq!(
        classify(200, &body, None).unwrap().solutions.len(),
        KNOWN_MODELS.len()
    );
}

#[tokio::test]
async fn errors_have_the_api_envelope_and_cors() {
    let base = emulator(&[]).await;
    let cases = [
        (
            predict_url(&base, "", &["re_logo"], "http://x/a.jpg"),
            401,
            "Invalid or missing client_key",
        ),
        (
            predict_url(&base, "k", &["re_logo", "foo"], "http://x/a.jpg"),
            400,
            "Invalid model_id: foo",
        ),
        (
            predict_url(&base, "k", &[], "http://x/a.jpg"),
            400,
            "Missing model_id",
        ),
        (
            predict_url(&base, "k", &["re_logo"], "ftp://x/a.jpg"),
            400,
            "Invalid image_url: ftp://x/a.jpg (must be an http(s) URL)",
        ),
        (
            format!("{base}/vision/v2/multipredict?client_key=k&model_id=re_logo"),
            400,
            "Missing image_url (or image_base64 in a POST)",
        ),
    ];
    for (url, status, message) in cases {
        let res = get_cross_origin(&url).await;
        assert_eq!(res.status(), status, "{url}");
        assert_eq!(
            header(&res, "access-control-allow-origin").as_deref(),
            Some("*"),
            "{url}"
        );
        let body = res.text().await.unwrap();
        let raw: Value = serde_json::from_str(&body).unwrap();
        assert_eq!(raw["error"], "true");
        assert!(raw["error_id"].is_string() && raw["correlation_id"].is_string());
        assert_eq!(
            classify(status, &body, None),
            Err(ApiError::Rejected {
                status,
                message: message.into()
            })
        );
    }
}

#[tokio::test]
async fn post_form_with_base64_works() {
    let base = emulator(&[]).await;
    let models = vec![
        "re_features_v4".to_string(),
        "re_exterior_styles".to_string(),
    ];
    let res = client()
        .post(format!("{base}/vision/v2/multipredict"))
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body(multipredict_form("demo", &models, "/9j/4AAQSkZJRgABAQ+=="))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let p = classify(200, &res.text().await.unwrap(), None).unwrap();
    assert_eq!(p.solutions.len(), 2);
    assert!(!p.solutions[0].detections.is_empty());
    assert!(p.solutions[1].top.is_some());
}

#[tokio::test]
async fn access_log_has_one_flushed_line_per_request() {
    let path = temp_path("access");
    let base = emulator(&["--access-log", path.to_str().unwrap(), "--limit", "2"]).await;
    let c = client();
    align_to_next_second().await;
    c.get(predict_url(&base, "demo", &["re_logo"], "http://x/1.jpg"))
        .send()
        .await
        .unwrap();
    c.get(predict_url(&base, "", &["re_logo"], "http://x/1.jpg"))
        .send()
        .await
        .unwrap();
    let form = multipredict_form("demo", &["re_logo".to_string()], "AAAA");
    c.post(format!("{base}/vision/v2/multipredict"))
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body(form)
        .send()
        .await
        .unwrap();
    c.get(predict_url(&base, "demo", &["re_logo"], "http://x/2.jpg"))
        .send()
        .await
        .unwrap();
    c.get(format!("{base}/healthz")).send().await.unwrap();

    let text = std::fs::read_to_string(&path).unwrap();
    let _ = std::fs::remove_file(&path);
    let lines: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 4, "{text}");
    let statuses: Vec<u64> = lines
        .iter()
        .map(|l| l["status"].as_u64().unwrap())
        .collect();
    assert_eq!(statuses, [200, 401, 200, 429]);
    assert_eq!(lines[0]["method"], "GET");
    assert_eq!(lines[0]["key"], "demo");
    assert_eq!(lines[0]["image"], "http://x/1.jpg");
    assert_eq!(lines[0]["models"], "re_logo");
    assert_eq!(lines[2]["method"], "POST");
    let image = lines[2]["image"].as_str().unwrap();
    assert!(image.starts_with("base64:") && image.len() == 23, "{image}");
    for l in &lines {
        let (a, e, lat) = (
            l["arrival_ms"].as_f64().unwrap(),
            l["end_ms"].as_f64().unwrap(),
            l["latency_ms"].as_f64().unwrap(),
        );
        assert!(a > 1.6e12 && e >= a && (e - a - lat).abs() < 1e-3, "{l}");
        assert!(
            a.fract() != 0.0 || e.fract() != 0.0,
            "sub-millisecond precision: {l}"
        );
    }
}
