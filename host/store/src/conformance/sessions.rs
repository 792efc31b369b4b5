//! Console sessions: found by id, listed per user while live, ended by
//! their own user only, and kept across a restart.

use jiff::SignedDuration;
use switchboard_core::Session;

use super::{Harness, at, durable};

/// A user's live sessions are listed oldest first and survive a restart;
/// an expired one is not listed and is deleted; only the session's own
/// user can end it.
pub async fn sessions_are_kept_listed_and_ended_by_their_user<H: Harness>() {
    let mut h = H::new().await;
    {
        let store = h.store();
        durable(store.create_session(Session::start("a1".into(), 1, "Firefox", at(0))).await).await;
        durable(store.create_session(Session::start("a2".into(), 1, "Chromium", at(2))).await).await;
        durable(store.create_session(Session::start("b1".into(), 2, "Safari", at(0))).await).await;
    }
    h.restart().await;
    let store = h.store();
    let found = store.session("a2").await.expect("read").expect("kept across a restart");
    assert_eq!((found.user, found.label.as_str()), (1, "Chromium"));
    assert!(store.session("zz").await.expect("read").is_none());
    let ids = |list: Vec<Session>| list.into_iter().map(|s| s.id).collect::<Vec<_>>();
    assert_eq!(ids(durable(store.sessions_of(1, at(3)).await).await), ["a1", "a2"]);
    // Thirteen hours after sign-in, "a1" has expired and "a2" not.
    let later = at(0) + SignedDuration::from_hours(13);
    assert_eq!(ids(durable(store.sessions_of(1, later).await).await), ["a2"]);
    assert!(store.session("a1").await.expect("read").is_none(), "an expired session met in a list is deleted");
    assert!(!durable(store.end_session(1, "b1").await).await, "another user's session is not ended");
    assert!(store.session("b1").await.expect("read").is_some());
    assert!(durable(store.end_session(2, "b1").await).await);
    assert!(!durable(store.end_session(2, "b1").await).await, "already ended");
    assert!(store.session("b1").await.expect("read").is_none());
    assert!(durable(store.sessions_of(2, at(3)).await).await.is_empty());
}
