#!/usr/bin/env python3
"""Soak of the tabrpc demo (standard library only; traffic to 127.0.0.1 only; stops by itself).

Starts the demo binary with its development identity provider, signs in many sessions of the
demo accounts and keeps their 60 s tokens fresh, then for --minutes holds the demo at saturation
with valid traffic (wrk, in 10 s segments, bench/soak/valid.lua) while this program mixes in
malformed requests and idle and slow connections. Every 10 s it prints the requests done, the
replies by status class, p99 latency, the server's RSS and its open connections; at the end a
summary, and whether RSS stayed flat (the last minute's highest within --rss-tolerance of the
RSS after warm-up). Exit status 1 when a 5xx was seen or RSS grew.

Usually run through run.sh, which builds the demo in release first.
"""

import argparse
import http.client
import json
import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time

ACCOUNTS = ["alice", "bob", "carol"]
HOST = "127.0.0.1"


def log(msg):
    print(msg, flush=True)


# ---------------------------------------------------------------------------------------------
# The demo process
# ---------------------------------------------------------------------------------------------


def start_demo(binary, workdir):
    env = dict(os.environ)
    env.update(
        TABRPC_DEV_IDP="1",
        TABRPC_ADDR=f"{HOST}:0",
        TABRPC_DATABASE_URL=f"sqlite://{workdir}/soak.db?mode=rwc",
        RUST_LOG=os.environ.get("RUST_LOG", "warn"),
    )
    stderr = open(os.path.join(workdir, "demo.stderr"), "wb")
    proc = subprocess.Popen(
        [binary], env=env, stdout=subprocess.PIPE, stderr=stderr, stdin=subprocess.DEVNULL
    )
    line = proc.stdout.readline().decode(errors="replace")
    words = [w for w in line.split() if w.startswith("http://")]
    if not words:
        proc.kill()
        raise SystemExit(f"the demo printed no address: {line!r} (see {workdir}/demo.stderr)")
    # Keep draining stdout so the demo never blocks on a full pipe.
    threading.Thread(target=lambda: proc.stdout.read(), daemon=True).start()
    host, port = words[0][len("http://"):].rstrip("/").split(":")
    if host != HOST:
        proc.kill()
        raise SystemExit(f"the demo listens on {host}, not {HOST}")
    return proc, int(port)


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def open_connections(port):
    """ESTABLISHED TCP connections whose local port is the server's."""
    count = 0
    for path in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            with open(path) as f:
                next(f)
                for line in f:
                    parts = line.split()
                    local, state = parts[1], parts[3]
                    if state == "01" and int(local.rsplit(":", 1)[1], 16) == port:
                        count += 1
        except FileNotFoundError:
            pass
    return count


# ---------------------------------------------------------------------------------------------
# Tokens from the development identity provider
# ---------------------------------------------------------------------------------------------


def idp_post(port, route, body, cookie=None):
    conn = http.client.HTTPConnection(HOST, port, timeout=10)
    headers = {"content-type": "application/json"}
    if cookie:
        headers["cookie"] = cookie
    conn.request("POST", route, json.dumps(body), headers)
    resp = conn.getresponse()
    data = resp.read()
    set_cookies = resp.headers.get_all("set-cookie") or []
    conn.close()
    if resp.status != 200:
        raise RuntimeError(f"{route}: {resp.status} {data[:200]!r}")
    return json.loads(data), set_cookies


class Tokens:
    """Many signed-in sessions (one browser each), their tokens refreshed every 20 s."""

    def __init__(self, port, sessions_per_account, path):
        self.port, self.path, self.sessions = port, path, []
        for i in range(sessions_per_account):
            for account in ACCOUNTS:
                answer, cookies = idp_post(port, "/dev-idp/sign-in", {"account": account})
                client = next(c.split(";")[0] for c in cookies if c.startswith("__client="))
                self.sessions.append(
                    {"user": answer["userId"], "sid": answer["sessionId"], "client": client,
                     "token": answer["token"]}
                )
        self.refreshes = 0
        self.failures = 0
        self.write()

    def write(self):
        tmp = self.path + ".tmp"
        with open(tmp, "w") as f:
            for s in self.sessions:
                f.write(f"{s['user']} {s['token']}\n")
        os.replace(tmp, self.path)

    def refresh_loop(self, stop):
        while not stop.wait(20):
            for s in self.sessions:
                try:
                    answer, _ = idp_post(self.port, "/dev-idp/token", {"sessionId": s["sid"]},
                                         cookie=s["client"])
                    s["token"] = answer["token"]
                    self.refreshes += 1
                except Exception:  # noqa: BLE001 - counted and reported
                    self.failures += 1
            self.write()


