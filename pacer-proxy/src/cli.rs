//! `pacer-proxy`'s flags, turned into a plain [`ProxyConfig`].

use crate::upstream::{parse_base, UpstreamConfig};
use crate::ProxyConfig;
use clap::Parser;
use std::net::IpAddr;
use std::path::PathBuf;
use std::time::Duration;

/// `pacer-proxy`: lets Pacer pages call an API that sends no CORS headers.
#[derive(Clone, Debug, Parser)]
#[command(name = "pacer-proxy", version, about, args_override_self = true)]
pub struct Cli {
    /// The API to forward to (e.g. `https://api-us.restb.ai`): every
    /// request under `/vision/` goes to `URL/vision/...`.
    #[arg(long, value_name = "URL")]
    pub to: String,
    /// Address to listen on. Keep it on loopback: whoever reaches the
    /// proxy spends the budget (a loud warning is printed otherwise).
    #[arg(long, default_value = "127.0.0.1")]
    pub host: IpAddr,
    /// HTTP port; 0 picks a free one (the first stdout line says which).
    #[arg(long, default_value_t = 8090)]
    pub port: u16,
    /// How long to wait for the API's answer (and at most between two
    /// pieces of its body) before answering 502.
    #[arg(long, value_name = "MS", default_value_t = 60_000)]
    pub timeout_ms: u64,
    /// Accept any TLS certificate from the API (for a local upstream with
    /// a self-signed one).
    #[arg(long)]
    pub insecure: bool,
    /// Append one JSON line per forwarded request to this file (`-` for
    /// stdout); keys are never written.
    #[arg(long)]
    pub access_log: Option<String>,
    /// The built page (trunk's `dist`), served at `/` when given.
    #[arg(long)]
    pub dist: Option<PathBuf>,
}

impl Cli {
    /// The configuration these flags describe, checked.
    pub fn config(&self) -> anyhow::Result<ProxyConfig> {
        anyhow::ensure!(self.timeout_ms > 0, "--timeout-ms must be > 0");
        parse_base(&self.to).map_err(|e| anyhow::anyhow!("--to {e}"))?;
        Ok(ProxyConfig {
            host: self.host,
            port: self.port,
            upstream: UpstreamConfig {
                base: self.to.clone(),
                timeout: Duration::from_millis(self.timeout_ms),
                insecure: self.insecure,
            },
            access_log: self.access_log.clone(),
            dist: self.dist.clone(),
        })
    }
}
