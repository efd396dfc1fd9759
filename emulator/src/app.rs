//! The router: the API route (or, in proxy mode,
//! everything under `/vision/` forwarded upstream), sample images,
//! `/healthz`, the built page (or a hint to build it), and the CORS layer
//! that covers every response, error answers included (or, with
//! `--no-cors-on-429`, every response except 429s); with `--drop`, no
//! HTTP/1.1 keep-alive.

use crate::cli::Cli;
use crate::multipredict::multipredict;
use crate::state::AppState;
use axum::extract::{Path, Request, State};
use axum::http::{header, HeaderName, HeaderValue, Method, StatusCode, Version};
use axum::middleware::{self, Next};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use pacer_core::api::{EXPOSED_HEADERS, MULTIPREDICT_PATH};
use std::sync::Arc;
use std::time::Duration;
use tower_http::cors::{Any, CorsLayer};
use tower_http::services::{ServeDir, ServeFile};

/// The whole application for the flags in `cli`.
pub fn router(cli: &Cli, state: Arc<AppState>) -> Router {
    let api = if let Some(upstream) = &state.proxy {
        // Everything under /vision/ goes to the real API (preflights are
        // answered by the CORS layer below and never reach it).
        pacer_proxy::routes::vision_routes(upstream.clone())
    } else {
        Router::new().route(MULTIPREDICT_PATH, get(multipredict).post(multipredict))
    };
    let api = api
        .route("/samples/{file}", get(sample))
        .route("/healthz", get(|| async { "ok" }));
    let app = if cli.dist.is_dir() {
        let index = ServeFile::new(cli.dist.join("index.html"));
        api.fallback_service(ServeDir::new(&cli.dist).fallback(index))
    } else {
        api.route("/", get(no_dist))
            .fallback(|| async { (StatusCode::NOT_FOUND, "not found") })
    };
    let mut app = app.with_state(state);
    if !cli.no_cors {
        app = app.layer(cors(cli));
    }
    if cli.no_cors_on_429 {
        // Outside the CORS layer, so it sees (and strips) what that layer added.
        app = app.layer(middleware::from_fn(strip_cors_on_429));
    }
    if cli.drop > 0.0 {
        app = app.layer(middleware::from_fn(one_request_per_http1_connection));
    }
    app
}

/// With `--drop`, every HTTP/1.x answer says `Connection: close`, so that
/// no request travels on a reused connection. Browsers (and many clients)
/// silently resend a request whose reused keep-alive connection closes
/// before any answer, taking it for an idle connection the server had just
/// closed: the dropped answer would never reach the page, and the log would
/// show one more request. On a fresh connection the drop is final. HTTP/2
/// needs nothing: a reset stream is not resent.
async fn one_request_per_http1_connection(req: Request, next: Next) -> Response {
    let http1 = req.version() < Version::HTTP_2;
    let mut res = next.run(req).await;
    if http1 {
        res.headers_mut()
            .insert(header::CONNECTION, HeaderValue::from_static("close"));
    }
    res
}

/// Any origin, GET/POST/OPTIONS, and (unless `--no-expose-headers`) the
/// rate-limit headers exposed to pages.
fn cors(cli: &Cli) -> CorsLayer {
    let layer = CorsLayer::new()
        .allow_origin(Any)
        .allow_methods([Method::GET, Method::POST, Method::OPTIONS])
        .allow_headers(Any)
        .max_age(Duration::from_secs(600));
    if cli.no_expose_headers {
        return layer;
    }
    let exposed: Vec<HeaderName> = EXPOSED_HEADERS
        .iter()
        .map(|h| HeaderName::from_bytes(h.as_bytes()).expect("EXPOSED_HEADERS are valid names"))
        .collect();
    layer.expose_headers(exposed)
}

async fn strip_cors_on_429(req: Request, next: Next) -> Response {
    let mut res = next.run(req).await;
    if res.status() == StatusCode::TOO_MANY_REQUESTS {
        let names: Vec<HeaderName> = res
            .headers()
            .keys()
            .filter(|n| n.as_str().starts_with("access-control-"))
            .cloned()
            .collect();
        for name in names {
            res.headers_mut().remove(name);
        }
    }
    res
}

/// A sample image, rendered off the async workers: rendering and encoding
/// one takes milliseconds of CPU, and a page that shows a list's
/// thumbnails at Start asks for dozens at once. On the workers they held
/// up the API's handlers, whose arrival stamp the limiter decides on, by up
/// to 30 ms: a strict limiter then refused a request the page had sent on
/// time.
async fn sample(State(state): State<Arc<AppState>>, Path(file): Path<String>) -> Response {
    let jpeg = tokio::task::spawn_blocking(move || state.samples.get(&file))
        .await
        .ok()
        .flatten();
    match jpeg {
        Some(jpeg) => (
            [
                (header::CONTENT_TYPE, "image/jpeg"),
                (header::CACHE_CONTROL, "public, max-age=86400"),
            ],
            jpeg,
        )
            .into_response(),
        None => (
            StatusCode::NOT_FOUND,
            "samples are /samples/img-NNNN.jpg with four digits",
        )
            .into_response(),
    }
}

async fn no_dist() -> Html<&'static str> {
    Html(concat!(
        "<!doctype html><meta charset=utf-8><title>pacer-emulator</title>",
        "<h1>pacer-emulator</h1><p>The API is up at <code>/vision/v2/multipredict</code>, ",
        "but the page is not built: run <code>trunk build --release</code> in the repository ",
        "(or pass <code>--dist DIR</code>) and restart.</p>"
    ))
}
