//! The page's voice for screen readers: a visually hidden polite live
//! region (`data-testid="announcer"`) that says when a run starts, pauses,
//! resumes and ends, how far it is every 10 %, and the notice whenever it
//! changes. Not every tick: a screen reader would talk over the user.

use leptos::prelude::*;

use crate::run::{RunHandle, RunState, StatsView};

/// Messages kept in the region: each new one is added as its own line (so
/// two in a row are both read), and older ones are dropped.
const KEPT: usize = 3;

/// What the announcements are computed from.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Progress {
    /// The run's state.
    pub state: RunState,
    /// Items done.
    pub done: usize,
    /// Items failed.
    pub failed: usize,
    /// All items.
    pub total: usize,
}

impl Progress {
    /// The figures of `stats` in `state`.
    pub fn of(state: RunState, stats: &StatsView) -> Self {
        Self {
            state,
            done: stats.done,
            failed: stats.failed,
            total: stats.total,
        }
    }

    /// Tenths of the items ended (0..=10).
    fn tenths(&self) -> usize {
        ((self.done + self.failed) * 10)
            .checked_div(self.total)
            .map_or(0, |t| t.min(10))
    }

    fn counts(&self) -> String {
        format!(
            "{} of {} done, {} failed",
            self.done, self.total, self.failed
        )
    }
}

/// What to announce when the run goes from `before` to `now`, if anything.
pub fn milestone(before: &Progress, now: &Progress) -> Option<String> {
    use RunState::*;
    match (before.state, now.state) {
        (Paused | Interrupted, Running) => Some(format!("Run resumed: {}.", now.counts())),
        (from, Running) if from != Running => {
            let n = now.total.saturating_sub(now.done);
            Some(format!(
                "Run started: {n} {}.",
                if n == 1 { "image" } else { "images" }
            ))
        }
        (Running, Running) => {
            let tenths = now.tenths();
            (tenths > before.tenths() && tenths < 10)
                .then(|| format!("{} %: {}.", tenths * 10, now.counts()))
        }
        (Running | Paused, Done) => Some(format!("Run done: {}.", now.counts())),
        (Running | Paused, Cancelled) => Some(format!("Run cancelled: {}.", now.counts())),
        (Running, Paused) => Some(format!("Run paused: {}.", now.counts())),
        (Done | Cancelled | Interrupted, Idle) => Some("Results cleared.".to_owned()),
        // A saved run shown at load speaks through the notice.
        _ => None,
    }
}

/// The hidden live region.
#[component]
pub fn Announcer() -> impl IntoView {
    let run = expect_context::<RunHandle>();
    let lines = RwSignal::new(Vec::<(u64, String)>::new());
    let say = move |text: String| {
        lines.update(|lines| {
            let id = lines.last().map_or(0, |(id, _)| id + 1);
            lines.push((id, text));
            if lines.len() > KEPT {
                lines.remove(0);
            }
        });
    };
    let progress = Memo::new(move |_| {
        let state = run.state.get();
        run.stats.with(|stats| Progress::of(state, stats))
    });
    Effect::new(move |before: Option<Progress>| {
        let now = progress.get();
        if let Some(text) = before.and_then(|before| milestone(&before, &now)) {
            say(text);
        }
        now
    });
    let notice = Memo::new(move |_| {
        let text = run
            .notice
            .with(|n| n.as_ref().map(|n| n.text.clone()).unwrap_or_default());
        match run.input_note.get() {
            Some(note) if text.is_empty() => note,
            Some(note) => format!("{text} {note}"),
            None => text,
        }
    });
    Effect::new(move |_| {
        let text = notice.get();
        if !text.is_empty() {
            say(text);
        }
    });
    view! {
        <div class="sr-only" data-testid="announcer" role="status" aria-live="polite">
            <For each=move || lines.get() key=|(id, _)| *id let:line>
                <p>{line.1}</p>
            </For>
        </div>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(state: RunState, done: usize, failed: usize, total: usize) -> Progress {
        Progress {
            state,
            done,
            failed,
            total,
        }
    }

    #[test]
    fn announces_the_start_every_tenth_and_the_end() {
        use RunState::*;
        let idle = at(Idle, 0, 0, 0);
        assert_eq!(
            milestone(&idle, &at(Running, 0, 0, 40)).as_deref(),
            Some("Run started: 40 images.")
        );
        // 3 of 40 is still under 10 %; 4 of 40 reaches it; 5 adds nothing.
        assert_eq!(
            milestone(&at(Running, 2, 0, 40), &at(Running, 3, 0, 40)),
            None
        );
        assert_eq!(
            milestone(&at(Running, 3, 0, 40), &at(Running, 3, 1, 40)).as_deref(),
            Some("10 %: 3 of 40 done, 1 failed.")
        );
        assert_eq!(
            milestone(&at(Running, 4, 0, 40), &at(Running, 5, 0, 40)),
            None
        );
        // A jump over several tenths says only where it is now.
        assert_eq!(
            milestone(&at(Running, 4, 0, 40), &at(Running, 30, 0, 40)).as_deref(),
            Some("70 %: 30 of 40 done, 0 failed.")
        );
        // 100 % is the end, said once by the state change.
        assert_eq!(
            milestone(&at(Running, 39, 0, 40), &at(Running, 40, 0, 40)),
            None
        );
        assert_eq!(
            milestone(&at(Running, 40, 0, 40), &at(Done, 40, 0, 40)).as_deref(),
            Some("Run done: 40 of 40 done, 0 failed.")
        );
    }

    #[test]
    fn announces_pause_resume_cancel_and_clear_but_not_a_restored_run() {
        use RunState::*;
        let mid = |s| at(s, 12, 1, 40);
        assert_eq!(
            milestone(&mid(Running), &mid(Paused)).as_deref(),
            Some("Run paused: 12 of 40 done, 1 failed.")
        );
        assert_eq!(
            milestone(&mid(Paused), &mid(Running)).as_deref(),
            Some("Run resumed: 12 of 40 done, 1 failed.")
        );
        assert_eq!(
            milestone(&mid(Running), &mid(Cancelled)).as_deref(),
            Some("Run cancelled: 12 of 40 done, 1 failed.")
        );
        assert_eq!(
            milestone(&mid(Done), &at(Idle, 0, 0, 0)).as_deref(),
            Some("Results cleared.")
        );
        assert_eq!(milestone(&at(Idle, 0, 0, 0), &mid(Interrupted)), None);
        assert_eq!(milestone(&at(Idle, 0, 0, 0), &mid(Done)), None);
        // Retrying the failed items of a finished run starts it again.
        assert_eq!(
            milestone(&at(Done, 38, 2, 40), &at(Running, 38, 0, 40)).as_deref(),
            Some("Run started: 2 images.")
        );
    }
}
