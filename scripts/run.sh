#!/usr/bin/env bash
# `make run`: installs what is missing, builds, starts Redis (data under data/redis), the worker
# and the server on SQLite (data/omniplug.db), prints the URL, and stops everything on Ctrl-C.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
cd "$ROOT"
source scripts/tools.sh
source scripts/services.sh

need_run_tools
[ -f .env ] && { set -a; source .env; set +a; }

export OMNIPLUG_DATA_DIR="${OMNIPLUG_DATA_DIR:-data}"
export LEPTOS_SITE_ADDR="${LEPTOS_SITE_ADDR:-127.0.0.1:3000}"
export LEPTOS_SITE_ROOT="${LEPTOS_SITE_ROOT:-target/site}"
export LEPTOS_OUTPUT_NAME=omniplug
mkdir -p "$OMNIPLUG_DATA_DIR"

STARTED_REDIS=""
if [ -z "${REDIS_URL:-}" ]; then
  export REDIS_URL="redis://127.0.0.1:6380"
  if ! redis-cli -p 6380 ping >/dev/null 2>&1; then
    start_redis 6380 "$OMNIPLUG_DATA_DIR/redis" persist
    STARTED_REDIS=1
  fi
fi

log "building (the first build takes several minutes)"
scripts/build.sh

PIDS=()
cleanup() {
  trap - INT TERM EXIT
  echo
  log "stopping"
  for pid in "${PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
  # Saves the append-only file before exiting.
  [ -n "$STARTED_REDIS" ] && redis-cli -p 6380 shutdown >/dev/null 2>&1 || true
  log "stopped"
}
trap cleanup INT TERM EXIT

target/debug/worker &
PIDS+=($!)
target/debug/server &
PIDS+=($!)

URL="http://$LEPTOS_SITE_ADDR"
if wait_for_url "$URL/health" 60; then
  printf '\n\033[1;32mOmniPlug is running at %s\033[0m  (health: %s/health · Ctrl-C stops everything)\n\n' "$URL" "$URL"
else
  echo "the server did not become healthy; see the log above" >&2
  exit 1
fi
# Stop everything if either process exits on its own.
wait -n "${PIDS[@]}"
