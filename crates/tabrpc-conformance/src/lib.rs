//! The conformance fixture: exactly the procedures of `docs/wire.md` section 5, so that
//! any client or conformance suite can be replayed against a real tabrpc server.

use std::time::Duration;

use futures_util::stream;
use serde::{Deserialize, Serialize};
use specta::Type;
use tabrpc::wire::Config;
use tabrpc::{BuildError, BuiltRouter, Error, ErrorCode, Procedure, Router, Tracked};

/// The fixture's context: it needs nothing from the request.
#[derive(Debug, Clone, Copy, Default)]
pub struct Ctx;

/// Input of `hello`.
#[derive(Debug, Deserialize, Type)]
pub struct HelloInput {
    /// Who to greet; `world` when absent or null.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[specta(optional, type = String)]
    pub who: Option<String>,
}

/// Output of `hello`.
#[derive(Debug, Serialize, Type)]
pub struct Greeting {
    /// `hello <who>`.
    pub text: String,
}

/// Output of `optMut`.
#[derive(Debug, Serialize, Type)]
pub struct OptMutOutput {
    /// The input, or null when none was sent.
    pub got: Option<String>,
}

/// Input of `post.byId`.
#[derive(Debug, Deserialize, Type)]
#[serde(rename_all = "camelCase")]
pub struct PostById {
    /// The post's id.
    pub id: i32,
}

/// Output of `post.byId`.
#[derive(Debug, Serialize, Type)]
pub struct Post {
    /// The post's id.
    pub id: i32,
    /// `post <id>`.
    pub title: String,
}

/// Input and output of `wide.echo`: integers beyond 2^53 and a date, which survive the round
/// trip only with the superjson transformer.
#[derive(Debug, Serialize, Deserialize, Type)]
pub struct Wide {
    /// A signed 64-bit integer.
    pub signed: i64,
    /// An unsigned 64-bit integer.
    pub unsigned: u64,
    /// A 32-bit integer: a plain number either way.
    pub narrow: u32,
    /// An instant.
    pub at: tabrpc::Timestamp,
    /// Optional values, absent or null.
    pub later: Option<tabrpc::Timestamp>,
    /// A list of wide integers.
    pub list: Vec<u64>,
}

fn fail(code: ErrorCode) -> Result<(), Error> {
    Err(Error::new(code))
}

/// The fixture's router (section 5 of wire.md, without the subscriptions).
pub fn router() -> Router<Ctx> {
    Router::new()
        .procedure(
            "wide.echo",
            Procedure::mutation(|_: Ctx, input: Wide| async move { Ok(input) }),
        )
        .procedure(
            "wide.max",
            Procedure::query(|_: Ctx, (): ()| async move { Ok((i64::MAX, u64::MAX)) }),
        )
        .procedure(
            "hello",
            Procedure::query(|_: Ctx, input: Option<HelloInput>| async move {
                let who = input.and_then(|i| i.who).unwrap_or_else(|| "world".into());
                Ok(Greeting {
                    text: format!("hello {who}"),
                })
            }),
        )
        .procedure(
            "helloStr",
            Procedure::query(|_: Ctx, input: Option<String>| async move {
                Ok(format!("Hello {}", input.as_deref().unwrap_or("world")))
            }),
        )
        .procedure(
            "noInput",
            Procedure::query(|_: Ctx, (): ()| async { Ok("no-input") }),
        )
        .procedure(
            "returnUndefined",
            Procedure::query(|_: Ctx, (): ()| async { Ok(()) }),
        )
        .procedure(
            "returnNull",
            Procedure::query(|_: Ctx, (): ()| async { Ok(None::<String>) }),
        )
        .procedure(
            "echo",
            Procedure::mutation(|_: Ctx, input: String| async move { Ok(format!("echo {input}")) }),
        )
        .procedure(
            "mut",
            Procedure::mutation(|_: Ctx, (): ()| async { Ok("mutation") }),
        )
        .procedure(
            "optMut",
            Procedure::mutation(|_: Ctx, input: Option<String>| async move {
                Ok(OptMutOutput { got: input })
            }),
        )
        .procedure(
            "unauthorized",
            Procedure::query(|_: Ctx, (): ()| async { fail(ErrorCode::Unauthorized) }),
        )
        .procedure(
            "forbiddenMsg",
            Procedure::query(|_: Ctx, (): ()| async {
                Err::<(), _>(Error::new(ErrorCode::Forbidden).with_message("nope"))
            }),
        )
        .procedure(
            "boom",
            Procedure::query(|_: Ctx, (): ()| async {
                // The fixture's unexpected internal failure: a real panic, which the server must
                // turn into a 500 for this call only.
                if std::hint::black_box(true) {
                    panic!("boom: an unexpected failure inside a procedure");
                }
                Ok(())
            }),
        )
        .procedure(
            "tooMany",
            Procedure::query(|_: Ctx, (): ()| async { fail(ErrorCode::TooManyRequests) }),
        )
        .procedure(
            "post.byId",
            Procedure::query(|_: Ctx, input: PostById| async move {
                Ok(Post {
                    id: input.id,
                    title: format!("post {}", input.id),
                })
            }),
        )
        .procedure(
            "slow",
            Procedure::query(|_: Ctx, ms: u32| async move {
                tokio::time::sleep(Duration::from_millis(u64::from(ms))).await;
                Ok(format!("slept {ms}"))
            }),
        )
        .procedure(
            "iter",
            Procedure::stream(|_: Ctx, (): ()| async { Ok(stream::iter([Ok(1), Ok(2)])) }),
        )
        .procedure(
            "sub",
            Procedure::tracked_subscription(|_: Ctx, input: Option<SubInput>| async move {
                let input = input.unwrap_or_default();
                let first = match input.last_event_id.as_deref() {
                    None => 0,
                    // The last id the client saw: a number below u32::MAX (found by the fuzzer:
                    // `4294967295 + 1` overflowed, a 500 in debug builds and a restart at 0 in
                    // release builds).
                    Some(last) => last
                        .parse::<u32>()
                        .ok()
                        .and_then(|last| last.checked_add(1))
                        .ok_or_else(|| {
                            Error::bad_request(format!(
                                "lastEventId {last:?} is not a number below 4294967295"
                            ))
                        })?,
                };
                let count = input.n.unwrap_or(3);
                Ok(stream::iter((first..first.saturating_add(count)).map(
                    |k| Ok(Tracked::new(k.to_string(), SubEvent { i: k })),
                )))
            }),
        )
        .procedure(
            "subFail",
            Procedure::subscription(|_: Ctx, (): ()| async {
                Ok(stream::iter([
                    Ok("a".to_owned()),
                    Err(Error::new(ErrorCode::Forbidden).with_message("sub forbidden")),
                ]))
            }),
        )
}

