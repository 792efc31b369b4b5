//! The hub: writes go through the store, then a hint goes on the bus; the
//! hints of every server wake the followers connected to this one.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use switchboard_bus::{Bus, Event};
use switchboard_core::{
    Author, ChatDelivery, ChatMessage, Conversation, ConversationChange, ConversationDraft, ConversationId, Expect,
    InboundDraft, Speaker, TicketDraft, Timestamp,
};
use switchboard_store::{Changed, ConversationStore, ConversationTicket, Received};
use tokio::sync::{broadcast, watch};

use crate::ChatError;
use crate::follow::{Follower, TeamEvent, TeamFollower};

/// Hints that a conversation has a new message: `chat.message.<id>`,
/// with the message's number, a space and the message as JSON as the
/// payload (a bare number is read too). The message is durable before
/// its hint goes out, so a follower that gets the message after the last
/// one it returned shows it without reading the store.
const MESSAGE_SUBJECT: &str = "chat.message";
/// Hints that a message's delivery report changed: `chat.delivery.<id>`,
/// with the message's number as the payload.
const DELIVERY_SUBJECT: &str = "chat.delivery";
/// How many delivery changes of one conversation a slow connection may
/// fall behind; past that it misses ticks, which it sees when it follows
/// the conversation again.
pub(crate) const DELIVERY_BUFFER: usize = 64;
/// Hints that a team's conversation was opened or changed state:
/// `chat.team.<slug>`, with the conversation's id as the payload.
const TEAM_SUBJECT: &str = "chat.team";
/// How many team events a slow operator connection may fall behind
/// before it is told to read the team's lists again.
const TEAM_BUFFER: usize = 256;
/// How often a follower looks at the store without a hint, so that a
/// hint lost on the way (the publishing server's bus was down) delays a
/// message by at most this much.
pub(crate) const LOOK_EVERY: Duration = Duration::from_secs(5);

/// The latest message heard of in a conversation: its number, and the
/// message itself when the hint carried it.
#[derive(Debug, Clone, Default)]
pub(crate) struct Hint {
    pub(crate) seq: u64,
    pub(crate) message: Option<Arc<ChatMessage>>,
    /// How many bus gaps this server has heard of: after one, every
    /// follower reads the store.
    pub(crate) gaps: u64,
}

/// The conversation hub of one server.
#[derive(Clone)]
pub struct Hub {
    pub(crate) inner: Arc<Inner>,
}

pub(crate) struct Inner {
    pub(crate) store: Arc<dyn ConversationStore>,
    bus: Arc<dyn Bus>,
    /// The latest message heard of, per conversation someone on this
    /// server follows.
    pub(crate) conversations: Mutex<HashMap<ConversationId, watch::Sender<Hint>>>,
    /// Delivery changes per conversation someone on this server follows
    /// with its deliveries.
    pub(crate) deliveries: Mutex<HashMap<ConversationId, broadcast::Sender<u64>>>,
    /// Events per team someone on this server follows.
    pub(crate) teams: Mutex<HashMap<String, broadcast::Sender<TeamEvent>>>,
    pub(crate) look_every: Duration,
}

impl Hub {
    /// Starts the hub: it subscribes to the bus's chat hints before this
    /// returns, so that no hint published afterwards is missed.
    pub async fn start(store: Arc<dyn ConversationStore>, bus: Arc<dyn Bus>) -> Result<Hub, ChatError> {
        Hub::start_looking_every(store, bus, LOOK_EVERY).await
    }

    /// [`Hub::start`], with followers looking at the store every
    /// `look_every` without a hint (tests shorten it).
    pub async fn start_looking_every(
        store: Arc<dyn ConversationStore>,
        bus: Arc<dyn Bus>,
        look_every: Duration,
    ) -> Result<Hub, ChatError> {
        let mut hints = bus.subscribe("chat.>").await?;
        let inner = Arc::new(Inner {
            store,
            bus,
            conversations: Mutex::default(),
            deliveries: Mutex::default(),
            teams: Mutex::default(),
            look_every,
        });
        // The task holds the hub weakly: it ends with the bus or once the
        // last handle on the hub is gone.
        let weak = Arc::downgrade(&inner);
        tokio::spawn(async move {
            while let Some(event) = hints.next().await {
                let Some(inner) = weak.upgrade() else { return };
                inner.hear(event);
            }
        });
        Ok(Hub { inner })
    }

