#!/usr/bin/env bash
# `make bench [ENGINE=postgres]`: the engine benchmark (worker/benches/engine.rs) against a
# private Redis (and PostgreSQL) on loopback, like the tests use; stopped at exit.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
cd "$ROOT"
source scripts/tools.sh
source scripts/services.sh

ENGINE="${1:-sqlite}"
REDIS_PORT=16379
PG_PORT=25432
PG_DIR="/tmp/omniplug-bench-pg-$PG_PORT"

need_redis
cleanup() {
  stop_redis "$REDIS_PORT"
  stop_postgres "$PG_DIR"
  rm -rf "$PG_DIR"
}
trap cleanup EXIT
start_redis "$REDIS_PORT" "$ROOT/.services/bench-redis"
export OMNIPLUG_TEST_REDIS_URL="redis://127.0.0.1:$REDIS_PORT"
if [ "$ENGINE" = postgres ]; then
  need_postgres
  stop_postgres "$PG_DIR"
  rm -rf "$PG_DIR"
  start_postgres "$PG_PORT" "$PG_DIR"
  export OMNIPLUG_TEST_DATABASE="postgres://postgres@127.0.0.1:$PG_PORT/postgres"
else
  export OMNIPLUG_TEST_DATABASE=sqlite
fi
RUST_LOG="${RUST_LOG:-warn}" cargo bench -p omniplug-worker --bench engine --locked -- "${@:2}"
