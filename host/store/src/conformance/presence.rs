//! Operators' presence: online for thirty minutes after a heartbeat, kept
//! per team and channel, across a restart.

use jiff::SignedDuration;

use super::{Harness, at, durable, with_team};
use crate::StoreError;

/// Heartbeats make an operator online in one channel of one team, for
/// thirty minutes after the last one; leaving takes them off at once; a
/// restart keeps who is there.
pub async fn operators_are_online_for_thirty_minutes_after_a_heartbeat<H: Harness>() {
    let mut h = H::new().await;
    {
        let store = h.store();
        with_team(&*store, "Care").await;
        with_team(&*store, "Sales").await;
        durable(store.heartbeat("care", "Care", 3, "Anna", at(0)).await).await;
        durable(store.heartbeat("care", "Care", 4, "Bohdan", at(0)).await).await;
        durable(store.heartbeat("care", "VIP", 5, "Carmen", at(0)).await).await;
        durable(store.heartbeat("sales", "Care", 6, "Dmytro", at(0)).await).await;
        let err = store.heartbeat("nope", "Care", 3, "Anna", at(0)).await.expect_err("unknown team");
        assert!(matches!(err, StoreError::UnknownTeam(_)), "{err}");
        let err = store.heartbeat("care", "Care", 3, "\u{202e}x", at(0)).await.expect_err("bad name");
        assert!(err.to_string().starts_with("chat_name:"), "{err}");
    }
    h.restart().await;
    let store = h.store();
    let names = |list: Vec<switchboard_core::Presence>| list.into_iter().map(|p| p.chat_name).collect::<Vec<_>>();
    let soon = at(0) + SignedDuration::from_mins(20);
    assert_eq!(names(store.online_operators("care", "Care", soon).await.expect("online")), ["Anna", "Bohdan"]);
    // Anna beats her heart at 20 minutes; Bohdan does not.
    durable(store.heartbeat("care", "Care", 3, "Anna", soon).await).await;
    let later = at(0) + SignedDuration::from_mins(35);
    let online = store.online_operators("care", "Care", later).await.expect("online");
    assert_eq!(names(online.clone()), ["Anna"], "Bohdan has been idle for 35 minutes");
    assert_eq!(online[0].since, at(0), "a heartbeat keeps the time she joined");
    assert!(durable(store.leave_channel("care", "Care", 3).await).await);
    assert!(!durable(store.leave_channel("care", "Care", 3).await).await, "already gone");
    assert!(store.online_operators("care", "Care", later).await.expect("online").is_empty());
    assert_eq!(names(store.online_operators("care", "VIP", soon).await.expect("online")), ["Carmen"]);
}
