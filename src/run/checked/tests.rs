use super::*;
use crate::run::job::{parse_import, Imported, JOB_FORMAT};
use crate::run::model::{ItemResult, ItemState};
use crate::run::saved::{restore, stats_of, SavedRun};
use proptest::prelude::*;

fn attempt(sent: f64, latency: f64) -> AttemptRecord {
    AttemptRecord {
        attempt: 1,
        sent_unix_ms: sent,
        latency_ms: latency,
        status: Some(503),
        error: None,
        possibly_charged: false,
        held_ms: None,
    }
}

fn failed(attempts: Vec<AttemptRecord>) -> SavedItem {
    SavedItem::capture(
        ItemState::Failed,
        Some(&ItemResult::Err("HTTP 503".into())),
        &attempts,
    )
}

fn job(sources: &[&str], items: Vec<(usize, SavedItem)>) -> JobFile {
    JobFile {
        format: JOB_FORMAT.into(),
        part: None,
        run: SavedSettings::example()
            .run_over(sources.iter().map(|s| s.to_string()).collect(), vec![]),
        items,
        notes: Vec::new(),
    }
}

fn import(job: &JobFile) -> Result<JobFile, String> {
    let text = serde_json::to_string(job).unwrap();
    match parse_import("job.json", &text)? {
        Imported::Job(job) => Ok(*job),
        Imported::Table(_) => panic!("read as a table"),
    }
}

#[test]
fn a_job_with_absurd_times_imports_and_says_what_was_left_out() {
    // Regression: `sent_unix_ms: 1e300` panicked in `Duration::from_secs_f64`
    // and a span of years allocated one timeline entry per second.
    let items = vec![
        (
            0,
            failed(vec![attempt(1e300, 300.0), attempt(1.7e12, 200.0)]),
        ),
        (1, failed(vec![attempt(1.7e12, 1e300), attempt(-5.0, 1.0)])),
    ];
    let job = import(&job(&["https://x/1.jpg", "https://x/2.jpg"], items)).unwrap();
    assert_eq!(job.notes.len(), 1, "{:?}", job.notes);
    assert!(job.notes[0].contains("3 attempts"), "{}", job.notes[0]);
    assert!(job.notes[0].contains("1e300"), "{}", job.notes[0]);
    assert_eq!(job.items[0].1.attempts.len(), 1);
    assert!(job.items[1].1.attempts.is_empty());
}

#[test]
fn duplicate_and_unknown_items_refuse_the_job() {
    let err = import(&job(
        &["https://x/1.jpg"],
        vec![(0, failed(vec![])), (0, failed(vec![]))],
    ))
    .unwrap_err();
    assert!(err.contains("item 1 appears twice"), "{err}");
    let err = import(&job(&["https://x/1.jpg"], vec![(5, failed(vec![]))])).unwrap_err();
    assert!(err.contains("item 6"), "{err}");
}

#[test]
fn sources_must_be_http_urls_unless_local_files() {
    for bad in [
        "javascript:alert(1)",
        "data:image/png;base64,AA",
        "ftp://x/y",
    ] {
        let err = import(&job(&["https://x/1.jpg", bad], vec![])).unwrap_err();
        assert!(err.contains("image 2"), "{err}");
        assert!(err.contains("not an http(s) URL"), "{err}");
    }
    // A local file's name is not a URL and need not be one.
    let mut j = job(&["https://x/1.jpg", "kitchen.jpg"], vec![]);
    j.run.files = vec![1, 7, 1];
    let j = import(&j).unwrap();
    assert_eq!(
        j.run.files,
        [1],
        "unknown and repeated file indices dropped"
    );
}

#[test]
fn an_endpoint_holding_a_secret_refuses_the_job() {
    for bad in [
        "http://u:p@127.0.0.1:8080",
        "https://api.example/?client_key=K",
    ] {
        let mut j = job(&["https://x/1.jpg"], vec![]);
        j.run.settings.endpoint = bad.into();
        let err = import(&j).unwrap_err();
        assert!(err.contains("cannot be imported"), "{err}");
    }
}

#[test]
fn settings_out_of_bounds_are_mended_and_said() {
    let mut s = SavedSettings::example();
    s.rate = 1e-20;
    s.concurrency = 0;
    s.timeout_ms = u32::MAX;
    s.max_attempts = 0;
    let notes = check_settings(&mut s);
    assert_eq!(notes.len(), 4, "{notes:?}");
    assert!(notes[0].contains("below the lowest"), "{}", notes[0]);
    assert_eq!(
        (s.rate, s.concurrency, s.timeout_ms, s.max_attempts),
        (0.001, 1, 600_000, 1)
    );
    let mut s = SavedSettings::example();
    s.rate = f64::MAX;
    check_settings(&mut s);
    assert_eq!(s.rate, 10_000.0);
    assert!(check_settings(&mut SavedSettings::example()).is_empty());
}

#[test]
fn a_proxy_hold_is_not_api_latency_and_a_hold_longer_than_its_attempt_is_dropped() {
    let held = |latency: f64, held: f64| AttemptRecord {
        status: Some(200),
        held_ms: Some(held),
        ..attempt(1.7e12, latency)
    };
    let items = vec![
        (0, failed(vec![held(900.0, 600.0)])),
        (1, failed(vec![held(300.0, 5e6)])),
    ];
    let r = restore(None, 2, items);
    assert_eq!(r.record.attempts[0][0].api_latency_ms(), 300.0);
    assert_eq!(r.record.attempts[1][0].held_ms, None);
    let mut stats = stats_of(&r.record, 10.0);
    assert_eq!(stats.latency_quantile_ms(1.0), 300.0);
    assert_eq!(stats.latency_quantile_ms(0.0), 300.0);
}

