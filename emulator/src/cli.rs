//! The command-line flags. [`Cli`] doubles as the emulator's configuration,
//! so tests build it with `Cli::try_parse_from` and exercise the real flags.

use crate::faults::FaultConfig;
use clap::{Parser, ValueEnum};
use pacer_core::limiter::LimiterConfig;
use std::net::IpAddr;
use std::path::PathBuf;
use std::time::Duration;

/// Parses a probability: a number from 0 to 1.
fn probability(s: &str) -> Result<f64, String> {
    let p: f64 = s
        .parse()
        .map_err(|_| format!("`{s}` is not a number (a probability from 0 to 1)"))?;
    if (0.0..=1.0).contains(&p) {
        Ok(p)
    } else {
        Err(format!("{p} is not a probability (from 0 to 1)"))
    }
}

/// Which server-side limiter guards each client key.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum LimiterKind {
    /// Kong-style: `--limit` requests per wall-clock second, with
    /// `X-RateLimit-Limit-Second` / `X-RateLimit-Remaining-Second` headers.
    FixedWindow,
    /// nginx `limit_req`-style: one request per `1/--limit` s, `--burst`
    /// early ones tolerated, 429s without rate headers.
    Gcra,
    /// No limit at all.
    None,
}

/// `pacer-emulator`: a local vision v2 multipredict API with real limiters.
#[derive(Clone, Debug, Parser)]
#[command(name = "pacer-emulator", version, about, args_override_self = true)]
pub struct Cli {
    /// Address to listen on (keep it on loopback).
    #[arg(long, default_value = "127.0.0.1")]
    pub host: IpAddr,
    /// HTTP port; 0 picks a free one (the first stdout line says which).
    #[arg(long, default_value_t = 8080)]
    pub port: u16,
    /// Also serve everything over HTTPS (self-signed, HTTP/2 via ALPN) on this port; 0 picks one.
    #[arg(long)]
    pub tls_port: Option<u16>,
    /// The limiter each client key gets.
    #[arg(long, value_enum, default_value_t = LimiterKind::FixedWindow)]
    pub limiter: LimiterKind,
    /// Requests per second (fixed-window rounds it to a whole number, at least 1).
    #[arg(long, default_value_t = 4.0)]
    pub limit: f64,
    /// gcra only: early requests tolerated, counted like nginx's `burst` (0 = strictly 1/limit apart).
    #[arg(long, default_value_t = 0)]
    pub burst: u32,
    /// fixed-window only: add `Retry-After` (seconds to the window's end, rounded up) to 429s.
    #[arg(long)]
    pub retry_after: bool,
    /// Also limit each key to this many requests per wall-clock minute
    /// (Kong's per-minute window, with `X-RateLimit-*-Minute` headers).
    #[arg(long)]
    pub limit_minute: Option<u32>,
    /// Also send the newer `RateLimit-Limit`, `RateLimit-Remaining` and
    /// `RateLimit-Reset` headers (of the window with the fewest requests left).
    #[arg(long)]
    pub ietf_headers: bool,
    /// Mean latency of admitted requests, in milliseconds.
    #[arg(long, default_value_t = 300.0)]
    pub latency_ms: f64,
    /// Uniform jitter added to the latency, ± this many milliseconds.
    #[arg(long, default_value_t = 0.0)]
    pub jitter_ms: f64,
    /// Seed of the latency jitter (and of the faults, unless `--fault-seed`).
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Fault injection: probability that an answer the limiter let through
    /// (one that would be a 200) is a 500, 502 or 503 with a JSON error body.
    /// The four fault probabilities are exclusive per request: their sum is at most 1.
    #[arg(long, value_name = "P", default_value_t = 0.0, value_parser = probability)]
    pub fail_5xx: f64,
    /// Fault injection: probability that such a request gets no answer at all
    /// (HTTP/1.1: the connection is closed; HTTP/2: the stream is reset), so a
    /// page's fetch rejects with a network error. When P > 0, every HTTP/1.1
    /// answer says `Connection: close`, lest browsers silently resend a
    /// request dropped on a reused keep-alive connection.
    #[arg(long, value_name = "P", default_value_t = 0.0, value_parser = probability)]
    pub drop: f64,
    /// Fault injection: probability that such a request is answered (correctly)
    /// only after `--slow-ms`, past a client's timeout.
    #[arg(long, value_name = "P", default_value_t = 0.0, value_parser = probability)]
    pub slow: f64,
    /// How long a `--slow` answer takes, in milliseconds (instead of the latency).
    #[arg(long, value_name = "MS", default_value_t = 30_000)]
    pub slow_ms: u64,
    /// Fault injection: probability that such a request gets a 200 whose body
    /// is not the contract's JSON (cut in half, an HTML page, or JSON without
    /// `response.solutions`, equally likely).
    #[arg(long, value_name = "P", default_value_t = 0.0, value_parser = probability)]
    pub bad_json: f64,
    /// Seed of the fault sequence (default: `--seed`); the same seed gives the
    /// same faults in the same request order.
    #[arg(long, value_name = "N")]
    pub fault_seed: Option<u64>,
    /// Replace every prediction label by hostile HTML/JS strings
    /// (`<script>alert(1)</script>`, `<img src=x onerror=alert(1)>`, ...), to
    /// check that the page renders labels as text only.
    #[arg(long)]
    pub xss_labels: bool,
    /// Answer every `POST` to the API with `405 Method Not Allowed` (`Allow:
    /// GET`), as an API that reads only the query string: pages must fall
    /// back to GET.
    #[arg(long)]
    pub refuse_post: bool,
    /// Do not send `Access-Control-Expose-Headers` (pages then cannot read the rate headers).
    #[arg(long)]
    pub no_expose_headers: bool,
    /// Send 429s without any CORS headers (browsers then see an opaque network error).
    #[arg(long)]
    pub no_cors_on_429: bool,
    /// Send no CORS headers at all, as an API that does not allow pages on
    /// other origins (their requests fail as opaque network errors; pages on
    /// the emulator's own origin are unaffected).
    #[arg(long)]
    pub no_cors: bool,
    /// Append one JSON line per API request to this file (`-` for stdout).
    #[arg(long)]
    pub access_log: Option<String>,
    /// The built page (trunk's `dist`), served at `/`.
    #[arg(long, default_value = "dist")]
    pub dist: PathBuf,
    /// Proxy mode, for an API that sends no CORS headers: forward every
    /// request under `/vision/` to this API (e.g. `https://api-us.restb.ai`)
    /// and pass its answers back as they are, plus the CORS headers pages
    /// need. The limiter, latency and fault flags then do not apply; the
    /// page and `/samples/` are still served.
    #[arg(long, value_name = "URL", conflicts_with = "no_cors")]
    pub proxy_to: Option<String>,
    /// Proxy mode: how long to wait for the API's answer (and at most
    /// between two pieces of its body) before answering 502.
    #[arg(
        long,
        value_name = "MS",
        default_value_t = 60_000,
        requires = "proxy_to"
    )]
    pub proxy_timeout_ms: u64,
    /// Proxy mode: accept any TLS certificate from the API (for a local
    /// upstream with a self-signed one, such as `pacer-emulator --tls-port`).
    #[arg(long, requires = "proxy_to")]
    pub proxy_insecure: bool,
}

