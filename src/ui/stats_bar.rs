//! The run's live figures and its progress bar. Each `stat-*` element holds
//! only its number; labels and units sit in sibling elements.

use leptos::prelude::*;

use crate::run::{RunHandle, RunState, StatsView};

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
    /// A line under the number when there is something to add, with its
    /// test id.
    #[prop(optional)]
    note: Option<(&'static str, Signal<Option<String>>)>,
) -> impl IntoView {
    view! {
        <div class="stat">
            <span class="stat-label">{label}</span>
            <span class="stat-value">
                <span class="stat-number" data-testid=testid>{value}</span>
                {(!unit.is_empty()).then(|| view! { <span class="stat-unit">{unit}</span> })}
            </span>
            {move || {
                note.and_then(|(testid, text)| {
                    text.get().map(|text| view! { <span class="stat-note" data-testid=testid>{text}</span> })
                })
            }}
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

/// "about 2 min 5 s left" at the pace Pacer keeps now, or `None` when
/// nothing is left (or no pace is known). With `others` tabs sharing the
/// budget, this tab gets its share of the pace.
pub fn eta_text(stats: &StatsView, others: usize) -> Option<String> {
    let left = stats.total.saturating_sub(stats.done + stats.failed);
    if left == 0 || stats.pacing_rate <= 0.0 {
        return None;
    }
    let pace = stats.pacing_rate / (others + 1) as f64;
    let s = (left as f64 / pace).ceil() as u64;
    Some(match s {
        0..=59 => format!("about {s} s left"),
        60..=3599 => format!("about {} min {} s left", s / 60, s % 60),
        _ => format!("about {} h {} min left", s / 3600, (s % 3600) / 60),
    })
}

/// The original client's closing line, for a finished run.
pub fn summary_line(stats: &StatsView) -> String {
    format!(
        "{} requests processed in {:.1} seconds with average time {:.0} ms, total throughput: {:.2} rps",
        stats.done, stats.elapsed_s, stats.latency_avg_ms, stats.throughput
    )
}

/// The stats grid and progress bar.
#[component]
pub fn StatsBar() -> impl IntoView {
    let run = expect_context::<RunHandle>();
    let stats = run.stats;
    let state = run.state;
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
            <Stat label="Possibly charged" testid=Some("stat-possibly-charged") unit="" value=fig(|s| s.possibly_charged.to_string()) />
            <Stat
                label="Throughput"
                testid=Some("stat-throughput")
                unit="req/s"
                value=fig(|s| format!("{:.2}", s.throughput))
            />
            <div class="stat stat-wide">
                <span class="stat-label">"Latency avg · p50 / p95 / p99"</span>
                <span class="stat-value">
                    <span class="stat-number" data-testid="stat-latency-avg">
                        {move || stats.with(|s| format!("{:.0}", s.latency_avg_ms))}
                    </span>
                    <span class="stat-sep">"·"</span>
                    <span class="stat-number" data-testid="stat-latency-p50">
                        {move || stats.with(|s| format!("{:.0}", s.latency_p50_ms))}
                    </span>
                    <span class="stat-sep">"/"</span>
                    <span class="stat-number" data-testid="stat-latency-p95">
                        {move || stats.with(|s| format!("{:.0}", s.latency_p95_ms))}
                    </span>
                    <span class="stat-sep">"/"</span>
                    <span class="stat-number" data-testid="stat-latency-p99">
                        {move || stats.with(|s| format!("{:.0}", s.latency_p99_ms))}
                    </span>
                    <span class="stat-unit">"ms"</span>
                </span>
            </div>
            <Stat label="Elapsed" testid=None unit="s" value=fig(|s| format!("{:.1}", s.elapsed_s)) />
            <Stat
                label="Pacing at"
                testid=Some("stat-pacing-rate")
                unit="req/s"
                value=fig(|s| format!("{:.2}", s.pacing_rate))
                note=(
                    "pacing-shared",
                    Signal::derive(move || {
                        // Which announced window binds the pacing, and
                        // whether other tabs share it.
                        let others = run.sharing.get();
                        let shared = (others > 0).then(|| format!("shared by {} tabs", others + 1));
                        let binding = run.binding.get().map(|b| format!("set by {b}"));
                        let parts: Vec<String> = binding.into_iter().chain(shared).collect();
                        (!parts.is_empty()).then(|| parts.join(" · "))
                    }),
                )
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
                    stats.with(|s| {
                        let mut text = format!("{:.0}% · {} of {}", progress_percent(s), s.done + s.failed, s.total);
                        if state.get() == RunState::Running {
                            if let Some(eta) = eta_text(s, run.sharing.get()) {
                                text.push_str(" · ");
                                text.push_str(&eta);
                            }
                        }
                        text
                    })
                }}
            </span>
        </div>
        <Show when=move || matches!(state.get(), RunState::Done | RunState::Cancelled) && stats.with(|s| s.done > 0)>
            <p class="summary" data-testid="summary">{move || stats.with(summary_line)}</p>
        </Show>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stats(total: usize, done: usize, rate: f64) -> StatsView {
        StatsView {
            total,
            done,
            pacing_rate: rate,
            ..StatsView::default()
        }
    }

    #[test]
    fn eta_is_what_is_left_at_the_pace() {
        assert_eq!(
            eta_text(&stats(100, 60, 4.0), 0).as_deref(),
            Some("about 10 s left")
        );
        assert_eq!(
            eta_text(&stats(1000, 0, 4.0), 0).as_deref(),
            Some("about 4 min 10 s left")
        );
        assert_eq!(
            eta_text(&stats(100_000, 0, 10.0), 0).as_deref(),
            Some("about 2 h 46 min left")
        );
        assert_eq!(eta_text(&stats(10, 10, 4.0), 0), None);
        assert_eq!(eta_text(&stats(10, 0, 0.0), 0), None);
        // Two other tabs share the 4/s: this one sends a third of it.
        assert_eq!(
            eta_text(&stats(100, 60, 4.0), 2).as_deref(),
            Some("about 30 s left")
        );
    }

    #[test]
    fn summary_reads_like_the_original_client() {
        let s = StatsView {
            done: 40,
            elapsed_s: 5.23,
            latency_avg_ms: 301.4,
            throughput: 7.65,
            ..StatsView::default()
        };
        assert_eq!(
            summary_line(&s),
            "40 requests processed in 5.2 seconds with average time 301 ms, total throughput: 7.65 rps"
        );
    }
}
