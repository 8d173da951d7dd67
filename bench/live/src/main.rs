//! Live invalidation figures (not a test: it prints, it asserts nothing about speed).
//!
//! Run with: `bash bench/live/run.sh` (or `cargo run --release` here; with
//! `TABRPC_TEST_POSTGRES_URL` set, the Postgres rows too).
//!
//! 1. Delivery latency, commit → event at a client: a client holds a `live.events` stream
//!    (raw HTTP/1.1 over TCP, as a browser's `EventSource` would); the clock starts right
//!    before the publish call a mutation makes after its commit (`live.account(..).invalidate`,
//!    which on Postgres includes the event's own insert and `NOTIFY` transaction) and stops
//!    when the client has read the event's bytes. One instance in-process; one instance on
//!    Postgres; two instances on one Postgres (published on the first, read on the second).
//! 2. Open streams: the demo server in a child process; `BENCH_LIVE_STREAMS` (10,000) clients
//!    each open a stream and wait for its `ready`; the server's resident memory (`VmRSS`) is
//!    read before and after, and one public event is delivered to every stream at the end.
//!
//! Settings: BENCH_LIVE_SAMPLES (1000 per latency row), BENCH_LIVE_STREAMS (10000),
//! TABRPC_TEST_POSTGRES_URL (optional), BENCH_LIVE_WRAP (a program to run the server child
//! under, e.g. `heaptrack`). Features `mimalloc` and `tikv-jemallocator` swap the allocator.

use std::net::SocketAddr;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{Context as _, bail};
use tabrpc::auth::dev_idp::DevIdp;
use tabrpc_demo::{Auth, AuthSettings, Db, Issuer, SessionSettings};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

#[cfg(feature = "mimalloc")]
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;
#[cfg(feature = "tikv-jemallocator")]
#[global_allocator]
static GLOBAL: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

const ISSUER: &str = "http://bench.tabrpc.test";

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// A token for `user` valid for an hour (streams end with their token).
fn token(idp: &DevIdp, user: &str) -> anyhow::Result<String> {
    let exp = SystemTime::now().duration_since(UNIX_EPOCH)?.as_secs() + 3600;
    Ok(idp
        .token()
        .claim("sub", user)
        .claim("sid", format!("sess_{user}"))
        .claim("exp", exp)
        .sign()?)
}

async fn auth(idp: &DevIdp) -> anyhow::Result<Auth> {
    let settings = AuthSettings {
        issuer: Issuer::DevIdp {
            key_pem: Some(idp.private_key_pem().as_bytes().to_vec()),
        },
        ..AuthSettings::default()
    };
    Auth::from_settings(&settings, ISSUER).await
}

/// Serves the demo app on `127.0.0.1:0` with room for many connections.
async fn serve(db: Db, auth: Auth) -> anyhow::Result<SocketAddr> {
    let app = tabrpc_demo::app(db, auth, tabrpc::wire::Config::default(), None)?;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let config = tabrpc::axum::ServeConfig::default().max_connections(19_000);
    tokio::spawn(async move {
        let _ = tabrpc::axum::serve_with(listener, app, config, std::future::pending()).await;
    });
    Ok(addr)
}

/// A `live.events` stream read as raw bytes, once its `ready` has arrived.
struct Stream {
    tcp: TcpStream,
    buffer: Vec<u8>,
}

const READY: &[u8] = br#""type":"ready""#;
const INVALIDATE: &[u8] = br#""type":"invalidate""#;

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

impl Stream {
    async fn open(addr: SocketAddr, token: &str) -> anyhow::Result<Self> {
        let mut tcp = TcpStream::connect(addr).await?;
        let request = format!(
            "GET /trpc/live.events?input=%7B%7D HTTP/1.1\r\nhost: {addr}\r\n\
             authorization: Bearer {token}\r\naccept: text/event-stream\r\n\r\n"
        );
        tcp.write_all(request.as_bytes()).await?;
        let mut stream = Self {
            tcp,
            buffer: Vec::with_capacity(1024),
        };
        stream.wait_for(READY).await?;
        Ok(stream)
    }

