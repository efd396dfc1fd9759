//! Keeping the run in IndexedDB as it goes, and offering to resume it after
//! a reload: the settings (never the key), the item list once at the start,
//! then each item whenever its row is redrawn (a few times a second, in one
//! transaction).

use std::cell::RefCell;
use std::rc::Rc;

use leptos::prelude::*;
use pacer_core::schedule::{ItemId, ItemStatus};
use wasm_bindgen_futures::spawn_local;

use super::driver::rows_of;
use super::driver::RunHandle;
use super::model::{ItemRow, ItemState, NoticeLevel, RunState, Settings, StatsView, Upload};
use super::saved::{restore, stats_of, SavedItem, SavedRun, SavedSettings, SAVE_VERSION};
use super::work::Work;
use crate::browser::{jpeg_object_url, unix_now, RunStore, SavedRecords};

/// A saved run found at load, until it is resumed or cleared.
pub struct Interrupted {
    work: Rc<Work>,
    /// From a job file, not this browser's storage: resuming saves it whole.
    imported: bool,
    ended: Vec<(ItemId, ItemStatus, u32)>,
}

impl RunHandle {
    /// Opens the saved-run store and, if the last run was saved, shows it:
    /// interrupted (Resume sends what is left) or finished. `on_settings`
    /// puts its settings and URLs back into the form.
    pub fn load_saved(&self, on_settings: impl FnOnce(&SavedSettings, &[String]) + 'static) {
        let handle = *self;
        spawn_local(async move {
            let store = match RunStore::open().await {
                Ok(store) => Rc::new(store),
                Err(e) => {
                    handle.say(
                        NoticeLevel::Warning,
                        &format!("Runs cannot be saved in this browser, so a reload loses the run ({e})."),
                    );
                    return;
                }
            };
            handle.store.set_value(Some(Rc::clone(&store)));
            let loaded = match store.load().await {
                Ok(loaded) => loaded,
                Err(e) => {
                    handle.say(
                        NoticeLevel::Warning,
                        &format!("The saved run could not be read ({e})."),
                    );
                    return;
                }
            };
            let Some(SavedRecords { run, items, files }) = loaded else {
                return;
            };
            let Ok(run) = serde_json::from_str::<SavedRun>(&run) else {
                return;
            };
            // Only while nothing else was started meanwhile.
            if run.version != SAVE_VERSION || handle.state.get_untracked() != RunState::Idle {
                return;
            }
            let items = items.into_iter().filter_map(|(id, json)| {
                Some((id, serde_json::from_str::<SavedItem>(&json).ok()?))
            });
            handle.show_saved(run, items, files, on_settings);
        });
    }

    pub(super) fn show_saved(
        &self,
        run: SavedRun,
        items: impl Iterator<Item = (usize, SavedItem)>,
        files: Vec<(usize, Rc<[u8]>)>,
        on_settings: impl FnOnce(&SavedSettings, &[String]),
    ) {
        let images = run.sources.len();
        let mut uploads: Vec<Option<Upload>> = vec![None; images];
        for (id, jpeg) in files.into_iter().filter(|(id, _)| *id < images) {
            uploads[id] = Some(Upload {
                thumb_url: jpeg_object_url(&jpeg),
                jpeg,
            });
        }
        let work = Work::new(run.sources.clone(), uploads, run.per_model());
        let total = work.len();
        let mut restored = restore(total, items);
        let lost = run
            .files
            .iter()
            .copied()
            .filter(|&id| work.uploads.get(id).is_some_and(Option::is_none))
            .flat_map(|id| work.items_of(id..id + 1));
        restored.fail_pending(
            lost,
            "the local file was not kept in this browser's storage; add it again to send it",
        );
        let rows: Vec<ItemRow> = rows_of(&work)
            .into_iter()
            .map(|row| {
                let id = row.id;
                let (state, result) = restored.rows[id].clone();
                let attempts = &restored.record.attempts[id];
                ItemRow {
                    state,
                    result,
                    attempts: u32::try_from(attempts.len()).unwrap_or(u32::MAX),
                    latency_ms: attempts.last().map(|a| a.latency_ms),
                    ..row
                }
            })
            .collect();
        let count = |s: ItemState| restored.rows.iter().filter(|r| r.0 == s).count();
        let (done, failed, cancelled) = (
            count(ItemState::Done),
            count(ItemState::Failed),
            count(ItemState::Cancelled),
        );
        let pending = restored.pending();
        let mut figures = stats_of(&restored.record, run.settings.rate);
        self.chart
            .set(figures.timeline().columns(super::driver::CHART_COLUMNS));
        let now = unix_now();
        self.stats.set(StatsView {
            done,
            failed,
            queued: pending,
            sent: restored.record.attempts.iter().map(Vec::len).sum(),
            retries: restored
                .record
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
            pacing_rate: run.settings.rate,
            ..StatsView::default()
        });
        self.items.set(rows);
        // Local files' names are not URLs: they stay out of the URL box.
        let files: std::collections::HashSet<usize> = run.files.iter().copied().collect();
        let urls: Vec<String> = run
            .sources
            .iter()
            .enumerate()
            .filter(|(id, _)| !files.contains(id))
            .map(|(_, source)| source.clone())
            .collect();
        on_settings(&run.settings, &urls);
        let when = when_text(run.started_unix_ms, unix_now().as_secs_f64() * 1000.0);
        let mended: String = restored.notes.iter().map(|n| format!(" {n}")).collect();
        if pending > 0 {
            self.state.set(RunState::Interrupted);
            self.say(
                NoticeLevel::Warning,
                &format!(
                    "A run started {when} was interrupted with {done} of {total} done. \
                     Resume sends the {pending} left (nothing that succeeded is sent again); \
                     Clear forgets it.{mended}"
                ),
            );
        } else {
            self.state.set(if cancelled > 0 {
                RunState::Cancelled
            } else {
                RunState::Done
            });
            self.say(
                NoticeLevel::Info,
                &format!(
                    "The results of the last run (started {when}) are shown; Clear forgets them.{mended}"
                ),
            );
        }
        self.record
            .set_value(Rc::new(RefCell::new(restored.record)));
        let work = Rc::new(work);
        self.work.set_value(Rc::clone(&work));
        self.interrupted.set_value(Some(Interrupted {
            work,
            imported: false,
            ended: restored.ended,
        }));
    }

