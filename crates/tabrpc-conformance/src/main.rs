//! `tabrpc-conformance --port <PORT> [--no-batching] [--max-batch-size <N>] [--method-override]
//! [--call-timeout-ms <MS>] [--header-read-timeout-ms <MS>] [--idle-timeout-ms <MS>] [--max-connections <N>]`

use clap::Parser;
use tabrpc_conformance::{Args, app};

#[tokio::main]
async fn main() -> std::process::ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .with_writer(std::io::stderr)
        .init();
    let args = Args::parse();
    let app = match app(args.config()) {
        Ok(app) => app,
        Err(err) => {
            eprintln!("tabrpc-conformance: {err}");
            return std::process::ExitCode::FAILURE;
        }
    };
    let listener = match tokio::net::TcpListener::bind((args.host.as_str(), args.port)).await {
        Ok(listener) => listener,
        Err(err) => {
            eprintln!(
                "tabrpc-conformance: cannot listen on {}:{}: {err}",
                args.host, args.port
            );
            return std::process::ExitCode::FAILURE;
        }
    };
    match listener.local_addr() {
        Ok(addr) => println!("tabrpc-conformance listening on http://{addr}"),
        Err(err) => {
            eprintln!("tabrpc-conformance: {err}");
            return std::process::ExitCode::FAILURE;
        }
    }
    let serve = tabrpc::axum::serve_with(
        listener,
        app,
        args.serve_config(),
        tabrpc::axum::shutdown_signal(),
    );
    match serve.await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("tabrpc-conformance: {err}");
            std::process::ExitCode::FAILURE
        }
    }
}
