#!/usr/bin/env bash
# Instructions per request (callgrind) through the whole server stack: hyper, axum, the
# endpoint, the core's handler, and the in-process client's share (the same in every run).
#
# Run with: bash bench/callgrind/run.sh [out-dir]
#
# Each workload runs under callgrind twice, with LOW and HIGH requests on one keep-alive
# connection; (Ir(HIGH) - Ir(LOW)) / (HIGH - LOW) is the cost of one request, start-up and
# shutdown cancelled out. Each pair is measured ROUNDS times and the median printed.
# Settings (environment): LOW (200), HIGH (1200), ROUNDS (3), CARGO_TARGET_DIR.
set -euo pipefail
cd "$(dirname "$0")"
out=${1:-out}
mkdir -p "$out"
low=${LOW:-200}
high=${HIGH:-1200}
rounds=${ROUNDS:-3}
cargo build --release --quiet
bin=${CARGO_TARGET_DIR:-target}/release/tabrpc-callgrind

instructions() { # workload count round -> "total-Ir endpoint-Ir"
    local file="$out/callgrind.$1.$2.$3"
    valgrind --tool=callgrind --callgrind-out-file="$file" "$bin" "$1" "$2" 2>/dev/null
    local total endpoint
    total=$(awk '/^totals:/ { print $2 }' "$file")
    # Inclusive cost of the endpoint's request future (body read, core handler, reply).
    endpoint=$(callgrind_annotate --inclusive=yes "$file" 2>/dev/null |
        grep -F 'endpoint.rs:<tabrpc_axum::endpoint::Endpoint<TCtx> as tower_service::Service' |
        grep -F '::call::{{closure}} [' | head -1 | awk '{ gsub(",", "", $1); print $1 }')
    echo "$total ${endpoint:-0}"
}

for workload in single batch10; do
    per=()
    ends=()
    for round in $(seq "$rounds"); do
        read -r a ea < <(instructions "$workload" "$low" "$round")
        read -r b eb < <(instructions "$workload" "$high" "$round")
        per+=($(( (b - a) / (high - low) )))
        ends+=($(( (eb - ea) / (high - low) )))
    done
    median() { printf '%s\n' "$@" | sort -n | sed -n "$(( ($# + 1) / 2 ))p"; }
    echo "$workload: $(median "${per[@]}") instructions per request (rounds: ${per[*]});" \
        "of which the endpoint's future: $(median "${ends[@]}") (rounds: ${ends[*]})"
done