    /// Reads until `needle` has arrived, and drops what came before it and it.
    async fn wait_for(&mut self, needle: &[u8]) -> anyhow::Result<()> {
        loop {
            if let Some(at) = find(&self.buffer, needle) {
                self.buffer.drain(..at + needle.len());
                return Ok(());
            }
            let mut chunk = [0u8; 4096];
            let n = self.tcp.read(&mut chunk).await?;
            if n == 0 {
                bail!(
                    "the stream ended: {}",
                    String::from_utf8_lossy(&self.buffer)
                );
            }
            self.buffer.extend_from_slice(&chunk[..n]);
        }
    }
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let rank = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[rank.min(sorted.len() - 1)]
}

/// Publishes on `from` and reads at a client of `to`, `samples` times.
async fn latency(
    name: &str,
    from: &Db,
    to: SocketAddr,
    idp: &DevIdp,
    samples: usize,
) -> anyhow::Result<()> {
    let mut stream = Stream::open(to, &token(idp, "user_bench")?).await?;
    let mut times = Vec::with_capacity(samples);
    for _ in 0..samples {
        let started = Instant::now();
        from.live()
            .account("user_bench")
            .invalidate(["profile.getUser"])
            .await?;
        tokio::time::timeout(Duration::from_secs(10), stream.wait_for(INVALIDATE))
            .await
            .context("an event did not arrive within 10 s")??;
        times.push(started.elapsed());
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    times.sort();
    println!(
        "| {name} | {samples} | {:.3} | {:.3} | {:.3} |",
        percentile(&times, 0.5).as_secs_f64() * 1e3,
        percentile(&times, 0.99).as_secs_f64() * 1e3,
        percentile(&times, 1.0).as_secs_f64() * 1e3,
    );
    Ok(())
}

async fn postgres_dbs(url: &str, sqlite: &str) -> anyhow::Result<(Db, Db)> {
    let settings = SessionSettings {
        database_url: Some(url.to_owned()),
        ..SessionSettings::default()
    };
    Ok((
        Db::open_with(sqlite, &settings).await?,
        Db::open_with(sqlite, &settings).await?,
    ))
}

fn rss_kib(pid: u32) -> anyhow::Result<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    let line = status
        .lines()
        .find(|l| l.starts_with("VmRSS:"))
        .context("no VmRSS")?;
    Ok(line
        .split_whitespace()
        .nth(1)
        .and_then(|v| v.parse().ok())
        .unwrap_or(0))
}

/// The child: the demo on a fresh SQLite file, key from `BENCH_LIVE_KEY`; prints its address,
/// then publishes one public event per line read on stdin.
async fn child() -> anyhow::Result<()> {
    let pem = std::env::var("BENCH_LIVE_KEY")?;
    let idp = DevIdp::from_private_key_pem(ISSUER, pem.as_bytes())?;
    let file = std::env::temp_dir().join(format!("tabrpc-bench-live-{}.db", std::process::id()));
    let db = Db::open(&format!("sqlite://{}", file.display())).await?;
    let addr = serve(db.clone(), auth(&idp).await?).await?;
    println!("{addr}");
    let mut stdin = tokio::io::BufReader::new(tokio::io::stdin());
    let mut line = String::new();
    use tokio::io::AsyncBufReadExt;
    while stdin.read_line(&mut line).await? > 0 {
        line.clear();
        db.live().public().invalidate(["news.list"]).await?;
        println!("streams {}", db.live().streams());
    }
    let _ = std::fs::remove_file(file);
    Ok(())
}

