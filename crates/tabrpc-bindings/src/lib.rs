//! The repository's generated TypeScript files (`bindings/*.ts`, the web client's `codes.ts`
//! and `live/events.ts`): which they are, what they should contain, and
//! whether the copies on disk are up to date.
//!
//! `cargo run -p tabrpc-bindings` writes them; `cargo run -p tabrpc-bindings -- --check` only
//! reports stale ones; the test `tests/bindings_up_to_date.rs` fails when one is stale.
//!
//! ```no_run
//! let root = tabrpc_bindings::repo_root();
//! let files = tabrpc_bindings::generate()?;
//! for stale in tabrpc_bindings::check(&root, &files)? {
//!     println!("{stale}");
//! }
//! # Ok::<(), tabrpc_bindings::Error>(())
//! ```

use std::fmt;
use std::io;
use std::path::{Path, PathBuf};

/// The command that regenerates every file, for messages about stale ones.
pub const REGENERATE: &str = "cargo run -p tabrpc-bindings";

/// One generated file: its path relative to the repository root, and its contents.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Generated {
    /// Relative to the repository root, with `/` separators (`bindings/demo.ts`).
    pub path: &'static str,
    /// The exact bytes the file must hold.
    pub contents: String,
}

/// Why the bindings could not be generated, written or read.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A router failed its build-time checks (a duplicate or malformed path, a scope key
    /// without its guard).
    #[error("the {name} router does not build")]
    Router {
        /// `demo` or `conformance`.
        name: &'static str,
        /// Every problem of the router.
        #[source]
        source: tabrpc::BuildError,
    },
    /// A router's types have no TypeScript form.
    #[error("the {name} router cannot be exported")]
    Export {
        /// `demo`, `conformance` or `live events`.
        name: &'static str,
        /// The exporter's error.
        #[source]
        source: tabrpc::typescript::Error,
    },
    /// Reading or writing a file failed.
    #[error("cannot {action} {}", path.display())]
    Io {
        /// `read` or `write`.
        action: &'static str,
        /// The file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: io::Error,
    },
}

/// The repository root (this crate lives in `crates/tabrpc-bindings`).
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Every generated file with the contents it should have, in a fixed order.
///
/// # Errors
///
/// Fails when a router does not build or cannot be exported.
pub fn generate() -> Result<Vec<Generated>, Error> {
    let demo = tabrpc_demo::router()
        .build()
        .map_err(|source| Error::Router {
            name: "demo",
            source,
        })?;
    let conformance = tabrpc_conformance::router()
        .build()
        .map_err(|source| Error::Router {
            name: "conformance",
            source,
        })?;
    let codes = tabrpc::typescript::export_codes();
    // The live stream's events for the web client, which cannot import the demo's bindings.
    let live_events = tabrpc::typescript::export_types(|types| {
        <tabrpc::live::LiveEvent as tabrpc::specta::Type>::definition(types);
    })
    .map_err(|source| Error::Export {
        name: "live events",
        source,
    })?;
    Ok(vec![
        Generated {
            path: "bindings/demo.ts",
            contents: tabrpc::typescript::export(&demo).map_err(|source| Error::Export {
                name: "demo",
                source,
            })?,
        },
        Generated {
            path: "bindings/conformance.ts",
            contents: tabrpc::typescript::export(&conformance).map_err(|source| Error::Export {
                name: "conformance",
                source,
            })?,
        },
        // tRPC router types next to the bindings they read their types from, for tRPC's own
        // clients (`createTRPCClient<AppRouter>`).
        Generated {
            path: "bindings/demo.trpc.ts",
            contents: tabrpc::typescript::export_trpc(&demo, "./demo.js").map_err(|source| {
                Error::Export {
                    name: "demo",
                    source,
                }
            })?,
        },
        Generated {
            path: "bindings/conformance.trpc.ts",
            contents: tabrpc::typescript::export_trpc(&conformance, "./conformance.js").map_err(
                |source| Error::Export {
                    name: "conformance",
                    source,
                },
            )?,
        },
        Generated {
            path: "bindings/conformance-superjson.ts",
            contents: tabrpc::typescript::export_with(
                &conformance,
                tabrpc::wire::Transformer::Superjson,
            )
            .map_err(|source| Error::Export {
                name: "conformance",
                source,
            })?,
        },
        Generated {
            path: "bindings/codes.ts",
            contents: codes.clone(),
        },
        // The web client ships its own copy of the codes table: a package cannot import files
        // from outside its own directory.
        Generated {
            path: "web-client/src/codes.ts",
            contents: codes,
        },
        Generated {
            path: "web-client/src/live/events.ts",
            contents: live_events,
        },
    ])
}

/// A generated file whose copy on disk is missing or different.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stale {
    /// The file, relative to the repository root.
    pub path: &'static str,
    /// How it differs.
    pub reason: StaleReason,
}

