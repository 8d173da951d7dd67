//! What keeps a store bounded and data bound to its caller, on SQLite and on Postgres alike:
//! reads store nothing, a signed-in caller's first use links an anonymous session, a merge
//! past a feature's row limit changes nothing, and creating sessions in a loop keeps the
//! table within its caps.

#![allow(clippy::expect_used, clippy::unwrap_used)]

mod support;

use support::{cart, cart_add, cart_of, id, user};
use tabrpc_sessions::{Database, ErrorKind, SessionState, SessionStore, StoreConfig};

async fn count(store: &dyn SessionStore, condition: &str) -> i64 {
    let sql = format!("SELECT count(*) FROM tabrpc_sessions WHERE {condition}");
    match store.database() {
        Database::Sqlite(pool) => sqlx::query_scalar(&sql).fetch_one(&pool).await.unwrap(),
        Database::Postgres(pool) => sqlx::query_scalar(&sql).fetch_one(&pool).await.unwrap(),
        _ => unreachable!("no other backend"),
    }
}

async fn reads_store_nothing_and_signed_in_use_links(store: &dyn SessionStore) {
    let alice = user("alice");
    for caller in [None, Some(alice.as_str())] {
        let session = store.resolve_read(&id(), caller).await.unwrap();
        assert!(!session.is_stored());
        assert_eq!(session.user_id(), caller);
    }
    assert_eq!(count(store, "1 = 1").await, 0, "a read stored a session");

    let tab = id();
    cart_add(store, &tab, "apple", 1).await.unwrap();
    let linked = store.resolve_read(&tab, Some(&alice)).await.unwrap();
    assert_eq!(linked.user_id(), Some(alice.as_str()));
    for caller in [None, Some(user("bob"))] {
        let err = store
            .resolve_read(&tab, caller.as_deref())
            .await
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::WrongOwner);
    }
    assert_eq!(cart_of(store, &tab).await, [("apple".to_owned(), 1)]);
}

async fn a_merge_past_the_row_limit_changes_nothing(store: &dyn SessionStore) {
    let alice = user("alice");
    let (mine, tab) = (id(), id());
    store.resolve(&mine, Some(&alice)).await.unwrap();
    for n in 0..3 {
        cart_add(store, &mine, &format!("mine-{n}"), 1)
            .await
            .unwrap();
        cart_add(store, &tab, &format!("tab-{n}"), 1).await.unwrap();
    }
    let err = store.rotate(&tab, &mine, Some(&alice)).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::LimitExceeded);
    assert_eq!(cart_of(store, &tab).await.len(), 3);
    assert_eq!(cart_of(store, &mine).await.len(), 3);
    assert!(matches!(
        store.lookup(&tab).await.unwrap(),
        Some(SessionState::Live(_))
    ));
    let rotation = store.rotate(&tab, &id(), Some(&alice)).await.unwrap();
    assert_eq!(rotation.moved, 3);
}

fn limited() -> StoreConfig {
    StoreConfig::default()
        .feature(cart().max_rows(5))
        .max_anonymous_sessions(4)
        .max_sessions_per_user(2)
        .max_ended_sessions(6)
}

async fn creating_sessions_in_a_loop_stays_bounded(store: &dyn SessionStore) {
    let first = id();
    cart_add(store, &first, "apple", 1).await.unwrap();
    for _ in 0..20 {
        cart_add(store, &id(), "spam", 1).await.unwrap();
    }
    assert_eq!(
        count(store, "ended_at IS NULL AND user_id IS NULL").await,
        4
    );
    assert_eq!(count(store, "ended_at IS NOT NULL").await, 6);
    // The least recently used went first, with its data.
    assert!(cart_of(store, &first).await.is_empty());
    assert!(matches!(
        store.lookup(&first).await.unwrap(),
        Some(SessionState::Ended { .. }) | None
    ));
    let alice = user("alice");
    for _ in 0..10 {
        store.resolve(&id(), Some(&alice)).await.unwrap();
        store.end(&id(), None).await.unwrap();
        store.rotate(&id(), &id(), None).await.unwrap();
    }
    let linked = format!("ended_at IS NULL AND user_id = '{alice}'");
    assert_eq!(count(store, &linked).await, 2);
    assert_eq!(
        count(store, "ended_at IS NULL AND user_id IS NULL").await,
        4
    );
    assert_eq!(count(store, "ended_at IS NOT NULL").await, 6);
}

async fn all(store: &dyn SessionStore) {
    reads_store_nothing_and_signed_in_use_links(store).await;
    a_merge_past_the_row_limit_changes_nothing(store).await;
}

#[tokio::test]
async fn sqlite_bounds() {
    let db = support::temp_db("bounds");
    all(&support::sqlite_store(&db, limited()).await).await;
    let db = support::temp_db("bounds-loop");
    creating_sessions_in_a_loop_stays_bounded(&support::sqlite_store(&db, limited()).await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_bounds() {
    let Some(url) = support::postgres_url() else {
        return;
    };
    let schema = support::PgSchema::create(&url).await;
    all(&schema.store(limited()).await).await;
    schema.drop().await;
    let schema = support::PgSchema::create(&url).await;
    creating_sessions_in_a_loop_stays_bounded(&schema.store(limited()).await).await;
    schema.drop().await;
}
