//! Checks a run that comes from outside the page (a job file, this
//! browser's storage) before it is shown: numbers within the bounds Pacer
//! runs with, images that are http(s) URLs, items that exist once, send
//! times that a clock could have read. What can be mended is mended and
//! said; what cannot refuses the file, saying why.
//!
//! Pure: no signals, no browser.

use std::collections::HashSet;

use pacer_core::bounds::{
    check_rate, clamp_rate, plausible_latency, plausible_send_time, MAX_ATTEMPTS, MAX_CONCURRENCY,
    MAX_TIMEOUT_S, MIN_TIMEOUT_S,
};
use pacer_core::input::check_http_url;

use super::job::JobFile;
use super::record::AttemptRecord;
use super::saved::{SavedItem, SavedSettings};

/// The most images a job may list (a million: far more than a tab sends
/// in a day at the highest rate anyone has).
pub const MAX_IMAGES: usize = 1_000_000;
/// The most models a run may call.
pub const MAX_MODELS: usize = 64;

/// Checks a job file: `Err` says why it cannot be imported; `Ok` holds
/// what was mended, one sentence each.
pub fn check_job(job: &mut JobFile) -> Result<Vec<String>, String> {
    let run = &mut job.run;
    if run.sources.len() > MAX_IMAGES {
        return Err(format!(
            "it lists {} images, more than Pacer takes in one job ({MAX_IMAGES}); split it",
            run.sources.len()
        ));
    }
    if run.settings.models.len() > MAX_MODELS {
        return Err(format!(
            "it names {} models, more than {MAX_MODELS}",
            run.settings.models.len()
        ));
    }
    // Its endpoint goes into the form: one that may hold a secret (a
    // password, a query, the key) is refused rather than copied.
    pacer_core::input::check_endpoint(&run.settings.endpoint)
        .map_err(|why| why.trim_end_matches('.').to_owned())?;
    let mut notes = check_settings(&mut run.settings);
    // Local files' names are names, not URLs; every other source is sent
    // as `image_url` and shown as a link, so it must be http(s).
    run.files.retain(|&id| id < run.sources.len());
    pacer_core::sort::sort(&mut run.files);
    run.files.dedup();
    let files: HashSet<usize> = run.files.iter().copied().collect();
    for (id, source) in run.sources.iter().enumerate() {
        if files.contains(&id) {
            continue;
        }
        if let Err(reason) = check_http_url(source) {
            return Err(format!(
                "image {} ({}) is not an http(s) URL: {reason}",
                id + 1,
                shorten(source)
            ));
        }
    }
    let total = run.sources.len().saturating_mul(run.items_per_image());
    let mut seen = HashSet::new();
    for (id, _) in &job.items {
        if *id >= total {
            return Err(format!(
                "it has a result for item {}, but only {total} items",
                id + 1
            ));
        }
        if !seen.insert(*id) {
            return Err(format!("item {} appears twice in it", id + 1));
        }
    }
    let (dropped, example) = drop_implausible_attempts(job.items.iter_mut().map(|(_, i)| i));
    if dropped > 0 {
        notes.push(implausible_note(dropped, example));
    }
    Ok(notes)
}

/// Brings saved settings within the bounds the form enforces; one
/// sentence per setting that had to change.
pub fn check_settings(s: &mut SavedSettings) -> Vec<String> {
    let mut notes = Vec::new();
    if let Err(why) = check_rate(s.rate) {
        let rate = clamp_rate(s.rate);
        notes.push(format!("{why} Using {rate}."));
        s.rate = rate;
    }
    if !(1..=MAX_CONCURRENCY).contains(&s.concurrency) {
        let n = s.concurrency.clamp(1, MAX_CONCURRENCY);
        notes.push(format!(
            "A concurrency of {} is outside 1 to {MAX_CONCURRENCY}; using {n}.",
            s.concurrency
        ));
        s.concurrency = n;
    }
    let (lo, hi) = (
        (MIN_TIMEOUT_S * 1000.0) as u32,
        (MAX_TIMEOUT_S * 1000.0) as u32,
    );
    if !(lo..=hi).contains(&s.timeout_ms) {
        let t = s.timeout_ms.clamp(lo, hi);
        notes.push(format!(
            "A timeout of {} ms is outside {lo} to {hi} ms; using {t} ms.",
            s.timeout_ms
        ));
        s.timeout_ms = t;
    }
    if !(1..=MAX_ATTEMPTS).contains(&s.max_attempts) {
        let n = s.max_attempts.clamp(1, MAX_ATTEMPTS);
        notes.push(format!(
            "{} attempts per image is outside 1 to {MAX_ATTEMPTS}; using {n}.",
            s.max_attempts
        ));
        s.max_attempts = n;
    }
    notes
}

/// Drops attempts whose send time or latency no clock could have read
/// (not a number, before 2001 or after 2100, a latency over a day), and
/// a proxy's hold that is not part of its attempt's latency: how many
/// attempts, and the first bad send time (or latency) for the message.
pub fn drop_implausible_attempts<'a>(
    items: impl IntoIterator<Item = &'a mut SavedItem>,
) -> (usize, Option<f64>) {
    let mut dropped = 0;
    let mut example = None;
    for item in items {
        item.attempts.retain_mut(|a: &mut AttemptRecord| {
            // A proxy's hold is part of the latency: one that is not is dropped.
            let latency = a.latency_ms;
            a.held_ms = a
                .held_ms
                .filter(|h| h.is_finite() && (0.0..=latency).contains(h));
            let ok = plausible_send_time(a.sent_unix_ms) && plausible_latency(a.latency_ms);
            if !ok {
                dropped += 1;
                example.get_or_insert(if plausible_send_time(a.sent_unix_ms) {
                    a.latency_ms
                } else {
                    a.sent_unix_ms
                });
            }
            ok
        });
    }
    (dropped, example)
}

/// What [`drop_implausible_attempts`] did, in words.
pub fn implausible_note(dropped: usize, example: Option<f64>) -> String {
    let example = example
        .map(|v| format!(" (e.g. {v:e})"))
        .unwrap_or_default();
    let what = if dropped == 1 {
        "1 attempt".to_owned()
    } else {
        format!("{dropped} attempts")
    };
    format!(
        "{what} with an impossible time{example} left out: send times must lie between \
         2001 and 2100, latencies under a day."
    )
}

/// `text` cut to 80 characters for a message.
fn shorten(text: &str) -> String {
    match text.char_indices().nth(80) {
        Some((i, _)) => format!("{}…", &text[..i]),
        None => text.to_owned(),
    }
}

#[cfg(all(test, not(target_arch = "wasm32")))]
#[path = "checked/tests.rs"]
mod tests;