    /// Resumes the run found saved at load with `settings` (the form's, so
    /// the key and any changed rate apply): sends only what had not ended.
    pub fn resume_saved(&self, settings: Settings) {
        if self.state.get_untracked() != RunState::Interrupted {
            return;
        }
        let Some(saved) = self.interrupted.try_update_value(Option::take).flatten() else {
            return;
        };
        let record = self.record.get_value().borrow().clone();
        let rows = self.items.with_untracked(<[ItemRow]>::to_vec);
        self.save_run(&settings, &saved.work, saved.imported);
        if saved.imported {
            // This browser's storage held another run (or none): keep every
            // item the job brought, so a reload finds them.
            let items: Vec<(usize, String)> = rows
                .iter()
                .filter(|r| !record.attempts[r.id].is_empty() || r.result.is_some())
                .filter_map(|r| {
                    let item =
                        SavedItem::capture(r.state, r.result.as_ref(), &record.attempts[r.id]);
                    Some((r.id, serde_json::to_string(&item).ok()?))
                })
                .collect();
            self.save_items(items);
        }
        self.notice.set(None);
        self.launch(settings, saved.work, rows, record, saved.ended);
    }

    /// Notes that the run on show came from a job file (see `job`).
    pub(super) fn mark_imported(&self) {
        self.interrupted.update_value(|i| {
            if let Some(i) = i {
                i.imported = true;
            }
        });
    }

    /// The page is going away mid-run (`beforeunload`, `pagehide`): save
    /// what is answered and abort the requests on the wire, so that the
    /// server drops what it has not answered yet rather than answer a page
    /// that can no longer hear it. Resuming sends those items again.
    pub(super) fn leave(&self) {
        if !matches!(
            self.state.get_untracked(),
            RunState::Running | RunState::Paused
        ) {
            return;
        }
        self.save_changed();
        self.abort_in_flight();
    }

    /// Saves a new run's fixed part (and forgets the last run's items).
    pub(super) fn save_begin(&self, settings: &Settings, work: &Work) {
        self.save_run(settings, work, true);
    }

    fn save_run(&self, settings: &Settings, work: &Work, fresh: bool) {
        let files: Vec<(usize, Rc<[u8]>)> = work
            .uploads
            .iter()
            .enumerate()
            .filter_map(|(id, u)| Some((id, Rc::clone(&u.as_ref()?.jpeg))))
            .collect();
        let Some(store) = self.store.get_value() else {
            return;
        };
        let run = SavedRun {
            version: SAVE_VERSION,
            started_unix_ms: unix_now().as_secs_f64() * 1000.0,
            settings: SavedSettings::from(settings).cut_as(work),
            sources: work.images.clone(),
            files: files.iter().map(|(id, _)| *id).collect(),
        };
        let Ok(json) = serde_json::to_string(&run) else {
            return;
        };
        let handle = *self;
        spawn_local(async move {
            if let Err(e) = store.begin(&json, fresh, &files).await {
                handle.say(
                    NoticeLevel::Warning,
                    &format!("The run could not be saved ({e})."),
                );
            }
        });
    }

    /// Saves items whose rows were just redrawn.
    pub(super) fn save_items(&self, items: Vec<(usize, String)>) {
        if items.is_empty() {
            return;
        }
        let Some(store) = self.store.get_value() else {
            return;
        };
        let handle = *self;
        spawn_local(async move {
            if let Err(e) = store.save_items(&items).await {
                handle.say(
                    NoticeLevel::Warning,
                    &format!("Progress could not be saved ({e})."),
                );
            }
        });
    }

    /// Forgets the saved run.
    pub(super) fn save_clear(&self) {
        let Some(store) = self.store.get_value() else {
            return;
        };
        spawn_local(async move {
            let _ = store.clear().await;
        });
    }
}

/// "12 min ago", "3 h ago", "2 days ago" for a run's start.
fn when_text(started_ms: f64, now_ms: f64) -> String {
    let s = ((now_ms - started_ms) / 1000.0).max(0.0);
    if s < 90.0 {
        "moments ago".to_owned()
    } else if s < 90.0 * 60.0 {
        format!("{:.0} min ago", s / 60.0)
    } else if s < 36.0 * 3600.0 {
        format!("{:.0} h ago", s / 3600.0)
    } else {
        format!("{:.0} days ago", s / 86_400.0)
    }
}

#[cfg(test)]
mod tests {
    use super::when_text;

    #[test]
    fn when_reads_naturally() {
        assert_eq!(when_text(0.0, 30_000.0), "moments ago");
        assert_eq!(when_text(0.0, 12.0 * 60_000.0), "12 min ago");
        assert_eq!(when_text(0.0, 5.0 * 3_600_000.0), "5 h ago");
        assert_eq!(when_text(0.0, 3.0 * 86_400_000.0), "3 days ago");
    }
}
