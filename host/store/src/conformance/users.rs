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

/// A user's teams and token change in one write: the old token stops
/// finding them, the new one does, also after a restart.
pub async fn a_users_teams_and_token_change_together<H: Harness>() {
    let mut h = H::new().await;
    let id = {
        let store = h.store();
        let bo = durable(store.create_user("Bo", Role::Agent, vec!["ops".into()], "old".into(), at(0)).await).await;
        let edit = crate::UserEdit { teams: Some(vec!["sales".into(), "ops".into()]), token_hash: Some("new".into()) };
        let changed = durable(store.update_user(bo.id, edit).await).await;
        assert_eq!(changed.teams, ["ops", "sales"]);
        let too_many = crate::UserEdit {
            teams: Some((0..=switchboard_core::MAX_TEAMS).map(|i| format!("t{i}")).collect()),
            token_hash: Some("newer".into()),
        };
        let refused = store.update_user(bo.id, too_many).await.expect_err("too many teams");
        assert!(refused.to_string().starts_with("teams:"), "{refused}");
        let missing = store.update_user(999, crate::UserEdit::default()).await.expect_err("no such user");
        assert!(matches!(missing, crate::StoreError::UnknownUser(999)), "{missing}");
        bo.id
    };
    h.restart().await;
    let store = h.store();
    assert_eq!(store.user_by_token("old").await.expect("lookup"), None, "the old token stops working");
    assert_eq!(store.user_by_token("newer").await.expect("lookup"), None, "a refused edit changed nothing");
    let found = store.user_by_token("new").await.expect("lookup").expect("the new token works");
    assert_eq!((found.id, found.teams.clone()), (id, vec!["ops".to_owned(), "sales".to_owned()]));
}
