#!/usr/bin/env bash
# One command for the whole benchmark (see README.md): builds the servers and the tools,
# then runs them interleaved and prints the table. Not part of the test suite.
#
#   bash bench/run.sh            # print the table (also written to bench/out/latest.md)
#   bash bench/run.sh --readme   # and put it in bench/README.md
#
# Settings: BENCH_ROUNDS, BENCH_DURATION, BENCH_WARMUP, BENCH_CONNECTIONS, BENCH_TOKENS,
# BENCH_SERVERS, BENCH_PRIORITY (see run.py), CARGO_TARGET_DIR (default bench/target).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$here/target}"

need() { command -v "$1" >/dev/null 2>&1 || { echo "bench: $1 is required ($2)" >&2; exit 1; }; }
need cargo "Rust 1.88 or newer"
need node "Node.js 20 or newer"
need npm "comes with Node.js"
need python3 "runs the measurements"
need taskset "util-linux"
if ! command -v wrk >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "bench: installing wrk (Debian package)" >&2
    apt-get install -y -qq wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk >/dev/null; }
  else
    echo "bench: wrk is required (apt-get install wrk)" >&2
    exit 1
  fi
fi

echo "bench: building (release)" >&2
cargo build --release --quiet --manifest-path "$here/tabrpc-server/Cargo.toml" --bins
cargo build --release --quiet --manifest-path "$here/raw-axum/Cargo.toml"
cargo build --release --quiet --manifest-path "$here/rspc-server/Cargo.toml"
if [ ! -d "$here/trpc-node/node_modules" ] || [ "$here/trpc-node/package-lock.json" -nt "$here/trpc-node/node_modules" ]; then
  (cd "$here/trpc-node" && npm ci --no-audit --no-fund --loglevel=error)
  touch "$here/trpc-node/node_modules"
fi

python3 "$here/run.py"

if [ "${1:-}" = "--readme" ]; then
  python3 - "$here/README.md" "$here/out/latest.md" <<'PY'
import sys
readme, table = sys.argv[1], open(sys.argv[2]).read().strip()
text = open(readme).read()
begin, end = "<!-- bench:begin -->", "<!-- bench:end -->"
head, rest = text.split(begin, 1)
tail = rest.split(end, 1)[1]
open(readme, "w").write(f"{head}{begin}\n{table}\n{end}{tail}")
PY
  echo "bench: table written to $here/README.md" >&2
fi
