//! The run's live figures and its progress bar. Each `stat-*` element holds
//! only its number; labels and units sit in sibling elements.

use leptos::prelude::*;

use crate::run::{RunHandle, StatsView};

/// One figure: a label, the number (`data-testid`), and a unit.
#[component]
fn Stat(
    /// What the figure is.
    label: &'static str,
    /// The figure's test id, or `None` for figures outside the interface.
    testid: Option<&'static str>,
    /// The unit shown after the number ("" for counts).
    unit: &'static str,
    /// The number, formatted.
    value: Signal<String>,
) -> impl IntoView {
    view! {
        <div class="stat">
            <span class="stat-label">{label}</span>
            <span class="stat-value">
                <span class="stat-number" data-testid=testid>{value}</span>
                {(!unit.is_empty()).then(|| view! { <span class="stat-unit">{unit}</span> })}
            </span>
        </div>
    }
}

/// Done and failed items as a percentage of all items (0 when empty).
pub fn progress_percent(stats: &StatsView) -> f64 {
    if stats.total == 0 {
        0.0
    } else {
        ((stats.done + stats.failed) as f64 * 100.0 / stats.total as f64).clamp(0.0, 100.0)
    }
}

/// The stats grid and progress bar.
#[component]
pub fn StatsBar() -> impl IntoView {
    let stats = expect_context::<RunHandle>().stats;
    let fig = move |f: fn(&StatsView) -> String| Signal::derive(move || stats.with(f));
    let pct = move || stats.with(progress_percent);
    view! {
        <div class="stats">
            <Stat label="Done" testid=Some("stat-done") unit="" value=fig(|s| s.done.to_string()) />
            <Stat label="Failed" testid=Some("stat-failed") unit="" value=fig(|s| s.failed.to_string()) />
            <Stat label="Queued" testid=Some("stat-queued") unit="" value=fig(|s| s.queued.to_string()) />
            <Stat label="In flight" testid=Some("stat-in-flight") unit="" value=fig(|s| s.in_flight.to_string()) />
            <Stat label="Sent" testid=Some("stat-sent") unit="" value=fig(|s| s.sent.to_string()) />
            <Stat label="429s" testid=Some("stat-429") unit="" value=fig(|s| s.rate_limited.to_string()) />
            <Stat label="Retries" testid=Some("stat-retries") unit="" value=fig(|s| s.retries.to_string()) />
            <Stat
                label="Throughput"
                testid=Some("stat-throughput")
                unit="req/s"
                value=fig(|s| format!("{:.2}", s.throughput))
            />
            <Stat
                label="Latency avg"
                testid=Some("stat-latency-avg")
                unit="ms"
                value=fig(|s| format!("{:.0}", s.latency_avg_ms))
            />
            <Stat
                label="Latency p95"
                testid=Some("stat-latency-p95")
                unit="ms"
                value=fig(|s| format!("{:.0}", s.latency_p95_ms))
            />
            <Stat label="Elapsed" testid=None unit="s" value=fig(|s| format!("{:.1}", s.elapsed_s)) />
            <Stat
                label="Pacing at"
                testid=Some("stat-pacing-rate")
                unit="req/s"
                value=fig(|s| format!("{:.2}", s.pacing_rate))
            />
        </div>
        <div class="progress-wrap">
            <div
                class="progress"
                role="progressbar"
                aria-label="Progress"
                aria-valuemin="0"
                aria-valuemax="100"
                aria-valuenow=move || format!("{:.0}", pct())
            >
                <div class="progress-fill" style:transform=move || format!("scaleX({:.4})", pct() / 100.0)></div>
            </div>
            <span class="progress-text">
                {move || {
                    stats.with(|s| format!("{:.0}% · {} of {}", progress_percent(s), s.done + s.failed, s.total))
                }}
            </span>
        </div>
    }
}
