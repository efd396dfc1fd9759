//! The figures the page shows of a run: live, from the scheduler and the
//! transport's measurements, or rebuilt from a saved run's attempts; and
//! what an announced limit is called in the notice.

use std::cell::RefCell;

use leptos::prelude::*;
use pacer_core::driver::RunControl;
use pacer_core::schedule::{AnnouncedLimit, Scheduler};

use super::model::{NoticeLevel, StatsView};
use super::record::RunRecord;
use super::saved::stats_of;
use super::transport::FetchTransport;
use super::view::RunView;
use crate::browser::unix_now;

/// Columns of the throughput chart, at most.
pub const CHART_COLUMNS: usize = 120;

/// Recomputes the live figures of a run of `total` items into `view`.
pub fn live_figures(
    view: RunView,
    control: &RunControl,
    transport: &FetchTransport,
    record: &RefCell<RunRecord>,
    finished: bool,
    total: usize,
) {
    if let Some(text) = transport.take_trouble() {
        view.say(NoticeLevel::Warning, &text);
    }
    // The run's clock (see `Session`): wall-clock time.
    let now = unix_now();
    let counts = control.read(|s| s.counts());
    let pacing_rate = control.read(|s| s.pacing().quota().rate());
    let finished = finished || control.read(Scheduler::is_finished);
    let mut team = transport.team.borrow().shown();
    if let Some(team) = &mut team {
        // Rounded, so the figure does not redraw for every answer.
        let share = control.read(|s| s.pacing().team_share());
        team.share = share.map(|r| (r * 10.0).round() / 10.0);
    }
    if view.team.with_untracked(|t| *t != team) {
        view.team.set(team);
    }
    let mut stats = transport.stats.borrow_mut();
    if !finished {
        stats.sample_rate(now, pacing_rate);
    }
    view.chart.set(stats.timeline().columns(CHART_COLUMNS));
    view.stats.set(StatsView {
        done: counts.done,
        failed: counts.failed,
        queued: counts.queued,
        in_flight: counts.in_flight,
        rate_limited: counts.rate_limited,
        retries: counts.retries,
        sent: counts.sent,
        throughput: stats.throughput(now, finished),
        latency_avg_ms: stats.latency_avg_ms(),
        latency_p95_ms: stats.latency_quantile_ms(0.95),
        latency_p50_ms: stats.latency_quantile_ms(0.50),
        latency_p99_ms: stats.latency_quantile_ms(0.99),
        elapsed_s: stats.elapsed(now, finished).as_secs_f64(),
        total,
        pacing_rate,
        possibly_charged: record.borrow().possibly_charged(),
    });
}

/// The figures of a saved run of `total` items paced at `rate`, with
/// `done`, `failed` and `pending` items, into `view`.
pub fn saved_figures(
    view: RunView,
    record: &RunRecord,
    rate: f64,
    (done, failed, pending): (usize, usize, usize),
    total: usize,
) {
    let mut figures = stats_of(record, rate);
    view.team.set(None);
    view.chart.set(figures.timeline().columns(CHART_COLUMNS));
    let now = unix_now();
    view.stats.set(StatsView {
        done,
        failed,
        queued: pending,
        sent: record.attempts.iter().map(Vec::len).sum(),
        retries: record
            .attempts
            .iter()
            .map(|a| a.len().saturating_sub(1))
            .sum(),
        throughput: figures.throughput(now, true),
        latency_avg_ms: figures.latency_avg_ms(),
        latency_p95_ms: figures.latency_quantile_ms(0.95),
        latency_p50_ms: figures.latency_quantile_ms(0.50),
        latency_p99_ms: figures.latency_quantile_ms(0.99),
        elapsed_s: figures.elapsed(now, true).as_secs_f64(),
        total,
        pacing_rate: rate,
        possibly_charged: record.possibly_charged(),
        ..StatsView::default()
    });
}

/// What the notice says of a limit the server announced.
pub fn announced_text(limit: &AnnouncedLimit) -> String {
    if let Some(window) = &limit.window {
        return super::quota_text::binding_notice(window, limit.lowered);
    }
    let mut announced = Vec::new();
    if let Some(n) = limit.per_second {
        announced.push(format!("{n}/s (X-RateLimit-Limit-Second: {n})"));
    }
    if let Some(n) = limit.per_minute {
        announced.push(format!("{n}/min (X-RateLimit-Limit-Minute: {n})"));
    }
    let limits = announced.join(" and ");
    if limit.lowered {
        format!(
            "The server allows {limits}, less than the rate you set: pacing at {rate}/s to honour it.",
            rate = (limit.rate * 100.0).round() / 100.0
        )
    } else {
        format!(
            "The server announces {limits}; Pacer keeps to it and sends mid-way between its window edges."
        )
    }
}
