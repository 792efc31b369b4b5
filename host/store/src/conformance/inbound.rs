//! Customers who write from outside: one open conversation per address,
//! a retried delivery kept once (also when it arrives twice at once and
//! after a restart), files read back, and delivery reports that only move
//! forward.

use std::sync::Arc;

use switchboard_core::{
    AttachmentContent, AttachmentDraft, ChatDelivery, ChatDeliveryState, ConversationChange, ConversationState,
    InboundDraft, Speaker,
};

use super::{Harness, at, durable, with_team};
use crate::{Store, StoreError};

/// Message `key` from `customer` to team `team`.
fn inbound(team: &str, customer: &str, key: &str, body: &str) -> InboundDraft {
    InboundDraft {
        team: team.into(),
        plugin: "whatsapp".into(),
        channel: "Care".into(),
        customer: customer.into(),
        key: key.into(),
        body: body.into(),
        attachments: Vec::new(),
    }
}

/// A customer's messages join their one open conversation, which waits
/// for an operator; another customer gets their own; after the end the
/// next message opens a new one; a key seen before adds nothing, also
/// after a restart.
pub async fn a_customer_has_one_open_conversation_and_a_retry_is_kept_once<H: Harness>() {
    let mut h = H::new().await;
    let (first, second) = {
        let store = h.store();
        with_team(&*store, "Care").await;
        let a = durable(store.receive(inbound("care", "+380501234567", "wamid.1", "Hello"), at(0)).await).await;
        assert!(a.opened && !a.duplicate);
        assert_eq!(
            (a.conversation.state, a.message.seq, a.message.speaker.clone()),
            (ConversationState::Waiting, 1, Speaker::Visitor)
        );
        assert_eq!(a.conversation.customer.as_deref(), Some("+380501234567"));
        let b =
            durable(store.receive(inbound("care", "+380501234567", "wamid.2", "Are you there?"), at(1)).await).await;
        assert_eq!((b.conversation.id, b.message.seq, b.opened, b.duplicate), (a.conversation.id, 2, false, false));
        let retry = durable(store.receive(inbound("care", "+380501234567", "wamid.1", "Hello"), at(2)).await).await;
        assert!(retry.duplicate, "a key seen before is a duplicate");
        assert_eq!((retry.conversation.id, retry.message.seq), (a.conversation.id, 1), "the first copy's place");
        let other = durable(store.receive(inbound("care", "+34600000000", "wamid.3", "Hola"), at(3)).await).await;
        assert!(other.opened);
        assert_ne!(other.conversation.id, a.conversation.id, "another customer has their own conversation");
        let waiting = store.conversations("care", ConversationState::Waiting, 10).await.expect("waiting");
        assert_eq!(waiting.len(), 2, "both wait for an operator");
        assert!(matches!(
            store.receive(inbound("nope", "+34600000000", "wamid.4", "Hola"), at(3)).await,
            Err(StoreError::UnknownTeam(_))
        ));
        (a.conversation.id, other.conversation.id)
    };
    h.restart().await;
    let store = h.store();
    let retry =
        durable(store.receive(inbound("care", "+380501234567", "wamid.2", "Are you there?"), at(4)).await).await;
    assert!(retry.duplicate && retry.conversation.id == first, "keys are kept across a restart");
    let messages = store.chat_messages(first, 0, 100).await.expect("messages");
    assert_eq!(messages.iter().map(|m| m.body.as_str()).collect::<Vec<_>>(), ["Hello", "Are you there?"]);
    durable(store.change_conversation(first, ConversationChange::End, at(5)).await).await;
    let next = durable(store.receive(inbound("care", "+380501234567", "wamid.5", "Me again"), at(6)).await).await;
    assert!(next.opened, "an ended conversation is not joined");
    assert!(next.conversation.id != first && next.conversation.id != second);
    assert_eq!(next.message.seq, 1);
}

/// The same message delivered by 8 senders at once makes one message, and
/// 8 first messages of one customer at once make one conversation.
pub async fn concurrent_deliveries_make_one_message_and_one_conversation<H: Harness>() {
    let h = H::new().await;
    let store = h.store();
    with_team(&*store, "Care").await;
    let mut tasks = Vec::new();
    for sender in 0..8 {
        let store: Arc<dyn Store> = Arc::clone(&store);
        tasks.push(tokio::spawn(async move {
            let key = format!("wamid.{}", sender % 2);
            durable(store.receive(inbound("care", "+380501234567", &key, "Hello"), at(0)).await).await
        }));
    }
    let mut got = Vec::new();
    for task in tasks {
        got.push(task.await.expect("sender"));
    }
    assert_eq!(got.iter().filter(|r| !r.duplicate).count(), 2, "each key is written once");
    assert_eq!(got.iter().filter(|r| r.opened).count(), 1, "one conversation is opened");
    let id = got[0].conversation.id;
    assert!(got.iter().all(|r| r.conversation.id == id));
    assert_eq!(store.chat_messages(id, 0, 100).await.expect("messages").len(), 2);
}