/// How a file on disk differs from what is generated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StaleReason {
    /// The file does not exist.
    Missing,
    /// The contents differ; `line` is the first differing line (1-based), with both versions
    /// of it (`None` past the end of the file).
    Differs {
        /// The first differing line, 1-based.
        line: usize,
        /// That line as generated.
        expected: Option<String>,
        /// That line on disk.
        found: Option<String>,
    },
}

impl fmt::Display for Stale {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.reason {
            StaleReason::Missing => write!(f, "{}: missing", self.path),
            StaleReason::Differs {
                line,
                expected,
                found,
            } => {
                let show = |l: &Option<String>| {
                    l.as_deref()
                        .map_or("<end of file>".into(), |l| format!("{l:?}"))
                };
                write!(
                    f,
                    "{}: differs from line {line}\n    generated: {}\n    on disk:   {}",
                    self.path,
                    show(expected),
                    show(found)
                )
            }
        }
    }
}

/// The files of `files` whose copies under `root` are missing or different.
///
/// # Errors
///
/// Fails when a file exists but cannot be read.
pub fn check(root: &Path, files: &[Generated]) -> Result<Vec<Stale>, Error> {
    let mut stale = Vec::new();
    for file in files {
        let path = root.join(file.path);
        let reason = match std::fs::read(&path) {
            Ok(on_disk) if on_disk == file.contents.as_bytes() => continue,
            Ok(on_disk) => first_difference(&file.contents, &String::from_utf8_lossy(&on_disk)),
            Err(err) if err.kind() == io::ErrorKind::NotFound => StaleReason::Missing,
            Err(source) => {
                return Err(Error::Io {
                    action: "read",
                    path,
                    source,
                });
            }
        };
        stale.push(Stale {
            path: file.path,
            reason,
        });
    }
    Ok(stale)
}

/// Writes the files of `files` that are stale under `root` (creating directories as needed) and
/// returns which ones it wrote. Files already up to date are not touched, so their timestamps do
/// not wake file watchers.
///
/// # Errors
///
/// Fails when a file cannot be read or written.
pub fn write(root: &Path, files: &[Generated]) -> Result<Vec<&'static str>, Error> {
    let stale = check(root, files)?;
    let mut written = Vec::with_capacity(stale.len());
    for file in files {
        if !stale.iter().any(|s| s.path == file.path) {
            continue;
        }
        let path = root.join(file.path);
        let io_error = |source| Error::Io {
            action: "write",
            path: path.clone(),
            source,
        };
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(io_error)?;
        }
        std::fs::write(&path, &file.contents).map_err(io_error)?;
        written.push(file.path);
    }
    Ok(written)
}

fn first_difference(expected: &str, found: &str) -> StaleReason {
    let mut expected_lines = expected.split('\n');
    let mut found_lines = found.split('\n');
    let mut line = 1;
    loop {
        let (e, f) = (expected_lines.next(), found_lines.next());
        if e != f || (e.is_none() && f.is_none()) {
            return StaleReason::Differs {
                line,
                expected: e.map(str::to_owned),
                found: f.map(str::to_owned),
            };
        }
        line += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_difference_names_the_line_and_both_versions() {
        assert_eq!(
            first_difference("a\nb\nc\n", "a\nB\nc\n"),
            StaleReason::Differs {
                line: 2,
                expected: Some("b".into()),
                found: Some("B".into())
            }
        );
        assert_eq!(
            first_difference("a\nb\n", "a\n"),
            StaleReason::Differs {
                line: 2,
                expected: Some("b".into()),
                found: Some(String::new())
            }
        );
        assert_eq!(
            first_difference("a\n", "a\n\nextra"),
            StaleReason::Differs {
                line: 3,
                expected: None,
                found: Some("extra".into())
            }
        );
    }

    #[test]
    fn write_then_check_finds_nothing_stale() {
        let root = std::env::temp_dir().join(format!("tabrpc-bindings-{}", std::process::id()));
        let files = vec![Generated {
            path: "nested/dir/a.ts",
            contents: "// a\n".into(),
        }];
        let stale = check(&root, &files).map_err(|e| e.to_string());
        assert_eq!(
            stale,
            Ok(vec![Stale {
                path: "nested/dir/a.ts",
                reason: StaleReason::Missing
            }])
        );
        assert_eq!(
            write(&root, &files).map_err(|e| e.to_string()),
            Ok(vec!["nested/dir/a.ts"])
        );
        assert_eq!(check(&root, &files).map_err(|e| e.to_string()), Ok(vec![]));
        assert_eq!(write(&root, &files).map_err(|e| e.to_string()), Ok(vec![]));
        let _ = std::fs::remove_dir_all(&root);
    }
}
