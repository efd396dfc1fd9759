//! `pacer-proxy`: parses the flags, starts the proxy, prints where it
//! listens (and a loud warning off loopback), and waits for Ctrl-C or
//! SIGTERM. Everything else lives in the library.

use clap::Parser;
use pacer_proxy::{cli::Cli, exposure, start};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let config = cli.config()?;
    if let Some(warning) = exposure::warning(config.host, config.port) {
        eprintln!("{warning}");
    }
    let upstream = config.upstream.base.trim_end_matches('/').to_string();
    let running = start(config).await?;
    // The first stdout line is read by scripts and tests: keep its shape.
    println!("pacer-proxy listening on http://{}", running.http);
    println!("pacer-proxy: /vision/ is forwarded to {upstream}, with CORS headers added");
    shutdown().await;
    Ok(())
}

/// Ctrl-C, or SIGTERM (how service managers and scripts stop it).
async fn shutdown() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        if let Ok(mut term) = signal(SignalKind::terminate()) {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = term.recv() => {}
            }
            return;
        }
    }
    let _ = tokio::signal::ctrl_c().await;
}
