//! live.md section 1 over real sockets: `live.events` delivers the verified caller's account,
//! the session it may use and public events, never another account's; nothing in the input
//! widens that; ids resume within the retention window and reset beyond it or after a restart;
//! the stream ends with its token; a stalled stream is bounded and gets a reset; two demo
//! instances on one Postgres deliver each other's events.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use futures_util::StreamExt;
use serde_json::{Value, json};
use support::*;
use tabrpc::plumbing::protocol::MARKER_HEADER;
use tabrpc_demo::{Db, SessionSettings};

/// How long a test waits to be sure an event does not come.
const QUIET: Duration = Duration::from_millis(300);

/// One server-sent event.
#[derive(Debug, Clone)]
struct SseEvent {
    /// `event:` (empty for a plain data event).
    event: String,
    id: Option<String>,
    data: Value,
}

/// A `live.events` stream read over a real socket.
struct Stream {
    body: futures_util::stream::BoxStream<'static, reqwest::Result<Vec<u8>>>,
    buffer: String,
    ended: bool,
}

/// Opens `live.events` with `input`, a bearer `token` (or none) and a `Last-Event-ID`.
async fn open(demo: &Demo, token: Option<&str>, input: Value, last: Option<&str>) -> Stream {
    open_with(demo, token, input, last, &[]).await
}

/// [`open`] with extra request headers.
async fn open_with(
    demo: &Demo,
    token: Option<&str>,
    input: Value,
    last: Option<&str>,
    headers: &[(&str, String)],
) -> Stream {
    let mut request = client()
        .get(demo.url("/trpc/live.events"))
        .query(&[("input", input.to_string())])
        .header("accept", "text/event-stream");
    for (name, value) in headers {
        request = request.header(*name, value);
    }
    if let Some(token) = token {
        request = request.header("authorization", bearer(token));
    }
    if let Some(last) = last {
        request = request.header("last-event-id", last);
    }
    let response = tokio::time::timeout(STEP, request.send())
        .await
        .expect("the stream answers")
        .expect("the request is sent");
    assert_eq!(response.status(), 200);
    let mut stream = Stream {
        body: response
            .bytes_stream()
            .map(|chunk| chunk.map(|bytes| bytes.to_vec()))
            .boxed(),
        buffer: String::new(),
        ended: false,
    };
    let connected = stream.next_within(STEP).await.expect("event: connected");
    assert_eq!(connected.event, "connected");
    stream
}

impl Stream {
    /// The next event within `limit`, `None` if none came or the stream ended.
    async fn next_within(&mut self, limit: Duration) -> Option<SseEvent> {
        let deadline = tokio::time::Instant::now() + limit;
        loop {
            if let Some(end) = self.buffer.find("\n\n") {
                let block: String = self.buffer.drain(..end + 2).collect();
                let (mut event, mut id, mut data) = (String::new(), None, String::new());
                for line in block.lines() {
                    if let Some(v) = line.strip_prefix("event:") {
                        event = v.trim().to_owned();
                    } else if let Some(v) = line.strip_prefix("id:") {
                        id = Some(v.trim().to_owned());
                    } else if let Some(v) = line.strip_prefix("data:") {
                        data.push_str(v.trim());
                    }
                }
                if event == "ping" || (event.is_empty() && data.is_empty()) {
                    continue;
                }
                let data = serde_json::from_str(&data).unwrap_or(Value::Null);
                return Some(SseEvent { event, id, data });
            }
            if self.ended {
                return None;
            }
            match tokio::time::timeout_at(deadline, self.body.next()).await {
                Ok(Some(Ok(bytes))) => self.buffer.push_str(&String::from_utf8_lossy(&bytes)),
                Ok(Some(Err(_)) | None) => self.ended = true,
                Err(_) => return None,
            }
        }
    }

    /// The next event, which must come within [`STEP`].
    async fn next(&mut self) -> SseEvent {
        self.next_within(STEP).await.expect("an event within STEP")
    }

    /// Asserts nothing arrives for [`QUIET`].
    async fn quiet(&mut self) {
        if let Some(event) = self.next_within(QUIET).await {
            panic!("unexpected event {event:?}");
        }
    }
}

