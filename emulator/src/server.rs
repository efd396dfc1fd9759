//! Starting the emulator: validates the flags, builds the state and the
//! router, binds HTTP (and HTTPS when `--tls-port` is set), and serves in
//! background tasks of the current Tokio runtime.

use crate::app::{router, AppState};
use crate::cli::Cli;
use crate::tls;
use anyhow::Context;
use std::net::SocketAddr;
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
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .with_context(|| format!("binding http on {addr}"))?;
    let http = listener.local_addr()?;
    let https = match cli.tls_port {
        Some(port) => Some(tls::spawn(SocketAddr::new(cli.host, port), app.clone())?),
        None => None,
    };
    tokio::spawn(async move {
        if let Err(e) = axum::serve(listener, app).await {
            eprintln!("pacer-emulator: http server stopped: {e}");
        }
    });
    Ok(Running { http, https })
}
