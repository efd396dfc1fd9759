//! Decisions on the announced [`Window`]s: the rate that honours every one
//! of them (and which one binds), and whether a quota has run out and
//! until when.
//!
//! Windows up to [`RATE_WINDOW`] long are rates: they bind at
//! `limit / length`. Longer ones are quotas: "as fast as allowed" spends
//! them at whatever the rates allow and parks when they run out
//! ([`exhausted`]); "spread" paces so that what is left lasts until the
//! reset (`remaining / time left`).

use std::time::Duration;

use super::windows::Window;
use crate::bounds::{MAX_RATE, MIN_RATE};

/// The longest window taken as a rate rather than a quota (a minute:
/// Kong's `-Minute`, the draft's `"burst";w=60`).
pub const RATE_WINDOW: Duration = Duration::from_secs(60);

/// How to spend a long window's quota.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Spend {
    /// As fast as the rate windows allow; a run parks when a quota runs out.
    #[default]
    AsFastAsAllowed,
    /// Evenly: what is left of each quota over its time left.
    Spread,
}

/// Why a window binds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BindingKind {
    /// Its limit over its length.
    Limit,
    /// What is left of it over its time left (`Spend::Spread`).
    SpreadRemaining,
}

/// The rate that honours every window, and the window that sets it.
#[derive(Clone, Debug, PartialEq)]
pub struct Binding {
    /// Requests per second, within Pacer's bounds.
    pub rate: f64,
    /// The window that binds.
    pub window: Window,
    /// How it binds.
    pub kind: BindingKind,
}

/// The lowest sustainable rate among `windows` and the window that sets it
/// (the first one on a tie), or `None` when no window gives a rate: only
/// quotas while spending as fast as allowed, or windows whose limit or
/// length is unknown. An exhausted quota gives no rate here: ask
/// [`exhausted`].
pub fn binding_rate(windows: &[Window], spend: Spend) -> Option<Binding> {
    windows
        .iter()
        .filter_map(|w| window_rate(w, spend).map(|(rate, kind)| (rate, kind, w)))
        .fold(
            None,
            |best: Option<(f64, BindingKind, &Window)>, c| match best {
                Some(b) if b.0 <= c.0 => Some(b),
                _ => Some(c),
            },
        )
        .map(|(rate, kind, w)| Binding {
            rate: rate.clamp(MIN_RATE, MAX_RATE),
            window: w.clone(),
            kind,
        })
}

/// One window's sustainable rate, if it has one.
fn window_rate(w: &Window, spend: Spend) -> Option<(f64, BindingKind)> {
    let by_limit = match (w.limit, w.length) {
        (Some(limit), Some(len)) if !len.is_zero() => {
            Some((f64::from(limit) / len.as_secs_f64(), BindingKind::Limit))
        }
        _ => None,
    };
    let is_rate = w.length.is_some_and(|len| len <= RATE_WINDOW);
    if is_rate {
        return by_limit;
    }
    match spend {
        Spend::AsFastAsAllowed => None,
        Spend::Spread => match (w.remaining, w.reset) {
            (Some(0), _) => None,
            (Some(left), Some(reset)) if !reset.is_zero() => Some((
                f64::from(left) / reset.as_secs_f64(),
                BindingKind::SpreadRemaining,
            )),
            _ => by_limit,
        },
    }
}

/// A quota that has run out.
#[derive(Clone, Debug, PartialEq)]
pub struct Exhausted {
    /// The window that ran out, or `None` when only a 429's `Retry-After`
    /// said so.
    pub window: Option<Window>,
    /// How long until it returns (at most 32 days).
    pub wait: Duration,
}

/// Whether a quota has run out, and until when: a window with nothing
/// left whose reset is further than `park_beyond` away (the last request
/// used it up, or a 429 came back), or, for a refused request (`refused`,
/// a 429), a `Retry-After` (already parsed, see
/// [`super::parse_retry_after`]) further than that. When several have run
/// out, the one that returns last: nothing may be sent before it; but a
/// 429's `Retry-After` that says to park is the server's own word and
/// sets the wait.
///
/// `park_beyond` is what separates a quota from a rate's pause (the page's
/// choice; [`RATE_WINDOW`] keeps Kong's minute window a rate). A window
/// with nothing left but no known reset cannot say until when: on a 429
/// its `Retry-After` does, else it is not reported.
pub fn exhausted(
    windows: &[Window],
    refused: bool,
    retry_after: Option<Duration>,
    park_beyond: Duration,
) -> Option<Exhausted> {
    let from_windows = windows
        .iter()
        .filter(|w| w.remaining == Some(0))
        .filter_map(|w| w.reset.map(|r| (r, w)))
        .filter(|(r, _)| *r > park_beyond)
        .max_by_key(|(r, _)| *r);
    let from_retry = retry_after.filter(|r| refused && *r > park_beyond);
    match (from_windows, from_retry) {
        // The server's own word on this refusal wins over the windows'
        // resets, some of which are only computed (Kong's day ends at
        // midnight UTC, a test server's may not).
        (Some((_, w)), Some(ra)) => Some(Exhausted {
            window: Some(w.clone()),
            wait: ra,
        }),
        (Some((reset, w)), None) => Some(Exhausted {
            window: Some(w.clone()),
            wait: reset,
        }),
        (None, Some(ra)) => Some(Exhausted {
            // The window at zero that the wait belongs to, when one says so.
            window: windows
                .iter()
                .find(|w| w.remaining == Some(0) && w.length.is_none_or(|l| l > park_beyond))
                .cloned(),
            wait: ra,
        }),
        (None, None) => None,
    }
}

/// A quota's reset at least this far away parks a run; a nearer one is a
/// pause like a rate's.
pub const PARK_BEYOND: Duration = Duration::from_secs(10);

/// Whether an answer says a run must park, and until when: [`exhausted`]
/// over the quotas among `windows` (rates, up to [`RATE_WINDOW`] long, are
/// paced, never parked for), with the page's rules:
///
/// - A reset Pacer computed itself ([`Window::reset_computed`]: Kong's
///   day ends at midnight UTC) parks only a refused request: a server whose
///   day is not the calendar's says when in the 429's `Retry-After`, and a
///   success with nothing left may just be the last one of the day.
/// - A `Retry-After` parks when it is longer than a rate window, or when a
///   quota at zero explains it; a shorter one with no quota at zero is a
///   rate's pause.
/// - Anything nearer than [`PARK_BEYOND`] is a pause, not a park.
pub fn parks(
    windows: &[Window],
    refused: bool,
    retry_after: Option<Duration>,
) -> Option<Exhausted> {
    let quotas: Vec<Window> = windows
        .iter()
        .filter(|w| w.length.is_none_or(|l| l > RATE_WINDOW))
        .filter(|w| refused || !w.reset_computed)
        .cloned()
        .collect();
    let at_zero = quotas.iter().any(|w| w.remaining == Some(0));
    let retry_after = retry_after.filter(|r| *r > RATE_WINDOW || at_zero);
    exhausted(&quotas, refused, retry_after, PARK_BEYOND)
}

#[cfg(test)]
mod tests;