/// Input of `sub`.
#[derive(Debug, Default, Deserialize, Type)]
#[serde(rename_all = "camelCase")]
pub struct SubInput {
    /// The id of the last event the client saw; events resume after it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[specta(optional, type = String)]
    pub last_event_id: Option<String>,
    /// How many events to send. Defaults to 3.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[specta(optional, type = u32)]
    pub n: Option<u32>,
}

/// An event of `sub`.
#[derive(Debug, Clone, Serialize, Type)]
pub struct SubEvent {
    /// The event's number.
    pub i: u32,
}

/// The fixture's command-line settings.
#[derive(Debug, Clone, Default, clap::Parser)]
#[command(about = "Serves the tabrpc conformance fixture (wire.md section 5).")]
pub struct Args {
    /// Port to listen on (0 picks a free one; the address is printed).
    #[arg(long, default_value_t = 0)]
    pub port: u16,
    /// Host to bind.
    #[arg(long, default_value = "127.0.0.1")]
    pub host: String,
    /// Turn batching off (`batch=1` then answers 400).
    #[arg(long)]
    pub no_batching: bool,
    /// Encode inputs and outputs with the superjson transformer (bindings:
    /// `bindings/conformance-superjson.ts`).
    #[arg(long)]
    pub superjson: bool,
    /// Most calls in one batch.
    #[arg(long)]
    pub max_batch_size: Option<usize>,
    /// Let queries be POSTed.
    #[arg(long)]
    pub method_override: bool,
    /// Per-call timeout in milliseconds (default: the server's default).
    #[arg(long)]
    pub call_timeout_ms: Option<u64>,
    /// How long a client has to send a request's head, in milliseconds (default: the server's).
    #[arg(long)]
    pub header_read_timeout_ms: Option<u64>,
    /// How long a connection may stay open with no request in flight, in milliseconds
    /// (default: the server's).
    #[arg(long)]
    pub idle_timeout_ms: Option<u64>,
    /// The most connections served at once (default: the server's).
    #[arg(long)]
    pub max_connections: Option<usize>,
}

impl Args {
    /// The endpoint configuration these flags ask for.
    pub fn config(&self) -> Config {
        let mut config = Config::default()
            .batching(!self.no_batching)
            .allow_method_override(self.method_override);
        if self.superjson {
            config = config.transformer(tabrpc::wire::Transformer::Superjson);
        }
        if let Some(max) = self.max_batch_size {
            config = config.max_batch_size(max);
        }
        if let Some(ms) = self.call_timeout_ms {
            config = config.call_timeout(Some(Duration::from_millis(ms)));
        }
        config
    }

    /// The connection settings these flags ask for.
    pub fn serve_config(&self) -> tabrpc::axum::ServeConfig {
        let mut config = tabrpc::axum::ServeConfig::default();
        if let Some(ms) = self.header_read_timeout_ms {
            config = config.header_read_timeout(Some(Duration::from_millis(ms)));
        }
        if let Some(ms) = self.idle_timeout_ms {
            config = config.idle_timeout(Some(Duration::from_millis(ms)));
        }
        if let Some(max) = self.max_connections {
            config = config.max_connections(max);
        }
        config
    }
}

/// The fixture as an axum app, procedures at the root (`/hello`, `/a,b?batch=1`).
pub fn app(config: Config) -> Result<axum::Router, BuildError> {
    let built: BuiltRouter<Ctx> = router().build()?;
    Ok(
        tabrpc::axum::Endpoint::new(built, |_: &http::request::Parts| async { Ok(Ctx) })
            .with_config(config)
            .into_router(),
    )
}
