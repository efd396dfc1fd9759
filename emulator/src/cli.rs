//! The command-line flags. [`Cli`] doubles as the emulator's configuration,
//! so tests build it with `Cli::try_parse_from` and exercise the real flags.

use crate::dialect::{Dialect, HeaderStyle};
use crate::faults::FaultConfig;
use crate::limits::Stack;
use clap::{Parser, ValueEnum};
use pacer_core::limiter::LimiterConfig;
use std::net::IpAddr;
use std::num::NonZeroU32;
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

/// Parses `--cap-status`: 429 or 503.
fn cap_status(s: &str) -> Result<u16, String> {
    match s.trim() {
        "429" => Ok(429),
        "503" => Ok(503),
        _ => Err(format!("`{s}` is not 429 or 503")),
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
    /// A sliding-window log (Redis sorted-set limiters): at most `--limit`
    /// requests in any second, refused ones counted; no rate headers.
    SlidingLog,
    /// A sliding-window counter (HAProxy `http_req_rate(1s)`): this
    /// second's count plus the last one's by its overlap, refused ones
    /// counted; no rate headers.
    SlidingCounter,
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
    /// Requests per second (fixed-window and the sliding ones round it to a
    /// whole number, at least 1).
    #[arg(long, default_value_t = 4.0)]
    pub limit: f64,
    /// gcra only: early requests tolerated, counted like nginx's `burst` (0 = strictly 1/limit apart).
    #[arg(long, default_value_t = 0)]
    pub burst: u32,
    /// Add `Retry-After` to 429s: seconds (rounded up) until the limiter
    /// would let a request through (every limiter but `none`).
    #[arg(long)]
    pub retry_after: bool,
    /// `Retry-After` as an HTTP date rather than seconds (implies `--retry-after`).
    #[arg(long)]
    pub retry_after_date: bool,
    /// The rate-header dialect: `kong` (`X-RateLimit-*-Second` and so on),
    /// `ietf-draft` (`RateLimit-Policy` and `RateLimit`), `github`
    /// (`X-RateLimit-Limit/-Remaining/-Reset`) or `none`.
    #[arg(long, value_enum, default_value_t = Dialect::Kong)]
    pub headers: Dialect,
    /// Also limit each key to this many requests per day (`X-RateLimit-*-Day`).
    #[arg(long, value_name = "N")]
    pub limit_day: Option<u32>,
    /// Also limit each key to this many requests per month of 30 days
    /// (`X-RateLimit-*-Month`).
    #[arg(long, value_name = "N")]
    pub limit_month: Option<u32>,
    /// For tests: a "day" lasts this many seconds (and a month 30 of them),
    /// windows aligned to multiples of it since the Unix epoch.
    #[arg(long, value_name = "S")]
    pub quota_window_s: Option<u64>,
    /// At most N requests of a key in flight; more are refused at once
    /// (status `--cap-status`, no rate headers).
    #[arg(long, value_name = "N")]
    pub max_in_flight: Option<u32>,
    /// The status of a refusal by `--max-in-flight`: 429 or 503.
    #[arg(long, default_value_t = 429, value_parser = cap_status)]
    pub cap_status: u16,
    /// Also limit each key to this many requests per wall-clock minute
    /// (Kong's per-minute window, with `X-RateLimit-*-Minute` headers).
    #[arg(long)]
    pub limit_minute: Option<u32>,
    /// With `--headers kong`, also send the older draft's `RateLimit-Limit`,
    /// `RateLimit-Remaining` and `RateLimit-Reset` headers (of the window
    /// with the fewest requests left).
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

    /// The windows stacked on the limiter and the concurrency cap (0 is
    /// taken as none).
    pub fn stack(&self) -> Stack {
        Stack {
            per_minute: self.limit_minute.and_then(NonZeroU32::new),
            per_day: self.limit_day.and_then(NonZeroU32::new),
            per_month: self.limit_month.and_then(NonZeroU32::new),
            day: Duration::from_secs(self.quota_window_s.unwrap_or(86_400).max(1)),
            max_in_flight: self.max_in_flight.and_then(NonZeroU32::new),
        }
    }

    /// How answers announce the limits.
    pub fn header_style(&self) -> HeaderStyle {
        HeaderStyle {
            dialect: self.headers,
            older_ietf: self.ietf_headers,
            retry_after: self.retry_after || self.retry_after_date,
            retry_after_date: self.retry_after_date,
            cap_status: self.cap_status,
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
            LimiterKind::SlidingLog => Some(LimiterConfig::SlidingLog {
                limit: self.limit.round().max(1.0) as u32,
                window: Duration::from_secs(1),
            }),
            LimiterKind::SlidingCounter => Some(LimiterConfig::SlidingCounter {
                limit: self.limit.round().max(1.0) as u32,
                window: Duration::from_secs(1),
            }),
            LimiterKind::None => None,
        }
    }
}
