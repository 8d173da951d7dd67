//! What a store does, on SQLite and on Postgres alike: creation on first use, ownership,
//! rotation (moving and merging the cart, atomic on failure), sign-out, revocation and expiry.

#![allow(clippy::expect_used, clippy::unwrap_used)]

mod support;

use std::time::Duration;

use support::{cart_add, cart_of, id, user};
use tabrpc_sessions::{EndReason, ErrorKind, SessionState, SessionStore, StoreConfig};

async fn lifecycle(store: &dyn SessionStore) {
    let alice = user("alice");
    let bob = user("bob");

    // First use creates an anonymous session; anyone holding the id may use it.
    let tab = id();
    assert_eq!(store.resolve(&tab, None).await.unwrap().user_id(), None);
    cart_add(store, &tab, "apple", 2).await.unwrap();
    cart_add(store, &tab, "pear", 1).await.unwrap();
    cart_add(store, &tab, "apple", 1).await.unwrap();

    // Sign-in: the cart moves to a new id linked to alice; the old id is over.
    let signed_in = id();
    let rotation = store.rotate(&tab, &signed_in, Some(&alice)).await.unwrap();
    assert_eq!(rotation.moved, 2);
    assert_eq!(rotation.session.user_id(), Some(alice.as_str()));
    assert_eq!(
        cart_of(store, &signed_in).await,
        [("apple".to_owned(), 3), ("pear".to_owned(), 1)]
    );
    assert!(cart_of(store, &tab).await.is_empty());
    let old = store.resolve(&tab, None).await.unwrap_err();
    assert_eq!(old.kind(), ErrorKind::Ended(EndReason::Rotated));
    assert_eq!(
        cart_add(store, &tab, "apple", 1).await.unwrap_err().kind(),
        ErrorKind::Ended(EndReason::Rotated)
    );

    // Linked to alice: bob and anonymous callers are refused, alice is served.
    for caller in [Some(bob.as_str()), None] {
        let err = store.resolve(&signed_in, caller).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::WrongOwner);
        assert_eq!(
            store.end(&signed_in, caller).await.unwrap_err().kind(),
            ErrorKind::WrongOwner
        );
        let stolen = store.rotate(&signed_in, &id(), caller).await.unwrap_err();
        assert_eq!(stolen.kind(), ErrorKind::WrongOwner);
    }
    assert!(store.resolve(&signed_in, Some(&alice)).await.is_ok());
    assert_eq!(
        cart_of(store, &signed_in).await.len(),
        2,
        "refusals changed nothing"
    );

    // A new session of a signed-in caller is linked to them from the start.
    let second_tab = id();
    let session = store.resolve(&second_tab, Some(&alice)).await.unwrap();
    assert_eq!(session.user_id(), Some(alice.as_str()));
    assert_eq!(
        store.resolve(&second_tab, None).await.unwrap_err().kind(),
        ErrorKind::WrongOwner
    );

    // Sign-out: the data goes, the id answers "ended" from then on, ending again is fine.
    store.end(&signed_in, Some(&alice)).await.unwrap();
    assert!(cart_of(store, &signed_in).await.is_empty());
    assert_eq!(
        store
            .resolve(&signed_in, Some(&alice))
            .await
            .unwrap_err()
            .kind(),
        ErrorKind::Ended(EndReason::Ended)
    );
    store.end(&signed_in, Some(&alice)).await.unwrap();

    // Ending an id never seen makes it unusable.
    let never_used = id();
    store.end(&never_used, None).await.unwrap();
    assert_eq!(
        store.resolve(&never_used, None).await.unwrap_err().kind(),
        ErrorKind::Ended(EndReason::Ended)
    );

    // Rotating to the same id, or into an ended one, is refused and changes nothing.
    let anon = id();
    cart_add(store, &anon, "fig", 1).await.unwrap();
    assert_eq!(
        store.rotate(&anon, &anon, None).await.unwrap_err().kind(),
        ErrorKind::InvalidRotation
    );
    assert_eq!(
        store
            .rotate(&anon, &signed_in, Some(&alice))
            .await
            .unwrap_err()
            .kind(),
        ErrorKind::Ended(EndReason::Ended)
    );
    assert_eq!(cart_of(store, &anon).await, [("fig".to_owned(), 1)]);

    // Rotating away from an ended session still gives the client a working one.
    let recovered = id();
    let rotation = store
        .rotate(&signed_in, &recovered, Some(&alice))
        .await
        .unwrap();
    assert_eq!(rotation.moved, 0);
    assert!(store.resolve(&recovered, Some(&alice)).await.is_ok());
}

async fn merge_into_an_existing_session(store: &dyn SessionStore) {
    let carol = user("carol");
    let (old, new) = (id(), id());
    cart_add(store, &old, "apple", 2).await.unwrap();
    cart_add(store, &old, "kiwi", 1).await.unwrap();
    cart_add(store, &old, "pear", 60).await.unwrap();
    store.resolve(&new, Some(&carol)).await.unwrap();
    cart_add(store, &new, "apple", 5).await.unwrap();
    cart_add(store, &new, "pear", 50).await.unwrap();
    let rotation = store.rotate(&old, &new, Some(&carol)).await.unwrap();
    assert_eq!(rotation.moved, 3);
    assert_eq!(
        cart_of(store, &new).await,
        [
            ("apple".to_owned(), 7),
            ("kiwi".to_owned(), 1),
            ("pear".to_owned(), 99), // 60 + 50, capped by `at_most(99)`
        ]
    );
}

