//! auth.md section 3: an input that carries `viewerId` or `sessionId` (in any spelling, however
//! serde attributes rename, alias, flatten or nest it) goes through the key's guard. Loud at
//! `Router::build`; at run time an unguarded procedure answers 400 to such a key.

#![allow(clippy::unwrap_used, clippy::expect_used, dead_code)]

use std::future::Future;

use bytes::Bytes;
use serde::Deserialize;
use serde_json::Value;
use specta::Type;
use specta::datatype::{DataType, Field, Struct};
use tabrpc_core::wire::{Config, Handler, ReplyBody};
use tabrpc_core::{
    BuildError, BuildProblemKind, Error, ErrorCode, Guard, IntoProcedure, Procedure, ProcedureKind,
    Router, Scope, ViewerContext, ViewerGuard, ViewerInput,
};

#[derive(Clone)]
struct Ctx;

impl ViewerContext for Ctx {
    fn viewer(&self) -> Result<&str, Error> {
        Ok("alice")
    }
}

/// The build error of a router holding `procedure` at `path`, or `None` if it builds.
#[track_caller]
fn build_error(path: &str, procedure: impl IntoProcedure<Ctx>) -> Option<BuildError> {
    Router::new().procedure(path, procedure).build().err()
}

/// An unguarded query taking `T`.
fn takes<T>() -> Procedure<Ctx, T>
where
    T: serde::de::DeserializeOwned + Type + Send + 'static,
{
    Procedure::query(|_: Ctx, _: T| async { Ok(()) })
}

#[track_caller]
fn assert_refused<T>(what: &str)
where
    T: serde::de::DeserializeOwned + Type + Send + 'static,
{
    let caller = std::panic::Location::caller();
    let err = build_error("scoped.get", takes::<T>())
        .unwrap_or_else(|| panic!("{what}: an unguarded input with viewerId was accepted"));
    assert!(!err.problems().is_empty(), "{what}");
    for problem in err.problems() {
        assert_eq!(
            problem.kind(),
            BuildProblemKind::UnguardedScopeKey {
                scope: Scope::Viewer
            },
            "{what}: {err}"
        );
        assert_eq!(problem.path(), "scoped.get", "{what}");
        // `build_error` and this function track their caller: the procedure was "added" where
        // this function was called.
        assert_eq!(problem.location(), caller, "{what}");
        let message = problem.message();
        assert!(
            message.contains("procedure `scoped.get`"),
            "{what}: {message}"
        );
        assert!(message.contains("takes a `viewerId`"), "{what}: {message}");
        assert!(
            message.contains("`.guard(ViewerGuard)`"),
            "{what}: {message}"
        );
    }
}

#[derive(Deserialize, Type)]
#[serde(rename_all = "camelCase")]
struct Scoped {
    #[serde(default)]
    viewer_id: Option<String>,
}

impl ViewerInput for Scoped {
    fn viewer_id(&self) -> Option<&str> {
        self.viewer_id.as_deref()
    }
}

#[test]
fn a_renamed_field_is_found() {
    #[derive(Deserialize, Type)]
    struct Renamed {
        #[serde(rename = "viewerId")]
        who: Option<String>,
    }
    assert_refused::<Renamed>("rename");
}

#[test]
fn an_aliased_field_is_found() {
    #[derive(Deserialize, Type)]
    struct Aliased {
        #[serde(alias = "ViewerID")]
        who: Option<String>,
    }
    assert_refused::<Aliased>("alias");
}

#[test]
fn any_spelling_is_found() {
    #[derive(Deserialize, Type)]
    #[allow(non_snake_case)]
    struct Shouting {
        VIEWER_ID: Option<String>,
    }
    #[derive(Deserialize, Type)]
    #[serde(rename_all = "kebab-case")]
    struct Kebab {
        viewer_id: Option<String>,
    }
    assert_refused::<Shouting>("VIEWER_ID");
    assert_refused::<Kebab>("viewer-id");
}

#[test]
fn a_flattened_struct_is_found() {
    #[derive(Deserialize, Type)]
    struct Flat {
        id: u32,
        #[serde(flatten)]
        scope: Scoped,
    }
    assert_refused::<Flat>("flatten");
}

#[test]
fn a_nested_struct_is_found() {
    #[derive(Deserialize, Type)]
    struct Filter {
        by: Vec<Scoped>,
    }
    #[derive(Deserialize, Type)]
    struct Search {
        filter: Option<Filter>,
    }
    assert_refused::<Search>("nested");
}

#[test]
fn newtypes_tuples_optionals_and_generics_are_seen_through() {
    #[derive(Deserialize, Type)]
    struct Wrapped(Scoped);
    #[derive(Deserialize, Type)]
    struct Page<T> {
        cursor: Option<String>,
        query: T,
    }
    assert_refused::<Wrapped>("newtype");
    assert_refused::<(u32, Scoped)>("tuple");
    assert_refused::<Option<Option<Scoped>>>("nested optionals");
    assert_refused::<Box<Scoped>>("box");
    assert_refused::<Page<Scoped>>("generic");
}

