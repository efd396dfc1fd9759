//! The API's error envelope: what every refusal and failure of the vision
//! v2 API (and of the emulator and proxy that stand in for it) carries as
//! its JSON body, `{"error":"true","error_id":…,"message":…,"correlation_id":…}`.
//! `error` is the string `"true"`, as the real API sends it.
//!
//! Pure: the caller supplies the correlation id (the servers draw a UUID).

use serde::{Deserialize, Serialize};

/// One error answer's body.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorEnvelope {
    /// Always `"true"` in an error answer.
    pub error: String,
    /// A stable, machine-readable reason (`"invalid_client_key"`, `"proxy_upstream_timeout"`).
    pub error_id: String,
    /// What a person reads.
    pub message: String,
    /// Names this answer in the server's logs.
    pub correlation_id: String,
}

impl ErrorEnvelope {
    /// The envelope for `error_id` and `message`, named `correlation_id`.
    pub fn new(error_id: &str, message: &str, correlation_id: &str) -> ErrorEnvelope {
        ErrorEnvelope {
            error: "true".to_string(),
            error_id: error_id.to_string(),
            message: message.to_string(),
            correlation_id: correlation_id.to_string(),
        }
    }

    /// The body as JSON text, keys in the contract's order.
    pub fn to_json(&self) -> String {
        // A struct of four strings always serialises.
        serde_json::to_string(self).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::{classify, ApiError};

    #[test]
    fn the_page_reads_the_envelope_back_as_an_api_error() {
        let body = ErrorEnvelope::new("x_id", "Invalid model_id: foo", "c-1").to_json();
        assert_eq!(
            body,
            r#"{"error":"true","error_id":"x_id","message":"Invalid model_id: foo","correlation_id":"c-1"}"#
        );
        let back: ErrorEnvelope = serde_json::from_str(&body).unwrap();
        assert_eq!(back.error, "true");
        match classify(400, &body, None) {
            Err(ApiError::Rejected { status, message }) => {
                assert_eq!(status, 400);
                assert!(message.contains("Invalid model_id: foo"), "{message}")
            }
            other => panic!("{other:?}"),
        }
    }
}
