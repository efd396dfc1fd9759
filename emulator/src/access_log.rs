//! The access log benchmarks read as ground truth: one JSON line per API
//! request, written and flushed as its response is produced (a request
//! with an injected fault gets its line even when the client goes away
//! first). In proxy mode (`--proxy-to`) each forwarded request gets a line
//! too, written when the upstream's answer headers come, without the key.

pub use pacer_proxy::log::since_epoch;
use pacer_proxy::log::JsonLines;
use serde::Serialize;
use std::io;
use std::time::Duration;

/// What a request's line says besides how it ended.
pub struct LoggedRequest<'a> {
    /// When it arrived ([`since_epoch`]).
    pub arrival: Duration,
    /// `GET` or `POST`.
    pub method: &'a str,
    /// See [`Entry::key`].
    pub key: &'a str,
    /// See [`Entry::image`].
    pub image: &'a str,
    /// See [`Entry::models`].
    pub models: &'a str,
}

/// How a key is logged: as sent when it starts with `demo` (or is empty),
/// else `sha256:` and the first 16 hex digits of its SHA-256, which tells
/// keys apart (tests compare it) without keeping one.
pub fn key_tag(key: &str) -> String {
    if key.is_empty() || key.starts_with("demo") {
        return key.to_owned();
    }
    let digest = ring::digest::digest(&ring::digest::SHA256, key.as_bytes());
    let hex: String = digest.as_ref()[..8]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    format!("sha256:{hex}")
}

/// The emulator's access log.
pub struct AccessLog {
    lines: JsonLines,
}

/// One API request, as logged.
#[derive(Clone, Debug, Serialize)]
pub struct Entry<'a> {
    /// Arrival, Unix milliseconds with sub-millisecond precision.
    pub arrival_ms: f64,
    /// When the response was produced, Unix milliseconds.
    pub end_ms: f64,
    /// `GET` or `POST`.
    pub method: &'a str,
    /// The client key as [`key_tag`] writes it: a key starting with `demo`
    /// (the emulator's own demo keys) as sent, any other as
    /// `sha256:<16 hex digits>`, so that a real key pasted into the
    /// emulator never lands in a log file; always empty in proxy mode
    /// (`--proxy-to`), where keys are real and never logged.
    pub key: &'a str,
    /// The image URL, or `base64:<16 hex digits of a stable hash>` for uploads
    /// (in proxy mode: the query's `image_url`, empty for a POST, whose body
    /// is streamed through unread).
    pub image: &'a str,
    /// The `model_id` parameter as sent (in proxy mode: the query's, if any).
    pub models: &'a str,
    /// The HTTP status answered, or `0` when no answer was sent: the
    /// connection was dropped (`fault` `"drop"`), or the client went away
    /// before an admitted request's answer was ready (its timeout fired,
    /// typically on a `"slow"` fault, or its tab was closed). A
    /// `"bad-json"` answer is a 200 whose body is broken, so count good
    /// answers as `status == 200 && fault != "bad-json"` (a
    /// `"slow"` 200 is a good answer the client waited for). In proxy mode:
    /// the upstream's status, `502` when it could not be had (`fault`
    /// `"upstream"`), or `0` when the page went away before it came.
    pub status: u16,
    /// `end_ms - arrival_ms`.
    pub latency_ms: f64,
    /// The injected fault (`--fail-5xx` etc.): `"5xx"`, `"drop"`, `"slow"`,
    /// `"bad-json"`, or `null` for an answer as the contract says (a 429, a
    /// 400 and a 401 are never faulted). A `"slow"` answer is a correct one,
    /// only late. In proxy mode: `"upstream"` for the proxy's own 502 (the
    /// upstream was unreachable, failed or too slow), else `null`.
    pub fault: Option<&'static str>,
}

impl AccessLog {
    /// Opens `path` for append (created if missing); `-` means stdout.
    pub fn open(path: &str) -> io::Result<AccessLog> {
        Ok(AccessLog {
            lines: JsonLines::open(path, "pacer-emulator")?,
        })
    }

    /// Writes `request`'s line, ending now, with how it ended.
    pub fn record(&self, request: &LoggedRequest<'_>, status: u16, fault: Option<&'static str>) {
        let end = since_epoch();
        let ms = |d: Duration| d.as_secs_f64() * 1000.0;
        let key = key_tag(request.key);
        self.write(&Entry {
            arrival_ms: ms(request.arrival),
            end_ms: ms(end),
            method: request.method,
            key: &key,
            image: request.image,
            models: request.models,
            status,
            latency_ms: ms(end.saturating_sub(request.arrival)),
            fault,
        });
    }

    /// Writes one line and flushes it.
    pub fn write(&self, entry: &Entry<'_>) {
        self.lines.write(entry);
    }
}

#[cfg(test)]
mod tests {
    use super::key_tag;

    #[test]
    fn real_keys_are_never_logged() {
        assert_eq!(key_tag("demo-key"), "demo-key");
        assert_eq!(key_tag(""), "");
        // sha256("abc") = ba7816bf8f01cfea...
        assert_eq!(key_tag("abc"), "sha256:ba7816bf8f01cfea");
        assert!(!key_tag("zz-canary-key").contains("canary"));
    }
}
