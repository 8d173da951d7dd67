#!/usr/bin/env bash
# Live invalidation figures: delivery latency (p50/p99) and open streams per instance with their
# memory. Not part of the tests. With TABRPC_TEST_POSTGRES_URL set, the Postgres rows too.
set -euo pipefail
cd "$(dirname "$0")"
cargo run --release --quiet -- "$@"
