#!/usr/bin/env bash
# Pacer's bench: installs the test tools if missing (scripts/setup-test.sh), builds the release page
# and the emulator, then runs e2e/bench/run.mjs (every cell, or the ones
# selected). Results land in bench-results/ (latest.md, bench-<UTC>.md/.json).
#
#   scripts/bench.sh                  # every cell (~14 minutes: the hidden-tab
#                                     # cell alone is ~7, it must cross 5 min hidden)
#   scripts/bench.sh --only gcra-b0   # cells whose id contains gcra-b0
#   scripts/bench.sh --only multitab  # 2 and 3 tabs sharing 10/s (strict, fixed window, burst 4), and the
#                                     # leader-handover gap (~4 minutes)
#   scripts/bench.sh --only budgets   # the page's budgets only (size, first render,
#                                     # 100 000 pasted, heap and scroll of 100 000 rows)
#   scripts/bench.sh --quick          # short cells, about a minute
#   scripts/bench.sh --check          # the key cells (~6 min); exits 1 if any misses its
#                                     # targets: for a quiet machine (also with --only)
#   scripts/bench.sh --list           # cell ids
#   PACER_BENCH_NO_BUILD=1 scripts/bench.sh …   # use dist/ and the emulator as built
set -euo pipefail
source "$(dirname "$0")/env.sh"
cd "$ROOT"
if [ -z "${PACER_BENCH_NO_BUILD:-}" ]; then
  "$ROOT/scripts/setup-test.sh"
  build_all
fi
exec node "$ROOT/e2e/bench/run.mjs" "$@"
