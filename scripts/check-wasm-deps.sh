#!/usr/bin/env bash
# The browser (hydrate) build must not pull in server-only crates. Lists the dependency tree
# of the WASM entry point for wasm32 and fails if any forbidden crate appears.
set -euo pipefail
cd "$(dirname "$0")/.."

forbidden='^(sea-orm|sea-orm-migration|sqlx|fred|ring|reqwest|tokio|axum|leptos_axum|omniplug-core|migrations) '
tree="$(cargo tree -p frontend --target wasm32-unknown-unknown -e normal --prefix none --format '{p}' | sort -u)"
if [ "$(printf '%s\n' "$tree" | grep -c '^leptos ')" -eq 0 ]; then
  echo "check-wasm-deps: cargo tree output looks wrong (no leptos):" >&2
  printf '%s\n' "$tree" | head >&2
  exit 1
fi
if offenders="$(printf '%s\n' "$tree" | grep -E "$forbidden")"; then
  echo "check-wasm-deps: the hydrate build pulls in server-only crates:" >&2
  printf '  %s\n' "$offenders" >&2
  exit 1
fi
echo "check-wasm-deps: the WASM build is free of sea-orm, sqlx, fred, ring, reqwest, tokio, axum ($(printf '%s\n' "$tree" | wc -l) crates)"