impl Cli {
    /// Checks the numbers that clap cannot.
    pub fn validate(&self) -> anyhow::Result<()> {
        anyhow::ensure!(
            self.limit.is_finite() && self.limit > 0.0,
            "--limit must be a positive number"
        );
        anyhow::ensure!(
            self.latency_ms.is_finite() && self.latency_ms >= 0.0,
            "--latency-ms must be >= 0"
        );
        anyhow::ensure!(
            self.jitter_ms.is_finite() && self.jitter_ms >= 0.0,
            "--jitter-ms must be >= 0"
        );
        anyhow::ensure!(self.proxy_timeout_ms > 0, "--proxy-timeout-ms must be > 0");
        if let Some(url) = &self.proxy_to {
            pacer_proxy::parse_base(url).map_err(|e| anyhow::anyhow!("--proxy-to {e}"))?;
        }
        self.faults().validate()
    }

    /// The fault-injection flags.
    pub fn faults(&self) -> FaultConfig {
        FaultConfig {
            fail_5xx: self.fail_5xx,
            drop: self.drop,
            slow: self.slow,
            bad_json: self.bad_json,
            slow_after: Duration::from_millis(self.slow_ms),
            seed: self.fault_seed.unwrap_or(self.seed),
            xss_labels: self.xss_labels,
        }
    }

    /// The per-minute limit, if any (0 is taken as none).
    pub fn limit_minute(&self) -> Option<std::num::NonZeroU32> {
        self.limit_minute.and_then(std::num::NonZeroU32::new)
    }

    /// Which rate headers windowed answers carry.
    pub fn header_style(&self) -> crate::limits::HeaderStyle {
        crate::limits::HeaderStyle {
            retry_after: self.retry_after,
            ietf: self.ietf_headers,
        }
    }

    /// The limiter model for each key, or `None` for `--limiter none`.
    pub fn limiter_config(&self) -> Option<LimiterConfig> {
        match self.limiter {
            LimiterKind::FixedWindow => Some(LimiterConfig::FixedWindow {
                limit: self.limit.round().max(1.0) as u32,
            }),
            LimiterKind::Gcra => Some(LimiterConfig::Gcra {
                rate: self.limit,
                burst: self.burst,
            }),
            LimiterKind::None => None,
        }
    }
}