/// Sets `user`'s display name through the API.
async fn set_name(demo: &Demo, user: &str, name: &str) {
    let reply = demo
        .mutation("profile.setDisplayName", json!({ "displayName": name }))
        .bearer(&token_for(user))
        .send()
        .await;
    assert_eq!(reply.data()["displayName"], name, "{}", reply.describe());
}

fn ready(account: Option<&str>, session: Option<&str>) -> Value {
    json!({ "type": "ready", "account": account, "session": session })
}

fn profile_changed(user: &str) -> Value {
    json!({
        "type": "invalidate",
        "scope": { "kind": "account", "id": user },
        "paths": ["profile.getUser"],
        "prefixes": [],
        "input": null,
    })
}

fn cart_changed(session: &str) -> Value {
    json!({
        "type": "invalidate",
        "scope": { "kind": "session", "id": session },
        "paths": [],
        "prefixes": ["cart"],
        "input": null,
    })
}

fn new_session() -> String {
    uuid::Uuid::new_v4().to_string()
}

#[tokio::test]
async fn an_account_receives_its_own_events_and_never_another_accounts() {
    let demo = Demo::dev().await;
    let mut alice = open(&demo, Some(&token_for("user_alice")), json!({}), None).await;
    let mut bob = open(&demo, Some(&token_for("user_bob")), json!({}), None).await;
    assert_eq!(alice.next().await.data, ready(Some("user_alice"), None));
    assert_eq!(bob.next().await.data, ready(Some("user_bob"), None));

    set_name(&demo, "user_alice", "Alice A.").await;
    let event = alice.next().await;
    assert_eq!(event.data, profile_changed("user_alice"));
    assert!(event.id.is_some_and(|id| !id.is_empty()));
    // Bob's next event is his own change: Alice's was never sent to him.
    set_name(&demo, "user_bob", "Bob B.").await;
    assert_eq!(bob.next().await.data, profile_changed("user_bob"));
    alice.quiet().await;

    // The refetch the event triggers answers the stored name.
    let user = demo
        .query("profile.getUser")
        .bearer(&token_for("user_alice"))
        .send()
        .await
        .data();
    assert_eq!(user["displayName"], "Alice A.");
}

#[tokio::test]
async fn a_client_cannot_widen_its_scopes() {
    let demo = Demo::dev().await;
    let alice = token_for("user_alice");
    // Naming another account is refused before the stream starts (in-stream, as wire.md
    // section 4 says), and so is naming one while anonymous.
    let mut wrong = open(&demo, Some(&alice), json!({ "viewerId": "user_bob" }), None).await;
    let error = wrong.next().await;
    assert_eq!(error.event, "serialized-error");
    assert_eq!(error.data["data"]["code"], "FORBIDDEN");
    let mut anonymous = open(&demo, None, json!({ "viewerId": "user_bob" }), None).await;
    let error = anonymous.next().await;
    assert_eq!(error.data["data"]["code"], "UNAUTHORIZED");

    // Fields that look like scopes are ignored: the stream is Alice's and only hers.
    let widened = json!({
        "viewerId": "user_alice",
        "account": "user_bob",
        "scope": { "kind": "account", "id": "user_bob" },
        "scopes": [{ "kind": "account", "id": "user_bob" }],
    });
    let mut stream = open(&demo, Some(&alice), widened, None).await;
    assert_eq!(stream.next().await.data, ready(Some("user_alice"), None));
    set_name(&demo, "user_bob", "Bob").await;
    set_name(&demo, "user_alice", "Alice").await;
    assert_eq!(stream.next().await.data, profile_changed("user_alice"));
    stream.quiet().await;

    // An anonymous stream gets no account events at all.
    let mut anonymous = open(&demo, None, json!({}), None).await;
    assert_eq!(anonymous.next().await.data, ready(None, None));
    set_name(&demo, "user_alice", "Alice again").await;
    anonymous.quiet().await;
}

