//! The fuzzer's parts: requests and their corpus format ([`request`]), strategies that build
//! and mutate them ([`generate`]), the lanes that send them ([`drive`]) and the oracle every
//! reply must pass ([`check`]).

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

pub mod check;
pub mod drive;
pub mod generate;
pub mod request;

use std::path::PathBuf;

use check::{Via, check_reply};
use drive::{Apps, Servers};
use generate::Edit;
use request::Req;

/// How a case reaches the server.
#[derive(Debug, Clone)]
pub enum Lane {
    /// The tower service, in-process (a request the `http` crate cannot represent goes by
    /// [`Lane::Socket`] instead).
    Service,
    /// HTTP/1.1 bytes on a real socket, framed by the fuzzer (`content-length`, or chunked).
    Socket { chunked: bool },
    /// The request's bytes, framing included, edited by these byte edits; the write side is
    /// shut after them. The server may rightly close without an answer.
    Raw(Vec<Edit>),
}

/// One fuzz case: a request, the fixture configuration it goes to, and how it is sent.
#[derive(Debug, Clone)]
pub struct Case {
    pub req: Req,
    pub config: usize,
    pub lane: Lane,
}

/// What the run has seen, for the summary line.
#[derive(Debug, Default)]
pub struct Tally {
    pub service: usize,
    pub socket: usize,
    pub raw: usize,
    pub unanswered_raw: usize,
    pub by_class: [usize; 6],
    /// Replies by status.
    pub by_status: std::collections::BTreeMap<u16, usize>,
}

impl Tally {
    fn count(&mut self, status: u16) {
        self.by_class[usize::from(status / 100).min(5)] += 1;
        *self.by_status.entry(status).or_default() += 1;
    }
}

/// Where the corpus lives.
pub fn corpus_dir(sub: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("fuzz-corpus")
        .join(sub)
}

/// Sends `case` and checks its reply; the error says what broke, with the reply.
pub async fn run_case(
    apps: &Apps,
    servers: &Servers,
    case: &Case,
    tally: &mut Tally,
) -> Result<(), String> {
    let boom = case.req.names_boom();
    let method = case.req.method.as_str();
    let reply = match &case.lane {
        Lane::Service => match case.req.to_http() {
            Some(request) => {
                tally.service += 1;
                let reply = apps.send(case.config, request).await?;
                check_reply(method, &reply, Via::Service, boom)?;
                reply
            }
            None => {
                tally.socket += 1;
                let reply = servers.send(case.config, &case.req, false).await?;
                check_reply(method, &reply, Via::Socket, boom)?;
                reply
            }
        },
        Lane::Socket { chunked } => {
            tally.socket += 1;
            let reply = servers.send(case.config, &case.req, *chunked).await?;
            check_reply(method, &reply, Via::Socket, boom)?;
            reply
        }
        Lane::Raw(edits) => {
            tally.raw += 1;
            let mut bytes = case.req.to_wire(false);
            for edit in edits {
                edit.apply(&mut bytes);
            }
            let Some(reply) = servers.exchange(case.config, &bytes, true).await? else {
                tally.unanswered_raw += 1;
                return Ok(());
            };
            // The edits may have changed the method or the target: only what holds for any
            // request is checked (the 5xx rule allows `boom` anywhere in the bytes).
            let boom = bytes.windows(4).any(|w| w == b"boom");
            let method = bytes.split(|&b| b == b' ').next().unwrap_or_default();
            let method = String::from_utf8_lossy(method);
            check_reply(&method, &reply, Via::Socket, boom).map_err(|e| {
                format!(
                    "{e}\n  raw request: {:?}",
                    String::from_utf8_lossy(&bytes[..bytes.len().min(4000)])
                )
            })?;
            reply
        }
    };
    tally.count(reply.status);
    Ok(())
}
