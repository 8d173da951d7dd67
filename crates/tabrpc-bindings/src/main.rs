//! `cargo run -p tabrpc-bindings [-- --check]`: writes the generated TypeScript bindings, or
//! with `--check` exits non-zero naming the stale ones.

use std::process::ExitCode;

use clap::Parser;
use tabrpc_bindings::{REGENERATE, check, generate, repo_root, write};

/// Writes bindings/demo.ts, bindings/conformance.ts, their tRPC router types
/// (bindings/*.trpc.ts), bindings/codes.ts and web-client/src/codes.ts from the Rust routers and
/// the error codes table.
#[derive(Debug, Parser)]
#[command(about)]
struct Args {
    /// Write nothing; exit with status 1 if a file is missing or out of date.
    #[arg(long)]
    check: bool,
}

fn main() -> ExitCode {
    let args = Args::parse();
    match run(&args) {
        Ok(code) => code,
        Err(err) => {
            eprint!("tabrpc-bindings: {err}");
            let mut source = std::error::Error::source(&err);
            while let Some(cause) = source {
                eprint!(": {cause}");
                source = cause.source();
            }
            eprintln!();
            ExitCode::FAILURE
        }
    }
}

fn run(args: &Args) -> Result<ExitCode, tabrpc_bindings::Error> {
    let root = repo_root();
    let files = generate()?;
    if args.check {
        let stale = check(&root, &files)?;
        if stale.is_empty() {
            println!("tabrpc-bindings: {} files up to date", files.len());
            return Ok(ExitCode::SUCCESS);
        }
        eprintln!("tabrpc-bindings: stale generated files:");
        for file in &stale {
            eprintln!("  {file}");
        }
        eprintln!("run `{REGENERATE}` to regenerate them");
        return Ok(ExitCode::FAILURE);
    }
    let written = write(&root, &files)?;
    if written.is_empty() {
        println!("tabrpc-bindings: {} files up to date", files.len());
    }
    for path in written {
        println!("tabrpc-bindings: wrote {path}");
    }
    Ok(ExitCode::SUCCESS)
}
