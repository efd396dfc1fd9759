//! The command-line flags. [`Cli`] doubles as the emulator's configuration,
//! so tests build it with `Cli::try_parse_from` and exercise the real flags.

use clap::{Parser, ValueEnum};
use pacer_core::limiter::LimiterConfig;
use std::net::IpAddr;
use std::path::PathBuf;

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
    /// Seed of the latency jitter.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Do not send `Access-Control-Expose-Headers` (pages then cannot read the rate headers).
    #[arg(long)]
    pub no_expose_headers: bool,
    /// Send 429s without any CORS headers (browsers then see an opaque network error).
    #[arg(long)]
    pub no_cors_on_429: bool,
    /// Append one JSON line per API request to this file (`-` for stdout).
    #[arg(long)]
    pub access_log: Option<String>,
    /// The built page (trunk's `dist`), served at `/`.
    #[arg(long, default_value = "dist")]
    pub dist: PathBuf,
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
        Ok(())
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
