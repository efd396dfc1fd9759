//! `GET|POST /vision/v2/multipredict`: arrival time first, then the key
//! (401), the key's limiter (429 at once), the parameters (400), the
//! injected fault if any (only for what would be a 200), the configured
//! latency, and the deterministic answer; one access-log line per request.
//! Answers follow `pacer_core::api`'s contract, faults aside.

use crate::access_log::{since_epoch, LoggedRequest};
use crate::error::error;
use crate::faults::{self, Fault};
use crate::predict;
use crate::state::AppState;
use axum::body::to_bytes;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use pacer_core::api::KNOWN_MODELS;
use pacer_core::limiter::Admission;
use serde_json::{json, Map, Value};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

/// Largest accepted POST body (a base64 image).
const MAX_BODY: usize = 32 * 1024 * 1024;

/// The request's parameters, from the query string and (POST) the form body.
#[derive(Default, Debug)]
struct Params {
    client_key: String,
    model_id: Option<String>,
    image_url: Option<String>,
    image_base64: Option<String>,
}

impl Params {
    fn absorb(&mut self, form: &[u8]) {
        for (name, value) in form_urlencoded::parse(form) {
            match &*name {
                "client_key" => self.client_key = value.trim().to_string(),
                "model_id" => self.model_id = Some(value.into_owned()),
                "image_url" => self.image_url = Some(value.trim().to_string()),
                "image_base64" => self.image_base64 = Some(value.into_owned()),
                _ => {}
            }
        }
    }

    /// What identifies the image: its URL or its base64 body.
    fn image(&self) -> &str {
        match (&self.image_base64, &self.image_url) {
            (Some(b), _) if !b.is_empty() => b,
            (_, Some(u)) => u,
            _ => "",
        }
    }

    /// The image as the access log shows it.
    fn image_for_log(&self) -> String {
        match &self.image_base64 {
            Some(b) if !b.is_empty() => predict::base64_tag(b),
            _ => self.image_url.clone().unwrap_or_default(),
        }
    }
}

/// The multipredict handler (GET and POST).
pub async fn multipredict(State(state): State<Arc<AppState>>, req: Request) -> Response {
    // Taken before anything else, before any await: the limiter decides on this.
    let arrival = since_epoch();
    let method = req.method().clone();
    let mut params = Params::default();
    params.absorb(req.uri().query().unwrap_or("").as_bytes());
    let mut too_large = false;
    if method == Method::POST {
        match to_bytes(req.into_body(), MAX_BODY).await {
            Ok(body) => params.absorb(&body),
            Err(_) => too_large = true,
        }
    }
    let seen = Seen {
        state: &state,
        method,
        params,
        arrival,
    };
    if state.refuse_post && seen.method == Method::POST {
        let mut headers = HeaderMap::new();
        headers.insert(
            axum::http::header::ALLOW,
            axum::http::HeaderValue::from_static("GET"),
        );
        let res = error(
            StatusCode::METHOD_NOT_ALLOWED,
            "method_not_allowed",
            "This API takes GET only",
        );
        return seen.finish(headers, res, None);
    }
    if too_large {
        let res = error(
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
            "The request body is too large",
        );
        return seen.finish(HeaderMap::new(), res, None);
    }

    if seen.params.client_key.is_empty() {
        let res = error(
            StatusCode::UNAUTHORIZED,
            "invalid_client_key",
            "Invalid or missing client_key",
        );
        return seen.finish(HeaderMap::new(), res, None);
    }

    let decision = state.limits.admit(&seen.params.client_key, arrival);
    let headers = state.limits.style.headers(&decision, arrival);
    if decision.over_cap {
        let status = StatusCode::from_u16(state.limits.style.cap_status)
            .unwrap_or(StatusCode::TOO_MANY_REQUESTS);
        let res = (
            status,
            Json(json!({"message": "Too many requests in flight"})),
        );
        return seen.finish(headers, res, None);
    }
    if let Admission::Rejected { .. } = decision.admission {
        let res = (
            StatusCode::TOO_MANY_REQUESTS,
            Json(json!({"message": "API rate limit exceeded"})),
        );
        return seen.finish(headers, res, None);
    }
    // Counts against the concurrency cap until the answer is made (or the
    // client goes away and this future is dropped).
    let _slot = decision.slot;

    let answer = answer(&seen.params, state.faults.config().xss_labels);
    let latency = state.latency();
    let good = match answer {
        Ok(good) => good,
        Err((error_id, message)) => {
            let unanswered = Unanswered::new(&seen, None);
            tokio::time::sleep(latency).await;
            unanswered.disarm();
            let res = error(StatusCode::BAD_REQUEST, error_id, &message);
            return seen.finish(headers, res, None);
        }
    };
    // Only what would be a 200 takes a step of the fault sequence.
    let fault = state.faults.draw();
    let delay = match fault {
        Some(Fault::Slow) => state.faults.config().slow_after,
        _ => latency,
    };
    let unanswered = Unanswered::new(&seen, fault);
    tokio::time::sleep(delay).await;
    unanswered.disarm();
    match fault {
        None => seen.finish(headers, Json(good), None),
        Some(fault) => seen.finish(headers, faults::answer(fault, good), Some(fault)),
    }
}

/// A request as the access log shows it, known before its answer.
struct Seen<'a> {
    state: &'a AppState,
    method: Method,
    params: Params,
    arrival: Duration,
}

