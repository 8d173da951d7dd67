//! The cart over HTTP, end to end through the demo app on `127.0.0.1:0`: per-tab carts that
//! survive a restart, the move to the account at sign-in under concurrent adds, sign-out, and
//! two instances sharing one Postgres.

#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::sync::OnceLock;

use serde_json::{Value, json};
use tabrpc::auth::dev_idp::DevIdp;

use crate::{Auth, AuthSettings, Db, Issuer};

const ISSUER: &str = "http://cart.tabrpc.test";

fn idp() -> &'static DevIdp {
    static IDP: OnceLock<DevIdp> = OnceLock::new();
    IDP.get_or_init(|| DevIdp::generate(ISSUER).expect("key"))
}

fn token(user: &str) -> String {
    idp()
        .sign_session(user, &format!("sess_{user}"), None)
        .expect("sign")
}

fn new_id() -> String {
    uuid::Uuid::new_v4().to_string()
}

struct Demo {
    base: String,
    client: reqwest::Client,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Demo {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Demo {
    async fn start(db: Db) -> Self {
        let settings = AuthSettings {
            issuer: Issuer::DevIdp {
                key_pem: Some(idp().private_key_pem().as_bytes().to_vec()),
            },
            ..AuthSettings::default()
        };
        let auth = Auth::from_settings(&settings, ISSUER).await.expect("auth");
        let app = crate::app(db, auth, tabrpc::wire::Config::default()).expect("app");
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let base = format!("http://{}/trpc", listener.local_addr().expect("addr"));
        let task = tokio::spawn(async move {
            let _ = tabrpc::axum::serve(listener, app).await;
        });
        Self {
            base,
            client: reqwest::Client::new(),
            task,
        }
    }

    async fn call(
        &self,
        mutation: bool,
        path: &str,
        input: Value,
        user: Option<&str>,
    ) -> (u16, Value) {
        let url = format!("{}/{path}", self.base);
        let mut request = if mutation {
            self.client.post(url).json(&input)
        } else {
            self.client.get(url).query(&[("input", input.to_string())])
        };
        if let Some(user) = user {
            request = request.bearer_auth(token(user));
        }
        let response = request.send().await.expect("request");
        (
            response.status().as_u16(),
            response.json().await.expect("JSON"),
        )
    }

    async fn add(&self, sid: &str, item: &str, user: Option<&str>) -> (u16, Value) {
        self.call(
            true,
            "cart.add",
            json!({"sessionId": sid, "item": item}),
            user,
        )
        .await
    }

    /// The cart as `{item: quantity}`; panics unless the call succeeds.
    async fn cart(&self, sid: &str, user: Option<&str>) -> BTreeMap<String, u64> {
        let (status, body) = self
            .call(false, "cart.get", json!({"sessionId": sid}), user)
            .await;
        assert_eq!(status, 200, "{body}");
        lines(&body["result"]["data"])
    }
}

fn lines(cart: &Value) -> BTreeMap<String, u64> {
    cart["lines"]
        .as_array()
        .expect("lines")
        .iter()
        .map(|l| {
            (
                l["item"].as_str().unwrap().to_owned(),
                l["quantity"].as_u64().unwrap(),
            )
        })
        .collect()
}

fn code(body: &Value) -> &str {
    body["error"]["data"]["code"].as_str().unwrap_or_default()
}

#[tokio::test]
async fn carts_are_per_tab_and_move_to_the_account_at_sign_in() {
    let demo = Demo::start(Db::open("sqlite::memory:").await.unwrap()).await;
    let (tab_a, tab_b) = (new_id(), new_id());
    demo.add(&tab_a, "apple", None).await;
    demo.add(&tab_a, "apple", None).await;
    demo.add(&tab_a, "pear", None).await;
    demo.add(&tab_b, "fig", None).await;
    let (status, body) = demo
        .call(
            true,
            "cart.remove",
            json!({"sessionId": tab_a, "item": "pear"}),
            None,
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        lines(&body["result"]["data"]),
        BTreeMap::from([("apple".into(), 2)])
    );
    assert_eq!(
        demo.cart(&tab_b, None).await,
        BTreeMap::from([("fig".into(), 1)])
    );

    let (status, body) = demo
        .call(
            true,
            "cart.add",
            json!({"sessionId": tab_a, "item": "x", "quantity": 0}),
            None,
        )
        .await;
    assert_eq!((status, code(&body)), (400, "BAD_REQUEST"));
    let (status, body) = demo.add("not-a-session", "apple", None).await;
    assert_eq!((status, code(&body)), (400, "BAD_REQUEST"));
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("expected a UUID v4"),
        "{body}"
    );

    // Sign-in in tab A: the client rotates to a new id with the token attached.
    let signed_in = new_id();
    let (status, body) = demo
        .call(
            true,
            "session.rotate",
            json!({"sessionId": tab_a, "newSessionId": signed_in}),
            Some("user_alice"),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["result"]["data"], json!({"moved": 1, "linked": true}));
    assert_eq!(
        demo.cart(&signed_in, Some("user_alice")).await,
        BTreeMap::from([("apple".into(), 2)])
    );
    let (status, body) = demo
        .call(false, "cart.get", json!({"sessionId": tab_a}), None)
        .await;
    assert_eq!((status, code(&body)), (404, "NOT_FOUND"), "{body}");
    for user in [Some("user_bob"), None] {
        let (status, body) = demo.add(&signed_in, "stolen", user).await;
        assert_eq!((status, code(&body)), (403, "FORBIDDEN"), "{body}");
    }
    assert_eq!(
        demo.cart(&tab_b, None).await.len(),
        1,
        "the other tab is untouched"
    );

    // Sign-out: the data goes with the session.
    let (status, _) = demo
        .call(
            true,
            "session.end",
            json!({"sessionId": signed_in}),
            Some("user_alice"),
        )
        .await;
    assert_eq!(status, 200);
    let (status, body) = demo
        .call(
            false,
            "cart.get",
            json!({"sessionId": signed_in}),
            Some("user_alice"),
        )
        .await;
    assert_eq!((status, code(&body)), (404, "NOT_FOUND"));
}

#[tokio::test]
async fn a_cart_survives_a_restart_of_the_demo() {
    let path = std::env::temp_dir().join(format!(
        "tabrpc-demo-cart-{}.db",
        uuid::Uuid::new_v4().simple()
    ));
    let url = format!("sqlite://{}", path.display());
    let tab = new_id();
    {
        let demo = Demo::start(Db::open(&url).await.unwrap()).await;
        demo.add(&tab, "apple", None).await;
    }
    let demo = Demo::start(Db::open(&url).await.unwrap()).await;
    assert_eq!(
        demo.cart(&tab, None).await,
        BTreeMap::from([("apple".into(), 1)])
    );
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
    }
}

