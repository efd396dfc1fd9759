#!/usr/bin/env bash
# The README's run command: installs what building the page needs (only
# that: scripts/setup.sh), builds the page in release mode and serves it with
# the bundled API emulator on one origin.
#   scripts/run.sh [emulator flags...]   e.g. --limiter gcra --limit 10 --burst 0
set -euo pipefail
source "$(dirname "$0")/env.sh"
cd "$ROOT"
t0=$SECONDS

# The emulator and the page's dependencies need no build tool: compile them
# while the tools install, so a first run waits for the longest, not the sum.
say "compiling the emulator and the page's Rust code alongside the tools"
run_logged emulator cargo build --release -p pacer-emulator &
emulator_job=$!
run_logged page-deps cargo build --profile page --target wasm32-unknown-unknown -p pacer --bin pacer &
page_job=$!
"$ROOT/scripts/setup.sh"
wait_all "$emulator_job" "$page_job"
# A second run with nothing changed starts in seconds: trunk's wasm-bindgen
# and wasm-opt steps run only when a source of the page is newer than dist/.
page_sources=(src pacer-core/src pacer-core/Cargo.toml style index.html Cargo.toml Cargo.lock Trunk.toml scripts/csp-hashes.mjs)
if [ -f dist/index.html ] && [ -z "$(find "${page_sources[@]}" -newer dist/index.html -print -quit)" ]; then
  say "the page in dist/ is up to date"
else
  say "building the page (trunk: wasm-bindgen, wasm-opt)"
  trunk build --release
fi
say "ready after $((SECONDS - t0)) s"

echo
echo "  Pacer is served at http://127.0.0.1:${PORT:-8080}/  (the emulator is its default endpoint; Ctrl-C stops it)"
echo
exec "$EMULATOR" --port "${PORT:-8080}" --dist "$ROOT/dist" "$@"
