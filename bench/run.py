#!/usr/bin/env python3
"""Runs the benchmark (see README.md): the servers one after another, interleaved over several
rounds, each pinned to core 0 and loaded by wrk pinned to core 1; prints one table.

Called by run.sh once everything is built. Settings (environment):
  BENCH_ROUNDS (3), BENCH_DURATION seconds per measurement (10), BENCH_WARMUP seconds (2),
  BENCH_CONNECTIONS (32), BENCH_TOKENS (64 distinct users, one token each),
  BENCH_SERVERS (comma-separated, default tabrpc,tabrpc-nocache,trpc-node,raw-axum,rspc; also
  tabrpc-demo-layers), BENCH_PRIORITY (1: run everything in its own scheduling group at
  nice -20 when allowed, so that other work on the machine takes less of the two cores; 0: off).
"""

import json
import os
import platform
import resource
import signal
import socket
import statistics
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from datetime import datetime, timezone

BENCH = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(BENCH, "out")
TARGET = os.environ.get("CARGO_TARGET_DIR", os.path.join(BENCH, "target"))
ISSUER = "https://bench.tabrpc.invalid"
BATCHES = (1, 10)

ROUNDS = int(os.environ.get("BENCH_ROUNDS", "3"))
DURATION = int(os.environ.get("BENCH_DURATION", "10"))
WARMUP = int(os.environ.get("BENCH_WARMUP", "2"))
CONNECTIONS = int(os.environ.get("BENCH_CONNECTIONS", "32"))
TOKENS = int(os.environ.get("BENCH_TOKENS", "64"))
CLK_TCK = os.sysconf("SC_CLK_TCK")

SERVERS = {
    # name: (command, extra environment)
    "tabrpc": ([f"{TARGET}/release/tabrpc-bench-server"], {}),
    "tabrpc-nocache": (
        [f"{TARGET}/release/tabrpc-bench-server"],
        {"BENCH_CACHE_CAPACITY": "0"},
    ),
    # Mounted as the demo mounts it: nested under /trpc, with tower-http's TraceLayer.
    "tabrpc-demo-layers": (
        [f"{TARGET}/release/tabrpc-bench-server"],
        {"BENCH_TABRPC_NEST": "1", "BENCH_TABRPC_TRACE": "1"},
    ),
    "trpc-node": (
        ["node", os.path.join(BENCH, "trpc-node", "server.mjs")],
        {"NODE_ENV": "production"},
    ),
    "raw-axum": ([f"{TARGET}/release/raw-axum"], {}),
    # rspc 0.4.1 behind rspc-axum: its own request shape, one call per request (no batching).
    "rspc": ([f"{TARGET}/release/rspc-bench-server"], {}),
}
DEFAULT_SERVERS = "tabrpc,tabrpc-nocache,trpc-node,raw-axum,rspc"
# The request shape each server speaks (load.lua's BENCH_PROTOCOL); tRPC's when not listed.
PROTOCOLS = {"rspc": "rspc"}


def protocol(name):
    return PROTOCOLS.get(name, "trpc")


def batches(name):
    """The batch sizes a server is measured at: rspc's HTTP transport has no batching."""
    return (1,) if protocol(name) == "rspc" else BATCHES


def raise_priority():
    """Puts this process and everything it starts in a scheduling group of its own at nice
    -20 (Linux autogroups: a new session gets a new group), so that compilers and the like on
    the same cores take less from the measurements. Returns what was done, for the report."""
    if os.environ.get("BENCH_PRIORITY", "1") == "0":
        return "normal priority (BENCH_PRIORITY=0)"
    group = False
    try:
        os.setsid()
        with open("/proc/self/autogroup", "w") as f:
            f.write("-20")
        group = True
    except OSError:
        pass
    try:
        # Counts where autogroups are off (then the group above does nothing).
        os.nice(-20 - os.nice(0))
        niced = True
    except OSError:
        niced = False
    if group:
        return "own scheduling group at nice -20"
    if niced:
        return "nice -20"
    return "normal priority (not allowed to raise it)"


def load_average():
    with open("/proc/loadavg") as f:
        return float(f.read().split()[0])


def log(message):
    print(message, file=sys.stderr, flush=True)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_port(port, proc, timeout=30):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"nothing listening on {port} after {timeout}s")


def encode_uri_component(text):
    return urllib.parse.quote(text, safe="-_.!~*'()")