async fn revoke_every_session_of_a_user(store: &dyn SessionStore) {
    let dave = user("dave");
    let other = user("erin");
    let tabs = [id(), id(), id()];
    for tab in &tabs {
        store.resolve(tab, Some(&dave)).await.unwrap();
        cart_add(store, tab, "plum", 1).await.unwrap();
    }
    let theirs = id();
    store.resolve(&theirs, Some(&other)).await.unwrap();
    cart_add(store, &theirs, "plum", 1).await.unwrap();

    assert_eq!(store.revoke_user(&dave).await.unwrap(), 3);
    for tab in &tabs {
        assert!(cart_of(store, tab).await.is_empty());
        let err = store.resolve(tab, Some(&dave)).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Ended(EndReason::Revoked));
        assert!(
            tabrpc_core::Error::from(err)
                .message()
                .starts_with("session expired or revoked (revoked)")
        );
    }
    assert_eq!(
        cart_of(store, &theirs).await.len(),
        1,
        "another user's session is untouched"
    );
    assert_eq!(store.revoke_user(&dave).await.unwrap(), 0);
}

/// Expiry: a store whose sessions go idle after 300 ms and are touched on every use.
fn expiring() -> StoreConfig {
    support::config()
        .idle_timeout(Duration::from_millis(300))
        .touch_interval(Duration::ZERO)
        .tombstone_retention(Duration::from_secs(3600))
}

async fn expiry_removes_idle_sessions(store: &dyn SessionStore) {
    let (idle, busy) = (id(), id());
    cart_add(store, &idle, "apple", 1).await.unwrap();
    cart_add(store, &busy, "apple", 1).await.unwrap();
    for _ in 0..4 {
        tokio::time::sleep(Duration::from_millis(100)).await;
        store.resolve(&busy, None).await.unwrap();
    }
    let sweep = store.sweep().await.unwrap();
    assert_eq!(sweep.expired, 1);
    assert!(cart_of(store, &idle).await.is_empty());
    assert!(matches!(
        store.lookup(&idle).await.unwrap(),
        Some(SessionState::Ended {
            reason: EndReason::Expired,
            ..
        })
    ));
    assert_eq!(
        store.resolve(&idle, None).await.unwrap_err().kind(),
        ErrorKind::Ended(EndReason::Expired)
    );
    assert_eq!(cart_of(store, &busy).await, [("apple".to_owned(), 1)]);
    assert!(matches!(
        store.lookup(&busy).await.unwrap(),
        Some(SessionState::Live(_))
    ));
}

