//! Both buses keep the trait's promises: every matching subscription hears
//! a message, others do not, and a subscriber that may have missed
//! messages is told. On NATS, across two clients (two servers), and across
//! a restart of the NATS server.

use std::time::Duration;

use switchboard_bus::throwaway::TempNats;
use switchboard_bus::{Bus, BusError, Event, LocalBus, NatsBus, Subscription};

/// The next message, skipping gaps, within 10 s.
async fn next_message(sub: &mut Subscription) -> (String, Vec<u8>) {
    loop {
        match tokio::time::timeout(Duration::from_secs(10), sub.next()).await.expect("an event in time") {
            Some(Event::Message { subject, payload }) => return (subject, payload),
            Some(Event::Gap) => continue,
            None => panic!("the bus closed"),
        }
    }
}

/// Nothing but gaps for a moment.
async fn hears_no_message(sub: &mut Subscription) {
    let quiet = tokio::time::timeout(Duration::from_millis(200), async {
        loop {
            match sub.next().await {
                Some(Event::Gap) => continue,
                other => return other,
            }
        }
    });
    assert!(quiet.await.is_err(), "an unexpected message arrived");
}

async fn publish_reaches_matching_subscriptions(publisher: &dyn Bus, subscriber: &dyn Bus) {
    let mut plugins = subscriber.subscribe("plugins.*").await.expect("subscribe");
    let mut chat = subscriber.subscribe("chat.>").await.expect("subscribe");
    let mut exact = publisher.subscribe("plugins.changed").await.expect("subscribe");
    publisher.publish("plugins.changed", b"hello-channel".to_vec()).await.expect("publish");
    assert_eq!(next_message(&mut plugins).await, ("plugins.changed".into(), b"hello-channel".to_vec()));
    assert_eq!(next_message(&mut exact).await.1, b"hello-channel");
    hears_no_message(&mut chat).await;
    publisher.publish("chat.7.message", b"hi".to_vec()).await.expect("publish");
    assert_eq!(next_message(&mut chat).await.0, "chat.7.message");
    let bad = publisher.publish("chat.*", vec![]).await;
    assert!(matches!(bad, Err(BusError::InvalidSubject { .. })), "{bad:?}");
}

#[tokio::test]
async fn the_local_bus_delivers_to_matching_subscriptions() {
    let bus = LocalBus::new();
    publish_reaches_matching_subscriptions(&bus, &bus).await;
}

#[tokio::test]
async fn a_slow_local_subscriber_is_told_it_missed_messages() {
    let bus = LocalBus::new();
    let mut slow = bus.subscribe("x").await.expect("subscribe");
    for i in 0..5000u32 {
        bus.publish("x", i.to_be_bytes().to_vec()).await.expect("publish");
    }
    let mut saw_gap = false;
    while let Ok(Some(event)) = tokio::time::timeout(Duration::from_millis(200), slow.next()).await {
        saw_gap |= event == Event::Gap;
    }
    assert!(saw_gap, "5000 unread messages overflow the buffer and must be reported");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nats_delivers_between_servers() {
    let nats = tokio::task::spawn_blocking(TempNats::start).await.expect("join").expect("nats");
    let one = NatsBus::connect(&nats.url()).await.expect("connect");
    let two = NatsBus::connect(&nats.url()).await.expect("connect");
    publish_reaches_matching_subscriptions(&one, &two).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_a_nats_restart_subscribers_hear_a_gap_and_then_new_messages() {
    let mut nats = tokio::task::spawn_blocking(TempNats::start).await.expect("join").expect("nats");
    let publisher = NatsBus::connect(&nats.url()).await.expect("connect");
    let subscriber = NatsBus::connect(&nats.url()).await.expect("connect");
    let mut sub = subscriber.subscribe("plugins.changed").await.expect("subscribe");
    publisher.publish("plugins.changed", b"before".to_vec()).await.expect("publish");
    assert_eq!(next_message(&mut sub).await.1, b"before");

    nats.kill();
    tokio::time::sleep(Duration::from_millis(300)).await;
    let mut nats =
        tokio::task::spawn_blocking(move || nats.resume().map(|()| nats)).await.expect("join").expect("restart");
    let gap = tokio::time::timeout(Duration::from_secs(20), async {
        loop {
            if sub.next().await == Some(Event::Gap) {
                return;
            }
        }
    });
    gap.await.expect("the subscriber is told it may have missed messages");
    // Both clients are back: a new message goes through. The publisher may
    // reconnect after the subscriber, so publish until one arrives.
    let mut heard = false;
    for _ in 0..100 {
        publisher.publish("plugins.changed", b"after".to_vec()).await.expect("publish");
        if let Ok(Some(Event::Message { payload, .. })) =
            tokio::time::timeout(Duration::from_millis(200), sub.next()).await
        {
            assert_eq!(payload, b"after");
            heard = true;
            break;
        }
    }
    assert!(heard, "no message arrived after the restart");
    nats.kill();
}
