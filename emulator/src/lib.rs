//! A local stand-in for the vision v2 multipredict API:
//! the contract of `pacer_core::api`, a real limiter per client key from
//! `pacer_core::limiter`, latency, injected faults, CORS, sample images, an
//! access log, and the built page, over HTTP and optionally HTTPS with HTTP/2;
//! or, with `--proxy-to`, the `pacer-proxy` library's CORS-adding proxy to a
//! real API, with the page and samples still served.
//!
//! Tests start it in-process with [`start`] on port 0.

pub mod access_log;
pub mod app;
pub mod cli;
pub mod dialect;
pub mod drop;
pub mod error;
pub mod faults;
pub mod limits;
pub mod multipredict;
pub mod predict;
pub mod samples;
pub mod server;
pub mod state;
pub mod tls;

pub use cli::{Cli, LimiterKind};
pub use server::{start, Running};