async fn streams(idp: &DevIdp, count: usize) -> anyhow::Result<()> {
    use tokio::io::AsyncBufReadExt;
    // `BENCH_LIVE_WRAP=heaptrack` runs the child under a profiler (its RSS is then the wrapper's).
    let exe = std::env::current_exe()?;
    let mut command = match std::env::var("BENCH_LIVE_WRAP") {
        Ok(wrap) if !wrap.is_empty() => {
            let mut command = tokio::process::Command::new(wrap);
            command.arg(exe);
            command
        }
        _ => tokio::process::Command::new(exe),
    };
    let mut child = command
        .arg("child")
        .env("BENCH_LIVE_KEY", idp.private_key_pem())
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()?;
    let pid = child.id().context("the child's pid")?;
    let mut out = tokio::io::BufReader::new(child.stdout.take().context("stdout")?).lines();
    let mut input = child.stdin.take().context("stdin")?;
    // The first line that is an address (a wrapper may print before it).
    let addr: SocketAddr = loop {
        if let Ok(addr) = out.next_line().await?.context("no address")?.parse() {
            break addr;
        }
    };
    // Warm up: one stream opened and closed, so the baseline has the runtime's threads and
    // the first connection's one-time allocations.
    drop(Stream::open(addr, &token(idp, "user_warm")?).await?);
    tokio::time::sleep(Duration::from_millis(500)).await;
    let before = rss_kib(pid)?;
    let tokens: Vec<String> = (0..100)
        .map(|n| token(idp, &format!("user_{n}")))
        .collect::<anyhow::Result<_>>()?;
    let started = Instant::now();
    let mut open = Vec::with_capacity(count);
    let mut pending = tokio::task::JoinSet::new();
    for n in 0..count {
        let token = tokens[n % tokens.len()].clone();
        pending.spawn(async move { Stream::open(addr, &token).await });
        // At most 256 handshakes at a time (the listen backlog).
        while pending.len() >= 256 {
            if let Some(stream) = pending.join_next().await {
                open.push(stream??);
            }
        }
    }
    while let Some(stream) = pending.join_next().await {
        open.push(stream??);
    }
    let took = started.elapsed();
    tokio::time::sleep(Duration::from_millis(500)).await;
    let after = rss_kib(pid)?;
    // One public event to every stream.
    input.write_all(b"publish\n").await?;
    let held = out.next_line().await?.unwrap_or_default();
    let delivered = Instant::now();
    let mut reads = tokio::task::JoinSet::new();
    for mut stream in open.drain(..) {
        reads.spawn(async move { stream.wait_for(INVALIDATE).await.map(|()| stream) });
    }
    let mut received = 0;
    while let Some(done) = reads.join_next().await {
        if done.is_ok_and(|r| r.is_ok()) {
            received += 1;
        }
    }
    let fan_out = delivered.elapsed();
    let per_stream = (after.saturating_sub(before) as f64) / count as f64;
    println!("\nopen streams on one instance: {count} opened in {took:.2?} (server says: {held})");
    println!(
        "server RSS: {:.1} MiB before, {:.1} MiB with the streams: {:.2} KiB per stream \
         ({:.1} MiB for all)",
        before as f64 / 1024.0,
        after as f64 / 1024.0,
        per_stream,
        after.saturating_sub(before) as f64 / 1024.0,
    );
    println!("one public event reached {received} of {count} streams in {fan_out:.2?}");
    drop(input);
    let _ = child.kill().await;
    Ok(())
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    if std::env::args().nth(1).as_deref() == Some("child") {
        return child().await;
    }
    let samples = env_usize("BENCH_LIVE_SAMPLES", 1000);
    let count = env_usize("BENCH_LIVE_STREAMS", 10_000);
    let idp = DevIdp::generate(ISSUER)?;
    let dir = std::env::temp_dir().join(format!("tabrpc-bench-live-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let sqlite = format!("sqlite://{}", dir.join("demo.db").display());

    println!("| delivery, commit → event read by a client | samples | p50 ms | p99 ms | max ms |");
    println!("|---|---|---|---|---|");
    let db = Db::open(&sqlite).await?;
    let addr = serve(db.clone(), auth(&idp).await?).await?;
    latency("one instance, in-process", &db, addr, &idp, samples).await?;
    match std::env::var("TABRPC_TEST_POSTGRES_URL") {
        Ok(url) if !url.is_empty() => {
            let (one, two) = postgres_dbs(&url, &sqlite).await?;
            let addr_one = serve(one.clone(), auth(&idp).await?).await?;
            let addr_two = serve(two, auth(&idp).await?).await?;
            latency("one instance, Postgres", &one, addr_one, &idp, samples).await?;
            latency("two instances, Postgres", &one, addr_two, &idp, samples).await?;
        }
        _ => println!("| (Postgres rows skipped: TABRPC_TEST_POSTGRES_URL is not set) | | | | |"),
    }
    streams(&idp, count).await?;
    let _ = std::fs::remove_dir_all(dir);
    Ok(())
}
