#!/usr/bin/env bash
# Runs every test of the repository on a fresh machine: installs what the suites need, then
# runs the Rust tests, the TypeScript type check and tests, and the cross-language tests.
# Usage: bash tests/run.sh        (CI calls it through .ci/run)
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

step() { printf '\n==> %s\n' "$*"; }
passed=0
failed=0
suite() {
  local name=$1; shift
  step "$name"
  if "$@"; then passed=$((passed + 1)); else failed=$((failed + 1)); echo "FAILED: $name"; fi
}

step "tool check"
command -v cargo >/dev/null || { echo "cargo is required (https://rustup.rs)"; exit 1; }
command -v node >/dev/null || { echo "node >= 20 is required"; exit 1; }
node --version; cargo --version

step "npm install (web-client, tests/node)"
for dir in web-client tests/node; do
  if [ -f "$dir/package.json" ]; then
    (cd "$dir" && if [ -f package-lock.json ]; then npm ci --no-audit --no-fund; else npm install --no-audit --no-fund; fi)
  fi
done

step "cargo build"
cargo build --workspace --all-targets --locked

suite "cargo test (Rust unit, integration and doc tests; bindings up to date)" \
  cargo test --workspace --locked --no-fail-fast

if [ -f web-client/package.json ]; then
  suite "web-client: build" bash -c 'cd web-client && npm run build'
  suite "web-client: tsc --strict type check" bash -c 'cd web-client && npm run typecheck'
  suite "web-client: unit and type-level tests" bash -c 'cd web-client && npm test'
fi
if [ -f tests/node/package.json ]; then
  suite "tests/node: @trpc/client and web-client against the real server" bash -c 'cd tests/node && npm test'
fi

printf '\nsuites: %d passed, %d failed\n' "$passed" "$failed"
[ "$failed" -eq 0 ]
