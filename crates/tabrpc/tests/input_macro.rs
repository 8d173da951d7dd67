//! `#[tabrpc::input]`: scope fields keep their wire names (`viewerId`, `sessionId`) whatever the
//! struct's `rename_all`, export as `viewerId?: string` and `sessionId: string`, implement the
//! guards' input traits, and pass `Router::build`'s reserved-key check behind their guard.

#![allow(clippy::unwrap_used, clippy::expect_used, dead_code)]

use bytes::Bytes;
use serde::Deserialize;
use serde_json::Value;
use specta::Type;
use tabrpc::wire::{Config, Handler, ReplyBody};
use tabrpc::{Error, ErrorCode, Procedure, Router, ViewerContext, ViewerGuard, ViewerInput};

#[tabrpc::input]
#[derive(Debug, Deserialize, Type)]
#[serde(rename_all = "camelCase")]
struct GetUserInput {
    /// The account the client expects.
    #[tabrpc(viewer)]
    viewer_id: Option<String>,
}

#[tabrpc::input]
#[derive(Debug, Deserialize, serde::Serialize, Type)]
#[serde(rename_all = "snake_case")]
struct SnakeInput {
    #[tabrpc(viewer)]
    who: Option<String>,
    page_size: u32,
}

/// A generic input: the impls need no bounds of their own.
#[tabrpc::input]
#[derive(Debug, Deserialize, Type)]
#[serde(rename_all = "camelCase")]
struct Filtered<T> {
    #[tabrpc(viewer)]
    viewer_id: Option<String>,
    filter: T,
}

/// No scope field: a pass-through.
#[tabrpc::input]
#[derive(Debug, Deserialize, Type)]
struct Plain {
    n: u32,
}

fn parse<T: serde::de::DeserializeOwned>(json: &str) -> Result<T, String> {
    serde_json::from_str(json).map_err(|e| e.to_string())
}

