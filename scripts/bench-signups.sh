#!/usr/bin/env bash
# `make bench-signups`: how `/health` answers while 300 people sign up at once. Builds the
# release server, runs it with a private Redis and a fresh SQLite file on loopback, trusting
# loopback as its reverse proxy so each sign-up comes from an address of its own (as 300
# strangers would), then runs scripts/bench_signups.py: /health latency at rest and during the
# burst (median, p99, max) and how long the burst took. Not part of `make test`.
# SERVER=path/to/server times another build of the server (a before/after comparison).
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
cd "$ROOT"
source scripts/tools.sh
source scripts/services.sh

PORT=16396
ADDR=127.0.0.1:3196
DATA="$(mktemp -d /tmp/omniplug-signups-XXXX)"

need_redis
if [ -z "${SERVER:-}" ]; then
  cargo build --release -q -p server --bin server
  SERVER=target/release/server
fi
start_redis "$PORT" "$DATA/redis"
cleanup() {
  [ -n "${PID:-}" ] && kill -TERM "$PID" 2>/dev/null || true
  stop_redis "$PORT"
  rm -rf "$DATA"
}
trap cleanup EXIT
(
  export OMNIPLUG_DATA_DIR="$DATA" DATABASE_URL="sqlite://$DATA/omniplug.db?mode=rwc"
  export REDIS_URL="redis://127.0.0.1:$PORT" LEPTOS_SITE_ADDR="$ADDR" LEPTOS_SITE_ROOT=target/site
  export LEPTOS_OUTPUT_NAME=omniplug RUST_LOG=warn OMNIPLUG_TRUSTED_PROXIES=127.0.0.1
  exec "$SERVER"
) &
PID=$!
wait_for_url "http://$ADDR/health" 60
python3 scripts/bench_signups.py "http://$ADDR" "${SIGN_UPS:-300}"