#[test]
fn a_saved_run_with_absurd_times_restores_and_charts() {
    let items = vec![
        (0, failed(vec![attempt(1e300, 1.0), attempt(1.7e12, 10.0)])),
        (1, failed(vec![attempt(1.0e12, 5.0)])),
        (1, failed(vec![attempt(f64::NAN, 5.0)])),
    ];
    let r = restore(None, 2, items);
    assert_eq!(r.notes.len(), 1, "{:?}", r.notes);
    assert_eq!(
        r.record.attempts[1].len(),
        1,
        "the first record of an id wins"
    );
    let stats = stats_of(&r.record, 1e-300);
    // Times 2001 to 2023 apart: the chart still folds into columns.
    assert_eq!(stats.timeline().columns(100).len(), 100);
}

fn cases() -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2048)
}

/// Any f64 a JSON file can hold, with the edges weighted up.
fn number() -> impl Strategy<Value = f64> {
    prop_oneof![
        any::<f64>().prop_filter("JSON has no NaN or infinity", |v| v.is_finite()),
        Just(0.0),
        Just(1e300),
        Just(-1e300),
        Just(1.8e22),
        Just(1e-20),
        1.0e12..4.2e12,
    ]
}

fn arb_attempt() -> impl Strategy<Value = AttemptRecord> {
    (
        any::<u32>(),
        number(),
        number(),
        any::<Option<u16>>(),
        any::<bool>(),
        proptest::option::of(number()),
    )
        .prop_map(
            |(attempt, sent, latency, status, possibly_charged, held)| AttemptRecord {
                attempt,
                sent_unix_ms: sent,
                latency_ms: latency,
                status,
                error: None,
                possibly_charged,
                held_ms: held,
            },
        )
}

fn arb_item() -> impl Strategy<Value = SavedItem> {
    (
        prop_oneof![
            Just(ItemState::Done),
            Just(ItemState::Failed),
            Just(ItemState::Queued),
            Just(ItemState::InFlight),
            Just(ItemState::Cancelled),
        ],
        proptest::collection::vec(arb_attempt(), 0..4),
    )
        .prop_map(|(state, attempts)| SavedItem {
            run: None,
            state,
            attempts,
            prediction: None,
            reason: None,
        })
}

fn arb_job() -> impl Strategy<Value = JobFile> {
    (
        proptest::collection::vec(
            prop_oneof!["https://x/[a-z]{1,3}\\.jpg", "\\PC{0,12}"],
            0..6,
        ),
        proptest::collection::vec(0..12_usize, 0..3),
        proptest::collection::vec((0..14_usize, arb_item()), 0..8),
        (
            number(),
            any::<usize>(),
            any::<u32>(),
            any::<u32>(),
            number(),
        ),
        any::<bool>(),
    )
        .prop_map(
            |(sources, files, items, (rate, conc, timeout, tries, started), per_model)| {
                let mut settings = SavedSettings::example();
                settings.rate = rate;
                settings.concurrency = conc;
                settings.timeout_ms = timeout;
                settings.max_attempts = tries;
                settings.per_model = per_model;
                settings.models = vec!["a".into(), "b".into()];
                let mut run: SavedRun = settings.run_over(sources, files);
                run.started_unix_ms = started;
                JobFile {
                    format: JOB_FORMAT.into(),
                    part: None,
                    run,
                    items,
                    notes: Vec::new(),
                }
            },
        )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(cases()))]

    /// Whatever a job file holds, importing it and showing it (restore,
    /// figures, chart) never panics, and what is shown is in bounds.
    #[test]
    fn job_files_never_panic(job in arb_job()) {
        let text = serde_json::to_string(&job).unwrap();
        if let Ok(Imported::Job(job)) = parse_import("j.json", &text) {
            let s = &job.run.settings;
            prop_assert!(check_rate(s.rate).is_ok());
            prop_assert!((1..=MAX_CONCURRENCY).contains(&s.concurrency));
            let total = job.run.sources.len() * job.run.items_per_image();
            let r = restore(None, total, job.items.clone());
            prop_assert!(r.notes.is_empty(), "the import already dropped them");
            prop_assert!(r.pending() <= total);
            let stats = stats_of(&r.record, s.rate);
            let _ = stats.timeline().columns(120);
        }
    }

    /// Whatever this browser's storage holds, a saved run comes back.
    #[test]
    fn saved_runs_never_panic(
        len in 0..10_usize,
        items in proptest::collection::vec((0..14_usize, arb_item()), 0..10),
        rate in number(),
    ) {
        let r = restore(None, len, items);
        prop_assert!(r.pending() <= len);
        for a in r.record.attempts.iter().flatten() {
            prop_assert!(a.held_ms.is_none_or(|h| (0.0..=a.latency_ms).contains(&h)));
            prop_assert!((0.0..=a.latency_ms).contains(&a.api_latency_ms()));
        }
        let mut stats = stats_of(&r.record, rate);
        let _ = stats.timeline().columns(120);
        let _ = stats.latency_quantile_ms(0.95);
    }

    /// Text that is not a job at all never panics the importer either.
    #[test]
    fn any_text_imports_or_says_why(text in "\\PC{0,200}") {
        let _ = parse_import("x", &text);
        let _ = parse_import("x", &format!("{{\"format\":\"pacer-job\",{text}"));
    }
}