    /// Opens a conversation, and tells the team's operators.
    pub async fn open(&self, draft: ConversationDraft, now: Timestamp) -> Result<Conversation, ChatError> {
        let opened = self.inner.store.open_conversation(draft, now).await?.durable().await?;
        self.inner.announce(&format!("{TEAM_SUBJECT}.{}", opened.team), opened.id).await;
        Ok(opened)
    }

    /// Adds a message, once it is durable, and tells every server.
    pub async fn say(
        &self,
        id: ConversationId,
        speaker: Speaker,
        body: &str,
        expect: Expect,
        now: Timestamp,
    ) -> Result<ChatMessage, ChatError> {
        let said = self.inner.store.say(id, speaker, body, expect, now).await?.durable().await?;
        self.inner.announce_message(id, &said).await;
        Ok(said)
    }

    /// Changes a conversation (hand-over, an operator joining or leaving,
    /// its end), once durable, and tells every server: its followers of
    /// the system message, its team's operators of the change.
    pub async fn change(
        &self,
        id: ConversationId,
        change: ConversationChange,
        now: Timestamp,
    ) -> Result<Changed, ChatError> {
        let changed = self.inner.store.change_conversation(id, change, now).await?.durable().await?;
        self.inner.announce_change(&changed).await;
        // A change (an end) may move the conversation's ticket by a trigger.
        if let Some(ticket) = changed.conversation.ticket {
            self.inner.announce(&switchboard_bus::ticket_subject(&changed.conversation.team), ticket).await;
        }
        Ok(changed)
    }

    /// Makes a ticket of a conversation and links it, once durable (see
    /// [`ConversationStore::conversation_ticket`]), and tells every server
    /// when that changed the conversation.
    pub async fn ticket(
        &self,
        id: ConversationId,
        draft: TicketDraft,
        author: Author,
        now: Timestamp,
    ) -> Result<ConversationTicket, ChatError> {
        let made = self.inner.store.conversation_ticket(id, draft, author, now).await?.durable().await?;
        if let Some(changed) = &made.changed {
            self.inner.announce_change(changed).await;
            // A new ticket, for live boards.
            self.inner.announce(&switchboard_bus::ticket_subject(&made.ticket.team), made.ticket.id).await;
        }
        Ok(made)
    }

    /// Adds a customer's message from outside, once durable, and tells
    /// every server: the conversation's followers of the message, the
    /// team's operators of a conversation opened for it. A duplicate
    /// wrote nothing and tells nobody.
    pub async fn receive(&self, draft: InboundDraft, now: Timestamp) -> Result<Received, ChatError> {
        let got = self.inner.store.receive(draft, now).await?.durable().await?;
        if !got.duplicate {
            let id = got.conversation.id;
            self.inner.announce_message(id, &got.message).await;
            if got.opened {
                self.inner.announce(&format!("{TEAM_SUBJECT}.{}", got.conversation.team), id).await;
            }
        }
        Ok(got)
    }

    /// Records a delivery report on a message, once durable, and tells
    /// every server when it changed, so that those following the
    /// conversation with its deliveries (operators) see the tick at once.
    pub async fn report_delivery(
        &self,
        id: ConversationId,
        seq: u64,
        delivery: ChatDelivery,
    ) -> Result<Option<ChatMessage>, ChatError> {
        let changed = self.inner.store.report_delivery(id, seq, delivery).await?.durable().await?;
        if changed.is_some() {
            self.inner.announce(&format!("{DELIVERY_SUBJECT}.{id}"), seq).await;
        }
        Ok(changed)
    }

    /// The store the hub writes through, for reads.
    pub fn store(&self) -> &Arc<dyn ConversationStore> {
        &self.inner.store
    }

    /// Follows a conversation from message number `after` on: what a
    /// connection sends to its client.
    pub fn follow(&self, id: ConversationId, after: u64) -> Follower {
        let mut conversations = self.inner.conversations.lock().unwrap_or_else(PoisonError::into_inner);
        let hints = conversations.entry(id).or_insert_with(|| watch::channel(Hint::default()).0).subscribe();
        Follower::new(Arc::clone(&self.inner), id, after, hints)
    }

