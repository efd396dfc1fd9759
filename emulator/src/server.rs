//! Starting the emulator: validates the flags, builds the state and the
//! router, binds HTTP (and HTTPS when `--tls-port` is set), and serves in
//! background tasks of the current Tokio runtime. Both listeners serve the
//! router through [`MakeDropAware`], which turns a `--drop` fault into a
//! real dropped connection.

use crate::app::router;
use crate::cli::Cli;
use crate::drop::MakeDropAware;
use crate::state::AppState;
use crate::tls;
use anyhow::Context;
use axum_server::tls_rustls::RustlsConfig;
use std::net::{SocketAddr, TcpListener};
use std::sync::Arc;

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
    let listener = TcpListener::bind(addr).with_context(|| format!("binding http on {addr}"))?;
    let http = listener.local_addr()?;
    let https = match cli.tls_port {
        Some(port) => {
            let addr = SocketAddr::new(cli.host, port);
            let listener =
                TcpListener::bind(addr).with_context(|| format!("binding https on {addr}"))?;
            let bound = listener.local_addr()?;
            let config = RustlsConfig::from_config(Arc::new(tls::self_signed_config()?));
            let server = axum_server::from_tcp_rustls(listener, config)?;
            let app = MakeDropAware(app.clone());
            tokio::spawn(async move {
                if let Err(e) = server.serve(app).await {
                    eprintln!("pacer-emulator: https server stopped: {e}");
                }
            });
            Some(bound)
        }
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
