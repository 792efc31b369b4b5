//! The hub across servers: two hubs, each with its own store connection
//! and bus connection (PostgreSQL and NATS, as two servers run), a visitor
//! following on one and an operator on the other; and a follower that
//! finds a message whose hint never came.

use std::sync::Arc;
use std::time::Duration;

use switchboard_bus::throwaway::TempNats;
use switchboard_bus::{Bus, LocalBus, NatsBus};
use switchboard_chat::{Follower, Hub, TeamEvent};
use switchboard_core::{
    ChatMessage, ConversationChange, ConversationDraft, ConversationOrigin, Expect, Speaker, Team, TeamDraft, Timestamp,
};
use switchboard_store::Store;
use switchboard_store_postgres::throwaway::TempPostgres;
use switchboard_store_postgres::{PgConfig, PgStore};

fn now() -> Timestamp {
    Timestamp::from_second(1_800_000_000).expect("time")
}

fn draft(token: &str) -> ConversationDraft {
    ConversationDraft {
        team: "care".into(),
        plugin: "live-chat".into(),
        channel: "Care".into(),
        origin: ConversationOrigin { page_url: Some("https://shop.example/".into()), ..ConversationOrigin::default() },
        with_bot: false,
        token_hash: token.into(),
    }
}

async fn with_care(store: &dyn Store) {
    let team = Team::new(TeamDraft { name: "Care".into(), ..TeamDraft::default() }, now()).expect("team");
    store.create_team(team, None).await.expect("team").durable().await.expect("durable");
}

/// The next page a follower gets, within `wait`.
async fn next(follower: &mut Follower, wait: Duration) -> Vec<(u64, String)> {
    let page = tokio::time::timeout(wait, follower.next()).await.expect("a message in time").expect("read");
    page.into_iter().map(|m: ChatMessage| (m.seq, m.body)).collect()
}

/// A visitor connected to one server and an operator connected to another
/// talk as if on one: each sees the other's messages, in order, woken by
/// the bus (the periodic look is an hour here, so nothing else could
/// deliver them), and the operator's server hears of the new conversation.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_servers_on_postgres_and_nats_talk_as_one() {
    let pg = tokio::task::spawn_blocking(TempPostgres::shared).await.expect("join").expect("postgres");
    let url = pg.new_database().expect("database");
    let nats = tokio::task::spawn_blocking(TempNats::start).await.expect("join").expect("nats");
    let mut hubs = Vec::new();
    for _ in 0..2 {
        let store: Arc<dyn Store> = Arc::new(PgStore::open(&PgConfig::new(&url)).await.expect("store"));
        let bus: Arc<dyn Bus> = Arc::new(NatsBus::connect(&nats.url()).await.expect("bus"));
        hubs.push((Hub::start_looking_every(store.clone(), bus, Duration::from_secs(3600)).await.expect("hub"), store));
    }
    with_care(&*hubs[0].1).await;
    let (visitor_side, operator_side) = (&hubs[0].0, &hubs[1].0);
    let mut team = operator_side.follow_team("care");

    let id = visitor_side.open(draft("visitor-token"), now()).await.expect("open").id;
    let heard = tokio::time::timeout(Duration::from_secs(10), team.next()).await.expect("team event");
    assert_eq!(heard, TeamEvent::Changed(id));
    let mut visitor = visitor_side.follow(id, 0);
    let mut operator = operator_side.follow(id, 0);

    visitor_side.say(id, Speaker::Visitor, "Is anyone there?", Expect::Text, now()).await.expect("visitor says");
    assert_eq!(next(&mut operator, Duration::from_secs(10)).await, [(1, "Is anyone there?".to_owned())]);
    operator_side.change(id, ConversationChange::Join { id: 3, name: "Anna".into() }, now()).await.expect("join");
    let anna = Speaker::Operator { id: 3, name: "Anna".into() };
    operator_side.say(id, anna, "Hello, Anna here", Expect::Text, now()).await.expect("operator says");
    let mut seen = next(&mut visitor, Duration::from_secs(10)).await;
    while seen.len() < 3 {
        seen.extend(next(&mut visitor, Duration::from_secs(10)).await);
    }
    let expected = [(1, "Is anyone there?"), (2, "Anna joined"), (3, "Hello, Anna here")];
    assert_eq!(seen, expected.map(|(n, b)| (n, b.to_owned())));
    assert_eq!(
        tokio::time::timeout(Duration::from_secs(10), team.next()).await.expect("team event"),
        TeamEvent::Changed(id),
        "the operator's server hears the state change"
    );

    // A client that reconnects with the last number it saw gets only what
    // came after, from either server.
    let mut resumed = operator_side.follow(id, 2);
    assert_eq!(next(&mut resumed, Duration::from_secs(10)).await, [(3, "Hello, Anna here".to_owned())]);
}

/// Two hubs whose buses are not connected share a store: no hint crosses,
/// yet a follower on the second finds a message written through the first
/// at its next periodic look.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_message_whose_hint_is_lost_is_found_at_the_next_look() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = switchboard_store_sled::SledStore::open(dir.path(), Default::default()).expect("open");
    let store: Arc<dyn Store> = Arc::new(store);
    with_care(&*store).await;
    let look = Duration::from_millis(200);
    let writer = Hub::start_looking_every(store.clone(), Arc::new(LocalBus::new()), look).await.expect("hub");
    let reader = Hub::start_looking_every(store.clone(), Arc::new(LocalBus::new()), look).await.expect("hub");
    let id = writer.open(draft("t"), now()).await.expect("open").id;
    let mut follower = reader.follow(id, 0);
    let waiting = tokio::spawn(async move { next(&mut follower, Duration::from_secs(10)).await });
    tokio::time::sleep(Duration::from_millis(50)).await;
    writer.say(id, Speaker::Visitor, "hello", Expect::Text, now()).await.expect("say");
    assert_eq!(waiting.await.expect("join"), [(1, "hello".to_owned())]);
}
