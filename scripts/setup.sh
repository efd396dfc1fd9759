#!/usr/bin/env bash
# Installs everything Pacer needs on a bare machine, skipping what is present.
# Safe to run repeatedly. See ../shared/TOOLCHAIN.md for why each pin exists.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
export PATH="$HOME/.cargo/bin:$PATH"

log() { printf '\033[1;34m[setup]\033[0m %s\n' "$*"; }

if ! rustup target list --installed | grep -q '^wasm32-unknown-unknown$'; then
  log "adding the wasm32-unknown-unknown target"
  rustup target add wasm32-unknown-unknown
fi

# Reads the whole output before matching: `tool --version | grep -q` fails
# now and then under pipefail, when grep quits before the tool has written
# its last line (geckodriver prints several) and the tool dies of SIGPIPE.
have_version() {
  local out
  command -v "$1" >/dev/null 2>&1 && out="$("$1" --version 2>/dev/null)" && grep -q "$2" <<<"$out"
}

if ! have_version wasm-bindgen 0.2.130; then
  log "installing wasm-bindgen-cli 0.2.130"
  # Not --locked: its lock file wants a crate version the registry lacks.
  cargo install wasm-bindgen-cli --version 0.2.130
fi
if ! have_version trunk 0.21.14; then
  log "installing trunk 0.21.14"
  cargo install --locked trunk --version 0.21.14
fi
if ! have_version wasm-pack 0.15.1; then
  log "installing wasm-pack 0.15.1"
  cargo install --locked wasm-pack --version 0.15.1
fi

if ! have_version geckodriver 0.37.1; then
  log "installing geckodriver 0.37.1 (Firefox's WebDriver, for wasm-pack test --firefox)"
  cargo install --locked geckodriver --version 0.37.1
fi

# Browsers from Debian: Chromium with ChromeDriver, and Firefox ESR (the
# browser tests run in both; only Chromium runs the Playwright journeys).
apt_missing=()
command -v chromium >/dev/null 2>&1 || apt_missing+=(chromium)
command -v chromedriver >/dev/null 2>&1 || apt_missing+=(chromium-driver)
command -v firefox-esr >/dev/null 2>&1 || apt_missing+=(firefox-esr)
if [ ${#apt_missing[@]} -gt 0 ]; then
  log "installing ${apt_missing[*]} from Debian"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq "${apt_missing[@]}" >/dev/null
fi

# Node tools: binaryen's wasm-opt (Debian's is too old and silently breaks the
# release build), Playwright (driving the system Chromium) and ws (raw CDP for
# the hidden-tab spec and bench cell).
if [ ! -x "$ROOT/e2e/node_modules/.bin/wasm-opt" ] || [ ! -d "$ROOT/e2e/node_modules/@playwright/test" ] \
  || [ ! -d "$ROOT/e2e/node_modules/ws" ] || [ ! -d "$ROOT/e2e/node_modules/@axe-core/playwright" ]; then
  log "installing npm packages in e2e/"
  (cd "$ROOT/e2e" && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund --loglevel=error)
fi
log "toolchain ready"