def batch_path(sub, batch):
    inputs = "{" + ",".join(f'"{i}":{{"viewerId":"{sub}"}}' for i in range(batch)) + "}"
    paths = ",".join(["profile.getUser"] * batch)
    return f"/trpc/{paths}?batch=1&input={encode_uri_component(inputs)}"


def rspc_path(sub):
    return f"/rspc/profile.getUser?input={encode_uri_component(json.dumps({'viewerId': sub}))}"


def check_rspc_answers(port, tokens):
    """rspc's shape: one JSON-RPC-style envelope per request, errors in the body of a 200."""
    sub, token = tokens[0]
    other = tokens[1][0]
    data = {"id": sub, "displayName": sub, "signedIn": True}
    for viewer, expect in ((sub, "response"), (other, "error")):
        request = urllib.request.Request(
            f"http://127.0.0.1:{port}{rspc_path(viewer)}",
            headers={"Authorization": f"Bearer {token}"},
        )
        with urllib.request.urlopen(request, timeout=5) as response:
            body = json.loads(response.read())
        result = body.get("result", {})
        if result.get("type") != expect or (expect == "response" and result.get("data") != data):
            raise RuntimeError(f"unexpected answer for viewerId {viewer}: {body}")
        if expect == "error" and "forbidden" not in json.dumps(result).lower():
            raise RuntimeError(f"viewer mismatch not answered FORBIDDEN: {body}")


def check_answers(port, tokens, protocol="trpc"):
    """Each server must answer the same thing before it is timed: the caller's profile for a
    matching viewerId, 403 (FORBIDDEN) for another one."""
    if protocol == "rspc":
        return check_rspc_answers(port, tokens)
    sub, token = tokens[0]
    user = {"result": {"data": {"id": sub, "displayName": sub, "signedIn": True}}}
    for batch in BATCHES:
        request = urllib.request.Request(
            f"http://127.0.0.1:{port}{batch_path(sub, batch)}",
            headers={"Authorization": f"Bearer {token}"},
        )
        with urllib.request.urlopen(request, timeout=5) as response:
            body = json.loads(response.read())
            if response.status != 200 or body != [user] * batch:
                raise RuntimeError(f"unexpected answer {response.status} {body}")
    other = tokens[1][0]
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}{batch_path(other, 1)}",
        headers={"Authorization": f"Bearer {token}"},
    )
    try:
        urllib.request.urlopen(request, timeout=5)
        raise RuntimeError("a viewerId of another user was answered")
    except urllib.error.HTTPError as err:
        if err.code != 403:
            raise RuntimeError(f"viewer mismatch answered {err.code}, not 403") from err


def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    # utime and stime are fields 14 and 15 of stat(5); fields[0] here is field 3.
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def peak_rss_mib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def wrk(port, batch, seconds, tokens_file, protocol="trpc"):
    env = dict(os.environ, BENCH_BATCH=str(batch), BENCH_TOKENS=tokens_file,
               BENCH_PROTOCOL=protocol)
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    result = subprocess.run(
        ["taskset", "-c", "1", "wrk", "-t1", f"-c{CONNECTIONS}", f"-d{seconds}s", "--latency",
         "-s", os.path.join(BENCH, "load.lua"), f"http://127.0.0.1:{port}"],
        env=env, capture_output=True, text=True, check=True,
    )
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    line = next(l for l in result.stdout.splitlines() if l.startswith("BENCH_RESULT "))
    out = json.loads(line.split(" ", 1)[1])
    out["wrk_cpu_s"] = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return out


def run_server(name, tokens, tokens_file, jwks_file):
    command, extra = SERVERS[name]
    port = free_port()
    env = dict(os.environ, BENCH_PORT=str(port), BENCH_JWKS=jwks_file, BENCH_ISSUER=ISSUER,
               **extra)
    env.setdefault("RUST_LOG", "warn")
    with open(os.path.join(OUT, f"{name}.log"), "a") as server_log:
        proc = subprocess.Popen(["taskset", "-c", "0", *command], env=env,
                                stdout=server_log, stderr=subprocess.STDOUT)
    try:
        wait_for_port(port, proc)
        check_answers(port, tokens, protocol(name))
        wrk(port, 1, WARMUP, tokens_file, protocol(name))
        results = {}
        for batch in batches(name):
            cpu_before = cpu_seconds(proc.pid)
            result = wrk(port, batch, DURATION, tokens_file, protocol(name))
            result["server_cpu_s"] = cpu_seconds(proc.pid) - cpu_before
            if result["non2xx"] or result["socket_errors"]:
                raise RuntimeError(f"{name} batch {batch}: errors {result}")
            results[batch] = result
        peak = peak_rss_mib(proc.pid)
        return results, peak
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def median(values):
    return statistics.median(values) if values else float("nan")