#[test]
fn enums_of_every_tagging_are_found() {
    #[derive(Deserialize, Type)]
    #[serde(tag = "kind")]
    enum Internal {
        ById { id: u32 },
        Mine { viewer_id: String },
    }
    #[derive(Deserialize, Type)]
    enum External {
        ById(u32),
        ViewerId(String),
    }
    #[derive(Deserialize, Type)]
    #[serde(untagged)]
    enum Untagged {
        ById(u32),
        Mine(Scoped),
    }
    #[derive(Deserialize, Type)]
    #[serde(tag = "viewerId")]
    enum TagIsTheKey {
        Alice,
        Bob,
    }
    #[derive(Deserialize, Type)]
    #[serde(tag = "t", content = "viewer_id")]
    enum ContentIsTheKey {
        A(String),
    }
    assert_refused::<Internal>("internally tagged");
    assert_refused::<External>("externally tagged variant");
    assert_refused::<Untagged>("untagged");
    assert_refused::<TagIsTheKey>("tag");
    assert_refused::<ContentIsTheKey>("content");
}

/// A hand-written `Type` describing the field that `Deserialize` reads.
struct Custom;

impl<'de> Deserialize<'de> for Custom {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        serde::de::IgnoredAny::deserialize(d).map(|_| Custom)
    }
}

impl Type for Custom {
    fn definition(types: &mut specta::Types) -> DataType {
        Struct::named()
            .field("viewerId", Field::new(<String as Type>::definition(types)))
            .build()
    }
}

#[test]
fn a_custom_type_impl_with_the_field_is_found() {
    assert_refused::<Custom>("custom Type");
}

#[test]
fn a_recursive_type_ends() {
    #[derive(Deserialize, Type)]
    struct Tree {
        children: Vec<Tree>,
        label: String,
    }
    assert!(build_error("tree", takes::<Tree>()).is_none());
    #[derive(Deserialize, Type)]
    struct ScopedTree {
        children: Vec<ScopedTree>,
        viewer_id: Option<String>,
    }
    assert_refused::<ScopedTree>("recursive");
}

#[test]
fn other_names_and_guarded_procedures_build() {
    #[derive(Deserialize, Type)]
    #[serde(rename_all = "camelCase")]
    struct Other {
        viewer: Option<String>,
        new_session_id: Option<String>,
        viewer_ids: Vec<String>,
    }
    #[derive(Deserialize, Type)]
    enum Sort {
        ViewerId,
        Name,
    }
    assert!(build_error("other", takes::<Other>()).is_none());
    assert!(build_error("sort", takes::<Sort>()).is_none());
    assert!(build_error("scoped", takes::<Option<Scoped>>().guard(ViewerGuard)).is_none());
}

/// A stand-in for tabrpc-sessions' `SessionGuard` (core cannot depend on it): any guard of
/// [`Scope::Session`] goes through the one mechanism, `Procedure::guard`.
struct SessionStandIn;

impl<I: Send + 'static> Guard<Ctx, I> for SessionStandIn {
    const SCOPE: Scope = Scope::Session;
    type Outer = Ctx;

    fn check(
        &self,
        ctx: Ctx,
        _: &I,
        _: ProcedureKind,
    ) -> impl Future<Output = Result<Ctx, Error>> + Send + use<I> {
        std::future::ready(Ok(ctx))
    }
}

#[test]
fn a_session_id_in_any_spelling_needs_the_session_guard() {
    #[derive(Deserialize, Type)]
    #[allow(non_snake_case)]
    struct Cart {
        Session_ID: String,
    }
    let err = build_error("cart.get", takes::<Cart>()).map(|e| e.problems().to_vec());
    let problem = err.as_deref().and_then(<[_]>::first);
    assert_eq!(
        problem.map(|p| p.kind()),
        Some(BuildProblemKind::UnguardedScopeKey {
            scope: Scope::Session
        })
    );
    let message = problem.map(|p| p.message()).unwrap_or_default();
    assert!(message.contains("takes a `sessionId`"), "{message}");
    assert!(message.contains("`.guard(SessionGuard)`"), "{message}");

    // The guard's way in builds, and records the scope.
    let guarded = takes::<Cart>().guard(SessionStandIn);
    assert_eq!(guarded.meta().scopes(), [Scope::Session]);
    assert!(build_error("cart.get", guarded).is_none());

    // Both scopes, each by its guard, in the bindings' order whatever the guards' order.
    let both = takes::<Scoped>().guard(SessionStandIn).guard(ViewerGuard);
    assert_eq!(both.meta().scopes(), [Scope::Viewer, Scope::Session]);
}