#[tokio::test]
async fn a_tab_with_the_fail_closed_marker_is_anonymous_and_never_the_cookies_account() {
    let demo = Demo::dev().await;
    // A signed-out tab while another tab's account holds the shared cookie: the client sends
    // the marker, so the cookie is refused and the stream is the anonymous tab's own (public and
    // its session), never Alice's.
    let mine = new_session();
    let headers = [
        (MARKER_HEADER, "1".to_owned()),
        ("cookie", session_cookie(&token_for("user_alice"))),
    ];
    let mut tab = open_with(&demo, None, json!({ "sessionId": mine }), None, &headers).await;
    assert_eq!(tab.next().await.data, ready(None, Some(&mine)));
    set_name(&demo, "user_alice", "Alice via cookie").await;
    let added = demo
        .mutation("cart.add", json!({ "sessionId": mine, "item": "plum" }))
        .send()
        .await;
    assert_eq!(added.status, 200, "{}", added.describe());
    // The cart's event arrives; Alice's profile event never did (it would have come first).
    assert_eq!(tab.next().await.data, cart_changed(&mine));
    tab.quiet().await;
}

#[tokio::test]
async fn a_session_reaches_its_tabs_and_a_linked_one_only_its_account() {
    let demo = Demo::dev().await;
    // An anonymous tab's cart: its stream gets the cart's events, another session's does not.
    let (mine, other) = (new_session(), new_session());
    let mut tab = open(&demo, None, json!({ "sessionId": mine }), None).await;
    let mut elsewhere = open(&demo, None, json!({ "sessionId": other }), None).await;
    assert_eq!(tab.next().await.data, ready(None, Some(&mine)));
    assert_eq!(elsewhere.next().await.data, ready(None, Some(&other)));
    let added = demo
        .mutation("cart.add", json!({ "sessionId": mine, "item": "apple" }))
        .send()
        .await;
    assert_eq!(added.status, 200, "{}", added.describe());
    assert_eq!(tab.next().await.data, cart_changed(&mine));
    elsewhere.quiet().await;

    // Alice uses a session: it is linked to her account from then on.
    let linked = new_session();
    let alice = token_for("user_alice");
    let added = demo
        .mutation("cart.add", json!({ "sessionId": linked, "item": "pear" }))
        .bearer(&alice)
        .send()
        .await;
    assert_eq!(added.status, 200, "{}", added.describe());
    // Bob, or an anonymous tab, naming it is refused; Alice gets its events.
    let mut bob = open(
        &demo,
        Some(&token_for("user_bob")),
        json!({ "sessionId": linked }),
        None,
    )
    .await;
    let error = bob.next().await;
    assert_eq!(error.event, "serialized-error");
    assert_eq!(error.data["data"]["code"], "FORBIDDEN");
    let mut anonymous = open(&demo, None, json!({ "sessionId": linked }), None).await;
    assert_eq!(anonymous.next().await.event, "serialized-error");
    let mut own = open(&demo, Some(&alice), json!({ "sessionId": linked }), None).await;
    assert_eq!(
        own.next().await.data,
        ready(Some("user_alice"), Some(&linked))
    );
    let removed = demo
        .mutation(
            "cart.remove",
            json!({ "sessionId": linked, "item": "pear" }),
        )
        .bearer(&alice)
        .send()
        .await;
    assert_eq!(removed.status, 200, "{}", removed.describe());
    assert_eq!(own.next().await.data, cart_changed(&linked));

    // A malformed session id is a clear 400, not a stream.
    let mut bad = open(&demo, None, json!({ "sessionId": "not-a-uuid" }), None).await;
    let error = bad.next().await;
    assert_eq!(error.data["data"]["code"], "BAD_REQUEST");
}

