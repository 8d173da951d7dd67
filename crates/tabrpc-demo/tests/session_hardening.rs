//! Binding data to a caller fails closed, over HTTP against the demo (on SQLite, and on
//! Postgres where it is the store's behaviour): a rotation with refused credentials changes
//! nothing, an anonymous session a signed-in caller uses becomes theirs, queries create no
//! session rows, a cart holds at most 100 lines, and creating sessions in a loop keeps the
//! sessions table bounded.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::collections::BTreeMap;

use serde_json::{Value, json};
use support::{Demo, PgSchema, Reply, attacker, bearer, postgres_url, token_builder, token_for};
use tabrpc::sessions::Database;
use tabrpc_demo::{Db, SessionSettings};

fn new_id() -> String {
    uuid::Uuid::new_v4().to_string()
}

/// The demo on a fresh session store: in-memory SQLite, or its own schema of the test
/// Postgres (`None`, skipped, without one).
struct Setup {
    demo: Demo,
    db: Db,
    schema: Option<PgSchema>,
}

#[derive(Clone, Copy, Debug)]
enum Backend {
    Sqlite,
    Postgres,
}

impl Setup {
    async fn new(backend: Backend) -> Option<Self> {
        Self::tuned(backend, |config| config).await
    }

    async fn tuned(
        backend: Backend,
        tune: impl FnOnce(tabrpc::sessions::StoreConfig) -> tabrpc::sessions::StoreConfig,
    ) -> Option<Self> {
        let (settings, schema) = match backend {
            Backend::Sqlite => (SessionSettings::default(), None),
            Backend::Postgres => {
                let schema = PgSchema::create(&postgres_url()?).await;
                let settings = SessionSettings {
                    database_url: Some(schema.url.clone()),
                    ..SessionSettings::default()
                };
                (settings, Some(schema))
            }
        };
        let db = Db::open_tuned("sqlite::memory:", &settings, tune)
            .await
            .unwrap();
        let demo = Demo::dev_with_db(db.clone()).await;
        Some(Self { demo, db, schema })
    }

    async fn finish(self) {
        drop(self.demo);
        if let Some(schema) = self.schema {
            schema.drop().await;
        }
    }

    /// Rows of `tabrpc_sessions` matching `condition` (SQL), read straight from the database.
    async fn count(&self, condition: &str) -> i64 {
        let sql = format!("SELECT count(*) FROM tabrpc_sessions WHERE {condition}");
        match self.db.sessions().database() {
            Database::Sqlite(pool) => sqlx::query_scalar(&sql).fetch_one(&pool).await.unwrap(),
            Database::Postgres(pool) => sqlx::query_scalar(&sql).fetch_one(&pool).await.unwrap(),
            _ => unreachable!("no other backend"),
        }
    }
}