impl Seen<'_> {
    /// Writes the request's access-log line, ending now.
    fn log(&self, status: u16, fault: Option<Fault>) {
        let Some(log) = &self.state.access_log else {
            return;
        };
        let request = LoggedRequest {
            arrival: self.arrival,
            method: self.method.as_str(),
            key: &self.params.client_key,
            image: &self.params.image_for_log(),
            models: self.params.model_id.as_deref().unwrap_or(""),
        };
        log.record(&request, status, fault.map(Fault::name));
    }

    /// Logs the request and builds the response with the rate headers (a
    /// dropped one is logged with status 0: nothing is sent).
    fn finish(&self, headers: HeaderMap, res: impl IntoResponse, fault: Option<Fault>) -> Response {
        let mut res = res.into_response();
        res.headers_mut().extend(headers);
        let status = match fault {
            Some(Fault::Drop) => 0,
            _ => res.status().as_u16(),
        };
        self.log(status, fault);
        res
    }
}

/// Logs an admitted request with status 0 if it is dropped while waiting
/// for its answer (the client went away: its timeout fired, or its tab was
/// closed), with its fault if it had one. The limiter counted it, so the
/// log must show it: otherwise a closed tab's last requests vanish from
/// the arrivals and look like a stall.
struct Unanswered<'a> {
    seen: &'a Seen<'a>,
    fault: Option<Fault>,
    armed: bool,
}

impl<'a> Unanswered<'a> {
    /// Armed until [`Unanswered::disarm`].
    fn new(seen: &'a Seen<'a>, fault: Option<Fault>) -> Self {
        Self {
            seen,
            fault,
            armed: true,
        }
    }

    /// The answer is ready: nothing to log here.
    fn disarm(mut self) {
        self.armed = false;
    }
}

impl Drop for Unanswered<'_> {
    fn drop(&mut self) {
        if self.armed {
            self.seen.log(0, self.fault);
        }
    }
}

/// The body of an admitted request's 200 (with `xss_labels`, every label
/// replaced by a hostile string), or the `error_id` and message of its 400.
fn answer(params: &Params, xss_labels: bool) -> Result<Value, (&'static str, String)> {
    let models = models(params.model_id.as_deref()).map_err(|m| ("invalid_model_id", m))?;
    check_image(params).map_err(|m| ("invalid_image", m))?;
    let image = params.image();
    let mut solutions = Value::Object(
        models
            .into_iter()
            .filter_map(|m| predict::solution(&m, image).map(|s| (m, s)))
            .collect::<Map<String, Value>>(),
    );
    if xss_labels {
        faults::hostile_labels(&mut solutions);
    }
    Ok(json!({
        "error": "false",
        "response": {"solutions": solutions},
        "time": humantime::format_rfc3339_millis(SystemTime::now()).to_string(),
        "correlation_id": uuid::Uuid::new_v4().to_string(),
        "version": "2",
    }))
}

/// The requested models, in order, without repeats; every one must be known.
fn models(model_id: Option<&str>) -> Result<Vec<String>, String> {
    let mut models: Vec<String> = Vec::new();
    for m in model_id
        .unwrap_or("")
        .split(',')
        .map(str::trim)
        .filter(|m| !m.is_empty())
    {
        if !KNOWN_MODELS.contains(&m) {
            return Err(format!("Invalid model_id: {m}"));
        }
        if !models.iter().any(|x| x == m) {
            models.push(m.to_string());
        }
    }
    if models.is_empty() {
        return Err("Missing model_id".to_string());
    }
    Ok(models)
}

fn check_image(params: &Params) -> Result<(), String> {
    if params
        .image_base64
        .as_deref()
        .is_some_and(|b| !b.is_empty())
    {
        return Ok(());
    }
    let url = params.image_url.as_deref().unwrap_or("");
    if url.is_empty() {
        return Err("Missing image_url (or image_base64 in a POST)".to_string());
    }
    let rest = url
        .strip_prefix("http://")
        .or_else(|| url.strip_prefix("https://"));
    match rest {
        Some(rest) if !rest.is_empty() && !rest.starts_with('/') => Ok(()),
        _ => Err(format!("Invalid image_url: {url} (must be an http(s) URL)")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A `model_id` parameter and the models (or message) it should give.
    type ModelsCase<'a> = (Option<&'a str>, Result<Vec<&'a str>, &'a str>);

    #[test]
    fn models_table() {
        let cases: &[ModelsCase] = &[
            (Some("re_logo"), Ok(vec!["re_logo"])),
            (
                Some(" re_logo , re_features_v4,re_logo,"),
                Ok(vec!["re_logo", "re_features_v4"]),
            ),
            (Some("re_logo,foo"), Err("Invalid model_id: foo")),
            (Some(""), Err("Missing model_id")),
            (None, Err("Missing model_id")),
        ];
        for (input, want) in cases {
            let want = want
                .clone()
                .map(|v| v.into_iter().map(String::from).collect())
                .map_err(String::from);
            assert_eq!(models(*input), want, "{input:?}");
        }
    }

    #[test]
    fn image_table() {
        let url = |u: &str| Params {
            image_url: Some(u.into()),
            ..Params::default()
        };
        assert!(check_image(&url("http://x/a.jpg")).is_ok());
        assert!(check_image(&url("https://x")).is_ok());
        for bad in [
            "",
            "ftp://x/a.jpg",
            "http://",
            "https:///a",
            "file:///etc/passwd",
            "x",
        ] {
            assert!(check_image(&url(bad)).is_err(), "{bad}");
        }
        let b64 = Params {
            image_base64: Some("AAAA".into()),
            ..Params::default()
        };
        assert!(check_image(&b64).is_ok());
        assert_eq!(b64.image_for_log(), predict::base64_tag("AAAA"));
    }
}
