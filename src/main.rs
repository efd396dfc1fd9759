//! Mounts the Pacer app; everything else lives in the library.

fn main() {
    // First, so that a panic anywhere after it is seen on the page too.
    #[cfg(target_arch = "wasm32")]
    pacer::browser::install_panic_hook();
    // The timer worker now, not at a run's Start: a run's first sends go
    // from it, and a worker booted then (a blob script to fetch and parse,
    // while the page draws the run) sent the first one 150-250 ms late.
    #[cfg(target_arch = "wasm32")]
    pacer::browser::worker_timers();
    leptos::mount::mount_to_body(pacer::ui::App);
}
