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
    let budget = config.budget.as_ref().map(|b| {
        format!(
            "pacer-proxy: team budget {}/s (burst {}, longest hold {} s) kept in {}, budget {}",
            b.rate,
            b.burst,
            b.max_wait.as_secs_f64(),
            without_password(&b.redis),
            b.name
                .as_deref()
                .unwrap_or("per key (a hash of the API and the key)")
        )
    });
    let running = start(config).await?;
    // The first stdout line is read by scripts and tests: keep its shape.
    println!("pacer-proxy listening on http://{}", running.http);
    println!("pacer-proxy: /vision/ is forwarded to {upstream}, with CORS headers added");
    if let Some(budget) = budget {
        println!("{budget}");
    }
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

/// A Redis URL fit to print: any password left out.
fn without_password(url: &str) -> String {
    match (url.split_once("://"), url.rsplit_once('@')) {
        (Some((scheme, _)), Some((_, host))) => format!("{scheme}://…@{host}"),
        _ => url.to_string(),
    }
}
