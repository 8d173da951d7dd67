//! Prints what verifying a token costs: `cargo run --release -p tabrpc-auth --features dev-idp
//! --example verify_cost`. A benchmark that prints figures, not a timed test.

use std::time::Instant;

use tabrpc_auth::Resolver;
use tabrpc_auth::dev_idp::DevIdp;

const ROUNDS: u32 = 5_000;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    tabrpc_auth::self_check()?;
    let idp = DevIdp::generate("http://bench.local")?;
    let verifier = idp.verifier_builder().build().await?;
    let token = idp.sign_session("user_bench", "sess_bench", None)?;
    let resolver = Resolver::builder(verifier.clone()).build()?;
    let (parts, ()) = http::Request::get("/trpc/profile.getUser")
        .header("authorization", format!("Bearer {token}"))
        .body(())?
        .into_parts();

    // Warm up, then measure.
    for _ in 0..100 {
        verifier.verify(&token).await.map_err(|r| r.as_str())?;
    }
    let start = Instant::now();
    for _ in 0..ROUNDS {
        verifier.verify(&token).await.map_err(|r| r.as_str())?;
    }
    let verify = start.elapsed() / ROUNDS;

    let start = Instant::now();
    for _ in 0..ROUNDS {
        std::hint::black_box(resolver.resolve(&parts).await);
    }
    let resolve = start.elapsed() / ROUNDS;

    let bad = format!("{token}x");
    let start = Instant::now();
    for _ in 0..ROUNDS {
        std::hint::black_box(verifier.verify(&bad).await.is_err());
    }
    let reject = start.elapsed() / ROUNDS;

    println!(
        "RS256 (2048-bit) token of {} bytes, {ROUNDS} rounds each:",
        token.len()
    );
    println!("  verify (valid token):           {verify:>10.2?} per token");
    println!("  resolve (header, verify, trace): {resolve:>10.2?} per request");
    println!("  verify (garbled signature, refused before crypto):{reject:>10.2?} per token");
    Ok(())
}