def main():
    names = os.environ.get("BENCH_SERVERS", DEFAULT_SERVERS).split(",")
    unknown = [name for name in names if name not in SERVERS]
    if unknown:
        sys.exit(f"unknown servers {unknown}; known: {', '.join(SERVERS)}")
    if (os.cpu_count() or 1) < 2:
        sys.exit("needs 2 cores: the server on core 0, wrk on core 1")
    priority = raise_priority()
    load_before = load_average()
    os.makedirs(OUT, exist_ok=True)
    log(f"minting {TOKENS} tokens")
    subprocess.run([f"{TARGET}/release/mint", OUT, ISSUER, str(TOKENS), "14400"], check=True)
    jwks_file = os.path.join(OUT, "jwks.json")
    tokens_file = os.path.join(OUT, "tokens.tsv")
    with open(tokens_file) as f:
        tokens = [tuple(line.rstrip("\n").split("\t")) for line in f if line.strip()]

    log("measuring one verification in-process (core 0)")
    cost = json.loads(subprocess.run(
        ["taskset", "-c", "0", f"{TARGET}/release/verify_cost", jwks_file, ISSUER, tokens_file],
        capture_output=True, text=True, check=True).stdout)

    runs = {name: {batch: [] for batch in batches(name)} for name in names}
    peaks = {name: [] for name in names}
    for round_index in range(ROUNDS):
        # Rotate the order so that no server always runs first (or right after another).
        order = names[round_index % len(names):] + names[:round_index % len(names)]
        for name in order:
            log(f"round {round_index + 1}/{ROUNDS}: {name}")
            results, peak = run_server(name, tokens, tokens_file, jwks_file)
            peaks[name].append(peak)
            for batch, result in results.items():
                runs[name][batch].append(result)

    summary = {}
    for name in names:
        for batch in batches(name):
            rs = runs[name][batch]
            rps = median([r["requests"] / (r["duration_us"] / 1e6) for r in rs])
            summary[(name, batch)] = {
                "rps": rps,
                "calls": rps * batch,
                "p50_ms": median([r["p50_us"] for r in rs]) / 1000,
                "p99_ms": median([r["p99_us"] for r in rs]) / 1000,
                "cpu_us": median([r["server_cpu_s"] / r["requests"] * 1e6 for r in rs]),
                "server_cpu": median([r["server_cpu_s"] / (r["duration_us"] / 1e6) for r in rs]),
                "wrk_cpu": median([r["wrk_cpu_s"] / (r["duration_us"] / 1e6) for r in rs]),
                "peak_mib": max(peaks[name]),
            }
    machine = {"priority": priority, "load": (load_before, load_average())}
    report = render(names, summary, cost, machine)
    print(report)
    with open(os.path.join(OUT, "latest.md"), "w") as f:
        f.write(report)
    with open(os.path.join(OUT, "latest.json"), "w") as f:
        json.dump({"runs": {n: {str(b): v for b, v in r.items()} for n, r in runs.items()},
                   "peaks": peaks, "verify_cost": cost}, f, indent=1)


def ratio(summary, a, b, batch, key="rps"):
    if (a, batch) in summary and (b, batch) in summary:
        return summary[(a, batch)][key] / summary[(b, batch)][key]
    return None


def fmt_ratio(value):
    return "–" if value is None else f"{value:.2f}×"


def cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def tool_version(command):
    try:
        out = subprocess.run(command, capture_output=True, text=True)
        return (out.stdout or out.stderr).strip().splitlines()[0]
    except (OSError, IndexError):
        return "?"


