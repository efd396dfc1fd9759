//! What the handlers share, built from the flags: the per-key limiters,
//! the access log, the sample images, the fault sequence, the latency
//! draw, and, in proxy mode, the upstream.

use crate::access_log::AccessLog;
use crate::cli::Cli;
use crate::faults::Faults;
use crate::limits::Limits;
use crate::samples::Samples;
use pacer_proxy::{Proxy, Upstream, UpstreamConfig};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Everything the handlers share.
pub struct AppState {
    /// One limiter per client key.
    pub limits: Limits,
    /// The access log, when `--access-log` is set.
    pub access_log: Option<AccessLog>,
    /// Generated sample images.
    pub samples: Samples,
    /// The fault sequence (`--fail-5xx`, `--drop`, ...) and `--xss-labels`.
    pub faults: Faults,
    /// The upstream API in proxy mode (`--proxy-to`).
    pub proxy: Option<Arc<Proxy>>,
    /// `--refuse-post`: answer every POST with 405, as a GET-only API.
    pub refuse_post: bool,
    latency_ms: f64,
    jitter_ms: f64,
    rng: Mutex<StdRng>,
}

impl AppState {
    /// State for the flags in `cli` (opens the access log: the proxy's in
    /// proxy mode, where only forwarded requests are logged).
    pub fn new(cli: &Cli) -> anyhow::Result<AppState> {
        let (access_log, proxy) = match &cli.proxy_to {
            Some(base) => {
                let upstream = Upstream::new(&UpstreamConfig {
                    base: base.clone(),
                    timeout: Duration::from_millis(cli.proxy_timeout_ms),
                    insecure: cli.proxy_insecure,
                })?;
                let log = pacer_proxy::open_log(cli.access_log.as_deref())?;
                (None, Some(Proxy::new(upstream, log)))
            }
            None => {
                let log = match &cli.access_log {
                    Some(path) => Some(
                        AccessLog::open(path)
                            .map_err(|e| anyhow::anyhow!("opening access log {path}: {e}"))?,
                    ),
                    None => None,
                };
                (log, None)
            }
        };
        Ok(AppState {
            limits: Limits::from_cli(cli),
            access_log,
            samples: Samples::default(),
            faults: Faults::new(cli.faults()),
            proxy: proxy.map(Arc::new),
            refuse_post: cli.refuse_post,
            latency_ms: cli.latency_ms,
            jitter_ms: cli.jitter_ms,
            rng: Mutex::new(StdRng::seed_from_u64(cli.seed)),
        })
    }

    /// The latency of the next admitted request: `--latency-ms` plus uniform
    /// jitter of ± `--jitter-ms` from the seeded generator, never negative.
    pub fn latency(&self) -> Duration {
        let jitter = if self.jitter_ms > 0.0 {
            let mut rng = self.rng.lock().unwrap_or_else(|e| e.into_inner());
            rng.random_range(-self.jitter_ms..=self.jitter_ms)
        } else {
            0.0
        };
        Duration::from_secs_f64((self.latency_ms + jitter).max(0.0) / 1000.0)
    }
}
