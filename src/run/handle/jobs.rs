//! Job files in and out of the handle: the run on show written as job
//! files, and a job file shown as a run to resume (the run this browser
//! already knows by the job's id, if any, with what either side has done).

use std::rc::Rc;

use leptos::prelude::*;
use wasm_bindgen_futures::spawn_local;

use super::saved_runs::ELSEWHERE;
use super::{OnSettings, RunHandle};
use crate::browser::{held_locks, unix_now};
use crate::run::job::{split_job, JobFile};
use crate::run::library::{self, LoadedRun};
use crate::run::model::{ItemRow, NoticeLevel, RunState};
use crate::run::saved::{merge_items, SavedItem, SavedRun, SavedSettings, SAVE_VERSION};
use crate::run::states::Command;

impl RunHandle {
    /// The run on show as job files (`parts` of them), named for download;
    /// `None` when nothing is on show. The key is never part of it.
    pub fn job_files(
        &self,
        settings: SavedSettings,
        parts: usize,
    ) -> Option<Vec<(String, String)>> {
        if self.view.state.get_untracked() == RunState::Idle {
            return None;
        }
        let shown = self.shown.get_value();
        let id = shown.id.clone()?;
        let record = shown.record.borrow();
        let items: Vec<(usize, SavedItem)> = self.items.with_untracked(|rows: &[ItemRow]| {
            rows.iter()
                .filter(|r| !record.attempts[r.id].is_empty() || r.result.is_some())
                .map(|r| {
                    let item =
                        SavedItem::capture(r.state, r.result.as_ref(), &record.attempts[r.id]);
                    (r.id, item)
                })
                .collect()
        });
        let run = SavedRun {
            version: SAVE_VERSION,
            id: Some(id),
            started_unix_ms: shown
                .run
                .as_ref()
                .map_or_else(|| unix_now().as_secs_f64() * 1000.0, |r| r.started_unix_ms),
            settings: settings.cut_as(&shown.work),
            sources: shown.work.images.clone(),
            files: shown.work.files(),
        };
        let jobs = split_job(&run, &items, parts);
        let n = jobs.len();
        Some(
            jobs.into_iter()
                .map(|job| {
                    let name = match job.part {
                        Some((k, _)) => format!("pacer-job-{k}-of-{n}.json"),
                        None => "pacer-job.json".to_owned(),
                    };
                    (name, serde_json::to_string_pretty(&job).unwrap_or_default())
                })
                .collect(),
        )
    }

    /// Shows `job` as an interrupted run: Resume sends what it had not
    /// finished (with the form's key). A job whose run this browser knows
    /// opens that run, with what either side has as done kept done; one
    /// that another tab runs is refused.
    /// `on_settings` puts its settings and URLs into the form;
    /// `on_imported` runs once a new run from the file is on show (the
    /// showing is asynchronous), to say what the import did.
    pub fn import_job(
        &self,
        job: JobFile,
        on_settings: impl Fn(&SavedSettings, &[String]) + 'static,
        on_imported: impl FnOnce() + 'static,
    ) -> Result<(), String> {
        if self.on_settings.with_value(Option::is_none) {
            let on_settings: OnSettings = Rc::new(on_settings);
            self.on_settings.set_value(Some(on_settings));
        }
        if !self.allowed(Command::Replace) {
            return Err("Cancel or finish the current run before importing a job.".into());
        }
        let mut run = job.run;
        let id = run.id_or_legacy();
        run.id = Some(id.clone());
        let items: Vec<(usize, SavedItem)> = job
            .items
            .into_iter()
            .map(|(i, item)| (i, item.of_run(&id)))
            .collect();
        let handle = *self;
        spawn_local(async move {
            let known = match handle.open_store() {
                Some(store) => {
                    if held_locks().await.contains(&id.lock_name()) {
                        handle.say(NoticeLevel::Warning, ELSEWHERE);
                        return;
                    }
                    library::load(&store, &id).await.ok().flatten()
                }
                None => None,
            };
            match known {
                Some(LoadedRun {
                    run: stored,
                    items: stored_items,
                    files,
                }) => {
                    let merged = merge_items(stored_items, items);
                    handle.show(stored, merged, files, (true, true));
                    if handle.view.state.get_untracked() == RunState::Interrupted {
                        let left = handle.stats.with_untracked(|s| s.queued);
                        handle.say(
                            NoticeLevel::Info,
                            &format!(
                                "This job's run is already in this browser's history: it is open \
                                 again. Resume sends only the {left} image(s) neither has as done."
                            ),
                        );
                    }
                }
                None => {
                    handle.show(run, items, Vec::new(), (false, true));
                    on_imported();
                }
            }
            handle.refresh_history();
        });
        Ok(())
    }
}
