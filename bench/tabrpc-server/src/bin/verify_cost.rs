//! What one token costs in-process, per implementation: tabrpc's verifier without and with its
//! verified-token cache, the whole caller resolution, and the raw handler's
//! `jsonwebtoken::decode`. Prints one JSON object of nanoseconds per token.
//!
//! `verify-cost JWKS_FILE ISSUER TOKENS_TSV`

use std::collections::HashMap;
use std::time::Instant;

use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use tabrpc::auth::{Resolver, Verifier};

const ROUNDS: usize = 4_000;

fn per_token(start: Instant, rounds: usize) -> u64 {
    u64::try_from(start.elapsed().as_nanos() / rounds as u128).unwrap_or(u64::MAX)
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [jwks_file, issuer, tokens_file] = args.as_slice() else {
        anyhow::bail!("usage: verify-cost JWKS_FILE ISSUER TOKENS_TSV");
    };
    tabrpc::auth::self_check()?;
    let tokens: Vec<String> = std::fs::read_to_string(tokens_file)?
        .lines()
        .filter_map(|line| line.split_once('\t').map(|(_, t)| t.to_owned()))
        .collect();
    anyhow::ensure!(!tokens.is_empty(), "no tokens in {tokens_file}");
    let build = |capacity: usize| {
        Verifier::builder()
            .issuer(issuer.clone())
            .jwks_file(jwks_file)
            .cache_capacity(capacity)
            .build()
    };
    let uncached = build(0).await?;
    let cached = build(10_000).await?;

    let mut results = serde_json::Map::new();
    for (name, verifier) in [("verify_ns", &uncached), ("verify_cached_ns", &cached)] {
        for token in &tokens {
            verifier
                .verify(token)
                .await
                .map_err(|r| anyhow::anyhow!("{r}"))?;
        }
        let start = Instant::now();
        for i in 0..ROUNDS {
            std::hint::black_box(verifier.verify(&tokens[i % tokens.len()]).await.is_ok());
        }
        results.insert(name.into(), per_token(start, ROUNDS).into());
    }
    for (name, verifier) in [("resolve_ns", &uncached), ("resolve_cached_ns", &cached)] {
        let resolver = Resolver::new(verifier.clone());
        let requests: Vec<http::request::Parts> = tokens
            .iter()
            .map(|token| {
                http::Request::get("/trpc/profile.getUser")
                    .header("authorization", format!("Bearer {token}"))
                    .body(())
                    .map(|r| r.into_parts().0)
            })
            .collect::<Result<_, _>>()?;
        let start = Instant::now();
        for i in 0..ROUNDS {
            std::hint::black_box(resolver.resolve(&requests[i % requests.len()]).await);
        }
        results.insert(name.into(), per_token(start, ROUNDS).into());
    }

    // The raw handler's verification, as in bench/raw-axum.
    let jwks: JwkSet = serde_json::from_slice(&std::fs::read(jwks_file)?)?;
    let mut keys = HashMap::new();
    for jwk in &jwks.keys {
        if let Some(kid) = &jwk.common.key_id {
            keys.insert(kid.clone(), DecodingKey::from_jwk(jwk)?);
        }
    }
    let mut validation = Validation::new(Algorithm::RS256);
    validation.set_issuer(&[issuer]);
    validation.set_required_spec_claims(&["exp", "sub", "iss"]);
    validation.leeway = 60;
    validation.validate_nbf = true;
    #[derive(serde::Deserialize)]
    struct Claims {
        #[allow(dead_code)]
        sub: String,
    }
    let start = Instant::now();
    for i in 0..ROUNDS {
        let token = &tokens[i % tokens.len()];
        let kid = jsonwebtoken::decode_header(token)?.kid.unwrap_or_default();
        let key = keys
            .get(&kid)
            .ok_or_else(|| anyhow::anyhow!("unknown kid"))?;
        std::hint::black_box(jsonwebtoken::decode::<Claims>(token, key, &validation)?);
    }
    results.insert(
        "jsonwebtoken_decode_ns".into(),
        per_token(start, ROUNDS).into(),
    );
    results.insert(
        "token_bytes".into(),
        tokens.first().map_or(0, String::len).into(),
    );
    println!("{}", serde_json::Value::Object(results));
    Ok(())
}