async fn background_task_sweeps(store: std::sync::Arc<dyn SessionStore>) {
    let idle = id();
    cart_add(store.as_ref(), &idle, "apple", 1).await.unwrap();
    let task = tabrpc_sessions::spawn_expiry(store.clone());
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        if let Some(SessionState::Ended { reason, .. }) = store.lookup(&idle).await.unwrap() {
            assert_eq!(reason, EndReason::Expired);
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the task never expired the session"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    drop(task);
    assert!(cart_of(store.as_ref(), &idle).await.is_empty());
}

#[tokio::test]
async fn sqlite_lifecycle() {
    let db = support::temp_db("lifecycle");
    let store = support::sqlite_store(&db, support::config()).await;
    lifecycle(&store).await;
    merge_into_an_existing_session(&store).await;
    revoke_every_session_of_a_user(&store).await;
}

#[tokio::test]
async fn postgres_lifecycle() {
    let Some(url) = support::postgres_url() else {
        return;
    };
    let schema = support::PgSchema::create(&url).await;
    let store = schema.store(support::config()).await;
    lifecycle(&store).await;
    merge_into_an_existing_session(&store).await;
    revoke_every_session_of_a_user(&store).await;
    schema.drop().await;
}

#[tokio::test]
async fn sqlite_expiry() {
    let path = support::temp_db("expiry");
    let store = support::sqlite_store(&path, expiring()).await;
    expiry_removes_idle_sessions(&store).await;
    let fast = expiring().sweep_interval(Duration::from_millis(50));
    background_task_sweeps(std::sync::Arc::new(
        support::sqlite_store(&path, fast).await,
    ))
    .await;
}

#[tokio::test]
async fn postgres_expiry() {
    let Some(url) = support::postgres_url() else {
        return;
    };
    let schema = support::PgSchema::create(&url).await;
    expiry_removes_idle_sessions(&schema.store(expiring()).await).await;
    let fast = expiring().sweep_interval(Duration::from_millis(50));
    background_task_sweeps(std::sync::Arc::new(schema.store(fast).await)).await;
    schema.drop().await;
}

/// Regression: with the default 60-second touch interval, a session in use under an idle
/// timeout shorter than that was never touched, and expired while being used.
#[tokio::test]
async fn a_session_in_use_outlives_an_idle_timeout_shorter_than_the_touch_interval() {
    let path = support::temp_db("short-idle");
    let config = support::config().idle_timeout(Duration::from_millis(400));
    let store = support::sqlite_store(&path, config).await;
    let (busy, idle) = (id(), id());
    cart_add(&store, &busy, "apple", 1).await.unwrap();
    cart_add(&store, &idle, "apple", 1).await.unwrap();
    for _ in 0..8 {
        tokio::time::sleep(Duration::from_millis(100)).await;
        store.resolve(&busy, None).await.unwrap();
    }
    assert_eq!(store.sweep().await.unwrap().expired, 1);
    assert!(store.resolve(&busy, None).await.is_ok());
    assert_eq!(cart_of(&store, &busy).await, [("apple".to_owned(), 1)]);
    assert_eq!(
        store.resolve(&idle, None).await.unwrap_err().kind(),
        ErrorKind::Ended(EndReason::Expired)
    );
}

#[tokio::test]
async fn sqlite_failed_rotation_leaves_the_old_session_intact() {
    // A second feature table whose rows cannot move: the rotation fails after the cart has
    // moved inside its transaction, which must then leave everything as it was.
    let path = support::temp_db("atomic");
    let pool = support::sqlite_pool(&path).await;
    sqlx::raw_sql(
        "CREATE TABLE stuck (session_id TEXT NOT NULL, note TEXT NOT NULL);
         CREATE TRIGGER stuck_moves BEFORE UPDATE ON stuck BEGIN SELECT RAISE(ABORT, 'stuck'); END;",
    )
    .execute(&pool)
    .await
    .unwrap();
    let config =
        support::config().feature(tabrpc_sessions::FeatureTable::new("stuck", "session_id"));
    let store = tabrpc_sessions::SqliteStore::new(pool.clone(), config)
        .await
        .unwrap();
    failed_rotation(&store, async |sid: String| {
        sqlx::query("INSERT INTO stuck VALUES ($1, 'x')")
            .bind(sid)
            .execute(&pool)
            .await
            .unwrap();
    })
    .await;
}

#[tokio::test]
async fn postgres_failed_rotation_leaves_the_old_session_intact() {
    let Some(url) = support::postgres_url() else {
        return;
    };
    let schema = support::PgSchema::create(&url).await;
    let pool = schema.pool().await;
    sqlx::raw_sql(
        "CREATE TABLE stuck (session_id TEXT NOT NULL, note TEXT NOT NULL);
         CREATE FUNCTION stuck_refuse() RETURNS trigger LANGUAGE plpgsql AS
           $$ BEGIN RAISE EXCEPTION 'stuck'; END $$;
         CREATE TRIGGER stuck_moves BEFORE UPDATE ON stuck FOR EACH ROW EXECUTE FUNCTION stuck_refuse();",
    )
    .execute(&pool)
    .await
    .unwrap();
    let config =
        support::config().feature(tabrpc_sessions::FeatureTable::new("stuck", "session_id"));
    let store = tabrpc_sessions::PgStore::new(pool.clone(), config)
        .await
        .unwrap();
    failed_rotation(&store, async |sid: String| {
        sqlx::query("INSERT INTO stuck VALUES ($1, 'x')")
            .bind(sid)
            .execute(&pool)
            .await
            .unwrap();
    })
    .await;
    schema.drop().await;
}

async fn failed_rotation(store: &dyn SessionStore, add_stuck_row: impl AsyncFn(String)) {
    let alice = user("alice");
    let (old, new) = (id(), id());
    cart_add(store, &old, "apple", 2).await.unwrap();
    add_stuck_row(old.as_str().to_owned()).await;
    let err = store.rotate(&old, &new, Some(&alice)).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Storage);
    assert_eq!(
        tabrpc_core::Error::from(err).code(),
        tabrpc_core::ErrorCode::InternalServerError
    );
    assert!(
        store.resolve(&old, None).await.is_ok(),
        "the old session is still live"
    );
    assert_eq!(cart_of(store, &old).await, [("apple".to_owned(), 2)]);
    assert!(cart_of(store, &new).await.is_empty());
    assert_eq!(
        store.lookup(&new).await.unwrap(),
        None,
        "the new session was not created"
    );
}

#[tokio::test]
async fn a_missing_or_malformed_feature_table_stops_the_store_at_start() {
    let db = support::temp_db("config");
    let pool = support::sqlite_pool(&db).await;
    for table in [
        tabrpc_sessions::FeatureTable::new("no_such_table", "session_id"),
        tabrpc_sessions::FeatureTable::new("cart_items", "no_such_column"),
        tabrpc_sessions::FeatureTable::new("cart_items; --", "session_id"),
    ] {
        let err =
            tabrpc_sessions::SqliteStore::new(pool.clone(), StoreConfig::default().feature(table))
                .await
                .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Config, "{err}");
    }
}