# ---------------------------------------------------------------------------------------------
# Malformed traffic, idle and slow connections
# ---------------------------------------------------------------------------------------------


def malformed_requests(tokens):
    token = tokens.sessions[0]["token"]
    head, payload, sig = token.split(".")
    raw = lambda target, headers=(), body=b"", method="GET": (  # noqa: E731
        f"{method} {target} HTTP/1.1\r\nhost: {HOST}\r\nconnection: close\r\n".encode()
        + b"".join(f"{n}: {v}\r\n".encode() for n, v in headers)
        + (f"content-length: {len(body)}\r\n".encode() if body else b"")
        + b"\r\n" + body
    )
    json_ct = [("content-type", "application/json")]
    return {
        "garbage": b"GARBAGE\r\n\r\n",
        "binary": bytes(range(256)) + b"\r\n\r\n",
        "bad-escape": raw("/trpc/profile.%zzgetUser"),
        "bad-json-input": raw("/trpc/onboarding.getProgress?input=%7B"),
        "batch-not-object": raw("/trpc/profile.getUser,profile.getUser?batch=1&input=%5B%5D"),
        "batch-too-large": raw("/trpc/" + ",".join(["profile.getUser"] * 150) + "?batch=1"),
        "deep-json": raw("/trpc/profile.getUser?input=" + "%5B" * 3000 + "%5D" * 3000),
        "unknown": raw("/trpc/__proto__,toString?batch=1"),
        "huge-header": raw("/trpc/profile.getUser", [("x-big", "a" * 70_000)]),
        "huge-body": raw("/trpc/onboarding.saveStep", json_ct, b'"' + b" " * 1_100_000 + b'"',
                         "POST"),
        "invalid-utf8-body": raw("/trpc/onboarding.saveStep", json_ct, b'{"step":"\xff"}', "POST"),
        "no-content-type": raw("/trpc/onboarding.saveStep", [], b'{"step":"welcome"}', "POST"),
        "bad-signature": raw("/trpc/onboarding.getProgress",
                             [("authorization", f"Bearer {head}.{payload}.{sig[::-1]}")]),
        "alg-none": raw("/trpc/onboarding.getProgress",
                        [("authorization", "Bearer eyJhbGciOiJub25lIn0." + payload + ".")]),
        "bearer-null": raw("/trpc/onboarding.getProgress", [("authorization", "Bearer null")]),
        "two-authorization": raw("/trpc/profile.getUser",
                                 [("authorization", f"Bearer {token}"), ("authorization", "Bearer x")]),
        "marker-with-cookie": raw("/trpc/onboarding.getProgress",
                                  [("x-tabrpc-auth-required", "1"), ("cookie", f"__session={token}")]),
        "many-session-cookies": raw("/trpc/profile.getUser",
                                    [("cookie", "; ".join(["__session=a.b.c"] * 2000))]),
        "account-mismatch": raw("/trpc/onboarding.getProgress",
                                [("cookie", f"__session={token}"), ("x-tabrpc-account", "user_nobody")]),
        "viewer-mismatch": raw("/trpc/onboarding.getProgress?input=%7B%22viewerId%22%3A%22user_x%22%7D",
                               [("authorization", f"Bearer {token}")]),
        "oversized-token": raw("/trpc/profile.getUser", [("authorization", "Bearer " + "a" * 20_000)]),
        "idp-bad-json": raw("/dev-idp/sign-in", json_ct, b"{", "POST"),
    }


def exchange(port, data, timeout=10):
    """Sends one request on a fresh connection; the reply's status (0: closed without one)."""
    with socket.create_connection((HOST, port), timeout=timeout) as s:
        try:
            s.sendall(data)
        except OSError:
            pass  # refused mid-body (413): the answer may still be readable
        chunks = []
        while True:
            try:
                chunk = s.recv(65536)
            except OSError:
                break
            if not chunk:
                break
            chunks.append(chunk)
            if sum(map(len, chunks)) > 1 << 20:
                break
    reply = b"".join(chunks)
    if not reply.startswith(b"HTTP/1."):
        return 0
    return int(reply.split(b" ", 2)[1])


