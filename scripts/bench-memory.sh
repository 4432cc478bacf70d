#!/usr/bin/env bash
# `make bench-memory`: resident memory of the server and the worker while 20 anonymous 120 MB
# requests hit the Sandbox, and while one account uploads a 95 MB video and publishes it to 30
# Sandbox connections (scripts/bench_memory.py; bounds SERVER_BOUND_MB=150, WORKER_BOUND_MB=250).
# Builds the release server and worker, runs them with a private Redis and a fresh SQLite file
# on loopback. Not part of `make test`. SERVER=… WORKER=… measure other builds.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
cd "$ROOT"
source scripts/tools.sh
source scripts/services.sh

PORT=16397
ADDR=127.0.0.1:3197
DATA="$(mktemp -d /tmp/omniplug-memory-XXXX)"

need_redis
if [ -z "${SERVER:-}" ] || [ -z "${WORKER:-}" ]; then
  cargo build --release -q -p server --bin server -p omniplug-worker --bin worker
  SERVER=target/release/server WORKER=target/release/worker
fi
start_redis "$PORT" "$DATA/redis"
cleanup() {
  for pid in ${SERVER_PID:-} ${WORKER_PID:-}; do kill -TERM "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  stop_redis "$PORT"
  rm -rf "$DATA"
}
trap cleanup EXIT
export OMNIPLUG_DATA_DIR="$DATA" DATABASE_URL="sqlite://$DATA/omniplug.db?mode=rwc"
export REDIS_URL="redis://127.0.0.1:$PORT" LEPTOS_SITE_ADDR="$ADDR" LEPTOS_SITE_ROOT=target/site
export LEPTOS_OUTPUT_NAME=omniplug RUST_LOG="${RUST_LOG:-warn}"
"$SERVER" & SERVER_PID=$!
wait_for_url "http://$ADDR/health" 60
"$WORKER" & WORKER_PID=$!
python3 scripts/bench_memory.py "http://$ADDR" "$SERVER_PID" "$WORKER_PID"