def render(names, summary, cost, machine):
    now = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    lines = [
        f"Measured {now} on {os.cpu_count()} cores ({cpu_model()}); "
        f"{tool_version(['rustc', '--version'])}, node {tool_version(['node', '--version'])}, "
        f"{tool_version(['wrk', '-v'])}.",
        f"Server on core 0, wrk (1 thread, {CONNECTIONS} connections, {DURATION} s per cell after "
        f"{WARMUP} s of warm-up) on core 1; {ROUNDS} rounds interleaved, medians shown (peak "
        f"memory: the highest of the rounds); {TOKENS} users, one RS256 token each, cycled. "
        f"Scheduling: {machine['priority']}; load average {machine['load'][0]:.1f} before, "
        f"{machine['load'][1]:.1f} after.",
        "",
        "| server | batch | requests/s | calls/s | p50 ms | p99 ms | server CPU µs/request "
        "| peak RSS MiB | vs tRPC | vs raw axum |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for batch in BATCHES:
        for name in names:
            if (name, batch) not in summary:
                continue
            s = summary[(name, batch)]
            vs_trpc = ratio(summary, name, "trpc-node", batch) if name != "trpc-node" else None
            vs_raw = ratio(summary, name, "raw-axum", batch) if name != "raw-axum" else None
            lines.append(
                f"| {name} | {batch} | {s['rps']:,.0f} | {s['calls']:,.0f} | {s['p50_ms']:.2f} "
                f"| {s['p99_ms']:.2f} | {s['cpu_us']:.1f} | {s['peak_mib']:.1f} "
                f"| {fmt_ratio(vs_trpc)} | {fmt_ratio(vs_raw)} |"
            )
    lines += ["", "Costs:", ""]
    lines.append(
        f"- one JWT verification in-process ({cost['token_bytes']}-byte RS256 token): tabrpc "
        f"{cost['verify_ns'] / 1000:.1f} µs, jsonwebtoken::decode (the raw handler's) "
        f"{cost['jsonwebtoken_decode_ns'] / 1000:.1f} µs, a verified-token cache hit "
        f"{cost['verify_cached_ns'] / 1000:.2f} µs; whole caller resolution "
        f"{cost['resolve_ns'] / 1000:.1f} µs uncached, {cost['resolve_cached_ns'] / 1000:.2f} µs "
        f"cached."
    )
    if ("tabrpc", 1) in summary and ("tabrpc-nocache", 1) in summary:
        saved = summary[("tabrpc-nocache", 1)]["cpu_us"] - summary[("tabrpc", 1)]["cpu_us"]
        lines.append(
            f"- under load, the cache saves {saved:.1f} µs of server CPU per request at batch 1 "
            f"(tabrpc-nocache minus tabrpc)."
        )
    extra = []
    for name in names:
        if (name, 10) not in summary:
            continue
        one, ten = summary[(name, 1)]["cpu_us"], summary[(name, 10)]["cpu_us"]
        extra.append(f"{name} {(ten - one) / 9:.1f} µs")
    lines.append(
        "- each extra call in a batch (server CPU per request, batch 10 minus batch 1, / 9): "
        + ", ".join(extra) + "."
    )
    busy = [
        f"{n} " + " and ".join(
            f"{summary[(n, b)]['server_cpu'] * 100:.0f}%/{summary[(n, b)]['wrk_cpu'] * 100:.0f}%"
            for b in batches(n)
        )
        for n in names
    ]
    lines.append(
        "- CPU busy, server/wrk, batch 1 then 10 (rspc: batch 1 only; a server well below 100% did not get its "
        "whole core, from other work on the machine, or waited on wrk): " + ", ".join(busy) + "."
    )

    goals = []
    for batch in BATCHES:
        raw = ratio(summary, "tabrpc", "raw-axum", batch)
        raw_nc = ratio(summary, "tabrpc-nocache", "raw-axum", batch)
        trpc = ratio(summary, "tabrpc", "trpc-node", batch)
        p99 = ratio(summary, "tabrpc", "raw-axum", batch, "p99_ms")
        if raw is not None:
            goals.append(f"batch {batch}: tabrpc/raw axum {fmt_ratio(raw)} (≥ 0.8×, stretch ≥ 2×"
                         f"; without the cache {fmt_ratio(raw_nc)})")
        if trpc is not None:
            goals.append(f"batch {batch}: tabrpc/tRPC {fmt_ratio(trpc)} (≥ 8×)")
        if p99 is not None:
            goals.append(f"batch {batch}: p99 tabrpc/raw axum {fmt_ratio(p99)} (≤ 2×)")
    rspc = ratio(summary, "tabrpc", "rspc", 1)
    if rspc is not None:
        goals.append(f"batch 1: tabrpc/rspc {fmt_ratio(rspc)} (tabrpc-nocache/rspc "
                     f"{fmt_ratio(ratio(summary, 'tabrpc-nocache', 'rspc', 1))})")
    if ("tabrpc", 1) in summary:
        goals.append(f"peak memory tabrpc {summary[('tabrpc', 1)]['peak_mib']:.1f} MiB (≤ 20 MiB)")
    lines += ["", "Goals: " + "; ".join(goals) + ".", ""]
    return "\n".join(lines)


if __name__ == "__main__":
    main()