class Chaos:
    def __init__(self, port, requests, idle, slow, rate):
        self.port, self.requests, self.idle, self.slow, self.rate = port, requests, idle, slow, rate
        self.by_class = {"none": 0, "2xx": 0, "3xx": 0, "4xx": 0, "5xx": 0, "errors": 0}
        self.five_xx = {}
        self.idle_open = 0
        self.idle_closed_by_server = 0
        self.lock = threading.Lock()

    def malformed_loop(self, stop):
        names = sorted(self.requests)
        i = 0
        while not stop.is_set():
            name = names[i % len(names)]
            i += 1
            try:
                status = exchange(self.port, self.requests[name])
                key = "none" if status == 0 else f"{status // 100}xx"
            except OSError:
                key = "errors"
            with self.lock:
                self.by_class[key] = self.by_class.get(key, 0) + 1
                if key == "5xx":
                    self.five_xx[name] = self.five_xx.get(name, 0) + 1
            stop.wait(1 / self.rate)

    def idle_loop(self, stop, slow):
        """Holds connections that say nothing (or, slow, one header byte every 2 s); reopens
        those the server closes."""
        count = self.slow if slow else self.idle
        socks = []
        partial = b"GET /trpc/profile.getUser HTTP/1.1\r\nhost: 127.0.0.1\r\nx-slow: "
        while not stop.is_set():
            while len(socks) < count and not stop.is_set():
                try:
                    s = socket.create_connection((HOST, self.port), timeout=5)
                    s.setblocking(False)
                    if slow:
                        s.send(partial)
                    socks.append(s)
                except OSError:
                    break
            kept = []
            for s in socks:
                try:
                    if slow:
                        s.send(b"a")
                    data = s.recv(4096)
                    # Readable: the server answered (a timeout) or closed the connection.
                    s.close()
                    with self.lock:
                        self.idle_closed_by_server += 1
                    del data
                except BlockingIOError:
                    kept.append(s)
                except OSError:
                    s.close()
                    with self.lock:
                        self.idle_closed_by_server += 1
            socks = kept
            with self.lock:
                self.idle_open = len(socks) if not slow else self.idle_open
            stop.wait(2)
        for s in socks:
            s.close()


# ---------------------------------------------------------------------------------------------
# The run
# ---------------------------------------------------------------------------------------------