#[test]
fn every_problem_is_listed_with_its_path_kind_and_location() {
    #[derive(Deserialize, Type)]
    #[serde(rename_all = "camelCase")]
    struct Both {
        viewer_id: Option<String>,
        session_id: String,
    }
    let first = line!() + 2;
    let err = Router::new()
        .procedure("a.first", takes::<Scoped>())
        .procedure("b.second", takes::<Both>())
        .procedure("bad..path", takes::<u32>())
        .procedure("a.first", takes::<u32>())
        .build()
        .err();
    let problems = err.as_ref().map(BuildError::problems).unwrap_or_default();
    let seen: Vec<_> = problems
        .iter()
        .map(|p| (p.path(), p.kind(), p.location().line() - first))
        .collect();
    let unguarded = |scope| BuildProblemKind::UnguardedScopeKey { scope };
    assert_eq!(
        seen[..4],
        [
            ("a.first", unguarded(Scope::Viewer), 0),
            ("b.second", unguarded(Scope::Viewer), 1),
            ("b.second", unguarded(Scope::Session), 1),
            ("bad..path", BuildProblemKind::InvalidPath, 2),
        ]
    );
    assert!(matches!(
        seen.get(4),
        Some(("a.first", BuildProblemKind::DuplicatePath { first: at }, 3)) if at.line() == first
    ));
    assert!(problems.iter().all(|p| p.location().file() == file!()));
    let text = err.map(|e| e.to_string()).unwrap_or_default();
    assert!(text.starts_with("the router has 5 problems:"), "{text}");
    assert_eq!(text.matches("\n- ").count(), 5, "{text}");
    assert!(text.contains("procedure `b.second` added at"), "{text}");
    assert!(
        text.contains("invalid procedure path `bad..path`"),
        "{text}"
    );
}

// ---------------------------------------------------------------------------------------------
// The run-time backstop: what no type can hide.
// ---------------------------------------------------------------------------------------------

/// Hides the field from the type: `Deserialize` reads `viewerId` (by an alias serde's derive
/// never tells specta about, written by hand) while the type says `{ who?: string }`.
#[derive(Type)]
struct Hidden {
    who: Option<String>,
}

impl<'de> Deserialize<'de> for Hidden {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let map = serde_json::Map::<String, Value>::deserialize(d)?;
        let who = ["who", "viewerId", "ViewerID"]
            .iter()
            .find_map(|k| map.get(*k).and_then(Value::as_str).map(str::to_owned));
        Ok(Hidden { who })
    }
}

async fn get(handler: &Handler<Ctx>, target: &str) -> (u16, Value) {
    let (parts, ()) = http::Request::get(target).body(()).unwrap().into_parts();
    let path = parts.uri.path().to_owned();
    let response = handler
        .handle(&parts, &path, Bytes::new(), |_| async { Ok(Ctx) })
        .await;
    let status = response.status().as_u16();
    let body = match response.into_body() {
        ReplyBody::Full(bytes) => serde_json::from_slice(&bytes).unwrap(),
        ReplyBody::Stream(_) => panic!("a stream"),
    };
    (status, body)
}

fn encode(json: &str) -> String {
    percent_encoding::utf8_percent_encode(json, percent_encoding::NON_ALPHANUMERIC).to_string()
}

#[tokio::test]
async fn an_unguarded_procedure_refuses_a_viewer_id_its_type_hides() {
    let ran = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let flag = ran.clone();
    let hidden = Procedure::query(move |_: Ctx, input: Hidden| {
        flag.store(true, std::sync::atomic::Ordering::SeqCst);
        async move { Ok(input.who) }
    });
    let built = Router::new().procedure("hidden", hidden).build().unwrap();
    let handler = Handler::new(built, Config::default());

    let (status, body) = get(&handler, "/hidden?input=%7B%22who%22%3A%22x%22%7D").await;
    assert_eq!((status, &body["result"]["data"]), (200, &Value::from("x")));
    ran.store(false, std::sync::atomic::Ordering::SeqCst);

    for input in [
        r#"{"ViewerID":"bob"}"#,
        r#"{"who":"x","viewer_id":"bob"}"#,
        r#"{"who":"x","nested":{"sessionId":"s"}}"#,
    ] {
        for target in [
            format!("/hidden?input={}", encode(input)),
            format!(
                "/hidden,hidden?batch=1&input={}",
                encode(&format!("{{\"1\":{input}}}"))
            ),
        ] {
            let (status, body) = get(&handler, &target).await;
            let error = if body.is_array() {
                &body[1]["error"]
            } else {
                &body["error"]
            };
            assert_eq!(error["data"]["code"], "BAD_REQUEST", "{target}: {body}");
            assert_eq!(
                error["data"]["reason"], "reserved_input_key",
                "{target}: {body}"
            );
            assert!(
                error["message"]
                    .as_str()
                    .unwrap_or_default()
                    .contains("reads as `"),
                "{body}"
            );
            assert!(status == 400 || status == 207, "{target}: {status}");
        }
    }
    assert!(
        !ran.load(std::sync::atomic::Ordering::SeqCst),
        "the body ran"
    );
    let _ = ErrorCode::BadRequest;
}