/// Sign-in through `rotator` while `adder` takes 60 concurrent adds to the old id: each
/// add that answered 200 is in the account's cart exactly once, the others answered 404.
async fn sign_in_under_concurrent_adds(adder: &Demo, rotator: &Demo) {
    let (old, new) = (new_id(), new_id());
    adder.add(&old, "apple", None).await;
    let adds = (0..60).map(|n| {
        let item = ["apple", "fig", "pear"][n % 3];
        let old = old.clone();
        async move {
            tokio::time::sleep(std::time::Duration::from_millis(n as u64)).await;
            let (status, body) = adder.add(&old, item, None).await;
            match status {
                200 => Some(item),
                404 => None,
                _ => panic!("an add answered {status}: {body}"),
            }
        }
    });
    let rotate = async {
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        rotator
            .call(
                true,
                "session.rotate",
                json!({"sessionId": old, "newSessionId": new}),
                Some("user_carol"),
            )
            .await
    };
    let (results, (status, body)) = tokio::join!(futures_util::future::join_all(adds), rotate);
    assert_eq!(status, 200, "{body}");
    let mut expected = BTreeMap::from([("apple".to_owned(), 1)]);
    for item in results.into_iter().flatten() {
        *expected.entry(item.to_owned()).or_default() += 1;
    }
    let landed: u64 = expected.values().sum::<u64>() - 1;
    assert!(
        landed > 0 && landed < 60,
        "{landed} of 60 adds landed: no race"
    );
    assert_eq!(rotator.cart(&new, Some("user_carol")).await, expected);
    assert_eq!(adder.cart(&new, Some("user_carol")).await, expected);
}

#[tokio::test]
async fn sign_in_under_concurrent_adds_on_sqlite() {
    let demo = Demo::start(Db::open("sqlite::memory:").await.unwrap()).await;
    sign_in_under_concurrent_adds(&demo, &demo).await;
}

/// The test Postgres URL (tests/run.sh sets it); `None` skips loudly, except under CI.
fn postgres_url() -> Option<String> {
    const VAR: &str = "TABRPC_TEST_POSTGRES_URL";
    match std::env::var(VAR) {
        Ok(url) if !url.is_empty() => Some(url),
        _ if std::env::var("CI").is_ok_and(|v| v == "true") => {
            panic!(
                "{VAR} is not set: the Postgres demo tests must run under CI (tests/run.sh sets it)"
            )
        }
        _ => {
            eprintln!(
                "\n!!! SKIPPED: {VAR} is not set, so this Postgres test did not run. Run `bash tests/run.sh`. !!!\n"
            );
            None
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_demo_instances_share_sessions_and_carts_on_postgres() {
    let Some(url) = postgres_url() else { return };
    // A schema of its own, as TABRPC_SESSION_DATABASE_URL may name with `options`.
    let schema = format!("tabrpc_demo_test_{}", uuid::Uuid::new_v4().simple());
    let admin = sqlx::PgPool::connect(&url).await.unwrap();
    sqlx::query(&format!("CREATE SCHEMA {schema}"))
        .execute(&admin)
        .await
        .unwrap();
    let separator = if url.contains('?') { '&' } else { '?' };
    let session_url = format!("{url}{separator}options=-c%20search_path%3D{schema}");

    let open = || async {
        Db::open("sqlite::memory:")
            .await
            .unwrap()
            .with_postgres_sessions(&session_url)
            .await
            .unwrap()
    };
    let (db_one, db_two) = tokio::join!(open(), open());
    let (one, two) = (Demo::start(db_one).await, Demo::start(db_two).await);

    let tab = new_id();
    one.add(&tab, "apple", None).await;
    two.add(&tab, "apple", None).await;
    assert_eq!(
        one.cart(&tab, None).await,
        BTreeMap::from([("apple".into(), 2)])
    );
    sign_in_under_concurrent_adds(&two, &one).await;

    sqlx::query(&format!("DROP SCHEMA {schema} CASCADE"))
        .execute(&admin)
        .await
        .unwrap();
}
