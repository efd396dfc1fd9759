//! Reading a multipredict answer: status + body (+ `Retry-After`) into a
//! [`Prediction`] or an [`ApiError`], and each model's solution into a
//! [`Solution`]. Lenient about shapes (unknown ones are kept raw), strict
//! about the envelope. No I/O.

use super::headers::{parse_delta_seconds, parse_retry_after};
use super::{ApiError, BoundingBox, Detection, Label, Prediction, Solution};
use serde_json::{Map, Value};
use std::time::Duration;

/// Classifies one answer.
///
/// - 2xx with `{"error":"false","response":{"solutions":{..}}}` → [`Prediction`],
///   solutions in the answer's order.
/// - 2xx with `"error":"true"` → [`ApiError::Rejected`] carrying the API's message.
/// - 2xx whose body is not JSON, is cut short, or lacks `response.solutions`
///   → [`ApiError::Malformed`].
/// - 429 → [`ApiError::RateLimited`]; 5xx → [`ApiError::Server`]; any other
///   status → [`ApiError::Rejected`], with the body's `message` when it has one.
///
/// `retry_after` is the raw `Retry-After` header. Only its delta-seconds form
/// is understood here; a caller with a clock should use [`classify_at`] so
/// that an HTTP-date works too.
pub fn classify(
    status: u16,
    body: &str,
    retry_after: Option<&str>,
) -> Result<Prediction, ApiError> {
    let wait = retry_after.and_then(parse_delta_seconds);
    classify_with(status, body, wait)
}

/// [`classify`], with "now" (since the Unix epoch) so that an HTTP-date
/// `Retry-After` is understood as well.
pub fn classify_at(
    status: u16,
    body: &str,
    retry_after: Option<&str>,
    now_since_unix_epoch: Duration,
) -> Result<Prediction, ApiError> {
    let wait = retry_after.and_then(|v| parse_retry_after(v, now_since_unix_epoch));
    classify_with(status, body, wait)
}

fn classify_with(
    status: u16,
    body: &str,
    retry_after: Option<Duration>,
) -> Result<Prediction, ApiError> {
    match status {
        200..=299 => parse_success(status, body),
        429 => Err(ApiError::RateLimited {
            retry_after,
            message: body_message(body).unwrap_or_else(|| "API rate limit exceeded".into()),
        }),
        500..=599 => Err(ApiError::Server {
            status,
            message: message_or_reason(status, body),
        }),
        _ => Err(ApiError::Rejected {
            status,
            message: message_or_reason(status, body),
        }),
    }
}

fn parse_success(status: u16, body: &str) -> Result<Prediction, ApiError> {
    let value: Value = serde_json::from_str(body).map_err(|e| malformed_json(body, &e))?;
    let Value::Object(top) = value else {
        return Err(malformed("the answer is JSON but not an object"));
    };
    if is_true(top.get("error")) {
        return Err(ApiError::Rejected {
            status,
            message: string_field(&top, "message")
                .unwrap_or_else(|| "the API reported an error".into()),
        });
    }
    let solutions = top
        .get("response")
        .and_then(|r| r.get("solutions"))
        .and_then(Value::as_object)
        .ok_or_else(|| malformed("the answer has no response.solutions object"))?;
    Ok(Prediction {
        solutions: solutions
            .iter()
            .map(|(model, raw)| parse_solution(model, raw))
            .collect(),
        correlation_id: top.get("correlation_id").and_then(id_text),
    })
}

/// Reads one model's solution. Never fails: what is not understood stays
/// `None`/empty and the whole value is kept in [`Solution::raw`].
pub fn parse_solution(model: &str, raw: &Value) -> Solution {
    Solution {
        model: model.to_string(),
        top: raw.get("top_prediction").and_then(parse_label),
        detections: raw
            .get("detections")
            .and_then(Value::as_array)
            .map(|ds| ds.iter().filter_map(parse_detection).collect())
            .unwrap_or_default(),
        score: raw.get("score").and_then(number),
        raw: raw.clone(),
    }
}

fn parse_label(v: &Value) -> Option<Label> {
    let label = match v {
        Value::String(s) => {
            return Some(Label {
                label: s.clone(),
                confidence: None,
            })
        }
        _ => v.get("label")?.as_str()?.to_string(),
    };
    Some(Label {
        label,
        confidence: v.get("confidence").and_then(number),
    })
}

fn parse_detection(v: &Value) -> Option<Detection> {
    let label = v.get("label")?.as_str()?.to_string();
    let details = v
        .get("details")
        .and_then(Value::as_array)
        .map(|ds| {
            ds.iter()
                .filter_map(|d| parse_label(d).map(|l| l.label))
                .collect()
        })
        .unwrap_or_default();
    let bounding_box = v.get("bounding_box").and_then(|b| {
        Some(BoundingBox {
            top_left_x: b.get("top_left_x").and_then(number)?,
            top_left_y: b.get("top_left_y").and_then(number)?,
            bottom_right_x: b.get("bottom_right_x").and_then(number)?,
            bottom_right_y: b.get("bottom_right_y").and_then(number)?,
        })
    });
    Some(Detection {
        label,
        details,
        bounding_box,
    })
}

/// A number, also when sent as a numeric string.
fn number(v: &Value) -> Option<f64> {
    match v {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// `error` is the string "true"/"false" in this API; accept a JSON bool too.
fn is_true(v: Option<&Value>) -> bool {
    match v {
        Some(Value::String(s)) => s.eq_ignore_ascii_case("true"),
        Some(Value::Bool(b)) => *b,
        _ => false,
    }
}

fn id_text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Null => None,
        other => Some(other.to_string()),
    }
}

fn string_field(obj: &Map<String, Value>, key: &str) -> Option<String> {
    obj.get(key)
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(String::from)
}

/// The `message` of a JSON error body, if the body is one.
fn body_message(body: &str) -> Option<String> {
    match serde_json::from_str::<Value>(body).ok()? {
        Value::Object(obj) => string_field(&obj, "message"),
        _ => None,
    }
}

/// The body's `message`, else the status's reason phrase.
fn message_or_reason(status: u16, body: &str) -> String {
    body_message(body).unwrap_or_else(|| reason(status).to_string())
}

fn reason(status: u16) -> &'static str {
    match status {
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        408 => "Request Timeout",
        413 => "Payload Too Large",
        500 => "Internal Server Error",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        100..=199 | 300..=399 => "unexpected status",
        _ => "request failed",
    }
}

fn malformed(detail: &str) -> ApiError {
    ApiError::Malformed {
        detail: detail.to_string(),
    }
}

fn malformed_json(body: &str, err: &serde_json::Error) -> ApiError {
    use serde_json::error::Category;
    let detail = match err.classify() {
        _ if body.trim().is_empty() => "the answer is empty".to_string(),
        Category::Eof => format!("the answer's JSON is cut short ({err})"),
        _ => {
            let start: String = body.trim().chars().take(40).collect();
            format!("the answer is not JSON (starts with {start:?})")
        }
    };
    ApiError::Malformed { detail }
}

#[cfg(test)]
mod tests;
