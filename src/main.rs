//! Mounts the Pacer app; everything else lives in the library.

fn main() {
    console_error_panic_hook_setup();
    leptos::mount::mount_to_body(pacer::ui::App);
}

fn console_error_panic_hook_setup() {
    #[cfg(target_arch = "wasm32")]
    std::panic::set_hook(Box::new(|info| {
        web_sys::console::error_1(&info.to_string().into());
    }));
}
