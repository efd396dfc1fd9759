//! Mounts the Pacer app; everything else lives in the library.

fn main() {
    // First, so that a panic anywhere after it is seen on the page too.
    #[cfg(target_arch = "wasm32")]
    pacer::browser::install_panic_hook();
    leptos::mount::mount_to_body(pacer::ui::App);
}
