# Sourced by the scripts: tool paths and helpers shared by setup, run, test and bench.
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export PATH="$ROOT/tools/node_modules/.bin:$ROOT/e2e/node_modules/.bin:$HOME/.cargo/bin:$PATH"
EMULATOR="$ROOT/target/release/pacer-emulator"
PROXY="$ROOT/target/release/pacer-proxy"

say() { printf '\033[1;34m[pacer]\033[0m %s\n' "$*"; }

# Runs a step in the background-friendly way: its output goes to a log under
# target/setup-logs/, and only a failure prints it.
run_logged() {
  local name=$1
  shift
  local log="$ROOT/target/setup-logs/$name.log"
  mkdir -p "$(dirname "$log")"
  local t0=$SECONDS
  if "$@" >"$log" 2>&1; then
    say "$name: done in $((SECONDS - t0)) s"
  else
    say "$name FAILED after $((SECONDS - t0)) s; its output ($log):"
    tail -n 40 "$log" >&2
    return 1
  fi
}

have_version() {
  # Reads the whole output before matching: `tool --version | grep -q` can
  # kill the tool with SIGPIPE under pipefail.
  local out
  command -v "$1" >/dev/null 2>&1 && out="$("$1" --version 2>/dev/null)" && grep -q "$2" <<<"$out"
}

# `cargo install` of a build tool: optimised enough to be quick at its job,
# compiled with every core and no LTO.
install_tool() {
  CARGO_PROFILE_RELEASE_OPT_LEVEL=1 CARGO_PROFILE_RELEASE_LTO=false \
    CARGO_PROFILE_RELEASE_CODEGEN_UNITS=16 CARGO_PROFILE_RELEASE_DEBUG=0 \
    cargo install --quiet "$@"
}

# Waits for background steps; fails if any failed.
wait_all() {
  local failed=0 pid
  for pid in "$@"; do wait "$pid" || failed=1; done
  return $failed
}

# Builds the page (release, size-optimised), the emulator and the proxy.
build_all() {
  (cd "$ROOT" && trunk build --release) || return 1
  (cd "$ROOT" && cargo build --release -p pacer-emulator -p pacer-proxy) || return 1
}
