#!/usr/bin/env bash
# Bundle size of each @tabrpc/client entry point and of @trpc/client (see ../README.md, "Bundle
# size"): builds web-client, bundles a tiny app per import with esbuild (minified), compresses it
# with gzip -9 and prints the table. Not part of the test suite.
#
#   bash bench/bundle/run.sh            # print the table (also bench/out/bundle.md and .json)
#   bash bench/bundle/run.sh --readme   # and put it in bench/README.md
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
bench="$(dirname "$here")"
client="$(dirname "$bench")/web-client"

need() { command -v "$1" >/dev/null 2>&1 || { echo "bench/bundle: $1 is required ($2)" >&2; exit 1; }; }
need node "Node.js 20 or newer"
need npm "comes with Node.js"
need gzip "the sizes are gzip -9's"

if [ ! -d "$client/node_modules" ]; then
  (cd "$client" && npm ci --no-audit --no-fund --loglevel=error)
fi
if [ ! -d "$here/node_modules" ] || [ "$here/package-lock.json" -nt "$here/node_modules" ]; then
  (cd "$here" && npm ci --no-audit --no-fund --loglevel=error)
  touch "$here/node_modules"
fi
echo "bench/bundle: building web-client" >&2
npm --prefix "$client" run --silent build

mkdir -p "$bench/out"
node "$here/measure.mjs" --json "$bench/out/bundle.json" | tee "$bench/out/bundle.md"

if [ "${1:-}" = "--readme" ]; then
  python3 - "$bench/README.md" "$bench/out/bundle.md" <<'PY'
import sys
readme, table = sys.argv[1], open(sys.argv[2]).read().strip()
text = open(readme).read()
begin, end = "<!-- bundle:begin -->", "<!-- bundle:end -->"
head, rest = text.split(begin, 1)
tail = rest.split(end, 1)[1]
open(readme, "w").write(f"{head}{begin}\n{table}\n{end}{tail}")
PY
  echo "bench/bundle: table written to $bench/README.md" >&2
fi
