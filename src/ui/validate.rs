//! Turns the form's raw text into a run's [`Settings`], or says what is wrong.
//!
//! Pure: no signals, no browser. The start button uses [`missing`] to decide
//! whether it is enabled and [`validate`] when it is pressed.

use pacer_core::bounds::{check_rate, MAX_TIMEOUT_S, MIN_TIMEOUT_S};
use pacer_core::input::{check_endpoint, parse_models, ParsedSources};

use crate::run::{Notice, NoticeLevel, Settings};

pub use pacer_core::bounds::MAX_CONCURRENCY;
/// The most sends per item.
pub const MAX_ATTEMPTS: u64 = pacer_core::bounds::MAX_ATTEMPTS as u64;

/// The form's fields as typed.
#[derive(Clone, Copy, Debug)]
pub struct FormInput<'a> {
    /// API base URL.
    pub endpoint: &'a str,
    /// Client key.
    pub key: &'a str,
    /// Model ids, comma/whitespace separated.
    pub models: &'a str,
    /// One call per image × model.
    pub per_model: bool,
    /// Requests per second.
    pub rate: &'a str,
    /// Fetch tasks.
    pub concurrency: &'a str,
    /// Probe for the server's limit from the rate upward.
    pub auto_rate: bool,
    /// Spread a long quota over its time left.
    pub spread_quota: bool,
    /// Per-request timeout, seconds.
    pub timeout: &'a str,
    /// Sends per item before a retryable failure is final.
    pub attempts: &'a str,
    /// The URL box, already parsed.
    pub sources: &'a ParsedSources,
    /// Local images ready to send.
    pub files: usize,
    /// Local images still being prepared.
    pub preparing: usize,
}

/// What a press of Start hands to the run.
#[derive(Clone, Debug, PartialEq)]
pub struct StartRequest {
    /// The run's settings.
    pub settings: Settings,
    /// Valid URLs, each once, in input order.
    pub sources: Vec<String>,
    /// Something the user should know (e.g. concurrency was clamped).
    pub notice: Option<Notice>,
}

/// The rate as typed, if it is a number of requests per second Pacer can
/// pace at (`MIN_RATE..=MAX_RATE`): what the live-rate change and Start
/// both use, so no keystroke can hand the run a rate it cannot pace at.
pub fn parse_rate(text: &str) -> Option<f64> {
    check_rate(text.trim().parse::<f64>().ok()?).ok()
}

/// Why the rate as typed is not one Pacer paces at, in words.
pub fn rate_problem(text: &str) -> Option<String> {
    match text.trim().parse::<f64>() {
        Ok(rate) => check_rate(rate).err(),
        Err(_) => Some("Set the rate as a number of requests per second.".into()),
    }
}

/// The concurrency as typed, if it is a whole number (not yet clamped:
/// 0 or less becomes 1, with a notice).
pub fn parse_concurrency(text: &str) -> Option<i64> {
    let value = text.trim().parse::<f64>().ok()?;
    (value.is_finite() && value.fract() == 0.0).then_some(value.clamp(-1e12, 1e12) as i64)
}

/// The timeout as typed, in ms, if it is a number of seconds in
/// `0.1..=MAX_TIMEOUT_S`.
pub fn parse_timeout_ms(text: &str) -> Option<u32> {
    let s = text.trim().parse::<f64>().ok()?;
    (s.is_finite() && (MIN_TIMEOUT_S..=MAX_TIMEOUT_S).contains(&s))
        .then(|| (s * 1000.0).round() as u32)
}

/// The attempts as typed, if a whole number of at least 1 (not yet clamped).
pub fn parse_attempts(text: &str) -> Option<u64> {
    parse_concurrency(text)
        .filter(|n| *n >= 1)
        .map(|n| n as u64)
}

/// The first thing that keeps Start disabled, in words, or `None` when the
/// form is complete enough to press it (the endpoint is checked on press).
pub fn missing(input: &FormInput) -> Option<&'static str> {
    if input.preparing > 0 {
        Some("Wait until the image files are ready")
    } else if input.sources.valid.is_empty() && input.files == 0 {
        Some("Add at least one valid image URL or image file")
    } else {
        missing_setting(input)
    }
}

