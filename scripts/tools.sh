#!/usr/bin/env bash
# Idempotent installers for everything OmniPlug needs to build, run and test.
# Each `need_*` function checks what is already there and does nothing when it
# is present at the right version, so a warm machine spends seconds here.
#
# Versions and the lockfile tweaks come from ../shared/TOOLCHAIN.md (measured
# on this kind of machine): cargo-leptos 0.3.11 and wasm-bindgen-cli need one
# dependency pinned down before they build with rustc 1.95 from this registry.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CARGO_LEPTOS_VERSION="0.3.11"

log() { printf '\033[1;34m==>\033[0m %s\n' "$*" >&2; }

as_root() {
  if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi
}

APT_UPDATED=0
apt_install() {
  local missing=()
  for pkg in "$@"; do
    dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  log "apt-get install ${missing[*]}"
  if [ "$APT_UPDATED" = 0 ]; then
    as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq </dev/null
    APT_UPDATED=1
  fi
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" </dev/null
}

# The wasm-bindgen version the workspace locks; the CLI must match it exactly.
locked_wasm_bindgen_version() {
  awk '/^name = "wasm-bindgen"$/ { getline; gsub(/version = |"/, ""); print; exit }' "$ROOT/Cargo.lock"
}

need_wasm_target() {
  rustup target list --installed | grep -qx wasm32-unknown-unknown && return 0
  log "rustup target add wasm32-unknown-unknown"
  rustup target add wasm32-unknown-unknown
}

# Builds a crate from its registry source after pinning one dependency, as
# TOOLCHAIN.md describes. $1 crate, $2 version, $3 dependency, $4 its version,
# $5 "debug" to skip optimisation (much faster to build on 2 cores).
install_with_pinned_dep() {
  local krate="$1" version="$2" dep="$3" dep_version="$4" profile="${5:-release}"
  local src
  src="$(ls -d "$HOME"/.cargo/registry/src/*/"$krate-$version" 2>/dev/null | head -n1 || true)"
  if [ -z "$src" ]; then
    # The locked install fails on this rustc, but it leaves the source behind.
    cargo install "$krate" --version "$version" --locked >/dev/null 2>&1 || true
    src="$(ls -d "$HOME"/.cargo/registry/src/*/"$krate-$version" 2>/dev/null | head -n1 || true)"
  fi
  if [ -z "$src" ]; then
    echo "could not obtain the source of $krate $version" >&2
    return 1
  fi
  local scratch
  scratch="$(mktemp -d)"
  cp -r "$src/." "$scratch/"
  (
    cd "$scratch"
    cargo update -p "$dep" --precise "$dep_version"
    local flags=(--path . --locked)
    [ "$profile" = debug ] && flags+=(--debug)
    # No LTO and many codegen units: these are build tools, compile time matters more.
    CARGO_PROFILE_RELEASE_LTO=false CARGO_PROFILE_RELEASE_CODEGEN_UNITS=16 \
      cargo install "${flags[@]}"
  )
  rm -rf "$scratch"
}

need_cargo_leptos() {
  if cargo leptos --version 2>/dev/null | grep -q "$CARGO_LEPTOS_VERSION"; then return 0; fi
  log "installing cargo-leptos $CARGO_LEPTOS_VERSION (one-off, several minutes)"
  # A debug build: cargo-leptos only orchestrates cargo and wasm-bindgen in our builds (its
  # heavy JS minifier runs only for release bundles), and an optimised build of it took
  # 34 minutes on this 2-core kind of machine.
  install_with_pinned_dep cargo-leptos "$CARGO_LEPTOS_VERSION" cargo-util-schemas 0.14.1 debug
}

need_wasm_bindgen() {
  local want
  want="$(locked_wasm_bindgen_version)"
  if wasm-bindgen --version 2>/dev/null | grep -q " $want"; then return 0; fi
  log "installing wasm-bindgen-cli $want (to match Cargo.lock)"
  install_with_pinned_dep wasm-bindgen-cli "$want" webpki-roots 1.0.10
}

need_redis() {
  command -v redis-server >/dev/null && command -v curl >/dev/null && return 0
  apt_install redis-server curl
}

need_postgres() {
  [ -x /usr/lib/postgresql/15/bin/initdb ] && command -v psql >/dev/null && return 0
  apt_install postgresql
}

need_chromium() {
  [ -x /usr/bin/chromium ] && return 0
  apt_install chromium
}

# A real S3-compatible server for the media storage tests: moto's server mode, from PyPI, in a
# virtualenv of its own under .tools/ (kept between runs).
MOTO_VERSION=5.2.5
MOTO_DIR="$ROOT/.tools/moto-$MOTO_VERSION"
need_s3_server() {
  [ -x "$MOTO_DIR/bin/moto_server" ] && return 0
  if ! python3 -c 'import venv, ensurepip' >/dev/null 2>&1; then
    apt_install python3 python3-venv
  fi
  log "installing moto[server] $MOTO_VERSION (S3-compatible test server)"
  rm -rf "$MOTO_DIR"
  python3 -m venv "$MOTO_DIR"
  "$MOTO_DIR/bin/pip" install --quiet --disable-pip-version-check "moto[server]==$MOTO_VERSION"
}

need_end2end_packages() {
  local dir="$ROOT/end2end"
  if [ -d "$dir/node_modules/@playwright/test" ] && [ "$dir/node_modules/.package-lock.json" -nt "$dir/package-lock.json" ]; then
    return 0
  fi
  log "npm ci in end2end/"
  (cd "$dir" && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund --loglevel=error)
}

# Everything `make run` needs.
need_run_tools() {
  need_wasm_target
  need_redis
  need_wasm_bindgen
  need_cargo_leptos
}

# Everything `make test` needs on top of that.
need_test_tools() {
  need_run_tools
  need_postgres
  need_chromium
  need_end2end_packages
  need_s3_server
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
  case "${1:-run}" in
    run) need_run_tools ;;
    test) need_test_tools ;;
    *) echo "usage: $0 [run|test]" >&2; exit 2 ;;
  esac
fi
