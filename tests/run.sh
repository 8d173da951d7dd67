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
# Installs PostgreSQL (and openssl) from the distribution's packages when missing and starts one
# private cluster of this run in a fresh temporary directory, stopped and removed when this
# script exits. It serves two URLs:
# - TABRPC_TEST_POSTGRES_URL: a Unix socket in that directory (nothing shared with another run);
# - TABRPC_TEST_POSTGRES_TLS_URL: TCP on 127.0.0.1 at a random free port, TLS only. A throwaway
#   CA and a server certificate for 127.0.0.1 are generated with openssl for this run; the CA's
#   path is TABRPC_TEST_POSTGRES_TLS_CA. pg_hba.conf has only `hostssl` lines for TCP, so a
#   plain connection is refused by the server.
# Each URL is left alone when set already (the cluster starts only when one is missing).
# Under CI=true the Postgres tests fail without their URL; elsewhere they say SKIPPED on stderr.
if [ -z "${TABRPC_TEST_POSTGRES_URL:-}" ] || [ -z "${TABRPC_TEST_POSTGRES_TLS_URL:-}" ]; then
  step "PostgreSQL for the session store tests"
  sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo"
  pg_bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
  if [ -z "$pg_bin" ] || ! command -v openssl >/dev/null; then
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq postgresql openssl >/dev/null
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
  # The throwaway CA (valid two days) and the server's certificate, signed by it, for the
  # address the tests connect to (verify-full checks it). The server's key is readable by the
  # cluster's owner only, as PostgreSQL demands.
  pg_tls="$pg_dir/tls"
  mkdir "$pg_tls"
  openssl req -x509 -new -nodes -days 2 -subj "/CN=tabrpc test CA" \
    -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -keyout "$pg_tls/ca.key" -out "$pg_tls/ca.pem" \
    -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
  openssl req -new -nodes -subj "/CN=127.0.0.1" \
    -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -keyout "$pg_tls/server.key" -out "$pg_tls/server.csr" 2>/dev/null
  printf '%s\n' "subjectAltName=IP:127.0.0.1" "basicConstraints=critical,CA:FALSE" \
    "keyUsage=critical,digitalSignature" "extendedKeyUsage=serverAuth" > "$pg_tls/server.ext"
  openssl x509 -req -days 2 -in "$pg_tls/server.csr" -CA "$pg_tls/ca.pem" -CAkey "$pg_tls/ca.key" \
    -CAcreateserial -extfile "$pg_tls/server.ext" -out "$pg_tls/server.pem" 2>/dev/null
  chmod 644 "$pg_tls/ca.pem" "$pg_tls/server.pem"
  chmod 600 "$pg_tls/server.key"
  if [ "$(id -u)" -eq 0 ]; then chown postgres: "$pg_tls/server.key"; fi
  # Unix socket: trusted. TCP: TLS only (no `host` or `hostnossl` line, so plain is refused).
  printf '%s\n' "local all all trust" "hostssl all all 127.0.0.1/32 trust" \
    | pg_as tee "$pg_dir/data/pg_hba.conf" >/dev/null
  # A random free port: a port taken meanwhile makes the start fail, and another is tried.
  pg_port=""
  for _ in 1 2 3 4 5 6 7 8; do
    port=$((20000 + RANDOM % 40000))
    if pg_as "$pg_bin/pg_ctl" -D "$pg_dir/data" -l "$pg_dir/log" -w -o \
      "-c listen_addresses=127.0.0.1 -c port=$port -k $pg_dir -c fsync=off -c max_connections=200 \
       -c ssl=on -c ssl_cert_file=$pg_tls/server.pem -c ssl_key_file=$pg_tls/server.key" \
      start >/dev/null; then
      pg_port=$port
      break
    fi
  done
  [ -n "$pg_port" ] || { cat "$pg_dir/log"; exit 1; }
  echo "PostgreSQL $("$pg_bin/postgres" --version | awk '{print $3}') in $pg_dir, port $pg_port"
  if [ -z "${TABRPC_TEST_POSTGRES_URL:-}" ]; then
    export TABRPC_TEST_POSTGRES_URL="postgres://postgres@localhost:$pg_port/postgres?host=$pg_dir"
    echo "  Unix socket: $TABRPC_TEST_POSTGRES_URL"
  fi
  if [ -z "${TABRPC_TEST_POSTGRES_TLS_URL:-}" ]; then
    export TABRPC_TEST_POSTGRES_TLS_URL="postgres://postgres@127.0.0.1:$pg_port/postgres"
    export TABRPC_TEST_POSTGRES_TLS_CA="$pg_tls/ca.pem"
    echo "  TLS only:    $TABRPC_TEST_POSTGRES_TLS_URL (CA $TABRPC_TEST_POSTGRES_TLS_CA)"
  fi
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
