//! What a budgeted proxy adds to its answers: the team's policy, how long
//! this request was held, how many the proxy holds, and where the decision
//! was made; and its own 429 when a request would wait too long.

use crate::budget::{fields, Budget, Mode};
use crate::error::error;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::Response;
use std::sync::Arc;
use std::time::Duration;

/// Sets a header the proxy owns (its value is always valid text).
fn put(headers: &mut HeaderMap, name: &'static str, value: String) {
    if let Ok(value) = HeaderValue::from_str(&value) {
        headers.insert(name, value);
    }
}

/// The fields every answer of a budgeted proxy carries: the team policy,
/// how this request was held, how many are held now, and where the
/// decision was made. The API's own `RateLimit-Policy` is kept, the
/// team's appended to its list.
pub(crate) fn announce(headers: &mut HeaderMap, held: Option<(&Arc<Budget>, Duration, Mode)>) {
    let Some((budget, hold, mode)) = held else {
        return;
    };
    put(headers, fields::HOLD_MS, format!("{}", hold.as_millis()));
    policy_fields(headers, budget, mode);
}

/// The team's rate, the held count and the mode.
fn policy_fields(headers: &mut HeaderMap, budget: &Budget, mode: Mode) {
    let team = fields::policy(budget.rate());
    let policy = match headers.get(fields::POLICY).and_then(|v| v.to_str().ok()) {
        Some(api) if !api.is_empty() => format!("{api}, {team}"),
        _ => team,
    };
    put(headers, fields::POLICY, policy);
    put(headers, fields::RATE, fields::rate_text(budget.rate()));
    put(headers, fields::HELD, budget.held().to_string());
    let mode = match mode {
        Mode::Shared { proxies: None } => "shared".to_string(),
        Mode::Shared {
            proxies: Some(proxies),
        } => format!("shared; proxies={proxies}"),
        Mode::Local { share, proxies } => format!(
            "local; share={}; proxies={proxies}; reason=\"redis unreachable\"",
            fields::rate_text(share)
        ),
    };
    put(headers, fields::MODE, mode);
}

/// The budget's 429: `Retry-After`, the IETF fields, and the API's error shape.
pub(crate) fn refusal(budget: &Budget, retry: Duration, mode: Mode) -> Response {
    let secs = fields::retry_secs(retry);
    let message = format!(
        "The team budget of {}/s is taken for the next {} s: Pacer's proxy holds a request at most {} s",
        fields::rate_text(budget.rate()),
        secs,
        budget.max_wait().as_secs_f64(),
    );
    let mut res = error(
        StatusCode::TOO_MANY_REQUESTS,
        "team_budget_exceeded",
        &message,
    );
    let headers = res.headers_mut();
    put(headers, "retry-after", secs.to_string());
    put(headers, fields::STATE, fields::exhausted(retry));
    policy_fields(headers, budget, mode);
    res
}
