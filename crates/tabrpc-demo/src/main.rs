//! `cargo run -p tabrpc-demo`: serves the demo API and its development identity provider on the
//! printed address.

use anyhow::Context;
use tabrpc_demo::{Auth, Db, Settings, app, with_web_app};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    // Logs go to stderr: stdout carries only the lines a script may read (the address first).
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .init();
    let settings = Settings::from_env()?;
    // Errors name the setting; the session database's URL is never printed (it may carry a
    // password).
    let db = Db::open_with(&settings.database_url, &settings.sessions).await?;
    let listener = tokio::net::TcpListener::bind(settings.addr)
        .await
        .with_context(|| format!("listening on TABRPC_ADDR={}", settings.addr))?;
    let addr = listener.local_addr()?;
    let auth = Auth::from_settings(&settings.auth, &format!("http://{addr}"))
        .await
        .context("setting up auth")?;
    let dev_idp = auth.provider.is_some();
    let app = app(db, auth, tabrpc::wire::Config::default()).map_err(|e| anyhow::anyhow!("{e}"))?;
    let app = with_web_app(app, &settings.web_dir);
    println!("tabrpc-demo listening on http://{addr} (web app at /, API at http://{addr}/trpc)");
    if dev_idp {
        println!(
            "development identity provider: accounts at http://{addr}/dev-idp/accounts, \
             JWKS at http://{addr}/.well-known/jwks.json"
        );
    }
    tabrpc::axum::serve(listener, app).await?;
    Ok(())
}
