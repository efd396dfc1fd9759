#!/usr/bin/env bash
# Installs what the tests and the bench need on top of scripts/setup.sh:
# wasm-pack and geckodriver (browser unit tests), Chromium with ChromeDriver
# and Firefox ESR from Debian, and the e2e npm packages (Playwright, axe, ws).
# Each is skipped when present.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
"$ROOT/scripts/setup.sh"

jobs=()
if ! have_version wasm-pack 0.15.1; then
  say "compiling wasm-pack 0.15.1 (runs the browser unit tests; about 5 minutes, once)"
  run_logged wasm-pack install_tool --locked wasm-pack --version 0.15.1 &
  jobs+=($!)
fi
if ! have_version geckodriver 0.37.1; then
  say "compiling geckodriver 0.37.1 (Firefox's WebDriver for the browser unit tests; about 3 minutes, once)"
  run_logged geckodriver install_tool --locked geckodriver --version 0.37.1 &
  jobs+=($!)
fi

apt_missing=()
command -v chromium >/dev/null 2>&1 || apt_missing+=(chromium)
command -v chromedriver >/dev/null 2>&1 || apt_missing+=(chromium-driver)
command -v firefox-esr >/dev/null 2>&1 || apt_missing+=(firefox-esr)
if [ ${#apt_missing[@]} -gt 0 ]; then
  say "installing ${apt_missing[*]} from Debian (the browsers the tests drive; a few minutes)"
  run_logged apt bash -c "export DEBIAN_FRONTEND=noninteractive; apt-get update -qq && apt-get install -y -qq ${apt_missing[*]} >/dev/null" &
  jobs+=($!)
fi

if [ ! -d "$ROOT/e2e/node_modules/@playwright/test" ] || [ ! -d "$ROOT/e2e/node_modules/ws" ] \
  || [ ! -d "$ROOT/e2e/node_modules/@axe-core/playwright" ] || [ ! -d "$ROOT/e2e/node_modules/http-server" ]; then
  say "installing the e2e npm packages (Playwright drives Debian's Chromium; axe, ws, http-server; under a minute)"
  run_logged e2e-npm bash -c "cd '$ROOT/e2e' && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund --loglevel=error" &
  jobs+=($!)
fi
wait_all "${jobs[@]}"
say "test tools ready"
