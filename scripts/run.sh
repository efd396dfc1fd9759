#!/usr/bin/env bash
# The README's run command: installs what is missing, builds the page in
# release mode and serves it with the bundled API emulator on one origin.
#   scripts/run.sh [emulator flags...]   e.g. --limiter gcra --limit 10 --burst 0
set -euo pipefail
source "$(dirname "$0")/env.sh"
"$ROOT/scripts/setup.sh"
build_all
cd "$ROOT"
echo
echo "  Pacer is served at http://127.0.0.1:${PORT:-8080}/  (the emulator is its default endpoint; Ctrl-C stops it)"
echo
exec "$EMULATOR" --port "${PORT:-8080}" --dist "$ROOT/dist" "$@"
