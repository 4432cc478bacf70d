#!/usr/bin/env bash
# `make dev`: Redis and a worker in the background, `cargo leptos watch` in the foreground
# (rebuilds and reloads the browser on every save). Ctrl-C stops all of it.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
cd "$ROOT"
source scripts/tools.sh
source scripts/services.sh

need_run_tools
[ -f .env ] && { set -a; source .env; set +a; }
export OMNIPLUG_DATA_DIR="${OMNIPLUG_DATA_DIR:-data}"
mkdir -p "$OMNIPLUG_DATA_DIR"
if [ -z "${REDIS_URL:-}" ]; then
  export REDIS_URL="redis://127.0.0.1:6380"
  redis-cli -p 6380 ping >/dev/null 2>&1 || start_redis 6380 "$OMNIPLUG_DATA_DIR/redis" persist
fi

cargo build -p omniplug-worker --bin worker
target/debug/worker &
WORKER=$!
trap 'kill -TERM $WORKER 2>/dev/null; wait $WORKER 2>/dev/null' EXIT
cargo leptos watch
