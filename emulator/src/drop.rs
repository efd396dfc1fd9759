//! A `--drop` fault made real: a handler marks its answer with
//! [`DropConnection`], and [`DropAware`], which sits between hyper and the
//! router on every listener, turns that answer into a failed request, so
//! that nothing is sent (HTTP/1.1: the connection closes; HTTP/2: the
//! stream is reset).

use axum::http::Request;
use axum::response::Response;
use axum::Router;
use std::convert::Infallible;
use std::fmt;
use std::future::{ready, Future, Ready};
use std::pin::Pin;
use std::task::{Context as TaskContext, Poll};
use tower_service::Service;

/// Response extension of an answer that must not be sent: [`DropAware`]
/// turns it into a dropped connection (HTTP/1.1) or a reset stream (HTTP/2).
#[derive(Clone, Copy, Debug)]
pub struct DropConnection;

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