/// A message's kept files are read back by place, a dropped one is listed
/// but cannot be read, and a bad file refuses the message.
pub async fn inbound_files_are_kept_and_read_back<H: Harness>() {
    let h = H::new().await;
    let store = h.store();
    with_team(&*store, "Care").await;
    let photo: Arc<[u8]> = (0..=255u8).cycle().take(70_000).collect::<Vec<_>>().into();
    let mut draft = inbound("care", "+380501234567", "wamid.img", "[image] my parcel");
    draft.attachments = vec![
        AttachmentDraft {
            name: "parcel.jpg".into(),
            content_type: "image/jpeg".into(),
            content_id: None,
            inline: false,
            content: AttachmentContent::Kept(Arc::clone(&photo)),
        },
        AttachmentDraft {
            name: "video.mp4".into(),
            content_type: "video/mp4".into(),
            content_id: None,
            inline: false,
            content: AttachmentContent::Dropped { size: 90_000_000, reason: "larger than the cap".into() },
        },
    ];
    let got = durable(store.receive(draft, at(0)).await).await;
    let (id, seq) = (got.conversation.id, got.message.seq);
    assert_eq!(got.message.attachments.len(), 2);
    let (listed, data) = store.chat_attachment(id, seq, 0).await.expect("photo");
    assert_eq!((listed.name.as_str(), listed.size), ("parcel.jpg", 70_000));
    assert_eq!(data, &*photo);
    assert!(matches!(store.chat_attachment(id, seq, 1).await, Err(StoreError::UnknownChatAttachment { index: 1, .. })));
    assert!(matches!(store.chat_attachment(id, 9, 0).await, Err(StoreError::UnknownChatMessage { seq: 9, .. })));
    let mut bad = inbound("care", "+380501234567", "wamid.bad", "[document]");
    bad.attachments = vec![AttachmentDraft {
        name: "../etc/passwd".into(),
        content_type: "text/plain".into(),
        content_id: None,
        inline: false,
        content: AttachmentContent::Kept(vec![1u8].into()),
    }];
    assert!(matches!(store.receive(bad, at(1)).await, Err(StoreError::Rule(_))));
    assert_eq!(store.conversation(id).await.expect("conversation").last_seq, 1, "nothing was written");
}

/// Delivery reports move a message forward only, keep the provider's id,
/// and name a message that does not exist.
pub async fn delivery_reports_only_move_forward<H: Harness>() {
    let mut h = H::new().await;
    let (id, seq) = {
        let store = h.store();
        with_team(&*store, "Care").await;
        let got = durable(store.receive(inbound("care", "+380501234567", "wamid.1", "Hello"), at(0)).await).await;
        let id = got.conversation.id;
        durable(store.change_conversation(id, ConversationChange::Join { id: 3, name: "Anna".into() }, at(1)).await)
            .await;
        let anna = Speaker::Operator { id: 3, name: "Anna".into() };
        let said = durable(store.say(id, anna, "On its way", switchboard_core::Expect::Text, at(2)).await).await;
        let report = |state, detail: &str| ChatDelivery::new(state, detail, at(3));
        let sent =
            durable(store.report_delivery(id, said.seq, report(ChatDeliveryState::Sent, "wamid.OUT")).await).await;
        assert_eq!(sent.map(|m| m.delivery.map(|d| d.state)), Some(Some(ChatDeliveryState::Sent)));
        let read = durable(store.report_delivery(id, said.seq, report(ChatDeliveryState::Read, "")).await).await;
        assert!(read.is_some());
        let late = durable(store.report_delivery(id, said.seq, report(ChatDeliveryState::Delivered, "")).await).await;
        assert_eq!(late, None, "a late report changes nothing");
        assert!(matches!(
            store.report_delivery(id, 99, report(ChatDeliveryState::Read, "")).await,
            Err(StoreError::UnknownChatMessage { seq: 99, .. })
        ));
        (id, said.seq)
    };
    h.restart().await;
    let store = h.store();
    let message = store.chat_messages(id, seq - 1, 1).await.expect("message").remove(0);
    let delivery = message.delivery.expect("kept across a restart");
    assert_eq!((delivery.state, delivery.detail.as_str()), (ChatDeliveryState::Read, "wamid.OUT"));
}
