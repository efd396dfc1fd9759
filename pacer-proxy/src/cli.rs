//! `pacer-proxy`'s flags, turned into a plain [`ProxyConfig`].

use crate::budget::BudgetConfig;
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
    /// A team budget kept in this Redis (`redis://HOST:PORT[/DB]`): every
    /// proxy naming the same Redis and budget paces all their requests
    /// together at `--budget-rate`.
    #[arg(long, value_name = "REDIS_URL", requires = "budget_rate")]
    pub budget: Option<String>,
    /// The team's rate, in requests per second (the API's limit for the key).
    #[arg(long, value_name = "R", requires = "budget")]
    pub budget_rate: Option<f64>,
    /// Requests the budget lets go early after a quiet spell (0: strictly
    /// 1/R apart; match the API's own tolerance at most).
    #[arg(long, value_name = "B", default_value_t = 0, requires = "budget")]
    pub budget_burst: u32,
    /// The budget's name, shared by every proxy of the team (default: a
    /// hash of the API and each request's key, never the key itself).
    #[arg(long, value_name = "NAME", requires = "budget")]
    pub budget_name: Option<String>,
    /// The longest a request waits for its slot; one that would wait
    /// longer is answered 429 with `Retry-After` (e.g. `30s`, `500ms`).
    #[arg(long, value_name = "DURATION", default_value = "30s", value_parser = humantime::parse_duration)]
    pub budget_max_wait: Duration,
}

impl Cli {
    /// The configuration these flags describe, checked.
    pub fn config(&self) -> anyhow::Result<ProxyConfig> {
        anyhow::ensure!(
            self.budget.is_some() || self.budget_rate.is_none(),
            "--budget-rate needs --budget"
        );
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
            budget: match (&self.budget, self.budget_rate) {
                (Some(redis), Some(rate)) => {
                    let budget = BudgetConfig {
                        redis: redis.clone(),
                        rate,
                        burst: self.budget_burst,
                        name: self.budget_name.clone(),
                        max_wait: self.budget_max_wait,
                    };
                    budget.validate()?;
                    Some(budget)
                }
                _ => None,
            },
        })
    }
}
