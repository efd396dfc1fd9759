#!/usr/bin/env bash
# Retakes the README's pictures (docs/*.png) from the release page in
# headless Chromium: the journey and screenshot specs, writing into docs/
# instead of e2e/test-results/screenshots/ where a test run leaves them.
# Builds first (set PACER_NO_BUILD=1 to use dist/ as it is).
set -euo pipefail
source "$(dirname "$0")/env.sh"
"$ROOT/scripts/setup-test.sh"
[ -n "${PACER_NO_BUILD:-}" ] || build_all
cd "$ROOT/e2e"
PACER_SCREENSHOTS="$ROOT/docs" npx playwright test tests/journey.spec.ts tests/screenshots.spec.ts
say "docs/*.png retaken; look at them before committing"
