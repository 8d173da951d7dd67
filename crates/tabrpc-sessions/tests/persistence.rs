//! The SQLite store survives a restart (the file is reopened); two Postgres stores, as two
//! server instances would have, see the same sessions and carts.

#![allow(clippy::expect_used, clippy::unwrap_used)]

mod support;

use support::{cart_add, cart_of, id, user};
use tabrpc_sessions::{EndReason, ErrorKind, SessionStore, SqliteStore};

#[tokio::test]
async fn the_sqlite_store_survives_a_restart() {
    let path = support::temp_db("restart");
    let alice = user("alice");
    let (anonymous, linked, ended) = (id(), id(), id());
    {
        let store = support::sqlite_store(&path, support::config()).await;
        cart_add(&store, &anonymous, "apple", 2).await.unwrap();
        store.resolve(&linked, Some(&alice)).await.unwrap();
        cart_add(&store, &linked, "pear", 1).await.unwrap();
        store.resolve(&ended, None).await.unwrap();
        store.end(&ended, None).await.unwrap();
        store.pool().close().await;
    }
    // Reopened the way the demo opens it: by URL, migrations already applied.
    let url = format!("sqlite://{}", path.display());
    let store = SqliteStore::open(&url, support::config()).await.unwrap();
    assert!(store.resolve(&anonymous, None).await.is_ok());
    assert_eq!(cart_of(&store, &anonymous).await, [("apple".to_owned(), 2)]);
    let session = store.resolve(&linked, Some(&alice)).await.unwrap();
    assert_eq!(session.user_id(), Some(alice.as_str()));
    assert_eq!(cart_of(&store, &linked).await, [("pear".to_owned(), 1)]);
    assert_eq!(
        store.resolve(&linked, None).await.unwrap_err().kind(),
        ErrorKind::WrongOwner
    );
    assert_eq!(
        store.resolve(&ended, None).await.unwrap_err().kind(),
        ErrorKind::Ended(EndReason::Ended)
    );
}

#[tokio::test]
async fn two_postgres_instances_share_sessions_and_carts() {
    let Some(url) = support::postgres_url() else {
        return;
    };
    let schema = support::PgSchema::create(&url).await;
    // Both start (and migrate) at once, as two instances behind a load balancer would.
    let (one, two) = tokio::join!(
        schema.store(support::config()),
        schema.store(support::config())
    );
    let alice = user("alice");

    let tab = id();
    cart_add(&one, &tab, "apple", 1).await.unwrap();
    cart_add(&two, &tab, "apple", 2).await.unwrap();
    cart_add(&one, &tab, "pear", 1).await.unwrap();
    assert_eq!(
        cart_of(&two, &tab).await,
        [("apple".to_owned(), 3), ("pear".to_owned(), 1)]
    );

    // Signed in through instance one, used through instance two.
    let signed_in = id();
    one.rotate(&tab, &signed_in, Some(&alice)).await.unwrap();
    assert_eq!(
        two.resolve(&tab, None).await.unwrap_err().kind(),
        ErrorKind::Ended(EndReason::Rotated)
    );
    assert_eq!(
        two.resolve(&signed_in, Some(&alice))
            .await
            .unwrap()
            .user_id(),
        Some(alice.as_str())
    );
    assert_eq!(
        two.resolve(&signed_in, Some(&user("bob")))
            .await
            .unwrap_err()
            .kind(),
        ErrorKind::WrongOwner
    );
    assert_eq!(cart_of(&two, &signed_in).await.len(), 2);

    // Revoked through instance two, refused by instance one.
    assert_eq!(two.revoke_user(&alice).await.unwrap(), 1);
    assert_eq!(
        one.resolve(&signed_in, Some(&alice))
            .await
            .unwrap_err()
            .kind(),
        ErrorKind::Ended(EndReason::Revoked)
    );
    assert!(cart_of(&one, &signed_in).await.is_empty());
    schema.drop().await;
}
