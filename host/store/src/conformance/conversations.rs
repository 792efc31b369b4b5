//! Live conversations: messages numbered without gaps or repeats, also
//! between concurrent speakers and across a restart; what came after a
//! number read back for a reconnecting client; states listed per team.

use std::sync::Arc;

use switchboard_core::{ConversationChange, ConversationDraft, ConversationOrigin, ConversationState, Expect, Speaker};

use super::{Harness, at, durable, with_team};
use crate::{Store, StoreError};

/// A draft for team `team` with visitor token hash `token`.
pub(super) fn chat(team: &str, token: &str, with_bot: bool) -> ConversationDraft {
    ConversationDraft {
        team: team.into(),
        plugin: "live-chat".into(),
        channel: "Care".into(),
        origin: ConversationOrigin {
            page_url: Some("https://shop.example/cart".into()),
            country: Some("UA".into()),
            language: Some("uk".into()),
        },
        with_bot,
        token_hash: token.into(),
    }
}

fn anna() -> Speaker {
    Speaker::Operator { id: 3, name: "Anna".into() }
}

fn bodies(messages: &[switchboard_core::ChatMessage]) -> Vec<(u64, &str)> {
    messages.iter().map(|m| (m.seq, m.body.as_str())).collect()
}

/// Each message gets the next number; a reader asking for what came after
/// a number gets exactly that; the visitor's token finds the conversation;
/// numbering goes on after a restart.
pub async fn conversations_number_messages_and_resume_after_a_restart<H: Harness>() {
    let mut h = H::new().await;
    let id = {
        let store = h.store();
        with_team(&*store, "Care").await;
        let c = durable(store.open_conversation(chat("care", "token-1", true), at(0)).await).await;
        assert_eq!((c.state, c.last_seq), (ConversationState::Bot, 0));
        durable(store.say(c.id, Speaker::Bot, "Hello! How can we help?", Expect::Text, at(1)).await).await;
        durable(store.say(c.id, Speaker::Visitor, "My order is late", Expect::Text, at(2)).await).await;
        let joined = durable(
            store.change_conversation(c.id, ConversationChange::Join { id: 3, name: "Anna".into() }, at(3)).await,
        )
        .await;
        assert_eq!(joined.conversation.state, ConversationState::WithOperator);
        assert_eq!(joined.message.map(|m| (m.seq, m.speaker)), Some((3, Speaker::System)));
        durable(store.say(c.id, anna(), "Let me look", Expect::Text, at(4)).await).await;
        let missed = store.chat_messages(c.id, 2, 100).await.expect("after 2");
        assert_eq!(bodies(&missed), [(3, "Anna joined"), (4, "Let me look")]);
        c.id
    };
    h.restart().await;
    let store = h.store();
    let found = store.conversation_by_token("token-1").await.expect("by token").expect("found");
    assert_eq!((found.id, found.last_seq, found.origin.country.as_deref()), (id, 4, Some("UA")));
    assert!(store.conversation_by_token("token-2").await.expect("by token").is_none());
    let next = durable(store.say(id, Speaker::Visitor, "Thanks", Expect::Text, at(5)).await).await;
    assert_eq!(next.seq, 5);
    let all = store.chat_messages(id, 0, 100).await.expect("all");
    assert_eq!(all.iter().map(|m| m.seq).collect::<Vec<_>>(), [1, 2, 3, 4, 5]);
    assert_eq!(
        bodies(&store.chat_messages(id, 1, 2).await.expect("page")),
        [(2, "My order is late"), (3, "Anna joined")]
    );
}

/// Speakers writing at once get distinct, consecutive numbers, and every
/// message is kept.
pub async fn concurrent_speakers_get_consecutive_numbers<H: Harness>() {
    let h = H::new().await;
    let store = h.store();
    with_team(&*store, "Care").await;
    let id = durable(store.open_conversation(chat("care", "t", false), at(0)).await).await.id;
    durable(store.change_conversation(id, ConversationChange::Join { id: 3, name: "Anna".into() }, at(0)).await).await;
    let mut tasks = Vec::new();
    for writer in 0..8 {
        let store: Arc<dyn Store> = Arc::clone(&store);
        tasks.push(tokio::spawn(async move {
            let speaker = if writer % 2 == 0 { Speaker::Visitor } else { anna() };
            for i in 0..10 {
                durable(store.say(id, speaker.clone(), &format!("{writer}-{i}"), Expect::Text, at(1)).await).await;
            }
        }));
    }
    for task in tasks {
        task.await.expect("writer");
    }
    let all = store.chat_messages(id, 0, 500).await.expect("all");
    assert_eq!(all.iter().map(|m| m.seq).collect::<Vec<_>>(), (1..=81).collect::<Vec<_>>());
    let mut said: Vec<&str> = all.iter().skip(1).map(|m| m.body.as_str()).collect();
    said.sort_unstable();
    said.dedup();
    assert_eq!(said.len(), 80, "every message kept once");
    assert_eq!(store.conversation(id).await.expect("conversation").last_seq, 81);
}

