//! Users: found by id and by token hash.

use switchboard_core::Role;

use super::{Harness, at, durable};

/// A user is found by its token's hash and its id, and listed.
pub async fn users_are_found_by_token_hash<H: Harness>() {
    let h = H::new().await;
    let store = h.store();
    let ada = durable(store.create_user("Ada", Role::Admin, Vec::new(), "h1".into(), at(0)).await).await;
    let bo = durable(store.create_user("Bo", Role::Agent, Vec::new(), "h2".into(), at(0)).await).await;
    assert_eq!(store.user_by_token("h2").await.expect("lookup"), Some(bo.clone()));
    assert_eq!(store.user_by_token("h3").await.expect("lookup"), None);
    assert_eq!(store.user(ada.id).await.expect("user"), Some(ada.clone()));
    assert_eq!(store.users().await.expect("users"), [ada, bo]);
    assert!(store.create_user("", Role::Agent, Vec::new(), "h4".into(), at(0)).await.is_err(), "a name is needed");
}
