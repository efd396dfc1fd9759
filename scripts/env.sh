# Sourced by the scripts: tool paths shared by run, test and bench.
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export PATH="$ROOT/e2e/node_modules/.bin:$HOME/.cargo/bin:$PATH"
EMULATOR="$ROOT/target/release/pacer-emulator"

# Builds the page (release, size-optimised) and the emulator.
build_all() {
  (cd "$ROOT" && trunk build --release) || return 1
  (cd "$ROOT" && cargo build --release -p pacer-emulator) || return 1
}
