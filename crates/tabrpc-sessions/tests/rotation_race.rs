//! A sign-in rotation while cart mutations are in flight loses nothing and duplicates
//! nothing: every add that succeeded is in the new session's cart exactly once, every other
//! add failed with "session ended", and no row is left under the old id. Writers keep adding
//! until the session ends under them, so the race happens on any machine, however loaded.

#![allow(clippy::expect_used, clippy::unwrap_used)]

mod support;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use support::{cart_add, cart_of, id, user};
use tabrpc_sessions::{ErrorKind, SessionStore};

/// Concurrent writers, each adding in a loop until the session has ended under it.
const WRITERS: usize = 8;
/// Adds that must land before the rotation starts.
const BEFORE: usize = 20;
const ITEMS: [&str; 4] = ["apple", "fig", "kiwi", "pear"];

async fn rotation_under_concurrent_adds(store: Arc<dyn SessionStore>) {
    let alice = user("alice");
    let (old, new) = (id(), id());
    store.resolve(&old, None).await.unwrap();
    // One item is already in the cart: the merge must keep it too.
    cart_add(store.as_ref(), &old, "apple", 10).await.unwrap();

    // Every writer adds until an add answers "ended", so the rotation meets adds before,
    // during and after its transaction however the machine schedules them: no timing in
    // the test decides whether the race happens.
    let landed = Arc::new(AtomicUsize::new(0));
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    let mut writers = Vec::new();
    for writer in 0..WRITERS {
        let (store, old, landed) = (store.clone(), old.clone(), landed.clone());
        writers.push(tokio::spawn(async move {
            let mut added: BTreeMap<String, i64> = BTreeMap::new();
            for n in writer.. {
                assert!(
                    tokio::time::Instant::now() < deadline,
                    "the session never ended under the writers"
                );
                let item = ITEMS[n % ITEMS.len()];
                // What a session procedure does: resolve, then write.
                let result = match store.resolve(&old, None).await {
                    Ok(_) => cart_add(store.as_ref(), &old, item, 1).await,
                    Err(err) => Err(err),
                };
                match result {
                    Ok(()) => {
                        landed.fetch_add(1, Ordering::SeqCst);
                        *added.entry(item.to_owned()).or_default() += 1;
                    }
                    Err(err) if matches!(err.kind(), ErrorKind::Ended(_)) => break,
                    Err(err) => panic!("an add failed otherwise: {err}"),
                }
                tokio::task::yield_now().await;
            }
            added
        }));
    }
    let rotation = {
        let (store, old, new, alice) = (store.clone(), old.clone(), new.clone(), alice.clone());
        let landed = landed.clone();
        tokio::spawn(async move {
            while landed.load(Ordering::SeqCst) < BEFORE {
                assert!(
                    tokio::time::Instant::now() < deadline,
                    "the first adds never landed"
                );
                tokio::time::sleep(Duration::from_millis(1)).await;
            }
            let during = landed.load(Ordering::SeqCst);
            let rotation = store.rotate(&old, &new, Some(&alice)).await;
            (rotation, during)
        })
    };

    let mut expected: BTreeMap<String, i64> = BTreeMap::from([("apple".to_owned(), 10)]);
    for writer in writers {
        for (item, count) in writer.await.unwrap() {
            *expected.entry(item).or_default() += count;
        }
    }
    let (rotation, before) = rotation.await.unwrap();
    rotation.unwrap();
    let succeeded = landed.load(Ordering::SeqCst);
    // After the rotation, the client uses the new id only.
    for item in ITEMS {
        cart_add(store.as_ref(), &new, item, 1).await.unwrap();
        *expected.entry(item.to_owned()).or_default() += 1;
    }

    let cart: BTreeMap<String, i64> = cart_of(store.as_ref(), &new).await.into_iter().collect();
    assert_eq!(cart, expected, "{succeeded} concurrent adds succeeded");
    assert!(
        cart_of(store.as_ref(), &old).await.is_empty(),
        "rows left under the old id"
    );
    assert!(
        succeeded >= BEFORE,
        "the rotation did not wait for the first adds"
    );
    eprintln!(
        "{succeeded} concurrent adds landed ({before} before the rotation started); \
         each of the {WRITERS} writers then met the ended session"
    );
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