    /// [`Hub::follow`], also told of the delivery reports that change on
    /// messages it already returned (see [`Follower::next_update`]).
    pub fn follow_with_deliveries(&self, id: ConversationId, after: u64) -> Follower {
        let follower = self.follow(id, after);
        let mut deliveries = self.inner.deliveries.lock().unwrap_or_else(PoisonError::into_inner);
        let changes = deliveries.entry(id).or_insert_with(|| broadcast::channel(DELIVERY_BUFFER).0).subscribe();
        follower.with_deliveries(changes)
    }

    /// Follows a team's conversations being opened and changing state:
    /// what an operator's connection needs to keep its lists.
    pub fn follow_team(&self, team: &str) -> TeamFollower {
        let mut teams = self.inner.teams.lock().unwrap_or_else(PoisonError::into_inner);
        let events = teams.entry(team.to_owned()).or_insert_with(|| broadcast::channel(TEAM_BUFFER).0).subscribe();
        TeamFollower::new(Arc::clone(&self.inner), team.to_owned(), events)
    }
}

impl Inner {
    /// Publishes a hint. A failure is logged, not returned: the write is
    /// durable, and followers find it at their next look.
    async fn announce(&self, subject: &str, number: u64) {
        if let Err(e) = self.bus.publish(subject, number.to_string().into_bytes()).await {
            tracing::warn!(subject, error = %e, "a chat hint was not published; followers find it at their next look");
        }
    }

    /// Publishes the hint of a new, durable message, carrying the message.
    async fn announce_message(&self, id: ConversationId, message: &ChatMessage) {
        let subject = format!("{MESSAGE_SUBJECT}.{id}");
        let payload = match serde_json::to_vec(message) {
            Ok(json) => [format!("{} ", message.seq).into_bytes(), json].concat(),
            Err(_) => message.seq.to_string().into_bytes(),
        };
        if let Err(e) = self.bus.publish(&subject, payload).await {
            tracing::warn!(subject, error = %e, "a chat hint was not published; followers find it at their next look");
        }
    }

    /// Tells every server of a change: the conversation's followers of its
    /// system message, its team's operators of the change.
    async fn announce_change(&self, changed: &Changed) {
        let id = changed.conversation.id;
        if let Some(message) = &changed.message {
            self.announce_message(id, message).await;
        }
        self.announce(&format!("{TEAM_SUBJECT}.{}", changed.conversation.team), id).await;
    }

    /// Wakes the followers a hint concerns, on this server.
    fn hear(&self, event: Event) {
        match event {
            Event::Message { subject, payload } => {
                let under = |prefix: &str| subject.strip_prefix(prefix).and_then(|rest| rest.strip_prefix('.'));
                if let Some(id) = under(MESSAGE_SUBJECT) {
                    let Ok(id) = id.parse::<ConversationId>() else { return };
                    // Only what someone here follows is decoded, and outside
                    // the lock: every follower's start and end takes it too.
                    let hint = {
                        let conversations = self.conversations.lock().unwrap_or_else(PoisonError::into_inner);
                        let Some(hint) = conversations.get(&id) else { return };
                        hint.clone()
                    };
                    let Some(heard) = message_hint(&payload) else { return };
                    hint.send_if_modified(|latest| {
                        let newer = heard.seq > latest.seq;
                        if newer {
                            *latest = Hint { gaps: latest.gaps, ..heard };
                        }
                        newer
                    });
                    return;
                }
                let number = std::str::from_utf8(&payload).ok().and_then(|n| n.parse::<u64>().ok());
                if let (Some(id), Some(seq)) = (under(DELIVERY_SUBJECT), number) {
                    let Ok(id) = id.parse::<ConversationId>() else { return };
                    let deliveries = self.deliveries.lock().unwrap_or_else(PoisonError::into_inner);
                    if let Some(changes) = deliveries.get(&id) {
                        let _ = changes.send(seq);
                    }
                } else if let (Some(team), Some(id)) = (under(TEAM_SUBJECT), number) {
                    let teams = self.teams.lock().unwrap_or_else(PoisonError::into_inner);
                    if let Some(events) = teams.get(team) {
                        let _ = events.send(TeamEvent::Changed(id));
                    }
                }
            }
            Event::Gap => {
                // Hints may have been missed: every follower reads again.
                for hint in self.conversations.lock().unwrap_or_else(PoisonError::into_inner).values() {
                    hint.send_modify(|latest| latest.gaps += 1);
                }
                for events in self.teams.lock().unwrap_or_else(PoisonError::into_inner).values() {
                    let _ = events.send(TeamEvent::Resync);
                }
            }
        }
    }
}

