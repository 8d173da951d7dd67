//! `TABRPC_DEV_IDP=1 cargo run -p tabrpc-demo`: serves the demo API and its development identity
//! provider on the printed address (or, with `TABRPC_AUTH_ISSUER`, accepts another issuer's
//! tokens instead). `bash crates/tabrpc-demo/run.sh` builds the web app and does this.

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
    // Bound before anything else is set up, so that the address checked is the one actually
    // listened on (a name resolved, port 0 chosen), and a refused address leaves no database
    // file behind.
    let listener = tokio::net::TcpListener::bind(settings.addr.as_str())
        .await
        .with_context(|| format!("listening on TABRPC_ADDR={}", settings.addr))?;
    let addr = listener.local_addr()?;
    settings.check_listener(addr)?;
    // Errors name the setting; the session database's URL is never printed (it may carry a
    // password).
    let db = Db::open_with(&settings.database_url, &settings.sessions).await?;
    let auth = Auth::from_settings(&settings.auth, &format!("http://{addr}"))
        .await
        .context("setting up auth")?;
    let dev_idp = auth.provider.is_some();
    let app = app(db, auth, tabrpc::wire::Config::default(), settings.cors())?;
    let app = with_web_app(app, &settings.web_dir);
    println!("tabrpc-demo listening on http://{addr} (web app at /, API at http://{addr}/trpc)");
    if dev_idp {
        println!(
            "development identity provider: accounts at http://{addr}/dev-idp/accounts, \
             JWKS at http://{addr}/.well-known/jwks.json"
        );
    }
    tabrpc::axum::serve_with(
        listener,
        app,
        settings.serve.config(),
        tabrpc::axum::shutdown_signal(),
    )
    .await?;
    Ok(())
}
