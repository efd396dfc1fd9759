//! What the page says of announced windows and quotas: the window that
//! binds the pacing, a run waiting for a quota, and the countdown. Plain
//! text from plain numbers, tested natively.

use std::time::Duration;

use pacer_core::schedule::{WindowBinding, WindowName};

/// "6 requests per day", "100 per 60 s", "a quota": a window in words.
pub fn window_text(w: &WindowName) -> String {
    let per = w.length.map(length_text);
    match (w.limit, per) {
        (Some(n), Some(per)) => format!("{n} requests per {per}"),
        (Some(n), None) => format!("{n} requests per window"),
        (None, Some(per)) => format!("a limit per {per}"),
        (None, None) => "a quota".to_owned(),
    }
}

/// "second", "minute", "hour", "day", "month", else "90 s".
fn length_text(d: Duration) -> String {
    match d.as_secs() {
        1 => "second".into(),
        60 => "minute".into(),
        3600 => "hour".into(),
        86_400 => "day".into(),
        2_592_000 => "month".into(),
        s => format!("{s} s"),
    }
}

/// What binds the pacing, for the figure beside the pacing rate:
/// "100 requests per minute", or for a spread quota "360 left of 8640
/// requests per day, over 1:00:00".
pub fn binding_text(b: &WindowBinding) -> String {
    match b.spread {
        Some((left, over)) => format!(
            "{left} left of {}, spread over {}",
            window_text(&b.name),
            countdown(over)
        ),
        None => window_text(&b.name),
    }
}

/// The notice when the binding window is announced; `lowered` when it
/// allows less than the user's rate.
pub fn binding_notice(b: &WindowBinding, lowered: bool) -> String {
    let rate = round2(b.rate());
    if b.spread.is_some() {
        format!(
            "The server's quota binds: {}. Pacing at {rate}/s so that it lasts until it resets.",
            binding_text(b)
        )
    } else if lowered {
        format!(
            "The server allows {}, less than the rate you set: pacing at {rate}/s to honour it.",
            binding_text(b)
        )
    } else {
        format!(
            "The server announces {}; Pacer keeps to it.",
            binding_text(b)
        )
    }
}

/// The notice of a run parked until a quota returns.
pub fn waiting_notice(window: Option<&WindowName>, until_unix_ms: f64) -> String {
    let what = match window {
        Some(w) => format!("The server's quota ({}) ran out", window_text(w)),
        None => "The server says its quota ran out".to_owned(),
    };
    format!(
        "{what}. Pacer waits until it returns at {} and then goes on by itself: nothing is \
         sent meanwhile, no attempt is spent and nothing is failed for it. You may close the \
         tab: reopening Pacer takes the run up again.",
        utc_time(until_unix_ms)
    )
}

/// The notice when a concurrency cap was learnt.
pub fn cap_notice(cap: usize) -> String {
    format!(
        "The server refuses requests beyond {cap} in flight (its 429s and 503s came with more \
         than {cap} on the wire, never fewer): Pacer now keeps at most {cap} in flight. That \
         is a concurrency cap, not a rate limit: its refusals no longer slow the pacing."
    )
}

/// "0:42", "12:05", "3:02:09": time left, rounded up to the second.
pub fn countdown(left: Duration) -> String {
    let s = left.as_secs() + u64::from(left.subsec_nanos() > 0);
    let (h, m, s) = (s / 3600, (s / 60) % 60, s % 60);
    if h > 0 {
        format!("{h}:{m:02}:{s:02}")
    } else {
        format!("{m}:{s:02}")
    }
}

/// "21:03:15 UTC" for a time within a day, "Dec 7, 00:00:00 UTC"-style
/// with the date beyond it; ms since the Unix epoch.
pub fn utc_time(unix_ms: f64) -> String {
    let secs = (unix_ms / 1000.0).ceil().max(0.0) as u64;
    let (days, rest) = (secs / 86_400, secs % 86_400);
    let clock = format!(
        "{:02}:{:02}:{:02} UTC",
        rest / 3600,
        (rest / 60) % 60,
        rest % 60
    );
    let (y, m, d) = pacer_core::calendar::civil_from_days(days);
    format!("{y}-{m:02}-{d:02} {clock}")
}

fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn name(limit: Option<u32>, secs: Option<u64>) -> WindowName {
        WindowName {
            limit,
            length: secs.map(Duration::from_secs),
        }
    }

    #[test]
    fn windows_in_words() {
        assert_eq!(
            window_text(&name(Some(6), Some(86_400))),
            "6 requests per day"
        );
        assert_eq!(
            window_text(&name(Some(100), Some(90))),
            "100 requests per 90 s"
        );
        assert_eq!(window_text(&name(Some(50), None)), "50 requests per window");
        assert_eq!(window_text(&name(None, None)), "a quota");
        let spread = WindowBinding {
            name: name(Some(8640), Some(86_400)),
            interval: Duration::from_secs(10),
            spread: Some((360, Duration::from_secs(3600))),
        };
        assert_eq!(
            binding_text(&spread),
            "360 left of 8640 requests per day, spread over 1:00:00"
        );
        assert!(binding_notice(&spread, true).contains("Pacing at 0.1/s"));
    }

    #[test]
    fn countdown_and_clock() {
        assert_eq!(countdown(Duration::from_millis(41_200)), "0:42");
        assert_eq!(countdown(Duration::from_secs(725)), "12:05");
        assert_eq!(countdown(Duration::from_secs(10_929)), "3:02:09");
        // 2023-11-14T22:13:20Z.
        assert_eq!(utc_time(1_700_000_000_000.0), "2023-11-14 22:13:20 UTC");
        assert_eq!(utc_time(-5.0), "1970-01-01 00:00:00 UTC");
        let text = waiting_notice(Some(&name(Some(6), Some(86_400))), 1_700_000_000_000.0);
        assert!(text.contains("6 requests per day") && text.contains("22:13:20 UTC"));
    }
}
