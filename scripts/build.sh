#!/usr/bin/env bash
# Builds what `make run` and the end-to-end tests serve: the WASM bundle, CSS and assets into
# target/site (cargo-leptos, frontend only), and the server and worker binaries (plain cargo,
# so they share build artefacts with `cargo test` instead of rebuilding Leptos each time).
set -euo pipefail
cd "$(dirname "$0")/.."
cargo leptos build --frontend-only
cargo build -p server -p omniplug-worker --bins
