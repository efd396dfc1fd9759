//! The throughput chart: successful requests per second over the run as
//! bars, the rate Pacer paced at as a line, and 429s marked above their
//! column. Plain SVG, drawn from the run's timeline columns (at most 120,
//! however long the run).

use leptos::prelude::*;
use pacer_core::timeline::Column;

use crate::run::RunHandle;

/// Width of one column in SVG units (the SVG is stretched to the card).
const COL: f64 = 10.0;
/// Height of the plot in SVG units.
const PLOT: f64 = 100.0;
/// The plot starts this wide (in seconds), so a new run grows from the left.
const MIN_SPAN: usize = 30;

/// The chart's geometry, computed once per redraw.
#[derive(Clone, Debug, PartialEq)]
pub struct ChartModel {
    /// Top of the y axis, requests/s.
    pub y_max: f64,
    /// Bars: (x, y, height).
    pub bars: Vec<(f64, f64, f64)>,
    /// The rate line's `points` attribute.
    pub rate_points: String,
    /// 429 marks: (x, count).
    pub marks: Vec<(f64, u32)>,
    /// Width of the plot in SVG units.
    pub width: f64,
    /// Seconds the plot spans.
    pub span_s: f64,
    /// For screen readers.
    pub summary: String,
}

/// "12 s", "4 min", "2.5 h" for an axis label.
pub fn duration_label(s: f64) -> String {
    if s < 120.0 {
        format!("{s:.0} s")
    } else if s < 7200.0 {
        format!("{:.0} min", s / 60.0)
    } else {
        format!("{:.1} h", s / 3600.0)
    }
}

/// A round number at or above `v` (1, 1.5, 2, 2.5, 3, 4, 5, 6, 8 × 10ⁿ),
/// at least 1.
fn nice_ceiling(v: f64) -> f64 {
    if v <= 1.0 {
        return 1.0;
    }
    let exp = 10f64.powf(v.log10().floor());
    [1.0, 1.5, 2.0, 2.5, 3.0, 4.0, 5.0, 6.0, 8.0, 10.0]
        .into_iter()
        .map(|m| m * exp)
        .find(|c| *c >= v)
        .unwrap_or(10.0 * exp)
}

/// The chart of `columns`.
pub fn chart_model(columns: &[Column]) -> ChartModel {
    let top = columns
        .iter()
        .map(|c| c.per_s.max(c.rate.unwrap_or(0.0)))
        .fold(0.0, f64::max);
    let y_max = nice_ceiling(top * 1.1);
    let y = |v: f64| PLOT - (v / y_max * PLOT).clamp(0.0, PLOT);
    // One-second columns (a run shorter than 120 s) are drawn on at least
    // MIN_SPAN seconds; wider ones fill the plot.
    let padded = columns.first().is_none_or(|c| c.width_s <= 1.0);
    let slots = if padded {
        columns.len().max(MIN_SPAN)
    } else {
        columns.len()
    };
    let bars = columns
        .iter()
        .enumerate()
        .filter(|(_, c)| c.per_s > 0.0)
        .map(|(i, c)| (i as f64 * COL + 1.0, y(c.per_s), PLOT - y(c.per_s)))
        .collect();
    let mut rate_points = Vec::new();
    for (i, c) in columns.iter().enumerate() {
        if let Some(rate) = c.rate {
            let ry = y(rate);
            rate_points.push(format!("{:.1},{ry:.2}", i as f64 * COL));
            rate_points.push(format!("{:.1},{ry:.2}", (i + 1) as f64 * COL));
        }
    }
    let marks: Vec<(f64, u32)> = columns
        .iter()
        .enumerate()
        .filter(|(_, c)| c.rate_limited > 0)
        .map(|(i, c)| (i as f64 * COL + COL / 2.0, c.rate_limited))
        .collect();
    let span_s = if padded {
        slots as f64
    } else {
        columns.iter().map(|c| c.width_s).sum()
    };
    let peak = columns.iter().map(|c| c.per_s).fold(0.0, f64::max);
    let refused: u32 = marks.iter().map(|m| m.1).sum();
    let summary = format!(
        "Successful requests per second over {}: peak {peak:.1}/s; {refused} rate-limited (429) answers",
        duration_label(span_s)
    );
    ChartModel {
        y_max,
        bars,
        rate_points: rate_points.join(" "),
        marks,
        width: slots as f64 * COL,
        span_s,
        summary,
    }
}

