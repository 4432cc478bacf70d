# OmniPlug — the two commands a newcomer needs are `make run` and `make test`.
.PHONY: run test dev build tools migrate fmt reseal-tokens bench bench-dashboard bench-signups bench-memory

## Build and run the product (Redis + worker + server on SQLite); prints the URL.
run:
	@scripts/run.sh

## Everything CI runs: fmt, clippy, WASM dependency check, Rust tests on SQLite and
## PostgreSQL, Playwright end-to-end tests in Chromium.
test:
	@scripts/test.sh

## Development: `cargo leptos watch` with Redis and a worker beside it.
dev:
	@scripts/dev.sh

## Build the site (WASM, CSS) and the server and worker binaries.
build:
	@scripts/build.sh

## Install the tools `make test` needs, without running anything.
tools:
	@scripts/tools.sh test

## Migration CLI, e.g. `make migrate ARGS=status` (up, down, status, fresh, …).
migrate:
	@cargo run -q -p migrations -- $(ARGS)

## Re-encrypt every stored token with the newest key in OMNIPLUG_TOKEN_KEY (key rotation).
reseal-tokens:
	@cargo run -q -p omniplug-worker --bin worker -- reseal-tokens

## The engine benchmark (not part of `make test`): publish lateness for 10,000 posts, plug
## latency and reads per post-hour. On PostgreSQL: `make bench ENGINE=postgres`.
bench:
	@scripts/bench.sh $(ENGINE)

## The server-rendered dashboard's median response time with 1,000 posts (release build).
bench-dashboard:
	@scripts/bench-dashboard.sh

## /health latency while 300 people sign up at once (release build).
bench-signups:
	@scripts/bench-signups.sh

## Server and worker memory under hostile uploads and a 95 MB video to 30 accounts (release).
bench-memory:
	@scripts/bench-memory.sh

fmt:
	@cargo fmt --all
