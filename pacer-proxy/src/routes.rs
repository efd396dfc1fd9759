//! The proxy's routes: everything under `/vision/` forwarded, with the
//! CORS headers pages need (any origin, the rate-limit headers exposed,
//! preflights answered here and never forwarded), `/healthz`, and, when
//! given, the built page at `/`.

use crate::forward::{forward, Proxy};
use axum::http::{HeaderName, Method, StatusCode};
use axum::routing::{any, get};
use axum::Router;
use pacer_core::api::EXPOSED_HEADERS;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;
use tower_http::cors::{Any, CorsLayer};
use tower_http::services::{ServeDir, ServeFile};

/// The `/vision/` routes alone, for a server that adds its own CORS layer
/// and other routes (the emulator's proxy mode).
pub fn vision_routes<S: Clone + Send + Sync + 'static>(proxy: Arc<Proxy>) -> Router<S> {
    Router::new()
        .route("/vision/", any(forward))
        .route("/vision/{*rest}", any(forward))
        .with_state(proxy)
}

/// The whole proxy: `/vision/`, `/healthz`, the page in `dist` if it is a
/// directory, and CORS on every answer (the budget's fields exposed too).
pub fn app(proxy: Arc<Proxy>, dist: Option<&Path>) -> Router {
    let api = vision_routes(proxy).route("/healthz", get(|| async { "ok" }));
    let app = match dist {
        Some(dist) if dist.is_dir() => {
            let index = ServeFile::new(dist.join("index.html"));
            api.fallback_service(ServeDir::new(dist).fallback(index))
        }
        _ => api.fallback(|| async { (StatusCode::NOT_FOUND, "not found") }),
    };
    app.layer(cors(crate::budget::fields::EXPOSED))
}

/// Any origin, GET/POST/OPTIONS, and the rate-limit headers (plus `extra`)
/// exposed to pages.
pub fn cors(extra: &[&'static str]) -> CorsLayer {
    let exposed: Vec<HeaderName> = EXPOSED_HEADERS
        .iter()
        .chain(extra)
        .filter_map(|h| HeaderName::from_bytes(h.as_bytes()).ok())
        .collect();
    CorsLayer::new()
        .allow_origin(Any)
        .allow_methods([Method::GET, Method::POST, Method::OPTIONS])
        .allow_headers(Any)
        .max_age(Duration::from_secs(600))
        .expose_headers(exposed)
}
