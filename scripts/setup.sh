#!/usr/bin/env bash
# Installs what building and running the page needs, and nothing more:
# the wasm32 target, wasm-bindgen-cli, trunk and binaryen's wasm-opt.
# Each is skipped when present, so a second run takes seconds. The test
# tools (browsers, drivers, Playwright, Redis) are scripts/setup-test.sh's.
#
# The two compiles (trunk, wasm-bindgen-cli) are most of a first run's wait.
# They run side by side, and with a lighter optimisation level than a
# release build: they are build tools, where compile time matters more
# than their own speed.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"

if ! rustup target list --installed | grep -q '^wasm32-unknown-unknown$'; then
  say "adding the wasm32-unknown-unknown target (the page compiles to it; a download, under a minute)"
  rustup target add wasm32-unknown-unknown
fi

jobs=()
if ! have_version wasm-bindgen 0.2.130; then
  say "compiling wasm-bindgen-cli 0.2.130 (glues the wasm to JS; about 4 minutes, once)"
  # Not --locked: its lock file wants a crate version the registry lacks.
  run_logged wasm-bindgen install_tool wasm-bindgen-cli --version 0.2.130 &
  jobs+=($!)
fi
if ! have_version trunk 0.21.14; then
  say "compiling trunk 0.21.14 (builds the page; about 7 minutes, once; trunk 0.22 needs a newer rustc)"
  # No update check: it would reach for the network at every build.
  run_logged trunk install_tool --locked trunk --version 0.21.14 --no-default-features --features rustls &
  jobs+=($!)
fi
if [ ! -x "$ROOT/tools/node_modules/.bin/wasm-opt" ]; then
  say "installing binaryen 132 from npm into tools/ (shrinks the wasm; Debian's wasm-opt is too old and breaks the build)"
  run_logged binaryen bash -c "cd '$ROOT/tools' && npm ci --no-audit --no-fund --loglevel=error" &
  jobs+=($!)
fi
wait_all "${jobs[@]}"
say "build tools ready"
