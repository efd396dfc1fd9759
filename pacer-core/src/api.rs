//! The vision v2 multipredict contract: request building,
//! response and header parsing, error classification. Shared by the app
//! (which sends and parses) and the emulator (which answers).
//!
//! Pure: no I/O and no clock. Where "now" matters (an HTTP-date
//! `Retry-After`) the caller passes it in.
//!
//! - [`request`]: [`multipredict_url`], [`multipredict_form`].
//! - [`response`]: [`classify`] turns a status and body into a
//!   [`Prediction`] or an [`ApiError`].
//! - [`headers`]: [`RateHeaders`], [`parse_retry_after`], [`EXPOSED_HEADERS`].
//! - [`error`]: what an [`ApiError`] means to a user ([`ApiError::is_retryable`], `Display`).
//! - [`team`]: what a team-budget proxy says of the budget ([`TeamBudget`]).

use serde::{Deserialize, Serialize};
use std::time::Duration;

pub mod envelope;
pub mod error;
pub mod headers;
pub mod ietf;
pub mod quota;
pub mod request;
pub mod response;
pub mod scrub;
pub mod team;
pub mod windows;

pub use headers::{parse_retry_after, RateHeaders, EXPOSED_HEADERS};
pub use request::{
    multipredict_body, multipredict_form, multipredict_post_url, multipredict_url, post_refused,
    Image, Method, MULTIPREDICT_PATH,
};
pub use response::{classify, classify_at, parse_solution};
pub use scrub::scrub_secrets;
pub use team::{TeamBudget, TeamMode};

/// The models the vision v2 API (and the emulator) know, in a sensible
/// display order.
pub const KNOWN_MODELS: &[&str] = &[
    "re_roomtype_global_v2",
    "re_exterior_styles",
    "re_features_v4",
    "re_logo",
    "re_compliance_v2",
    "re_condition_r1r6_global",
];

/// One model's answer, reduced to what a row shows; `raw` keeps all of it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Solution {
    /// The model id, e.g. `re_roomtype_global_v2`.
    pub model: String,
    /// Classification models: the top label.
    pub top: Option<Label>,
    /// Feature / logo models: what was detected.
    pub detections: Vec<Detection>,
    /// Condition models: the score.
    pub score: Option<f64>,
    /// The solution exactly as received (unknown shapes are kept here).
    pub raw: serde_json::Value,
}

/// A label with its confidence (0..1) when the API gives one.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Label {
    /// The label text. Render as text only: it comes from the network.
    pub label: String,
    /// Confidence in 0..1.
    pub confidence: Option<f64>,
}

/// Corners of a box in 0..1 image coordinates.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct BoundingBox {
    /// Left edge.
    pub top_left_x: f64,
    /// Top edge.
    pub top_left_y: f64,
    /// Right edge.
    pub bottom_right_x: f64,
    /// Bottom edge.
    pub bottom_right_y: f64,
}

/// One detection of a features or logo model.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Detection {
    /// What was detected.
    pub label: String,
    /// Sub-labels (`details[].label`).
    pub details: Vec<String>,
    /// Where, for logo models.
    pub bounding_box: Option<BoundingBox>,
}

/// A successful multipredict answer.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Prediction {
    /// One entry per model in the answer, in the answer's order.
    pub solutions: Vec<Solution>,
    /// The API's correlation id.
    pub correlation_id: Option<String>,
}

/// Why a request did not produce a [`Prediction`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum ApiError {
    /// 429 (or a CORS-opaque failure treated as possibly rate-limited).
    RateLimited {
        /// From `Retry-After`, when the server said.
        retry_after: Option<Duration>,
        /// The API's message.
        message: String,
    },
    /// 5xx: worth retrying.
    Server {
        /// HTTP status.
        status: u16,
        /// The API's message, or the status text.
        message: String,
    },
    /// Any other 4xx: retrying will not help.
    Rejected {
        /// HTTP status.
        status: u16,
        /// The API's message.
        message: String,
    },
    /// 200 with a body that is not the contract's JSON.
    Malformed {
        /// What was wrong.
        detail: String,
    },
    /// The request never got an answer (refused, dropped, CORS-blocked).
    Network {
        /// The browser's words.
        detail: String,
    },
    /// No answer within the timeout.
    Timeout,
}
