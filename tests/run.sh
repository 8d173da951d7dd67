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

# --- PostgreSQL for the session store tests (tabrpc-sessions, tabrpc-demo) ---------------------
# Installs PostgreSQL from the distribution's packages when missing, starts a private cluster of
# this run in a fresh temporary directory, listening on a Unix socket there only (no port to
# collide with, nothing shared with another run), and exports its URL; the cluster is stopped
# and removed when this script exits. Skipped when TABRPC_TEST_POSTGRES_URL is set already.
# Under CI=true the Postgres tests fail without it; elsewhere they say SKIPPED on stderr.
if [ -z "${TABRPC_TEST_POSTGRES_URL:-}" ]; then
  step "PostgreSQL for the session store tests"
  pg_bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
  if [ -z "$pg_bin" ]; then
    sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq postgresql >/dev/null
    pg_bin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
  fi
  pg_dir=$(mktemp -d "${TMPDIR:-/tmp}/tabrpc-postgres.XXXXXX")
  chmod 755 "$pg_dir"
  # initdb refuses to run as root: as root, the cluster belongs to the postgres user.
  if [ "$(id -u)" -eq 0 ]; then
    chown postgres: "$pg_dir"
    pg_as() { (cd / && runuser -u postgres -- "$@"); }
  else
    pg_as() { "$@"; }
  fi
  pg_stop() {
    pg_as "$pg_bin/pg_ctl" -D "$pg_dir/data" -m fast stop >/dev/null 2>&1 || true
    rm -rf "$pg_dir"
  }
  trap pg_stop EXIT
  pg_as "$pg_bin/initdb" -D "$pg_dir/data" -U postgres --auth=trust -E UTF8 >/dev/null
  pg_as "$pg_bin/pg_ctl" -D "$pg_dir/data" -l "$pg_dir/log" -w -o \
    "-c listen_addresses='' -k $pg_dir -c fsync=off -c max_connections=200" start >/dev/null \
    || { cat "$pg_dir/log"; exit 1; }
  export TABRPC_TEST_POSTGRES_URL="postgres://postgres@localhost/postgres?host=$pg_dir"
  echo "PostgreSQL $("$pg_bin/postgres" --version | awk '{print $3}') at $TABRPC_TEST_POSTGRES_URL"
fi
# --- end of PostgreSQL ---------------------------------------------------------------------------

step "cargo build"
# A clean CI build gains nothing from incremental state, which would double the disk it needs.
if [ "${CI:-}" = true ]; then export CARGO_INCREMENTAL=0; fi
df -h . | tail -n 1 | awk '{print "disk free before the build: " $4}'
cargo build --workspace --all-targets --locked
df -h . | tail -n 1 | awk '{print "disk free after the build: " $4}'

suite "cargo test (Rust unit, integration and doc tests; bindings up to date)" \
  cargo test --workspace --locked --no-fail-fast

# The gates a change must pass before it lands: formatting, lints (every feature, warnings
# denied) and the API docs (broken links and doc warnings denied).
suite "cargo fmt --check" cargo fmt --all -- --check
suite "cargo clippy --all-targets --all-features -D warnings" \
  cargo clippy --workspace --all-targets --all-features --locked -- -D warnings
suite "cargo doc --no-deps (warnings denied)" \
  env RUSTDOCFLAGS="-D warnings" cargo doc --workspace --no-deps --locked

if [ -f web-client/package.json ]; then
  suite "web-client: build" bash -c 'cd web-client && npm run build'
  suite "web-client: tsc --strict type check" bash -c 'cd web-client && npm run typecheck'
  suite "web-client: unit and type-level tests" bash -c 'cd web-client && npm test'
fi
if [ -f tests/node/package.json ]; then
  suite "tests/node: @trpc/client and web-client against the real server" bash -c 'cd tests/node && npm test'
fi

# --- Browser tests (tests/e2e): the demo web app in Debian's Chromium --------------------------
# Installs Debian's chromium package when /usr/bin/chromium is missing (or set CHROMIUM_PATH),
# installs the demo web app's and the suite's packages, builds the web app with Vite, then runs
# the suite against the demo binary built above. Screenshots: test-output/e2e/. Without
# Chromium the suite fails under CI=true; elsewhere it is reported SKIPPED.
step "Chromium for the browser tests"
chromium=${CHROMIUM_PATH:-/usr/bin/chromium}
if [ ! -x "$chromium" ] && [ -z "${CHROMIUM_PATH:-}" ]; then
  sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo"
  { $sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq chromium >/dev/null; } \
    || echo "could not install chromium (apt-get install -y chromium)"
fi
if [ -x "$chromium" ] || [ "${CI:-}" = "true" ]; then
  if [ -x "$chromium" ]; then "$chromium" --version; fi
  for dir in crates/tabrpc-demo/web tests/e2e; do
    (cd "$dir" && npm ci --no-audit --no-fund)
  done
  suite "demo web app: tsc --strict type check and Vite build" \
    bash -c 'cd crates/tabrpc-demo/web && npm run typecheck && npm run build'
  # The demo binary of the cargo build above (a `cargo build -p tabrpc-demo` could resolve
  # features differently and rebuild).
  suite "tests/e2e: tabs, accounts, one cookie, per-tab carts, in Chromium (playwright-core)" \
    env TABRPC_DEMO_BIN="${CARGO_TARGET_DIR:-$root/target}/debug/tabrpc-demo" CHROMIUM_PATH="$chromium" \
    bash -c 'cd tests/e2e && npm test'
else
  echo "SKIPPED: browser tests (no Chromium at $chromium; CI=true makes this a failure)" >&2
fi
# --- end of browser tests ----------------------------------------------------------------------

printf '\nsuites: %d passed, %d failed\n' "$passed" "$failed"
[ "$failed" -eq 0 ]
