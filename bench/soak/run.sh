#!/usr/bin/env bash
# Soak of the demo server: builds it in release, then holds it at saturation for a number of
# minutes (default 3) with valid traffic from many accounts (wrk), malformed requests and idle
# and slow connections mixed in; prints progress every 10 s and a summary (see soak.py).
# Not part of the test command. All traffic goes to 127.0.0.1; the run stops by itself.
#
#   bench/soak/run.sh                 # 3 minutes
#   bench/soak/run.sh --minutes 30    # longer; any soak.py option (--connections, --idle, …)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
cd "$root"
command -v python3 >/dev/null || { echo "python3 is required"; exit 1; }
if ! command -v wrk >/dev/null; then
  echo "installing wrk (Debian package)"
  if [ "$(id -u)" = 0 ]; then apt-get install -y -qq wrk || { apt-get update -qq && apt-get install -y -qq wrk; }
  else echo "wrk is required: apt-get install wrk"; exit 1; fi
fi
cargo build --release -p tabrpc-demo
target=${CARGO_TARGET_DIR:-$root/target}
exec python3 "$here/soak.py" --binary "$target/release/tabrpc-demo" "$@"
