# Sourced by the scripts: tool paths shared by run, test and bench.
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export PATH="$ROOT/e2e/node_modules/.bin:$HOME/.cargo/bin:$PATH"
EMULATOR="$ROOT/target/release/pacer-emulator"
PROXY="$ROOT/target/release/pacer-proxy"

# Builds the page (release, size-optimised), the emulator and the proxy.
build_all() {
  (cd "$ROOT" && trunk build --release) || return 1
  (cd "$ROOT" && cargo build --release -p pacer-emulator -p pacer-proxy) || return 1
}