#[tokio::test]
async fn a_reconnection_replays_what_it_missed_and_an_unknown_id_gets_a_reset() {
    let db = Db::open("sqlite::memory:").await.unwrap();
    let demo = Demo::dev_with_db(db).await;
    let alice = token_for("user_alice");
    let mut stream = open(&demo, Some(&alice), json!({}), None).await;
    let first_ready = stream.next().await;
    set_name(&demo, "user_alice", "one").await;
    let seen = stream.next().await.id.unwrap();
    drop(stream);

    set_name(&demo, "user_bob", "not for alice").await;
    set_name(&demo, "user_alice", "two").await;
    set_name(&demo, "user_alice", "three").await;
    // Header or input field: both resume after the id.
    for (header, input) in [
        (Some(seen.as_str()), json!({})),
        (None, json!({ "lastEventId": seen })),
    ] {
        let mut again = open(&demo, Some(&alice), input, header).await;
        let ready_event = again.next().await;
        assert_eq!(ready_event.data, ready(Some("user_alice"), None));
        assert_eq!(ready_event.id.as_deref(), Some(seen.as_str()));
        let two = again.next().await;
        let three = again.next().await;
        assert_eq!(two.data, profile_changed("user_alice"));
        assert_eq!(three.data, profile_changed("user_alice"));
        assert_ne!(two.id, three.id);
        again.quiet().await;
    }

    // An id this process never made (another process's, a restart's): reset, then live.
    let restarted = Demo::dev().await;
    let mut after_restart = open(&restarted, Some(&alice), json!({}), Some(&seen)).await;
    assert_eq!(
        after_restart.next().await.data,
        ready(Some("user_alice"), None)
    );
    let reset = after_restart.next().await;
    assert_eq!(reset.data, json!({ "type": "reset", "scope": null }));
    set_name(&restarted, "user_alice", "four").await;
    assert_eq!(
        after_restart.next().await.data,
        profile_changed("user_alice")
    );
    assert!(first_ready.id.is_some());
}

#[tokio::test]
async fn an_id_beyond_the_retention_window_gets_a_reset() {
    let db = Db::open("sqlite::memory:").await.unwrap();
    let demo = Demo::dev_with_db(db.clone()).await;
    let alice = token_for("user_alice");
    let mut stream = open(&demo, Some(&alice), json!({}), None).await;
    stream.next().await;
    set_name(&demo, "user_alice", "kept").await;
    let seen = stream.next().await.id.unwrap();
    drop(stream);
    // More events than the window (1024) holds, of any scope.
    for n in 0..1100 {
        db.live()
            .account(format!("user_{n}"))
            .invalidate(["profile.getUser"])
            .await
            .unwrap();
    }
    let mut again = open(&demo, Some(&alice), json!({}), Some(&seen)).await;
    again.next().await;
    assert_eq!(
        again.next().await.data,
        json!({ "type": "reset", "scope": null })
    );
}

#[tokio::test]
async fn the_stream_ends_when_its_token_expires() {
    let demo = Demo::dev().await;
    let exp = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
        + 2;
    let token = token_builder("user_alice")
        .claim("exp", exp)
        .sign()
        .unwrap();
    let mut stream = open(&demo, Some(&token), json!({}), None).await;
    assert_eq!(stream.next().await.data, ready(Some("user_alice"), None));
    // Nothing more, and then the end: no `event: return`, so the client reconnects.
    let next = stream.next_within(Duration::from_secs(5)).await;
    assert!(next.is_none(), "{next:?}");
    assert!(stream.ended, "the stream is still open after exp");
    let ended_at = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs_f64();
    assert!(
        ended_at <= exp as f64 + 0.5,
        "ended at {ended_at}, exp {exp}"
    );
}