/// A team's conversations are listed by state, the longest waiting first,
/// and the lists follow each change; other teams' never show.
pub async fn conversation_states_are_listed_per_team_and_follow_changes<H: Harness>() {
    let h = H::new().await;
    let store = h.store();
    with_team(&*store, "Care").await;
    with_team(&*store, "Sales").await;
    let open = |token: &'static str, team: &'static str, bot: bool| {
        let store = Arc::clone(&store);
        async move { durable(store.open_conversation(chat(team, token, bot), at(0)).await).await.id }
    };
    let (a, b, c) = (open("a", "care", true).await, open("b", "care", false).await, open("c", "care", true).await);
    open("d", "sales", false).await;
    let listed = |state| {
        let store = Arc::clone(&store);
        async move {
            let found = store.conversations("care", state, 100).await.expect("list");
            found.iter().map(|c| c.id).collect::<Vec<_>>()
        }
    };
    assert_eq!(listed(ConversationState::Waiting).await, [b]);
    assert_eq!(listed(ConversationState::Bot).await, [a, c]);
    durable(store.change_conversation(a, ConversationChange::HandOver, at(1)).await).await;
    assert_eq!(listed(ConversationState::Waiting).await, [a, b]);
    durable(store.change_conversation(a, ConversationChange::Join { id: 3, name: "Anna".into() }, at(2)).await).await;
    assert_eq!(listed(ConversationState::Waiting).await, [b]);
    assert_eq!(listed(ConversationState::WithOperator).await, [a]);
    durable(store.change_conversation(a, ConversationChange::End, at(3)).await).await;
    assert_eq!(listed(ConversationState::WithOperator).await, Vec::<u64>::new());
    assert_eq!(listed(ConversationState::Ended).await, [a]);
    assert_eq!(store.conversations("care", ConversationState::Bot, 1).await.expect("limit").len(), 1);
}

/// Unknown teams and conversations, a taken token, and speech the rules
/// refuse are errors that change nothing.
pub async fn conversation_rules_and_tokens_are_enforced<H: Harness>() {
    let h = H::new().await;
    let store = h.store();
    with_team(&*store, "Care").await;
    let err = store.open_conversation(chat("nope", "x", true), at(0)).await.expect_err("unknown team");
    assert!(matches!(err, StoreError::UnknownTeam(_)), "{err}");
    let id = durable(store.open_conversation(chat("care", "same", true), at(0)).await).await.id;
    let err = store.open_conversation(chat("care", "same", true), at(0)).await.expect_err("taken token");
    assert!(matches!(err, StoreError::TokenTaken), "{err}");
    let err = store.say(id, anna(), "hi", Expect::Text, at(1)).await.expect_err("not joined");
    assert!(err.to_string().contains("join it first"), "{err}");
    let err = store.say(id + 1000, Speaker::Visitor, "hi", Expect::Text, at(1)).await.expect_err("unknown");
    assert!(matches!(err, StoreError::UnknownConversation(_)), "{err}");
    assert!(matches!(store.chat_messages(id + 1000, 0, 10).await, Err(StoreError::UnknownConversation(_))));
    durable(store.change_conversation(id, ConversationChange::End, at(2)).await).await;
    let err = store.say(id, Speaker::Visitor, "hello?", Expect::Text, at(3)).await.expect_err("ended");
    assert!(err.to_string().contains("has ended"), "{err}");
    assert_eq!(store.conversation(id).await.expect("conversation").last_seq, 1, "refused speech takes no number");
}

/// A conversation becomes a ticket in one write: the ticket has the
/// conversation's contact and the caller's text, the conversation shows
/// the ticket with a system message; asking again returns the same
/// ticket and writes nothing, also after the conversation ended.
pub async fn a_conversation_becomes_one_ticket_with_its_contact<H: Harness>() {
    let h = H::new().await;
    let store = h.store();
    with_team(&*store, "Care").await;
    let id = durable(store.open_conversation(chat("care", "token-t", false), at(0)).await).await.id;
    let email = switchboard_core::Email { address: "ann@example.com".into(), kind: Default::default() };
    let draft = switchboard_core::ContactDraft { emails: vec![email], ..Default::default() };
    let contact = durable(store.upsert_contact(draft, at(0)).await).await.id;
    durable(store.change_conversation(id, ConversationChange::Contact(contact), at(1)).await).await;
    durable(store.say(id, Speaker::Visitor, "My parcel is lost", Expect::Text, at(1)).await).await;
    let draft = switchboard_core::TicketDraft {
        title: "Lost parcel".into(),
        description: "Visitor: My parcel is lost".into(),
        origin: "live-chat".into(),
        external_key: Some(format!("conversation:{id}")),
        ..Default::default()
    };
    let author = switchboard_core::Author::Plugin { id: "live-chat".into() };
    let made = durable(store.conversation_ticket(id, draft.clone(), author.clone(), at(2)).await).await;
    assert_eq!((made.ticket.title.as_str(), made.ticket.contact), ("Lost parcel", Some(contact)));
    assert_eq!(made.ticket.team, "care");
    let changed = made.changed.expect("linked");
    assert_eq!(changed.conversation.ticket, Some(made.ticket.id));
    let note = changed.message.expect("a system message");
    assert_eq!((note.seq, note.speaker), (2, Speaker::System));
    assert!(note.body.contains(&format!("#{}", made.ticket.id)), "{}", note.body);
    assert_eq!(store.ticket(made.ticket.id).await.expect("stored").description, "Visitor: My parcel is lost");

    durable(store.change_conversation(id, ConversationChange::End, at(3)).await).await;
    let again = durable(store.conversation_ticket(id, draft, author, at(4)).await).await;
    assert_eq!((again.ticket.id, again.changed), (made.ticket.id, None));
    let all = store.tickets("care", &crate::TicketFilter { limit: 100, ..Default::default() }).await.expect("tickets");
    assert_eq!(all.len(), 1, "one ticket per conversation");
    let err = store
        .conversation_ticket(
            id + 99,
            Default::default(),
            switchboard_core::Author::Plugin { id: "live-chat".into() },
            at(5),
        )
        .await;
    assert!(matches!(err, Err(StoreError::UnknownConversation(_))), "{err:?}");
}
