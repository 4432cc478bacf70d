#!/usr/bin/env bash
# `make bench-dashboard`: the server-rendered dashboard's response time for a workspace with
# 1,000 posts. Builds the release server (site from `cargo leptos build --release`, or the
# debug site if that is all there is), runs it with a private Redis and a fresh SQLite file on
# loopback, creates the posts through the server functions, then times 100 GETs of /dashboard
# and prints the median and p90. Not part of `make test`.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
cd "$ROOT"
source scripts/tools.sh
source scripts/services.sh

PORT=16395
ADDR=127.0.0.1:3195
DATA="$(mktemp -d /tmp/omniplug-dash-XXXX)"
POSTS="${POSTS:-1000}"
JAR="$DATA/cookies"

need_redis
cargo build --release -q -p server --bin server
start_redis "$PORT" "$DATA/redis"
cleanup() {
  [ -n "${SERVER:-}" ] && kill -TERM "$SERVER" 2>/dev/null || true
  stop_redis "$PORT"
  rm -rf "$DATA"
}
trap cleanup EXIT
(
  export OMNIPLUG_DATA_DIR="$DATA" DATABASE_URL="sqlite://$DATA/omniplug.db?mode=rwc"
  export REDIS_URL="redis://127.0.0.1:$PORT" LEPTOS_SITE_ADDR="$ADDR" LEPTOS_SITE_ROOT=target/site
  export LEPTOS_OUTPUT_NAME=omniplug RUST_LOG=warn
  exec target/release/server
) &
SERVER=$!
wait_for_url "http://$ADDR/health" 60

api() { curl -fsS -b "$JAR" -c "$JAR" -H 'accept: application/json' "http://$ADDR/api/$1" "${@:2}"; }
api sign_up --data-urlencode email=bench@example.com --data-urlencode 'password=correct horse battery' \
  --data-urlencode name=Bench --data-urlencode timezone=Europe/Paris >/dev/null
WS="$(api current_user -X POST | python3 -c 'import json,sys; print(json.load(sys.stdin)["workspace"]["id"])')"
CONN="$(api connect_sandbox --data-urlencode "workspace_id=$WS" | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')"
log "creating $POSTS posts (scheduled over the next 60 days, a fifth of them drafts)"
for i in $(seq 1 "$POSTS"); do
  if (( i % 5 == 0 )); then
    when=""
  else
    when="$(date -u -d "+$(( (i % 60) + 1 )) days" +%Y-%m-%d)T$(printf '%02d' $(( 8 + i % 12 ))):$(printf '%02d' $(( (i * 7) % 60 )))"
  fi
  api save_post --data-urlencode "workspace_id=$WS" --data-urlencode "post[text]=Bench post $i about shipping" \
    --data-urlencode "post[connection_ids][0]=$CONN" --data-urlencode "post[schedule]=$when" >/dev/null
done
for _ in 1 2 3 4 5; do curl -fsS -o /dev/null -b "$JAR" "http://$ADDR/dashboard"; done
TIMES="$(for _ in $(seq 1 100); do curl -fsS -o /dev/null -w '%{time_total}\n' -b "$JAR" "http://$ADDR/dashboard"; done | sort -n)"
MEDIAN="$(echo "$TIMES" | sed -n 50p)"
P90="$(echo "$TIMES" | sed -n 90p)"
echo "dashboard (server-rendered, $POSTS posts, 100 requests): median $(python3 -c "print(round($MEDIAN*1000,1))") ms, p90 $(python3 -c "print(round($P90*1000,1))") ms"
