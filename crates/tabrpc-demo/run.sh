#!/usr/bin/env bash
# Runs the demo on a fresh machine: installs the web app's packages, builds the web app (Vite),
# then serves it with the API: `TABRPC_DEV_IDP=1 cargo run -p tabrpc-demo`. Extra arguments go
# to cargo run. Settings come from the environment (see the README), e.g. TABRPC_ADDR=127.0.0.1:8080.
# The development identity provider (loopback addresses only) is chosen here unless another
# issuer is configured with TABRPC_AUTH_ISSUER.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
command -v cargo >/dev/null || { echo "cargo is required (https://rustup.rs)"; exit 1; }
command -v npm >/dev/null || { echo "node >= 20 and npm are required"; exit 1; }
for dir in web-client crates/tabrpc-demo/web; do
  if [ ! -d "$dir/node_modules" ] || [ "$dir/package-lock.json" -nt "$dir/node_modules/.package-lock.json" ]; then
    (cd "$dir" && npm ci --no-audit --no-fund)
  fi
done
(cd crates/tabrpc-demo/web && npm run build)
if [ -z "${TABRPC_AUTH_ISSUER:-}" ]; then
  export TABRPC_DEV_IDP="${TABRPC_DEV_IDP:-1}"
fi
exec cargo run -p tabrpc-demo "$@"