/// How a call authenticates.
#[derive(Clone)]
enum As {
    Anonymous,
    User(&'static str),
    /// These headers exactly (a refused token, the marker, …).
    Headers(Vec<(&'static str, String)>),
}

async fn call(demo: &Demo, mutation: bool, path: &str, input: Value, who: &As) -> Reply {
    let call = if mutation {
        demo.mutation(path, input)
    } else {
        demo.query(path).input(input)
    };
    match who {
        As::Anonymous => call,
        As::User(user) => call.bearer(&token_for(user)),
        As::Headers(headers) => headers
            .iter()
            .fold(call, |call, (name, value)| call.header(name, value.clone())),
    }
    .send()
    .await
}

async fn add(demo: &Demo, sid: &str, item: &str, who: &As) -> Reply {
    let input = json!({"sessionId": sid, "item": item});
    call(demo, true, "cart.add", input, who).await
}

async fn remove(demo: &Demo, sid: &str, item: &str, who: &As) -> Reply {
    let input = json!({"sessionId": sid, "item": item});
    call(demo, true, "cart.remove", input, who).await
}

async fn get(demo: &Demo, sid: &str, who: &As) -> Reply {
    call(demo, false, "cart.get", json!({"sessionId": sid}), who).await
}

async fn rotate(demo: &Demo, old: &str, new: &str, who: &As) -> Reply {
    let input = json!({"sessionId": old, "newSessionId": new});
    call(demo, true, "session.rotate", input, who).await
}

async fn end(demo: &Demo, sid: &str, who: &As) -> Reply {
    call(demo, true, "session.end", json!({"sessionId": sid}), who).await
}

fn lines(reply: &Reply) -> BTreeMap<String, u64> {
    reply.data()["lines"]
        .as_array()
        .unwrap_or_else(|| panic!("no lines: {}", reply.describe()))
        .iter()
        .map(|l| {
            (
                l["item"].as_str().unwrap().to_owned(),
                l["quantity"].as_u64().unwrap(),
            )
        })
        .collect()
}

async fn cart(demo: &Demo, sid: &str, who: &As) -> BTreeMap<String, u64> {
    lines(&get(demo, sid, who).await)
}

fn cart_of(items: &[(&str, u64)]) -> BTreeMap<String, u64> {
    items.iter().map(|(i, q)| ((*i).to_owned(), *q)).collect()
}

/// `(status, code, data.reason)` of an error reply.
fn refusal(reply: &Reply) -> (u16, String, Option<String>) {
    let json = reply.json();
    (
        reply.status,
        reply.error_code().unwrap_or_default(),
        json.pointer("/error/data/reason")
            .and_then(Value::as_str)
            .map(str::to_owned),
    )
}

fn refused(status: u16, code: &str, reason: &str) -> (u16, String, Option<String>) {
    (status, code.to_owned(), Some(reason.to_owned()))
}

fn message(reply: &Reply) -> String {
    reply.json()["error"]["message"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

/// Credentials that are presented and refused, and the fail-closed marker.
fn refused_credentials() -> Vec<(&'static str, As)> {
    let expired = token_builder("user_alice")
        .expires_in(-3600)
        .sign()
        .unwrap();
    let forged = token_builder("user_alice")
        .signed_by(attacker())
        .sign()
        .unwrap();
    vec![
        (
            "expired token",
            As::Headers(vec![("authorization", bearer(&expired))]),
        ),
        (
            "bad signature",
            As::Headers(vec![("authorization", bearer(&forged))]),
        ),
        (
            "Bearer null",
            As::Headers(vec![("authorization", "Bearer null".to_owned())]),
        ),
        (
            "fail-closed marker",
            As::Headers(vec![("x-tabrpc-auth-required", "1".to_owned())]),
        ),
    ]
}

#[tokio::test]
async fn rotate_with_refused_credentials_answers_invalid_token_and_changes_nothing() {
    let setup = Setup::new(Backend::Sqlite).await.unwrap();
    let demo = &setup.demo;
    let alice = As::User("user_alice");
    // An anonymous tab's cart (the user is signing in), and alice's linked session.
    let tab = new_id();
    add(demo, &tab, "apple", &As::Anonymous).await.data();
    add(demo, &tab, "apple", &As::Anonymous).await.data();
    let linked = new_id();
    add(demo, &linked, "pear", &alice).await.data();
    let before = setup.count("1 = 1").await;

    for (what, who) in refused_credentials() {
        for old in [&tab, &linked] {
            let fresh = new_id();
            let reply = rotate(demo, old, &fresh, &who).await;
            assert_eq!(
                refusal(&reply),
                refused(401, "UNAUTHORIZED", "invalid_token"),
                "{what}: {}",
                reply.describe()
            );
            assert_eq!(
                reply.header("www-authenticate"),
                Some(r#"Bearer error="invalid_token""#),
                "{what}"
            );
        }
    }
    // Nothing moved, nothing was created, nothing ended.
    assert_eq!(setup.count("1 = 1").await, before);
    assert_eq!(
        cart(demo, &tab, &As::Anonymous).await,
        cart_of(&[("apple", 2)])
    );
    assert_eq!(cart(demo, &linked, &alice).await, cart_of(&[("pear", 1)]));

    // With no credentials at all, an anonymous rotation still works (sign-out, a new tab).
    let fresh = new_id();
    let reply = rotate(demo, &tab, &fresh, &As::Anonymous).await;
    assert_eq!(reply.data(), json!({"moved": 1, "linked": false}));
    setup.finish().await;
}

#[tokio::test]
async fn a_linked_session_used_with_refused_credentials_asks_for_a_token_not_a_new_session() {
    let setup = Setup::new(Backend::Sqlite).await.unwrap();
    let demo = &setup.demo;
    let alice = As::User("user_alice");
    let linked = new_id();
    add(demo, &linked, "pear", &alice).await.data();
    for (what, who) in refused_credentials() {
        // 401 (get a token), never 403 session_mismatch (which tells the client to drop
        // the session, and its cart with it).
        for reply in [
            get(demo, &linked, &who).await,
            add(demo, &linked, "stolen", &who).await,
            end(demo, &linked, &who).await,
        ] {
            assert_eq!(reply.status, 401, "{what}: {}", reply.describe());
            assert_eq!(
                reply.error_code().as_deref(),
                Some("UNAUTHORIZED"),
                "{what}"
            );
        }
    }
    assert_eq!(cart(demo, &linked, &alice).await, cart_of(&[("pear", 1)]));
    setup.finish().await;
}

#[tokio::test]
async fn session_errors_carry_a_reason_the_client_can_match() {
    let setup = Setup::new(Backend::Sqlite).await.unwrap();
    let demo = &setup.demo;
    let alice = As::User("user_alice");
    let tab = new_id();
    add(demo, &tab, "apple", &As::Anonymous).await.data();
    let signed_in = new_id();
    rotate(demo, &tab, &signed_in, &alice).await.data();

    // Ended (rotated), through the guard and through a write racing the end.
    for reply in [
        get(demo, &tab, &As::Anonymous).await,
        add(demo, &tab, "apple", &alice).await,
    ] {
        assert_eq!(
            refusal(&reply),
            refused(404, "NOT_FOUND", "session_expired"),
            "{}",
            reply.describe()
        );
        assert_eq!(
            message(&reply),
            "session expired or revoked (rotated): start a new session"
        );
    }
    // Linked to alice: bob and anonymous callers.
    for who in [As::User("user_bob"), As::Anonymous] {
        for reply in [
            get(demo, &signed_in, &who).await,
            rotate(demo, &signed_in, &new_id(), &who).await,
            end(demo, &signed_in, &who).await,
        ] {
            assert_eq!(
                refusal(&reply),
                refused(403, "FORBIDDEN", "session_mismatch"),
                "{}",
                reply.describe()
            );
        }
    }
    setup.finish().await;
}

async fn signed_in_use_links_an_anonymous_session(backend: Backend) {
    let Some(setup) = Setup::new(backend).await else {
        return;
    };
    let demo = &setup.demo;
    let alice = As::User("user_alice");
    // Read while signed in, and written while signed in.
    let (read_tab, written_tab) = (new_id(), new_id());
    for tab in [&read_tab, &written_tab] {
        add(demo, tab, "apple", &As::Anonymous).await.data();
    }
    assert_eq!(
        cart(demo, &read_tab, &alice).await,
        cart_of(&[("apple", 1)])
    );
    add(demo, &written_tab, "pear", &alice).await.data();

    for tab in [&read_tab, &written_tab] {
        for who in [As::Anonymous, As::User("user_bob")] {
            for reply in [
                get(demo, tab, &who).await,
                add(demo, tab, "fig", &who).await,
                remove(demo, tab, "apple", &who).await,
            ] {
                assert_eq!(
                    refusal(&reply),
                    refused(403, "FORBIDDEN", "session_mismatch"),
                    "{backend:?}: {}",
                    reply.describe()
                );
            }
        }
    }
    assert_eq!(
        cart(demo, &read_tab, &alice).await,
        cart_of(&[("apple", 1)])
    );
    assert_eq!(
        cart(demo, &written_tab, &alice).await,
        cart_of(&[("apple", 1), ("pear", 1)])
    );
    // The client's sign-in rotation still works from a session linked this way.
    let fresh = new_id();
    let reply = rotate(demo, &read_tab, &fresh, &alice).await;
    assert_eq!(reply.data(), json!({"moved": 1, "linked": true}));
    setup.finish().await;
}

#[tokio::test]
async fn a_signed_in_use_links_an_anonymous_session_on_sqlite() {
    signed_in_use_links_an_anonymous_session(Backend::Sqlite).await;
}

#[tokio::test]
async fn a_signed_in_use_links_an_anonymous_session_on_postgres() {
    signed_in_use_links_an_anonymous_session(Backend::Postgres).await;
}

async fn queries_create_no_session_rows(backend: Backend) {
    let Some(setup) = Setup::new(backend).await else {
        return;
    };
    let demo = &setup.demo;
    for n in 0..20 {
        let who = if n % 2 == 0 {
            As::Anonymous
        } else {
            As::User("user_alice")
        };
        assert_eq!(cart(demo, &new_id(), &who).await, cart_of(&[]));
    }
    assert_eq!(
        setup.count("1 = 1").await,
        0,
        "{backend:?}: queries made rows"
    );

    // The first write creates the session (linked to a signed-in writer).
    let tab = new_id();
    assert_eq!(
        cart(demo, &tab, &As::User("user_alice")).await,
        cart_of(&[])
    );
    add(demo, &tab, "apple", &As::User("user_alice"))
        .await
        .data();
    assert_eq!(setup.count("1 = 1").await, 1);
    assert_eq!(setup.count("user_id = 'user_alice'").await, 1);
    setup.finish().await;
}

#[tokio::test]
async fn queries_create_no_session_rows_on_sqlite() {
    queries_create_no_session_rows(Backend::Sqlite).await;
}

#[tokio::test]
async fn queries_create_no_session_rows_on_postgres() {
    queries_create_no_session_rows(Backend::Postgres).await;
}

async fn a_cart_holds_at_most_100_lines(backend: Backend) {
    let Some(setup) = Setup::new(backend).await else {
        return;
    };
    let demo = &setup.demo;
    let anonymous = As::Anonymous;
    let tab = new_id();
    for n in 0..100 {
        add(demo, &tab, &format!("item-{n:03}"), &anonymous)
            .await
            .data();
    }
    let reply = add(demo, &tab, "one-too-many", &anonymous).await;
    assert_eq!(
        (reply.status, reply.error_code().as_deref()),
        (409, Some("CONFLICT")),
        "{backend:?}: {}",
        reply.describe()
    );
    assert!(message(&reply).contains("100"), "{}", message(&reply));
    assert_eq!(cart(demo, &tab, &anonymous).await.len(), 100);
    // More of an item already there is fine; a freed line can be used.
    let reply = add(demo, &tab, "item-000", &anonymous).await;
    assert_eq!(lines(&reply)["item-000"], 2);
    remove(demo, &tab, "item-001", &anonymous).await.data();
    add(demo, &tab, "one-too-many", &anonymous).await.data();

    // A rotation whose merge would pass the limit is refused, and changes nothing.
    let alice = As::User("user_alice");
    let (mine, other_tab) = (new_id(), new_id());
    for n in 0..60 {
        add(demo, &mine, &format!("mine-{n:02}"), &alice)
            .await
            .data();
        add(demo, &other_tab, &format!("tab-{n:02}"), &anonymous)
            .await
            .data();
    }
    let reply = rotate(demo, &other_tab, &mine, &alice).await;
    assert_eq!(
        (reply.status, reply.error_code().as_deref()),
        (409, Some("CONFLICT")),
        "{backend:?}: {}",
        reply.describe()
    );
    assert!(message(&reply).contains("100"), "{}", message(&reply));
    assert_eq!(cart(demo, &other_tab, &anonymous).await.len(), 60);
    assert_eq!(cart(demo, &mine, &alice).await.len(), 60);
    // Into a fresh id (what the client does at sign-in) it moves.
    let reply = rotate(demo, &other_tab, &new_id(), &alice).await;
    assert_eq!(reply.data(), json!({"moved": 60, "linked": true}));
    setup.finish().await;
}

#[tokio::test]
async fn a_cart_holds_at_most_100_lines_on_sqlite() {
    a_cart_holds_at_most_100_lines(Backend::Sqlite).await;
}

#[tokio::test]
async fn a_cart_holds_at_most_100_lines_on_postgres() {
    a_cart_holds_at_most_100_lines(Backend::Postgres).await;
}

async fn creating_sessions_in_a_loop_keeps_the_table_bounded(backend: Backend) {
    let Some(setup) = Setup::tuned(backend, |config| {
        config
            .max_anonymous_sessions(10)
            .max_sessions_per_user(3)
            .max_ended_sessions(35)
    })
    .await
    else {
        return;
    };
    let demo = &setup.demo;
    let alice = As::User("user_alice");
    // A visitor's cart, then one client creating anonymous sessions in a loop.
    let visitor = new_id();
    add(demo, &visitor, "apple", &As::Anonymous).await.data();
    let mut made = Vec::new();
    for _ in 0..40 {
        let tab = new_id();
        add(demo, &tab, "spam", &As::Anonymous).await.data();
        made.push(tab);
    }
    let live_anonymous = "ended_at IS NULL AND user_id IS NULL";
    assert_eq!(setup.count(live_anonymous).await, 10, "{backend:?}");
    assert_eq!(setup.count("ended_at IS NOT NULL").await, 31, "{backend:?}");
    // The least recently used went first, with their data; the newest are served.
    let reply = get(demo, &visitor, &As::Anonymous).await;
    assert_eq!(
        refusal(&reply),
        refused(404, "NOT_FOUND", "session_expired"),
        "{backend:?}: {}",
        reply.describe()
    );
    for tab in &made[30..] {
        assert_eq!(
            cart(demo, tab, &As::Anonymous).await,
            cart_of(&[("spam", 1)])
        );
    }
    // Sign-outs of ids never seen, and a signed-in client making sessions: bounded too.
    for _ in 0..20 {
        end(demo, &new_id(), &As::Anonymous).await.json();
        add(demo, &new_id(), "spam", &alice).await.data();
    }
    assert_eq!(
        setup
            .count("ended_at IS NULL AND user_id = 'user_alice'")
            .await,
        3,
        "{backend:?}"
    );
    // 31 evicted above, 20 ids ended and 17 of alice's evicted here: the oldest forgotten.
    assert_eq!(setup.count("ended_at IS NOT NULL").await, 35, "{backend:?}");
    assert_eq!(setup.count("1 = 1").await, 10 + 3 + 35, "{backend:?}");
    let rows: i64 = {
        let sql = "SELECT count(*) FROM cart_items";
        match setup.db.sessions().database() {
            Database::Sqlite(pool) => sqlx::query_scalar(sql).fetch_one(&pool).await.unwrap(),
            Database::Postgres(pool) => sqlx::query_scalar(sql).fetch_one(&pool).await.unwrap(),
            _ => unreachable!("no other backend"),
        }
    };
    assert_eq!(
        rows,
        10 + 3,
        "{backend:?}: the ended sessions' carts are deleted"
    );
    setup.finish().await;
}

#[tokio::test]
async fn creating_sessions_in_a_loop_keeps_the_table_bounded_on_sqlite() {
    creating_sessions_in_a_loop_keeps_the_table_bounded(Backend::Sqlite).await;
}

#[tokio::test]
async fn creating_sessions_in_a_loop_keeps_the_table_bounded_on_postgres() {
    creating_sessions_in_a_loop_keeps_the_table_bounded(Backend::Postgres).await;
}
