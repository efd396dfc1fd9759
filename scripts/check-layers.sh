#!/usr/bin/env bash
# The page's layering, checked: only src/browser/ (and main.rs, which only
# mounts the app) may name web_sys, js_sys, gloo or wasm_bindgen's JS
# casts, so that every decision elsewhere stays plain Rust that native tests
# run. pacer-core, a crate of its own with no such dependency, cannot name
# them at all. Comments and doc comments are not code and are skipped.
set -euo pipefail
cd "$(dirname "$0")/.."
pattern='\b(web_sys|js_sys|gloo_timers|gloo_[a-z]+|gloo)::|\bJsCast\b|\bwasm_bindgen::JsValue\b'
found=$(grep -rnE "$pattern" src --include='*.rs' \
  | grep -v '^src/browser/' | grep -v '^src/browser\.rs:' | grep -v '^src/main\.rs:' \
  | grep -vE '^[^:]+:[0-9]+:\s*//' || true)
if [ -n "$found" ]; then
  echo "Browser APIs named outside src/browser/ (move the call behind a function there):" >&2
  echo "$found" >&2
  exit 1
fi
echo "layers: web_sys, js_sys and gloo appear only under src/browser/"
