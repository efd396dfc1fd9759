//! The access log: one JSON line per forwarded request, flushed as the
//! API's answer headers come (or the proxy answers itself), in the shape
//! of the emulator's log so that the same tools read both. The client key
//! is never written: `key` is always empty.

use serde::Serialize;
use std::fs::OpenOptions;
use std::io::{self, Write};
use std::sync::Mutex;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Time since the Unix epoch: arrivals and ends are logged on it.
pub fn since_epoch() -> Duration {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
}

/// A file (or stdout) taking one flushed JSON line at a time: the proxy's
/// access log, and the emulator's, which the same tools read.
pub struct JsonLines {
    out: Mutex<Box<dyn Write + Send>>,
    /// Who writes, for the message on stderr when a line cannot be.
    writer: &'static str,
}

impl JsonLines {
    /// Opens `path` for append (created if missing); `-` means stdout.
    pub fn open(path: &str, writer: &'static str) -> io::Result<JsonLines> {
        let out: Box<dyn Write + Send> = if path == "-" {
            Box::new(io::stdout())
        } else {
            Box::new(OpenOptions::new().create(true).append(true).open(path)?)
        };
        Ok(JsonLines {
            out: Mutex::new(out),
            writer,
        })
    }

    /// Writes one line and flushes it. A failing log never fails a request;
    /// the error goes to stderr.
    pub fn write<T: Serialize>(&self, entry: &T) {
        let mut line = match serde_json::to_vec(entry) {
            Ok(line) => line,
            Err(e) => return eprintln!("{}: access log: {e}", self.writer),
        };
        line.push(b'\n');
        let mut out = self.out.lock().unwrap_or_else(|e| e.into_inner());
        if let Err(e) = out.write_all(&line).and_then(|()| out.flush()) {
            eprintln!("{}: access log: {e}", self.writer);
        }
    }
}

/// The proxy's access log.
pub struct AccessLog {
    lines: JsonLines,
}

/// One forwarded request, as logged.
#[derive(Clone, Debug, Serialize)]
pub struct Entry<'a> {
    /// Arrival at the proxy, Unix milliseconds.
    pub arrival_ms: f64,
    /// When the answer headers came (or the proxy answered), Unix milliseconds.
    pub end_ms: f64,
    /// `GET` or `POST`.
    pub method: &'a str,
    /// Always empty: the key goes to the API and nowhere else.
    pub key: &'a str,
    /// The `image_url` of the query or form body (`base64:` and a length
    /// for an upload; empty for a body the proxy streamed unread).
    pub image: &'a str,
    /// The `model_id` parameter, if the proxy read it.
    pub models: &'a str,
    /// The API's status, the proxy's own (502, 400, a budget's 429), or
    /// `0` when the page went away before an answer.
    pub status: u16,
    /// `end_ms - arrival_ms`, the hold included.
    pub latency_ms: f64,
    /// `"upstream"` for the proxy's 502, `"path"` for a refused path,
    /// `"budget"` for a budget's 429, else `null`.
    pub fault: Option<&'static str>,
    /// How long the team budget held the request before forwarding it, in
    /// milliseconds (absent without a budget).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hold_ms: Option<f64>,
    /// The budget's mode for this request: `"shared"` (Redis) or `"local"`
    /// (Redis unreachable); absent without a budget.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub budget: Option<&'static str>,
}

impl AccessLog {
    /// Opens `path` for append (created if missing); `-` means stdout.
    pub fn open(path: &str) -> io::Result<AccessLog> {
        Ok(AccessLog {
            lines: JsonLines::open(path, "pacer-proxy")?,
        })
    }

    /// Writes one line and flushes it.
    pub fn write(&self, entry: &Entry<'_>) {
        self.lines.write(entry);
    }
}
