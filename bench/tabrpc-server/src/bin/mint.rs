//! Mints the benchmark's credentials with the development identity provider: a JWKS file and
//! RS256 session tokens for `user_bench_0`, `user_bench_1`, …
//!
//! `mint OUT_DIR ISSUER COUNT TTL_SECS` writes `OUT_DIR/jwks.json` and `OUT_DIR/tokens.tsv`
//! (`sub<TAB>token` per line).

use std::time::Duration;

use tabrpc::auth::dev_idp::DevIdp;

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [out, issuer, count, ttl] = args.as_slice() else {
        anyhow::bail!("usage: mint OUT_DIR ISSUER COUNT TTL_SECS");
    };
    let idp = DevIdp::generate(issuer.as_str())?.with_token_ttl(Duration::from_secs(ttl.parse()?));
    std::fs::create_dir_all(out)?;
    std::fs::write(format!("{out}/jwks.json"), idp.jwks().to_string())?;
    let mut tokens = String::new();
    for i in 0..count.parse::<usize>()? {
        let sub = format!("user_bench_{i}");
        let token = idp.sign_session(&sub, &format!("sess_bench_{i}"), None)?;
        tokens.push_str(&format!("{sub}\t{token}\n"));
    }
    std::fs::write(format!("{out}/tokens.tsv"), tokens)?;
    Ok(())
}