/// The first setting (not image) that is missing or wrong, in words.
fn missing_setting(input: &FormInput) -> Option<&'static str> {
    if input.key.trim().is_empty() {
        Some("Enter a client key")
    } else if parse_models(input.models).is_empty() {
        Some("Enter at least one model id")
    } else if parse_rate(input.rate).is_none() {
        Some("Set a rate between 0.001 and 10000 requests/second")
    } else if parse_concurrency(input.concurrency).is_none() {
        Some("Set the concurrency to a whole number of tasks")
    } else if parse_timeout_ms(input.timeout).is_none() {
        Some("Set a timeout between 0.1 and 600 seconds")
    } else if parse_attempts(input.attempts).is_none() {
        Some("Set at least 1 attempt per image")
    } else {
        None
    }
}

/// Checks every field and builds the run, clamping concurrency to
/// `1..=MAX_CONCURRENCY` (with an info notice when it had to).
pub fn validate(input: &FormInput) -> Result<StartRequest, String> {
    validate_with(input, missing)
}

/// Checks the settings only, for resuming a saved run (its images are
/// saved with it, so the URL box and the files may be empty).
pub fn validate_settings(input: &FormInput) -> Result<StartRequest, String> {
    validate_with(input, missing_setting)
}

fn validate_with(
    input: &FormInput,
    missing: fn(&FormInput) -> Option<&'static str>,
) -> Result<StartRequest, String> {
    let endpoint = input.endpoint.trim().trim_end_matches('/');
    check_endpoint(endpoint)?;
    if let Some(what) = missing(input) {
        // Say exactly what is wrong with a rate out of bounds.
        if parse_rate(input.rate).is_none() && !input.rate.trim().is_empty() {
            if let Some(problem) = rate_problem(input.rate) {
                return Err(problem);
            }
        }
        return Err(format!("{what}."));
    }
    let key = input.key.trim().to_owned();
    let models = parse_models(input.models);
    let rate = parse_rate(input.rate).unwrap_or(1.0);
    let asked = parse_concurrency(input.concurrency).unwrap_or(1);
    let concurrency = asked.clamp(1, MAX_CONCURRENCY as i64) as usize;
    let timeout_ms = parse_timeout_ms(input.timeout).unwrap_or(30_000);
    let asked_attempts = parse_attempts(input.attempts).unwrap_or(5);
    let max_attempts = asked_attempts.clamp(1, MAX_ATTEMPTS) as u32;
    let mut notes = Vec::new();
    if asked < 1 {
        notes.push(format!(
            "Concurrency {asked} would send nothing; using {concurrency} task."
        ));
    } else if asked as usize != concurrency {
        notes.push(format!(
            "Concurrency {asked} is more than Pacer runs at once; using {concurrency}."
        ));
    }
    if u64::from(max_attempts) != asked_attempts {
        notes.push(format!(
            "{asked_attempts} attempts per image is more than Pacer makes; using {max_attempts}."
        ));
    }
    let notice = (!notes.is_empty()).then(|| Notice {
        level: NoticeLevel::Info,
        text: notes.join(" "),
    });
    Ok(StartRequest {
        settings: Settings {
            endpoint: endpoint.to_owned(),
            key,
            models,
            per_model: input.per_model,
            rate,
            concurrency,
            auto_rate: input.auto_rate,
            spread_quota: input.spread_quota,
            timeout_ms,
            max_attempts,
        },
        sources: input.sources.valid.clone(),
        notice,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use pacer_core::input::parse_sources;

    fn run(
        endpoint: &str,
        key: &str,
        models: &str,
        rate: &str,
        conc: &str,
        urls: &str,
    ) -> Result<StartRequest, String> {
        let sources = parse_sources(urls);
        validate(&FormInput {
            endpoint,
            key,
            models,
            rate,
            concurrency: conc,
            per_model: false,
            auto_rate: false,
            spread_quota: false,
            timeout: "30",
            attempts: "5",
            sources: &sources,
            files: 0,
            preparing: 0,
        })
    }

    #[test]
    fn files_count_as_images_and_a_resume_needs_none() {
        let none = parse_sources("");
        let input = |files, preparing| FormInput {
            endpoint: "http://127.0.0.1:8080",
            key: "k",
            models: "m",
            rate: "4",
            concurrency: "6",
            per_model: false,
            auto_rate: false,
            spread_quota: false,
            timeout: "30",
            attempts: "5",
            sources: &none,
            files,
            preparing,
        };
        assert_eq!(
            validate(&input(0, 0)).unwrap_err(),
            "Add at least one valid image URL or image file."
        );
        assert!(validate(&input(2, 0)).is_ok());
        assert_eq!(
            validate(&input(2, 1)).unwrap_err(),
            "Wait until the image files are ready."
        );
        assert!(validate_settings(&input(0, 0)).is_ok());
    }

    #[test]
    fn good_form_builds_settings() {
        let req = run(
            "http://127.0.0.1:8080/",
            " k ",
            "a, b,a",
            "0.5",
            "8",
            "http://x/1\nbad\nhttp://x/1",
        )
        .unwrap();
        assert_eq!(req.settings.endpoint, "http://127.0.0.1:8080");
        assert_eq!(req.settings.key, "k");
        assert_eq!(req.settings.models, ["a", "b"]);
        assert_eq!(req.settings.rate, 0.5);
        assert_eq!(req.settings.concurrency, 8);
        assert_eq!(req.sources, ["http://x/1"]);
        assert_eq!(req.notice, None);
    }

    #[test]
    fn concurrency_below_one_is_clamped_with_a_notice() {
        for asked in ["0", "-3"] {
            let req = run("http://e", "k", "m", "4", asked, "http://x/1").unwrap();
            assert_eq!(req.settings.concurrency, 1);
            assert!(req.notice.unwrap().text.contains("using 1"), "{asked}");
        }
    }

    #[test]
    fn concurrency_is_clamped_with_a_notice() {
        let req = run(
            "https://api-us.restb.ai",
            "k",
            "m",
            "4",
            "1000",
            "http://x/1",
        )
        .unwrap();
        assert_eq!(req.settings.concurrency, MAX_CONCURRENCY);
        assert_eq!(req.notice.unwrap().level, NoticeLevel::Info);
    }

    #[test]
    fn bad_fields_are_named() {
        let table: &[(&str, &str, &str, &str, &str, &str, &str)] = &[
            ("ftp://x", "k", "m", "4", "8", "http://x/1", "endpoint"),
            ("http://", "k", "m", "4", "8", "http://x/1", "endpoint"),
            ("http://u:p@e", "k", "m", "4", "8", "http://x/1", "password"),
            (
                "http://e/?client_key=K",
                "k",
                "m",
                "4",
                "8",
                "http://x/1",
                "client key",
            ),
            ("http://e", "", "m", "4", "8", "http://x/1", "client key"),
            ("http://e", "k", " , ", "4", "8", "http://x/1", "model"),
            ("http://e", "k", "m", "0", "8", "http://x/1", "rate"),
            ("http://e", "k", "m", "inf", "8", "http://x/1", "rate"),
            ("http://e", "k", "m", "abc", "8", "http://x/1", "rate"),
            ("http://e", "k", "m", "1e-20", "8", "http://x/1", "below"),
            ("http://e", "k", "m", "0.0009", "8", "http://x/1", "below"),
            ("http://e", "k", "m", "10001", "8", "http://x/1", "above"),
            ("http://e", "k", "m", "1e300", "8", "http://x/1", "above"),
            (
                "http://e",
                "k",
                "m",
                "4",
                "2.5",
                "http://x/1",
                "concurrency",
            ),
            ("http://e", "k", "m", "4", "8", "bad\n\n", "image URL"),
        ];
        for (e, k, m, r, c, u, want) in table {
            let err = run(e, k, m, r, c, u).unwrap_err();
            assert!(err.contains(want), "{err:?} should mention {want}");
        }
    }

    fn with(timeout: &str, attempts: &str) -> Result<StartRequest, String> {
        let sources = parse_sources("http://x/1");
        validate(&FormInput {
            endpoint: "http://e",
            key: "k",
            models: "m",
            rate: "4",
            concurrency: "8",
            per_model: false,
            auto_rate: false,
            spread_quota: false,
            timeout,
            attempts,
            sources: &sources,
            files: 0,
            preparing: 0,
        })
    }

    #[test]
    fn timeout_and_attempts_are_checked_and_clamped() {
        let req = with("2.5", "3").unwrap();
        assert_eq!(req.settings.timeout_ms, 2500);
        assert_eq!(req.settings.max_attempts, 3);
        assert_eq!(req.notice, None);
        for bad in ["0", "-1", "abc", "601", "inf"] {
            assert!(with(bad, "5").unwrap_err().contains("timeout"), "{bad}");
        }
        for bad in ["0", "1.5", "x"] {
            assert!(with("30", bad).unwrap_err().contains("attempt"), "{bad}");
        }
        let req = with("30", "1000").unwrap();
        assert_eq!(req.settings.max_attempts, 20);
        assert!(req.notice.unwrap().text.contains("1000 attempts"));
    }
}
