//! Table tests for [`super::classify`] and solution parsing.

use super::*;
use serde_json::json;

fn ok(solutions: Value) -> String {
    json!({"error": "false", "response": {"solutions": solutions}, "time": "t", "correlation_id": "c-1", "version": "2"})
        .to_string()
}

#[test]
fn success_keeps_answer_order_and_shapes() {
    let body = ok(json!({
        "re_roomtype_global_v2": {
            "top_prediction": {"label": "kitchen", "confidence": 0.9},
            "predictions": [{"label": "kitchen", "confidence": 0.9}, {"label": "dining_room", "confidence": 0.05}]
        },
        "re_features_v4": {"detections": [{"label": "kitchen_island", "details": [{"label": "granite"}, {"label": "breakfast_bar"}]}]},
        "re_logo": {"detections": [{"label": "remax", "bounding_box": {
            "top_left_x": 0.1, "top_left_y": 0.2, "bottom_right_x": 0.3, "bottom_right_y": 0.4}}]},
        "re_condition_r1r6_global": {"score": 3.5, "top_prediction": {"label": "r3", "confidence": 0.7}},
        "a_new_model": {"whatever": [1, 2, 3]},
        "weird": "not an object"
    }));
    let p = classify(200, &body, None).expect("success");
    assert_eq!(p.correlation_id.as_deref(), Some("c-1"));
    let names: Vec<&str> = p.solutions.iter().map(|s| s.model.as_str()).collect();
    assert_eq!(
        names,
        [
            "re_roomtype_global_v2",
            "re_features_v4",
            "re_logo",
            "re_condition_r1r6_global",
            "a_new_model",
            "weird"
        ]
    );
    let s = &p.solutions;
    assert_eq!(
        s[0].top,
        Some(Label {
            label: "kitchen".into(),
            confidence: Some(0.9)
        })
    );
    assert_eq!(s[1].detections[0].label, "kitchen_island");
    assert_eq!(s[1].detections[0].details, ["granite", "breakfast_bar"]);
    assert_eq!(
        s[2].detections[0].bounding_box,
        Some(BoundingBox {
            top_left_x: 0.1,
            top_left_y: 0.2,
            bottom_right_x: 0.3,
            bottom_right_y: 0.4
        })
    );
    assert_eq!(s[3].score, Some(3.5));
    assert_eq!(s[3].top.as_ref().map(|l| l.label.as_str()), Some("r3"));
    for unknown in &s[4..] {
        assert_eq!(
            (unknown.top.clone(), unknown.detections.len(), unknown.score),
            (None, 0, None)
        );
    }
    assert_eq!(s[4].raw, json!({"whatever": [1, 2, 3]}));
    assert_eq!(s[5].raw, json!("not an object"));
}

/// Status, body, `Retry-After`, and the expected classification.
type Case<'a> = (u16, &'a str, Option<&'a str>, Result<Prediction, ApiError>);

#[test]
fn error_table() {
    let rl = |retry_after, message: &str| {
        Err::<Prediction, _>(ApiError::RateLimited {
            retry_after,
            message: message.into(),
        })
    };
    let cases: Vec<Case> = vec![
        (
            429,
            r#"{"message":"API rate limit exceeded"}"#,
            Some("1"),
            rl(Some(Duration::from_secs(1)), "API rate limit exceeded"),
        ),
        (429, "", None, rl(None, "API rate limit exceeded")),
        (
            429,
            r#"{"message":"slow down"}"#,
            Some("Wed, 21 Oct 2015 07:28:00 GMT"),
            rl(None, "slow down"),
        ),
        (
            400,
            r#"{"error":"true","error_id":"x","message":"Invalid model_id: foo","correlation_id":"c"}"#,
            None,
            Err(ApiError::Rejected {
                status: 400,
                message: "Invalid model_id: foo".into(),
            }),
        ),
        (
            401,
            "<html>nope</html>",
            None,
            Err(ApiError::Rejected {
                status: 401,
                message: "Unauthorized".into(),
            }),
        ),
        (
            503,
            "",
            None,
            Err(ApiError::Server {
                status: 503,
                message: "Service Unavailable".into(),
            }),
        ),
        (
            500,
            r#"{"message":"boom"}"#,
            None,
            Err(ApiError::Server {
                status: 500,
                message: "boom".into(),
            }),
        ),
        (
            200,
            r#"{"error":"true","message":"Image could not be downloaded"}"#,
            None,
            Err(ApiError::Rejected {
                status: 200,
                message: "Image could not be downloaded".into(),
            }),
        ),
    ];
    for (status, body, retry_after, want) in cases {
        assert_eq!(
            classify(status, body, retry_after),
            want,
            "status {status} body {body:?}"
        );
    }
}

#[test]
fn classify_at_understands_http_dates() {
    let now = Duration::from_secs(1_445_412_480 - 3);
    let got = classify_at(429, "", Some("Wed, 21 Oct 2015 07:28:00 GMT"), now);
    assert_eq!(
        got,
        Err(ApiError::RateLimited {
            retry_after: Some(Duration::from_secs(3)),
            message: "API rate limit exceeded".into()
        })
    );
}

#[test]
fn malformed_table() {
    let full = ok(json!({"re_logo": {"detections": []}}));
    let cases: &[(&str, &str)] = &[
        ("<html>Bad gateway</html>", "not JSON"),
        (&full[..full.len() / 2], "cut short"),
        ("", "empty"),
        ("[1,2]", "not an object"),
        (
            r#"{"error":"false","response":{}}"#,
            "no response.solutions",
        ),
        (
            r#"{"error":"false","response":{"solutions":[]}}"#,
            "no response.solutions",
        ),
    ];
    for (body, needle) in cases {
        match classify(200, body, None) {
            Err(ApiError::Malformed { detail }) => {
                assert!(detail.contains(needle), "{body:?}: {detail}")
            }
            other => panic!("{body:?}: expected Malformed, got {other:?}"),
        }
    }
}

#[test]
fn error_bool_and_numeric_strings_are_tolerated() {
    let body = json!({"error": false, "response": {"solutions": {"m": {"score": "4.25"}}}, "correlation_id": 7}).to_string();
    let p = classify(200, &body, None).unwrap();
    assert_eq!(p.solutions[0].score, Some(4.25));
    assert_eq!(p.correlation_id.as_deref(), Some("7"));
}
