//! `pacer-emulator`: parses the flags, starts the servers, prints where
//! they listen, and waits for Ctrl-C. Everything else lives in the library.

use clap::Parser;
use pacer_emulator::{start, Cli};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let faults = cli.faults().banner();
    let proxy_to = cli.proxy_to.clone();
    if proxy_to.is_some() {
        if let Some(warning) = pacer_proxy::exposure::warning(cli.host, cli.port) {
            eprintln!("{warning}");
        }
    }
    let running = start(cli).await?;
    // The first stdout line is read by scripts and benchmarks: keep its shape.
    println!("pacer-emulator listening on http://{}", running.http);
    if let Some(https) = running.https {
        println!("pacer-emulator listening on https://{https}");
    }
    if let Some(upstream) = proxy_to {
        println!(
            "pacer-emulator proxy mode: /vision/ is forwarded to {}, with CORS headers added",
            upstream.trim_end_matches('/')
        );
    } else if let Some(faults) = faults {
        println!("{faults}");
    }
    tokio::signal::ctrl_c().await?;
    Ok(())
}
