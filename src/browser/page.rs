//! Small facts about this page and this tab: its origin, and which run
//! this very tab had open (`sessionStorage` is per tab and survives a
//! reload, so a reloaded tab takes up its own run, not another tab's).

const TAB_RUN_ITEM: &str = "pacer.tab.run";
/// Prefix of the `localStorage` items that list a run's requests cut off
/// by leaving the page.
const CUT_ITEM: &str = "pacer.cut.";

fn session() -> Option<web_sys::Storage> {
    web_sys::window()?.session_storage().ok().flatten()
}

/// The run this tab had open before a reload, if any.
pub fn tab_run() -> Option<String> {
    session()?.get_item(TAB_RUN_ITEM).ok().flatten()
}

/// Notes the run this tab has open (`None`: none).
pub fn set_tab_run(id: Option<&str>) {
    let Some(s) = session() else { return };
    let _ = match id {
        Some(id) => s.set_item(TAB_RUN_ITEM, id),
        None => s.remove_item(TAB_RUN_ITEM),
    };
}

/// Loads the page again.
pub fn reload_page() {
    if let Some(w) = web_sys::window() {
        let _ = w.location().reload();
    }
}

/// The requests of run `id` cut off by leaving the page, as noted (JSON).
pub fn cut_marks(id: &str) -> Option<String> {
    super::local::storage()?
        .get_item(&format!("{CUT_ITEM}{id}"))
        .ok()
        .flatten()
}

/// Notes (or, with `None`, forgets) the requests of run `id` cut off by
/// leaving the page. `localStorage` because it is written at once: an
/// IndexedDB transaction begun while the page unloads may never commit.
pub fn set_cut_marks(id: &str, json: Option<&str>) {
    let Some(s) = super::local::storage() else {
        return;
    };
    let key = format!("{CUT_ITEM}{id}");
    let _ = match json {
        Some(json) => s.set_item(&key, json),
        None => s.remove_item(&key),
    };
}

/// Prefix of the `localStorage` items that say until when a run waits
/// for a quota to return.
const QUOTA_ITEM: &str = "pacer.quota.";

/// Until when run `id` waits for a quota, ms since the Unix epoch, as noted.
pub fn quota_mark(id: &str) -> Option<f64> {
    super::local::storage()?
        .get_item(&format!("{QUOTA_ITEM}{id}"))
        .ok()
        .flatten()?
        .parse()
        .ok()
        .filter(|ms: &f64| ms.is_finite())
}

/// Notes (or, with `None`, forgets) until when run `id` waits for a
/// quota: `localStorage`, written at once, so that a reload or a reopened
/// tab finds the run waiting.
pub fn set_quota_mark(id: &str, until_unix_ms: Option<f64>) {
    let Some(s) = super::local::storage() else {
        return;
    };
    let key = format!("{QUOTA_ITEM}{id}");
    let _ = match until_unix_ms {
        Some(ms) => s.set_item(&key, &format!("{ms:.0}")),
        None => s.remove_item(&key),
    };
}
