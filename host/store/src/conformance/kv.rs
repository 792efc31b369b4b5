//! Plugin storage: private per installation, bounded, compare-and-set.

use std::sync::Arc;

use super::{Harness, durable};
use crate::{KvScope, StoreError};

const ONE: KvScope<'static> = KvScope { team: "a", plugin: "p" };

/// Values are kept per installation; keys list in byte order by prefix.
pub async fn storage_is_private_to_each_installation<H: Harness>() {
    let h = H::new().await;
    let store = h.store();
    let other = KvScope { team: "b", plugin: "p" };
    let third = KvScope { team: "a", plugin: "pp" };
    for (key, value) in [("x:2", "two"), ("x:1", "one"), ("y", "why")] {
        durable(store.kv_set(ONE, key, value.into(), 100).await).await;
    }
    durable(store.kv_set(other, "x:1", b"other".to_vec(), 100).await).await;
    assert_eq!(store.kv_get(ONE, "x:1").await.expect("get").as_deref(), Some(&b"one"[..]));
    assert_eq!(store.kv_get(other, "x:1").await.expect("get").as_deref(), Some(&b"other"[..]));
    assert_eq!(store.kv_get(third, "x:1").await.expect("get"), None);
    assert_eq!(store.kv_keys(ONE, "x:", 100).await.expect("keys"), ["x:1", "x:2"]);
    assert_eq!(store.kv_keys(ONE, "", 2).await.expect("keys"), ["x:1", "x:2"]);
    assert!(store.kv_keys(third, "", 100).await.expect("keys").is_empty());
    durable(store.kv_delete(ONE, "x:1").await).await;
    durable(store.kv_delete(ONE, "never-set").await).await;
    assert_eq!(store.kv_keys(ONE, "", 100).await.expect("keys"), ["x:2", "y"]);
}

/// The key limit counts keys in the write itself: overwriting and deleting
/// keep the count right, and concurrent writers of new keys cannot pass it.
pub async fn storage_key_limit_holds_under_concurrent_writers<H: Harness>() {
    let h = H::new().await;
    let store = h.store();
    for i in 0..3 {
        durable(store.kv_set(ONE, &format!("k{i}"), vec![1], 3).await).await;
    }
    durable(store.kv_set(ONE, "k0", vec![2], 3).await).await;
    let full = store.kv_set(ONE, "k3", vec![1], 3).await;
    assert!(matches!(full, Err(StoreError::StorageFull { limit: 3 })), "{full:?}");
    durable(store.kv_delete(ONE, "k1").await).await;
    durable(store.kv_set(ONE, "k3", vec![1], 3).await).await;

    let scope = KvScope { team: "a", plugin: "race" };
    let mut tasks = Vec::new();
    for t in 0..8 {
        let store = Arc::clone(&store);
        tasks.push(tokio::spawn(async move {
            let scope = KvScope { team: "a", plugin: "race" };
            let mut kept = 0;
            for i in 0..10 {
                match store.kv_set(scope, &format!("t{t}-{i}"), vec![0], 25).await {
                    Ok(c) => {
                        c.durable().await.expect("durable");
                        kept += 1;
                    }
                    Err(StoreError::StorageFull { limit: 25 }) => {}
                    Err(e) => panic!("unexpected {e:?}"),
                }
            }
            kept
        }));
    }
    let mut kept = 0;
    for task in tasks {
        kept += task.await.expect("task");
    }
    assert_eq!(kept, 25);
    assert_eq!(store.kv_keys(scope, "", 1000).await.expect("keys").len(), 25);
}

/// Of many concurrent claims of one key, exactly one wins, and its value
/// is the one kept.
pub async fn set_if_absent_has_exactly_one_winner<H: Harness>() {
    let h = H::new().await;
    let store = h.store();
    let mut tasks = Vec::new();
    for t in 0..16u8 {
        let store = Arc::clone(&store);
        tasks.push(tokio::spawn(async move {
            let won = store.kv_set_if_absent(ONE, "run:42", vec![t], 100).await.expect("claim");
            (t, won.durable().await.expect("durable"))
        }));
    }
    let mut winners = Vec::new();
    for task in tasks {
        let (t, won) = task.await.expect("task");
        if won {
            winners.push(t);
        }
    }
    assert_eq!(winners.len(), 1, "winners: {winners:?}");
    assert_eq!(store.kv_get(ONE, "run:42").await.expect("get"), Some(winners));
    let full = store.kv_set_if_absent(ONE, "another", vec![0], 1).await;
    assert!(matches!(full, Err(StoreError::StorageFull { limit: 1 })), "{full:?}");
}
