//! Starting the emulator: validates the flags, builds the state and the
//! router, binds HTTP (and HTTPS when `--tls-port` is set), and serves in
//! background tasks of the current Tokio runtime. Both listeners serve the
//! router through [`DropAware`], which turns a `--drop` fault into a real
//! dropped connection.

use crate::app::{router, AppState};
use crate::cli::Cli;
use crate::faults::DropConnection;
use crate::tls;
use anyhow::Context;
use axum::http::Request;
use axum::response::Response;
use axum::Router;
use std::convert::Infallible;
use std::fmt;
use std::future::{ready, Future, Ready};
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context as TaskContext, Poll};
use tower_service::Service;

/// Where a started emulator listens.
#[derive(Clone, Copy, Debug)]
pub struct Running {
    /// The plain HTTP address (the actual port when `--port 0`).
    pub http: SocketAddr,
    /// The HTTPS address, when `--tls-port` was given.
    pub https: Option<SocketAddr>,
}

/// Starts serving per `cli` and returns once the listeners are bound; the
/// servers run until the runtime shuts down.
pub async fn start(cli: Cli) -> anyhow::Result<Running> {
    cli.validate()?;
    let state = Arc::new(AppState::new(&cli)?);
    let app = router(&cli, state);
    let addr = SocketAddr::new(cli.host, cli.port);
    let listener =
        std::net::TcpListener::bind(addr).with_context(|| format!("binding http on {addr}"))?;
    let http = listener.local_addr()?;
    let https = match cli.tls_port {
        Some(port) => Some(tls::spawn(SocketAddr::new(cli.host, port), app.clone())?),
        None => None,
    };
    // HTTP/1.1 and h2c (prior knowledge), like `axum::serve`, but through
    // axum-server, which (unlike `axum::serve`) lets a request fail.
    let server = axum_server::from_tcp(listener)?;
    tokio::spawn(async move {
        if let Err(e) = server.serve(MakeDropAware(app)).await {
            eprintln!("pacer-emulator: http server stopped: {e}");
        }
    });
    Ok(Running { http, https })
}

/// The error a dropped answer becomes. hyper answers a failed request with
/// nothing: over HTTP/1.1 it closes the connection without a byte of
/// response, over HTTP/2 it resets the request's stream (`INTERNAL_ERROR`)
/// and the connection's other streams go on. Either way a browser's fetch
/// rejects with a network error.
#[derive(Debug)]
pub struct Dropped;

impl fmt::Display for Dropped {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("answer dropped by fault injection (--drop)")
    }
}

impl std::error::Error for Dropped {}

/// The router as hyper sees it: a response carrying the [`DropConnection`]
/// extension becomes the error [`Dropped`], every other one passes as is.
#[derive(Clone)]
pub struct DropAware(Router);

impl<B> Service<Request<B>> for DropAware
where
    Router: Service<Request<B>, Response = Response, Error = Infallible>,
    <Router as Service<Request<B>>>::Future: Send + 'static,
{
    type Response = Response;
    type Error = Dropped;
    type Future = Pin<Box<dyn Future<Output = Result<Response, Dropped>> + Send>>;

    fn poll_ready(&mut self, cx: &mut TaskContext<'_>) -> Poll<Result<(), Dropped>> {
        match Service::<Request<B>>::poll_ready(&mut self.0, cx) {
            Poll::Ready(Err(never)) => match never {},
            Poll::Ready(Ok(())) => Poll::Ready(Ok(())),
            Poll::Pending => Poll::Pending,
        }
    }

    fn call(&mut self, req: Request<B>) -> Self::Future {
        let answer = self.0.call(req);
        Box::pin(async move {
            let res = match answer.await {
                Ok(res) => res,
                Err(never) => match never {},
            };
            if res.extensions().get::<DropConnection>().is_some() {
                Err(Dropped)
            } else {
                Ok(res)
            }
        })
    }
}

/// Makes one [`DropAware`] per connection (for axum-server's `serve`).
#[derive(Clone)]
pub struct MakeDropAware(pub Router);

impl<T> Service<T> for MakeDropAware {
    type Response = DropAware;
    type Error = Infallible;
    type Future = Ready<Result<DropAware, Infallible>>;

    fn poll_ready(&mut self, _cx: &mut TaskContext<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, _connection: T) -> Self::Future {
        ready(Ok(DropAware(self.0.clone())))
    }
}
