//! `pacer-proxy`: stands between Pacer pages and the vision API. It adds
//! the CORS headers an API that refuses browsers does not send, forwards
//! only what the API needs (an allow-list of request headers, paths under
//! `/vision/`), and passes answers back with their rate-limit headers
//! (never `Set-Cookie`).
//!
//! - [`upstream`]: the API and its client; [`forward`]: one request.
//! - [`path`] and [`headers`]: what may cross. [`routes`]: the router.
//! - [`exposure`]: the warning off loopback. [`log`]: the access log.
//! - [`budget`]: one rate budget for a team of proxies, kept in Redis.
//!
//! Tests and the emulator's proxy mode start it in-process with [`start`]
//! or mount [`routes::vision_routes`].

mod announce;
mod body;
pub mod budget;
pub mod cli;
pub mod error;
pub mod exposure;
pub mod forward;
pub mod headers;
pub mod log;
pub mod path;
pub mod routes;
pub mod upstream;

pub use forward::Proxy;
pub use upstream::{parse_base, Upstream, UpstreamConfig};

use anyhow::Context;
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::sync::Arc;

/// Everything a proxy needs, as plain values.
#[derive(Clone, Debug)]
pub struct ProxyConfig {
    /// Address to listen on.
    pub host: IpAddr,
    /// Port; 0 picks one.
    pub port: u16,
    /// The API.
    pub upstream: UpstreamConfig,
    /// The access log's path (`-` for stdout).
    pub access_log: Option<String>,
    /// The built page, served at `/`.
    pub dist: Option<PathBuf>,
    /// The team budget every request is held to, if any.
    pub budget: Option<budget::BudgetConfig>,
}

/// Where a started proxy listens.
#[derive(Clone, Copy, Debug)]
pub struct Running {
    /// The bound address (the actual port when 0 was asked).
    pub http: SocketAddr,
}

/// Opens the access log at `path`, if any.
pub fn open_log(path: Option<&str>) -> anyhow::Result<Option<log::AccessLog>> {
    path.map(|p| log::AccessLog::open(p).with_context(|| format!("opening access log {p}")))
        .transpose()
}

/// Starts serving per `config` in the background of the current Tokio
/// runtime and returns once the listener is bound.
pub async fn start(config: ProxyConfig) -> anyhow::Result<Running> {
    let upstream = Upstream::new(&config.upstream)?;
    let mut proxy = Proxy::new(upstream, open_log(config.access_log.as_deref())?);
    if let Some(budget) = config.budget {
        proxy = proxy.with_budget(budget::Budget::new(budget, &config.upstream.base)?);
    }
    let proxy = Arc::new(proxy);
    if let Some(budget) = proxy.budget() {
        let (warm, connections) = (proxy.clone(), Upstream::connections_for(budget.rate()));
        warm.upstream.woke();
        tokio::spawn(async move { warm.upstream.warm(connections).await });
    }
    let app = routes::app(proxy, config.dist.as_deref());
    let addr = SocketAddr::new(config.host, config.port);
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .with_context(|| format!("binding {addr}"))?;
    let http = listener.local_addr()?;
    tokio::spawn(async move {
        if let Err(e) = axum::serve(listener, app).await {
            eprintln!("pacer-proxy: server stopped: {e}");
        }
    });
    Ok(Running { http })
}
