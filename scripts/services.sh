#!/usr/bin/env bash
# Private Redis and PostgreSQL instances on loopback, for `make run` and `make test`.
# They never touch the system services: each lives in its own folder on its own port.
# Source this file and call the functions.

# start_redis PORT DIR [persist]: a redis-server on 127.0.0.1:PORT with data in DIR.
start_redis() {
  local port="$1" dir="$2" persist="${3:-no}"
  mkdir -p "$dir"
  dir="$(cd "$dir" && pwd)"
  if redis-cli -p "$port" ping >/dev/null 2>&1; then
    echo "Redis already answering on 127.0.0.1:$port" >&2
    return 0
  fi
  local save=(--save "" --appendonly no)
  [ "$persist" = persist ] && save=(--appendonly yes --appendfsync everysec)
  redis-server --port "$port" --bind 127.0.0.1 --protected-mode yes --dir "$dir" \
    --daemonize yes --pidfile "$dir/redis.pid" --logfile "$dir/redis.log" "${save[@]}" >/dev/null
  for _ in $(seq 1 50); do
    redis-cli -p "$port" ping >/dev/null 2>&1 && return 0
    sleep 0.1
  done
  echo "Redis did not start on port $port; see $dir/redis.log" >&2
  return 1
}

stop_redis() {
  local port="$1"
  redis-cli -p "$port" shutdown nosave >/dev/null 2>&1 || true
}

pg_bin() {
  ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n1
}

# Runs a command as the postgres user when we are root (PostgreSQL refuses to run as root).
as_pg_owner() {
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

# start_postgres PORT DIR: a throwaway cluster (trust auth, no fsync) on 127.0.0.1:PORT.
start_postgres() {
  local port="$1" dir="$2" bin
  bin="$(pg_bin)"
  [ -n "$bin" ] || { echo "PostgreSQL is not installed" >&2; return 1; }
  mkdir -p "$dir"
  dir="$(cd "$dir" && pwd)"
  [ "$(id -u)" = 0 ] && chown postgres: "$dir" && chmod 700 "$dir"
  if [ ! -f "$dir/PG_VERSION" ]; then
    as_pg_owner "$bin/initdb" -D "$dir" -U postgres --auth=trust -E UTF8 --no-locale >/dev/null
  fi
  if as_pg_owner "$bin/pg_ctl" -D "$dir" status >/dev/null 2>&1; then
    return 0
  fi
  if ! as_pg_owner "$bin/pg_ctl" -D "$dir" -l "$dir/server.log" -w -t 30 start \
    -o "-p $port -k $dir -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=300" \
    >/dev/null; then
    echo "PostgreSQL did not start on port $port:" >&2
    tail -n 20 "$dir/server.log" >&2 || true
    return 1
  fi
}

stop_postgres() {
  local dir="$1" bin
  bin="$(pg_bin)"
  [ -f "$dir/PG_VERSION" ] || return 0
  as_pg_owner "$bin/pg_ctl" -D "$dir" -m fast -w stop >/dev/null 2>&1 || true
}

# wait_for_url URL SECONDS: polls until the URL answers 200.
wait_for_url() {
  local url="$1" seconds="${2:-60}"
  for _ in $(seq 1 $((seconds * 5))); do
    curl -fsS -o /dev/null "$url" 2>/dev/null && return 0
    sleep 0.2
  done
  echo "$url did not answer within ${seconds}s" >&2
  return 1
}

# start_s3 PORT DIR: moto's S3-compatible server on 127.0.0.1:PORT (state in memory).
start_s3() {
  local port="$1" dir="$2"
  mkdir -p "$dir"
  stop_s3 "$dir"
  "$MOTO_DIR/bin/moto_server" -H 127.0.0.1 -p "$port" >"$dir/moto.log" 2>&1 &
  echo $! >"$dir/moto.pid"
  for _ in $(seq 1 100); do
    curl -fsS -o /dev/null "http://127.0.0.1:$port/" 2>/dev/null && return 0
    sleep 0.1
  done
  echo "the S3 test server did not start on port $port; see $dir/moto.log" >&2
  return 1
}

stop_s3() {
  local dir="$1"
  [ -f "$dir/moto.pid" ] || return 0
  kill "$(cat "$dir/moto.pid")" 2>/dev/null || true
  rm -f "$dir/moto.pid"
}