/// Reads a message hint's payload: the number, and the message if it
/// came along and is the one numbered.
fn message_hint(payload: &[u8]) -> Option<Hint> {
    let text = std::str::from_utf8(payload).ok()?;
    let (number, json) = text.split_once(' ').unwrap_or((text, ""));
    let seq = number.parse::<u64>().ok()?;
    let message = serde_json::from_str::<ChatMessage>(json).ok().filter(|m| m.seq == seq).map(Arc::new);
    Some(Hint { seq, message, gaps: 0 })
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use switchboard_bus::LocalBus;
    use switchboard_core::{ConversationOrigin, Speaker, TeamDraft};
    use switchboard_store::Store;

    use super::*;

    fn now() -> Timestamp {
        Timestamp::from_second(1_800_000_000).expect("time")
    }

    async fn store() -> (tempfile::TempDir, Arc<dyn Store>) {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = switchboard_store_sled::SledStore::open(dir.path(), Default::default()).expect("open");
        let store: Arc<dyn Store> = Arc::new(store);
        let team = switchboard_core::Team::new(TeamDraft { name: "Care".into(), ..TeamDraft::default() }, now());
        store.create_team(team.expect("team"), None).await.expect("team").durable().await.expect("durable");
        (dir, store)
    }

    fn draft(token: &str) -> ConversationDraft {
        ConversationDraft {
            team: "care".into(),
            plugin: "live-chat".into(),
            channel: "Care".into(),
            origin: ConversationOrigin::default(),
            with_bot: false,
            token_hash: token.into(),
        }
    }

    /// A hub over a fresh store that never looks on its own, with one
    /// open conversation: only hints and gap reports make it read.
    async fn quiet_hub() -> (tempfile::TempDir, Arc<dyn Store>, Hub, ConversationId) {
        let (dir, store) = store().await;
        let hub = Hub::start_looking_every(store.clone(), Arc::new(LocalBus::new()), Duration::from_secs(3600))
            .await
            .expect("hub");
        let id = hub.open(draft("t"), now()).await.expect("open").id;
        (dir, store, hub, id)
    }

    /// Writes a visitor's message straight to the store, past the hub, so
    /// that no hint goes out for it.
    async fn say_past_hub(store: &dyn Store, id: ConversationId, body: &str) {
        let said = store.say(id, Speaker::Visitor, body, Expect::Text, now()).await.expect("say");
        said.durable().await.expect("durable");
    }

    /// A gap report wakes every follower to read the store, even with no
    /// hint and no periodic look due.
    #[tokio::test]
    async fn a_gap_makes_every_follower_read_again() {
        let (_dir, store, hub, id) = quiet_hub().await;
        let mut follower = hub.follow(id, 0);
        let waiting = tokio::spawn(async move { follower.next().await.map(|page| page.len()) });
        tokio::time::sleep(Duration::from_millis(50)).await;
        // Written past the hub: no hint goes out.
        say_past_hub(&*store, id, "hello").await;
        hub.inner.hear(Event::Gap);
        let got = tokio::time::timeout(Duration::from_secs(10), waiting).await.expect("woken").expect("join");
        assert_eq!(got.expect("read"), 1);
    }

    /// A message that comes with its hint, right after the last one the
    /// follower returned, is shown as it came: durable before its hint
    /// went out, it needs no read. (This one is not in the store at all,
    /// which shows that no read was made.)
    #[tokio::test]
    async fn a_message_its_hint_carries_is_shown_without_a_read() {
        let (_dir, _store, hub, id) = quiet_hub().await;
        let said = hub.say(id, Speaker::Visitor, "hello", Expect::Text, now()).await.expect("say");
        let mut follower = hub.follow(id, said.seq);
        let carried = ChatMessage { seq: said.seq + 1, body: "carried".into(), ..said.clone() };
        let json = serde_json::to_vec(&carried).expect("json");
        let payload = [format!("{} ", carried.seq).into_bytes(), json].concat();
        hub.inner.hear(Event::Message { subject: format!("{MESSAGE_SUBJECT}.{id}"), payload });
        let page = tokio::time::timeout(Duration::from_secs(10), follower.next()).await.expect("shown").expect("page");
        assert_eq!(page, vec![carried]);
    }

    /// After a message that came with its hint, a gap report still makes
    /// the follower read the store, where a message written past the hub
    /// waits.
    #[tokio::test]
    async fn a_gap_after_a_carried_message_makes_the_follower_read() {
        let (_dir, store, hub, id) = quiet_hub().await;
        let mut follower = hub.follow(id, 0);
        let first = tokio::spawn(async move {
            let page = follower.next().await.map(|page| page.len());
            (follower, page)
        });
        tokio::time::sleep(Duration::from_millis(50)).await;
        hub.say(id, Speaker::Visitor, "one", Expect::Text, now()).await.expect("say");
        let (mut follower, page) =
            tokio::time::timeout(Duration::from_secs(10), first).await.expect("one").expect("join");
        assert_eq!(page.expect("read"), 1);
        // The gap comes before the follower is asked again: it must still
        // read, though its last message needed none.
        say_past_hub(&*store, id, "two").await;
        hub.inner.hear(Event::Gap);
        let got = tokio::time::timeout(Duration::from_secs(10), follower.next()).await.expect("read at once");
        assert_eq!(got.expect("read")[0].body, "two");
    }

    /// A follower made with its deliveries is told of a report on a
    /// message it returned, once per change; an unchanged report tells
    /// nobody.
    #[tokio::test]
    async fn a_changed_delivery_report_reaches_followers_of_deliveries() {
        let (_dir, store) = store().await;
        let hub = Hub::start(store, Arc::new(LocalBus::new())).await.expect("hub");
        let id = hub.open(draft("t"), now()).await.expect("open").id;
        let said = hub.say(id, Speaker::Visitor, "On its way", Expect::Text, now()).await.expect("say");
        let mut follower = hub.follow_with_deliveries(id, 0);
        let first = follower.next_update().await.expect("update");
        assert!(matches!(&first, crate::Update::Messages(page) if page.len() == 1), "{first:?}");
        let report = |state| switchboard_core::ChatDelivery::new(state, "wamid.1", now());
        use switchboard_core::ChatDeliveryState::{Read, Sent};
        assert!(hub.report_delivery(id, said.seq, report(Sent)).await.expect("report").is_some());
        let next = tokio::time::timeout(Duration::from_secs(10), follower.next_update()).await.expect("told");
        match next.expect("update") {
            crate::Update::Delivery(m) => {
                assert_eq!((m.seq, m.delivery.map(|d| d.state)), (said.seq, Some(Sent)));
            }
            other => panic!("expected a delivery change, got {other:?}"),
        }
        assert!(hub.report_delivery(id, said.seq, report(Sent)).await.expect("again").is_none(), "unchanged");
        assert!(hub.report_delivery(id, said.seq, report(Read)).await.expect("read").is_some());
        let next = tokio::time::timeout(Duration::from_secs(10), follower.next_update()).await.expect("told");
        assert!(
            matches!(next, Ok(crate::Update::Delivery(ref m)) if m.delivery.as_ref().map(|d| d.state) == Some(Read))
        );
        drop(follower);
        assert!(hub.inner.deliveries.lock().expect("lock").is_empty(), "the last follower took its entry");
    }

    /// The last follower of a conversation or a team takes its entry with
    /// it, so the hub holds only what connections follow.
    #[tokio::test]
    async fn followers_leave_nothing_behind() {
        let (_dir, store) = store().await;
        let hub = Hub::start(store, Arc::new(LocalBus::new())).await.expect("hub");
        let (a, b, team) = (hub.follow(7, 0), hub.follow(7, 3), hub.follow_team("care"));
        assert_eq!(hub.inner.conversations.lock().expect("lock").len(), 1);
        drop(a);
        assert_eq!(hub.inner.conversations.lock().expect("lock").len(), 1, "b still follows");
        drop((b, team));
        assert!(hub.inner.conversations.lock().expect("lock").is_empty());
        assert!(hub.inner.teams.lock().expect("lock").is_empty());
    }
}