#[tokio::test]
async fn a_stalled_stream_is_bounded_and_gets_a_reset() {
    let db = Db::open("sqlite::memory:").await.unwrap();
    let demo = Demo::dev_with_db(db.clone()).await;
    let mut stream = open(&demo, Some(&token_for("user_alice")), json!({}), None).await;
    stream.next().await;
    // The client reads nothing while far more is published than the socket buffers hold
    // (each event is over 200 bytes: 40 MB in all).
    let long = format!("profile.{}", "x".repeat(190));
    const PUBLISHED: usize = 200_000;
    for _ in 0..PUBLISHED {
        db.live()
            .account("user_alice")
            .invalidate([long.as_str()])
            .await
            .unwrap();
    }
    let (mut invalidations, mut resets) = (0, 0);
    while let Some(event) = stream.next_within(Duration::from_secs(2)).await {
        match event.data["type"].as_str() {
            Some("invalidate") => invalidations += 1,
            Some("reset") => {
                resets += 1;
                break;
            }
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(resets, 1, "after {invalidations} invalidations");
    assert!(invalidations < PUBLISHED, "{invalidations}");
    // The stream is still live after its reset.
    set_name(&demo, "user_alice", "after").await;
    loop {
        let event = stream.next().await;
        if event.data == profile_changed("user_alice") {
            break;
        }
        assert_eq!(event.data["type"], "invalidate", "{event:?}");
    }
    assert_eq!(db.live().streams(), 1);
}

#[tokio::test]
async fn two_instances_on_one_postgres_deliver_each_others_events() {
    let Some(url) = postgres_url() else { return };
    let schema = PgSchema::create(&url).await;
    let settings = SessionSettings {
        database_url: Some(schema.url.clone()),
        ..SessionSettings::default()
    };
    // One demo database file for both, as two instances of one app would share it.
    let file = std::env::temp_dir().join(format!("tabrpc-live-{}.db", uuid::Uuid::new_v4()));
    let sqlite = format!("sqlite://{}", file.display());
    let one = Demo::dev_with_db(Db::open_with(&sqlite, &settings).await.unwrap()).await;
    let two = Demo::dev_with_db(Db::open_with(&sqlite, &settings).await.unwrap()).await;
    let alice = token_for("user_alice");

    let mut on_two = open(&two, Some(&alice), json!({}), None).await;
    let mut bob_on_two = open(&two, Some(&token_for("user_bob")), json!({}), None).await;
    assert_eq!(on_two.next().await.data, ready(Some("user_alice"), None));
    bob_on_two.next().await;
    set_name(&one, "user_alice", "from one").await;
    let event = on_two.next().await;
    assert_eq!(event.data, profile_changed("user_alice"));
    let user = two
        .query("profile.getUser")
        .bearer(&alice)
        .send()
        .await
        .data();
    assert_eq!(user["displayName"], "from one");
    bob_on_two.quiet().await;

    // A session's cart, changed on one, reaches its tab on two.
    let session = new_session();
    let mut tab = open(&two, None, json!({ "sessionId": session }), None).await;
    tab.next().await;
    let added = one
        .mutation("cart.add", json!({ "sessionId": session, "item": "fig" }))
        .send()
        .await;
    assert_eq!(added.status, 200, "{}", added.describe());
    assert_eq!(tab.next().await.data, cart_changed(&session));

    // Ids are shared: a stream of two resumes on one.
    drop(on_two);
    set_name(&two, "user_alice", "from two").await;
    let mut on_one = open(&one, Some(&alice), json!({}), event.id.as_deref()).await;
    assert_eq!(on_one.next().await.id, event.id);
    assert_eq!(on_one.next().await.data, profile_changed("user_alice"));

    // An instance started later (a restart) loads the latest events: it resumes too.
    let three = Demo::dev_with_db(Db::open_with(&sqlite, &settings).await.unwrap()).await;
    let mut on_three = open(&three, Some(&alice), json!({}), event.id.as_deref()).await;
    assert_eq!(on_three.next().await.id, event.id);
    assert_eq!(on_three.next().await.data, profile_changed("user_alice"));
    on_three.quiet().await;

    drop((one, two, three));
    schema.drop().await;
    let _ = std::fs::remove_file(&file);
}

#[tokio::test]
async fn set_display_name_checks_its_input_and_caller() {
    let demo = Demo::dev().await;
    let alice = token_for("user_alice");
    for bad in [
        json!(""),
        json!("   "),
        json!("x".repeat(51)),
        json!("a\u{7}b"),
    ] {
        let reply = demo
            .mutation("profile.setDisplayName", json!({ "displayName": bad }))
            .bearer(&alice)
            .send()
            .await;
        assert_eq!(reply.status, 400, "{}", reply.describe());
    }
    let reply = demo
        .mutation("profile.setDisplayName", json!({ "displayName": "Anon" }))
        .send()
        .await;
    assert_eq!(reply.status, 401, "{}", reply.describe());
    let reply = demo
        .mutation(
            "profile.setDisplayName",
            json!({ "displayName": "Bob?", "viewerId": "user_bob" }),
        )
        .bearer(&alice)
        .send()
        .await;
    assert_eq!(reply.status, 403, "{}", reply.describe());
    let reply = demo
        .mutation(
            "profile.setDisplayName",
            json!({ "displayName": "  Émilie  " }),
        )
        .bearer(&alice)
        .send()
        .await;
    assert_eq!(
        reply.data()["displayName"],
        "Émilie",
        "{}",
        reply.describe()
    );
}
