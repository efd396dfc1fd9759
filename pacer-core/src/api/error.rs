//! What an [`ApiError`] means: whether retrying can help, and the sentence
//! a user sees. The enum itself lives in [`super`].

use super::ApiError;
use std::fmt;

impl ApiError {
    /// True when the same request may succeed later: rate limits, 5xx,
    /// network failures, timeouts, and malformed answers (a body cut short
    /// by a dropped connection is worth one more try). A 4xx rejection is
    /// not: the request itself is wrong.
    pub fn is_retryable(&self) -> bool {
        match self {
            ApiError::RateLimited { .. }
            | ApiError::Server { .. }
            | ApiError::Network { .. }
            | ApiError::Timeout
            | ApiError::Malformed { .. } => true,
            ApiError::Rejected { .. } => false,
        }
    }

    /// The HTTP status behind the error, when there was an answer.
    pub fn status(&self) -> Option<u16> {
        match self {
            ApiError::RateLimited { .. } => Some(429),
            ApiError::Server { status, .. } | ApiError::Rejected { status, .. } => Some(*status),
            ApiError::Malformed { .. } => Some(200),
            ApiError::Network { .. } | ApiError::Timeout => None,
        }
    }
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ApiError::RateLimited { retry_after: Some(d), message } => {
                write!(f, "HTTP 429: {message} (retry after {:.1} s)", d.as_secs_f64())
            }
            ApiError::RateLimited { retry_after: None, message } => write!(f, "HTTP 429: {message}"),
            ApiError::Server { status, message } | ApiError::Rejected { status, message } => {
                write!(f, "HTTP {status}: {message}")
            }
            ApiError::Malformed { detail } => write!(f, "Malformed answer from the API: {detail}"),
            ApiError::Network { detail } => write!(
                f,
                "No answer from the API (network error, or a response the browser hid for lack of CORS headers): {detail}"
            ),
            ApiError::Timeout => write!(f, "No answer from the API within the timeout"),
        }
    }
}

impl std::error::Error for ApiError {}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn display_and_retryable_table() {
        let cases = [
            (
                ApiError::Rejected {
                    status: 400,
                    message: "Invalid model_id: foo".into(),
                },
                "HTTP 400: Invalid model_id: foo",
                false,
            ),
            (
                ApiError::RateLimited {
                    retry_after: Some(Duration::from_millis(1500)),
                    message: "API rate limit exceeded".into(),
                },
                "HTTP 429: API rate limit exceeded (retry after 1.5 s)",
                true,
            ),
            (
                ApiError::RateLimited {
                    retry_after: None,
                    message: "x".into(),
                },
                "HTTP 429: x",
                true,
            ),
            (
                ApiError::Server {
                    status: 503,
                    message: "Service Unavailable".into(),
                },
                "HTTP 503: Service Unavailable",
                true,
            ),
            (
                ApiError::Malformed {
                    detail: "the answer is empty".into(),
                },
                "Malformed answer from the API: the answer is empty",
                true,
            ),
            (
                ApiError::Timeout,
                "No answer from the API within the timeout",
                true,
            ),
        ];
        for (err, text, retry) in cases {
            assert_eq!(err.to_string(), text);
            assert_eq!(err.is_retryable(), retry, "{err:?}");
        }
        let net = ApiError::Network {
            detail: "TypeError: Failed to fetch".into(),
        };
        assert!(net.is_retryable());
        assert!(net.to_string().ends_with("TypeError: Failed to fetch"));
        assert_eq!(net.status(), None);
    }
}