def run_wrk(port, args, tokens_path, seconds, pid):
    """One wrk segment; its summary, with the server's RSS and open connections sampled in the
    middle of it (under load)."""
    env = dict(os.environ, SOAK_TOKENS=tokens_path)
    script = os.path.join(os.path.dirname(os.path.abspath(__file__)), "valid.lua")
    proc = subprocess.Popen(
        ["wrk", f"-t{args.threads}", f"-c{args.connections}", f"-d{seconds}s", "--timeout", "5s",
         "-s", script, f"http://{HOST}:{port}"],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    time.sleep(seconds / 2)
    rss, conns = rss_kib(pid) / 1024, open_connections(port)
    try:
        stdout, stderr = proc.communicate(timeout=seconds + 30)
    except subprocess.TimeoutExpired:
        proc.kill()
        raise
    for line in stdout.splitlines():
        if line.startswith("SOAK "):
            return json.loads(line[5:]), rss, conns
    raise RuntimeError(f"wrk printed no summary: {stdout[-500:]} {stderr[-500:]}")


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--binary", required=True, help="the tabrpc-demo binary (release)")
    p.add_argument("--minutes", type=float, default=3)
    p.add_argument("--warmup-secs", type=int, default=60,
                   help="RSS is taken as the baseline after this (the allocator grows for ~1-2 min)")
    p.add_argument("--threads", type=int, default=2, help="wrk threads")
    p.add_argument("--connections", type=int, default=64, help="wrk connections")
    p.add_argument("--sessions-per-account", type=int, default=20)
    p.add_argument("--idle", type=int, default=200, help="idle connections held open")
    p.add_argument("--slow", type=int, default=20, help="slow-header connections held open")
    p.add_argument("--malformed-rate", type=float, default=40, help="malformed requests per second")
    p.add_argument("--rss-tolerance", type=float, default=0.10)
    args = p.parse_args()
    if args.minutes <= 0 or args.minutes > 120:
        raise SystemExit("--minutes must be in (0, 120]")

    workdir = tempfile.mkdtemp(prefix="tabrpc-soak-")
    proc, port = start_demo(args.binary, workdir)
    stop = threading.Event()
    threads = []
    try:
        tokens = Tokens(port, args.sessions_per_account, os.path.join(workdir, "tokens.txt"))
        log(f"demo pid {proc.pid} on {HOST}:{port}; {len(tokens.sessions)} sessions of "
            f"{len(ACCOUNTS)} accounts; {args.minutes} min, wrk -t{args.threads} -c{args.connections}, "
            f"{args.idle} idle + {args.slow} slow connections, {args.malformed_rate}/s malformed")
        chaos = Chaos(port, malformed_requests(tokens), args.idle, args.slow, args.malformed_rate)
        for target, extra in [(tokens.refresh_loop, ()), (chaos.malformed_loop, ()),
                              (chaos.idle_loop, (False,)), (chaos.idle_loop, (True,))]:
            t = threading.Thread(target=target, args=(stop, *extra), daemon=True)
            t.start()
            threads.append(t)

        start = time.monotonic()
        end = start + args.minutes * 60
        samples = []
        totals = {"requests": 0, "c2xx": 0, "c3xx": 0, "c4xx": 0, "c5xx": 0, "other": 0,
                  "socket_errors": 0, "timeouts": 0}
        log(f"{'t(s)':>5} {'requests':>9} {'req/s':>7} {'2xx':>8} {'4xx':>6} {'5xx':>4} "
            f"{'sockErr':>7} {'p99(ms)':>8} {'RSS(MiB)':>9} {'conns':>6} {'malformed 4xx/5xx/none':>23} {'idle':>5}")
        while time.monotonic() < end - 1:
            seconds = max(1, min(10, int(end - time.monotonic())))
            seg, rss, conns = run_wrk(port, args, tokens.path, seconds, proc.pid)
            if proc.poll() is not None:
                raise SystemExit(f"the demo exited with {proc.returncode} (see {workdir}/demo.stderr)")
            for k in totals:
                totals[k] += seg[k]
            t = time.monotonic() - start
            samples.append({"t": t, "p99_ms": seg["p99_us"] / 1000, "rss": rss, "conns": conns,
                            "rps": seg["requests"] / (seg["duration_us"] / 1e6)})
            with chaos.lock:
                mal = f"{chaos.by_class['4xx']}/{chaos.by_class['5xx']}/{chaos.by_class['none']}"
                idle = chaos.idle_open
            log(f"{t:5.0f} {totals['requests']:9d} {samples[-1]['rps']:7.0f} {totals['c2xx']:8d} "
                f"{totals['c4xx']:6d} {totals['c5xx']:4d} {totals['socket_errors'] + totals['timeouts']:7d} "
                f"{samples[-1]['p99_ms']:8.1f} {rss:9.1f} {conns:6d} {mal:>23} {idle:5d}")
    finally:
        stop.set()
        for t in threads:
            t.join(timeout=15)
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()

    warm = [s for s in samples if s["t"] >= args.warmup_secs]
    baseline = warm[0]["rss"] if warm else samples[0]["rss"]
    last_minute = [s for s in samples if s["t"] >= samples[-1]["t"] - 60] or samples[-1:]
    peak = max(s["rss"] for s in last_minute)
    flat = peak <= baseline * (1 + args.rss_tolerance)
    p99s = [s["p99_ms"] for s in samples]
    log("")
    log("summary")
    log(f"  valid traffic: {totals['requests']} requests, 2xx {totals['c2xx']}, 3xx {totals['c3xx']}, "
        f"4xx {totals['c4xx']}, 5xx {totals['c5xx']}, other {totals['other']}, "
        f"socket errors {totals['socket_errors']}, timeouts {totals['timeouts']}")
    log(f"  p99 latency per 10 s (ms): min {min(p99s):.1f}, median {statistics.median(p99s):.1f}, "
        f"max {max(p99s):.1f}; throughput median {statistics.median(s['rps'] for s in samples):.0f} req/s")
    log(f"  malformed traffic: {chaos.by_class}; 5xx by request: {chaos.five_xx or 'none'}")
    log(f"  idle/slow connections closed by the server: {chaos.idle_closed_by_server}; "
        f"token refreshes {tokens.refreshes} (failed {tokens.failures})")
    drift = peak - min(s["rss"] for s in last_minute)
    log(f"  RSS over time (MiB): " + ", ".join(f"{s['t']:.0f}s {s['rss']:.1f}" for s in samples[::3]))
    log(f"  RSS drift within the last minute: {drift:.1f} MiB (a leak keeps climbing here; "
        f"growth that stopped before it is allocator warm-up)")
    log(f"  RSS: after warm-up {baseline:.1f} MiB, last minute peak {peak:.1f} MiB, end "
        f"{samples[-1]['rss']:.1f} MiB -> {'flat' if flat else 'GREW'} "
        f"(tolerance {args.rss_tolerance:.0%}); demo exit status {proc.returncode}")
    ok = flat and totals["c5xx"] == 0 and not chaos.five_xx
    log(f"  verdict: {'OK' if ok else 'FAILED'} (logs in {workdir})")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