#[test]
fn a_viewer_field_reads_viewer_id_and_is_optional() {
    let absent: GetUserInput = parse("{}").unwrap();
    assert_eq!(absent.viewer_id(), None);
    let present: GetUserInput = parse(r#"{"viewerId":"u1"}"#).unwrap();
    assert_eq!(present.viewer_id(), Some("u1"));
    // serde ignores an unknown key, and `viewer_id` is one once the field is `viewerId` (an
    // unguarded procedure still refuses it at run time; a guarded one never takes identity
    // from it).
    let other: GetUserInput = parse(r#"{"viewer_id":"u1"}"#).unwrap();
    assert_eq!(other.viewer_id(), None);
    assert!(parse::<GetUserInput>(r#"{"viewerId":7}"#).is_err());
}

#[test]
fn rename_all_does_not_change_the_viewer_fields_wire_name() {
    let input: SnakeInput = parse(r#"{"viewerId":"u1","page_size":3}"#).unwrap();
    assert_eq!((input.viewer_id(), input.page_size), (Some("u1"), 3));
    let input: SnakeInput = parse(r#"{"who":"u1","viewer_id":"u1","page_size":3}"#).unwrap();
    assert_eq!(input.viewer_id(), None);
}

#[test]
fn a_serialized_viewer_field_matches_its_optional_typescript_field() {
    let some = SnakeInput {
        who: Some("u1".into()),
        page_size: 1,
    };
    let none = SnakeInput {
        who: None,
        page_size: 1,
    };
    let json = |v: &SnakeInput| serde_json::to_string(v).unwrap();
    assert_eq!(json(&some), r#"{"viewerId":"u1","page_size":1}"#);
    assert_eq!(json(&none), r#"{"page_size":1}"#);
}

#[test]
fn generic_inputs_and_inputs_without_scope_fields_work() {
    let input: Filtered<Vec<u8>> = parse(r#"{"viewerId":"u1","filter":[1]}"#).unwrap();
    assert_eq!(
        (input.viewer_id(), &input.filter[..]),
        (Some("u1"), &[1][..])
    );
    assert_eq!(parse::<Plain>(r#"{"n":1}"#).unwrap().n, 1);
}

#[derive(Clone, tabrpc::Context)]
struct Ctx {
    #[tabrpc(caller)]
    caller: Who,
}

#[derive(Clone)]
struct Who(Option<&'static str>);

impl ViewerContext for Who {
    fn viewer(&self) -> Result<&str, Error> {
        self.0.ok_or_else(|| Error::new(ErrorCode::Unauthorized))
    }
}

fn router() -> Router<Ctx> {
    Router::new()
        .procedure(
            "profile.getUser",
            Procedure::query(|ctx: Ctx, _: Option<GetUserInput>| async move {
                Ok(ctx.viewer()?.to_owned())
            })
            .guard(ViewerGuard),
        )
        .procedure(
            "posts.list",
            Procedure::query(|_: Ctx, input: SnakeInput| async move { Ok(input.page_size) })
                .guard(ViewerGuard),
        )
}

#[test]
fn the_build_time_check_sees_viewer_id_and_wants_its_guard() {
    assert!(router().build().is_ok());
    let unguarded = Router::new().procedure(
        "profile.getUser",
        Procedure::query(|_: Ctx, _: Option<GetUserInput>| async { Ok(()) }),
    );
    let err = unguarded.build().err().map(|e| e.to_string());
    let err = err.unwrap_or_default();
    assert!(err.contains("takes a `viewerId`"), "{err}");
    assert!(err.contains("`.guard(ViewerGuard)`"), "{err}");
}

async fn get(handler: &Handler<Ctx>, who: Option<&'static str>, target: &str) -> (u16, Value) {
    let (parts, ()) = http::Request::get(target).body(()).unwrap().into_parts();
    let path = parts.uri.path().to_owned();
    let response = handler
        .handle(&parts, &path, Bytes::new(), move |_| async move {
            Ok(Ctx { caller: Who(who) })
        })
        .await;
    let status = response.status().as_u16();
    let body = match response.into_body() {
        ReplyBody::Full(bytes) => serde_json::from_slice(&bytes).unwrap(),
        ReplyBody::Stream(_) => panic!("a stream"),
    };
    (status, body)
}

#[tokio::test]
async fn the_viewer_guard_checks_the_macro_declared_field() {
    let handler = Handler::new(router().build().unwrap(), Config::default());
    // `{"viewerId":"alice"}` and `{"viewerId":"bob"}`, percent-encoded.
    let alice = "/profile.getUser?input=%7B%22viewerId%22%3A%22alice%22%7D";
    let bob = "/profile.getUser?input=%7B%22viewerId%22%3A%22bob%22%7D";

    let (status, body) = get(&handler, Some("alice"), alice).await;
    assert_eq!(
        (status, &body["result"]["data"]),
        (200, &Value::from("alice"))
    );
    let (status, body) = get(&handler, Some("alice"), bob).await;
    assert_eq!(
        (status, &body["error"]["data"]["code"]),
        (403, &Value::from("FORBIDDEN"))
    );
    let (status, _) = get(&handler, None, alice).await;
    assert_eq!(status, 401);
    // No `viewerId`: no check, the procedure answers for the verified caller.
    let (status, body) = get(&handler, Some("alice"), "/profile.getUser").await;
    assert_eq!(
        (status, &body["result"]["data"]),
        (200, &Value::from("alice"))
    );

    // The snake_case input, still `viewerId` on the wire.
    let snake = "/posts.list?input=%7B%22viewerId%22%3A%22bob%22%2C%22page_size%22%3A2%7D";
    let (status, _) = get(&handler, Some("alice"), snake).await;
    assert_eq!(status, 403);
}

#[cfg(feature = "typescript")]
#[test]
fn scope_fields_export_with_their_fixed_names() {
    let ts = tabrpc::typescript::export(&router().build().unwrap()).unwrap();
    let get_user = "export type GetUserInput = {\n  /** The account the client expects. */\n  viewerId?: string,\n};";
    assert!(ts.contains(get_user), "{ts}");
    let snake = "export type SnakeInput = {\n  viewerId?: string,\n  page_size: number,\n};";
    assert!(ts.contains(snake), "{ts}");
}

#[cfg(feature = "sessions")]
mod session {
    use super::*;
    use tabrpc::sessions::{INVALID_SESSION_ID, SessionId, SessionInput};

    #[tabrpc::input]
    #[derive(Debug, Deserialize, Type)]
    #[serde(rename_all = "snake_case")]
    pub(crate) struct CartAddInput {
        #[tabrpc(session)]
        pub(crate) session_id: SessionId,
        pub(crate) item_name: String,
    }

    pub(crate) const ID: &str = "3f0c2a9e-7b1d-4c5e-9a2f-1d3b5c7e9f10";

    #[test]
    fn a_session_field_reads_session_id_whatever_rename_all_says() {
        let input: CartAddInput =
            parse(&format!(r#"{{"sessionId":"{ID}","item_name":"tea"}}"#)).unwrap();
        assert_eq!(input.session_id().as_str(), ID);
        let missing =
            parse::<CartAddInput>(&format!(r#"{{"session_id":"{ID}","item_name":"tea"}}"#));
        assert!(missing.unwrap_err().contains("missing field `sessionId`"));
    }

    #[test]
    fn a_session_id_that_is_not_a_uuid_v4_is_refused_clearly() {
        // Version 1, then not a UUID at all.
        for id in ["3f0c2a9e-7b1d-1c5e-9a2f-1d3b5c7e9f10", "cart-1"] {
            let err = parse::<CartAddInput>(&format!(r#"{{"sessionId":"{id}","item_name":"t"}}"#))
                .unwrap_err();
            assert!(err.contains(INVALID_SESSION_ID), "{err}");
        }
    }

    #[cfg(feature = "typescript")]
    #[test]
    fn a_session_field_exports_as_a_required_string() {
        use tabrpc::sessions::{SessionCtx, SessionGuard};
        let router = Router::<crate::context::Ctx>::new().procedure(
            "cart.add",
            Procedure::mutation(
                |_: SessionCtx<crate::context::Ctx>, _: CartAddInput| async { Ok(()) },
            )
            .guard(SessionGuard),
        );
        let ts = tabrpc::typescript::export(&router.build().unwrap()).unwrap();
        assert!(
            ts.contains(
                "export type CartAddInput = {\n  sessionId: string,\n  item_name: string,\n};"
            ),
            "{ts}"
        );
    }
}

#[cfg(feature = "sessions")]
mod context {
    use std::sync::Arc;
    use tabrpc::sessions::SessionStore;

    #[derive(Clone, tabrpc::Context)]
    pub(crate) struct Ctx {
        #[tabrpc(caller)]
        pub(crate) caller: super::Who,
        #[tabrpc(sessions)]
        pub(crate) sessions: Arc<dyn SessionStore>,
    }
}