/// The chart, once the run has sent anything.
#[component]
pub fn ThroughputChart() -> impl IntoView {
    let chart = expect_context::<RunHandle>().chart;
    let model = Memo::new(move |_| chart.with(|c| chart_model(c)));
    view! {
        <Show when=move || chart.with(|c| !c.is_empty())>
            <figure class="chart" data-testid="throughput-chart">
                <figcaption class="chart-legend">
                    <span class="legend legend-bar">"Successes/s"</span>
                    <span class="legend legend-rate">"Pacing rate"</span>
                    <span class="legend legend-429">"429s"</span>
                </figcaption>
                <div class="chart-body">
                    <div class="chart-y" aria-hidden="true">
                        <span>{move || format!("{}/s", model.with(|m| m.y_max))}</span>
                        <span>{move || format!("{}", model.with(|m| m.y_max / 2.0))}</span>
                        <span>"0"</span>
                    </div>
                    <svg
                        class="chart-plot"
                        viewBox=move || model.with(|m| format!("0 -6 {} {}", m.width, PLOT + 6.0))
                        preserveAspectRatio="none"
                        role="img"
                        aria-label=move || model.with(|m| m.summary.clone())
                    >
                        <line class="chart-grid" x1="0" x2=move || model.with(|m| m.width) y1="50" y2="50"></line>
                        // Keyed by position and shape: a tick redraws only the bars
                        // that changed (the current second's), not all 120.
                        <For
                            each=move || model.with(|m| m.bars.clone())
                            key=|&(x, y, h)| (x.to_bits(), y.to_bits(), h.to_bits())
                            children=|(x, y, h)| {
                                view! { <rect class="chart-bar" x=x y=y width=COL - 2.0 height=h></rect> }
                            }
                        />
                        <polyline
                            class="chart-rate"
                            points=move || model.with(|m| m.rate_points.clone())
                            vector-effect="non-scaling-stroke"
                        ></polyline>
                        <For
                            each=move || model.with(|m| m.marks.clone())
                            key=|&(x, n)| (x.to_bits(), n)
                            children=|(x, n)| {
                                view! {
                                    <rect class="chart-429" x=x - 3.0 y="-6" width="6" height="5">
                                        <title>{format!("{n} × 429")}</title>
                                    </rect>
                                }
                            }
                        />
                    </svg>
                </div>
                <div class="chart-x" aria-hidden="true">
                    <span>"0 s"</span>
                    <span>{move || model.with(|m| duration_label(m.span_s))}</span>
                </div>
            </figure>
        </Show>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn col(per_s: f64, rate: Option<f64>, rate_limited: u32) -> Column {
        Column {
            width_s: 1.0,
            per_s,
            rate,
            rate_limited,
            ..Column::default()
        }
    }

    #[test]
    fn scales_to_a_round_top_and_draws_the_rate_as_steps() {
        let m = chart_model(&[
            col(3.0, Some(4.0), 0),
            col(4.0, Some(4.0), 2),
            col(0.0, Some(2.0), 0),
        ]);
        assert_eq!(m.y_max, 5.0);
        // Short runs are drawn on at least 30 s, growing from the left.
        assert_eq!(m.width, 300.0);
        assert_eq!(m.span_s, 30.0);
        // Bars only where something succeeded; 4/s of 5 is 80 units tall.
        assert_eq!(m.bars.len(), 2);
        assert_eq!(m.bars[1], (11.0, 20.0, 80.0));
        assert_eq!(
            m.rate_points,
            "0.0,20.00 10.0,20.00 10.0,20.00 20.0,20.00 20.0,60.00 30.0,60.00"
        );
        assert_eq!(m.marks, [(15.0, 2)]);
        assert!(m.summary.contains("peak 4.0/s; 2 rate-limited"));
    }

    #[test]
    fn labels_read_naturally() {
        assert_eq!(nice_ceiling(0.3), 1.0);
        assert_eq!(nice_ceiling(4.4), 5.0);
        assert_eq!(nice_ceiling(11.0), 15.0);
        assert_eq!(nice_ceiling(55.0), 60.0);
        assert_eq!(duration_label(42.0), "42 s");
        assert_eq!(duration_label(600.0), "10 min");
        assert_eq!(duration_label(9000.0), "2.5 h");
    }
}
