#!/usr/bin/env bash
# `make bench [ENGINE=postgres]`: the engine benchmark (worker/benches/engine.rs) against a
# private Redis (and PostgreSQL) on loopback, like the tests use; stopped at exit.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
cd "$ROOT"
source scripts/tools.sh
source scripts/services.sh

ENGINE="${1:-sqlite}"
# One run at a time: each starts and stops the Redis (and PostgreSQL) below, and a second run
# would stop them under the first one's feet.
exec 9>"/tmp/omniplug-bench.lock"
flock -n 9 || { echo "another benchmark is running (/tmp/omniplug-bench.lock)" >&2; exit 1; }
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
# Each scenario in a process of its own, with its own database, Redis prefix and Sandbox: run
# one after another in one process, the engagement reads of the posts one run just published
# came due during the next run and were counted in its lateness and reads.
SCENARIOS=("${@:2}")
[ ${#SCENARIOS[@]} -gt 0 ] || SCENARIOS=(spread burst engine-burst plugs)
cargo bench -p omniplug-worker --bench engine --locked --no-run
for scenario in "${SCENARIOS[@]}"; do
  RUST_LOG="${RUST_LOG:-warn}" cargo bench -q -p omniplug-worker --bench engine --locked -- "$scenario"
done
