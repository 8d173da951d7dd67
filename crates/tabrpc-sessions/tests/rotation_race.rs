//! A sign-in rotation while cart mutations are in flight loses nothing and duplicates
//! nothing: every add that succeeded is in the new session's cart exactly once, every other
//! add failed with "session ended", and no row is left under the old id.

#![allow(clippy::expect_used, clippy::unwrap_used)]

mod support;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use support::{cart_add, cart_of, id, user};
use tabrpc_sessions::{ErrorKind, SessionStore};

const ADDS: usize = 200;
const ITEMS: [&str; 4] = ["apple", "fig", "kiwi", "pear"];

async fn rotation_under_concurrent_adds(store: Arc<dyn SessionStore>) {
    let alice = user("alice");
    let (old, new) = (id(), id());
    store.resolve(&old, None).await.unwrap();
    // One item is already in the cart: the merge must keep it too.
    cart_add(store.as_ref(), &old, "apple", 10).await.unwrap();

    // The adds start spread over ~40 ms; the rotation starts once a tenth of them have
    // landed, so it meets adds before, during and after its transaction.
    let landed = Arc::new(AtomicUsize::new(0));
    let mut adds = Vec::new();
    for n in 0..ADDS {
        let (store, old, landed) = (store.clone(), old.clone(), landed.clone());
        adds.push(tokio::spawn(async move {
            tokio::time::sleep(Duration::from_micros(200 * n as u64)).await;
            let item = ITEMS[n % ITEMS.len()];
            // What a session procedure does: resolve, then write.
            let result = match store.resolve(&old, None).await {
                Ok(_) => cart_add(store.as_ref(), &old, item, 1).await,
                Err(err) => Err(err),
            };
            match result {
                Ok(()) => {
                    landed.fetch_add(1, Ordering::SeqCst);
                    Some(item)
                }
                Err(err) if matches!(err.kind(), ErrorKind::Ended(_)) => None,
                Err(err) => panic!("an add failed otherwise: {err}"),
            }
        }));
    }
    let rotation = {
        let (store, old, new, alice) = (store.clone(), old.clone(), new.clone(), alice.clone());
        tokio::spawn(async move {
            let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
            while landed.load(Ordering::SeqCst) < ADDS / 10
                && tokio::time::Instant::now() < deadline
            {
                tokio::time::sleep(Duration::from_millis(1)).await;
            }
            store.rotate(&old, &new, Some(&alice)).await
        })
    };

    let mut expected: BTreeMap<String, i64> = BTreeMap::from([("apple".to_owned(), 10)]);
    let mut succeeded = 0;
    for add in adds {
        if let Some(item) = add.await.unwrap() {
            *expected.entry(item.to_owned()).or_default() += 1;
            succeeded += 1;
        }
    }
    rotation.await.unwrap().unwrap();
    // After the rotation, the client uses the new id only.
    for item in ITEMS {
        cart_add(store.as_ref(), &new, item, 1).await.unwrap();
        *expected.entry(item.to_owned()).or_default() += 1;
    }

    let cart: BTreeMap<String, i64> = cart_of(store.as_ref(), &new).await.into_iter().collect();
    assert_eq!(
        cart, expected,
        "{succeeded} of {ADDS} concurrent adds succeeded"
    );
    assert!(
        cart_of(store.as_ref(), &old).await.is_empty(),
        "rows left under the old id"
    );
    assert!(
        succeeded >= ADDS / 10,
        "the rotation did not wait for the first adds"
    );
    assert!(
        succeeded < ADDS,
        "no add came after the rotation: the race was not exercised"
    );
    eprintln!("{succeeded} of {ADDS} concurrent adds landed before the rotation");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sqlite_rotation_under_concurrent_adds() {
    let db = support::temp_db("race");
    let store = support::sqlite_store(&db, support::config()).await;
    rotation_under_concurrent_adds(Arc::new(store)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn postgres_rotation_under_concurrent_adds() {
    let Some(url) = support::postgres_url() else {
        return;
    };
    let schema = support::PgSchema::create(&url).await;
    rotation_under_concurrent_adds(Arc::new(schema.store(support::config()).await)).await;
    schema.drop().await;
}
