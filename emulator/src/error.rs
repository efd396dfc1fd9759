//! The API's error answer: a status and `pacer_core`'s error envelope,
//! with a fresh correlation id.

use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use pacer_core::api::envelope::ErrorEnvelope;

/// An error answer with the API's JSON envelope.
pub fn error(status: StatusCode, error_id: &str, message: &str) -> Response {
    let id = uuid::Uuid::new_v4().to_string();
    let body = ErrorEnvelope::new(error_id, message, &id).to_json();
    (status, [(header::CONTENT_TYPE, "application/json")], body).into_response()
}
