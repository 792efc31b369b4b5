//! Deliveries: a thread entry and the job that delivers it are one write;
//! an entry is queued once, and its delivery state follows the job.

use std::sync::Arc;

use switchboard_core::{Author, Delivery, DeliveryState, MessageDraft, MessageKind};

use super::{Harness, at, durable, open_ticket, with_team};
use crate::{DeliveryEntry, DeliveryJob, JobDraft, StoreError};

/// A job in queue "out" keyed by the entry, with the entry's body.
fn job_for_entry() -> DeliveryJob {
    Arc::new(|m| JobDraft {
        queue: "out".into(),
        key: format!("entry:{}", m.id),
        payload: m.body.as_bytes().to_vec(),
        due_at: m.created_at,
        held_by: None,
    })
}

fn reply(body: &str) -> MessageDraft {
    MessageDraft::new(MessageKind::Reply, Author::User { id: 1, name: "Agent".into() }, body)
}

/// Team Ops with a ticket, and the reply "Hello" queued on it at time 1.
async fn hello_queued(store: &dyn crate::Store) -> (switchboard_core::TicketId, crate::Queued) {
    with_team(store, "Ops").await;
    let ticket = open_ticket(store, "ops", "t").await.id;
    let queued = store.queue_delivery(ticket, DeliveryEntry::New(reply("Hello")), job_for_entry(), at(1), None).await;
    (ticket, durable(queued).await)
}

/// A new entry comes with its job and is marked queued; queueing it again
/// finds the job and leaves the entry alone; its state then follows what
/// the sender records, also across a restart.
pub async fn an_entry_and_its_delivery_job_are_written_together<H: Harness>() {
    let mut h = H::new().await;
    let (ticket, message) = {
        let store = h.store();
        let (ticket, queued) = hello_queued(&*store).await;
        assert!(queued.job.created);
        assert_eq!(queued.job.record.payload, b"Hello");
        assert_eq!(queued.job.record.key, format!("entry:{}", queued.message.id));
        assert_eq!(queued.message.delivery.as_ref().map(|d| d.state), Some(DeliveryState::Queued));
        let sent = Delivery::new(DeliveryState::Sent, "250 2.0.0 queued as 1234", at(2));
        durable(store.set_delivery(ticket, queued.message.id, sent.clone()).await).await;
        let again = durable(
            store
                .queue_delivery(ticket, DeliveryEntry::Existing(queued.message.id), job_for_entry(), at(3), None)
                .await,
        )
        .await;
        assert!(!again.job.created, "the entry's job is found, not made twice");
        assert_eq!((again.job.record.id, again.message.delivery), (queued.job.record.id, Some(sent)));
        let thread = store.messages(ticket).await.expect("thread");
        assert_eq!(thread.iter().filter(|m| m.kind == MessageKind::Reply).count(), 1);
        (ticket, queued.message.id)
    };
    h.restart().await;
    let store = h.store();
    let thread = store.messages(ticket).await.expect("thread");
    let entry = thread.iter().find(|m| m.id == message).expect("the entry");
    assert_eq!(
        entry.delivery.as_ref().map(|d| (d.state, d.detail.as_str())),
        Some((DeliveryState::Sent, "250 2.0.0 queued as 1234"))
    );
}

/// A bad job or a missing entry writes nothing: no entry without its job.
pub async fn a_refused_delivery_leaves_no_entry<H: Harness>() {
    let h = H::new().await;
    let store = h.store();
    with_team(&*store, "Ops").await;
    let ticket = open_ticket(&*store, "ops", "t").await.id;
    let before = store.messages(ticket).await.expect("thread").len();
    let bad: DeliveryJob = Arc::new(|m| JobDraft {
        queue: String::new(),
        key: format!("entry:{}", m.id),
        payload: Vec::new(),
        due_at: m.created_at,
        held_by: None,
    });
    let refused = store.queue_delivery(ticket, DeliveryEntry::New(reply("Hello")), bad, at(1), None).await;
    assert!(matches!(refused, Err(StoreError::Rule(_))), "{refused:?}");
    let missing = store.queue_delivery(ticket, DeliveryEntry::Existing(999_999), job_for_entry(), at(1), None).await;
    assert!(matches!(missing, Err(StoreError::UnknownMessage { message: 999_999, .. })), "{missing:?}");
    let unknown = store.set_delivery(ticket, 999_999, Delivery::new(DeliveryState::Sent, "", at(1))).await;
    assert!(matches!(unknown, Err(StoreError::UnknownMessage { .. })), "{unknown:?}");
    assert_eq!(store.messages(ticket).await.expect("thread").len(), before, "nothing was written");
}

/// A provider's reports on a queued entry only move it forward, keep the
/// id it was sent under, and last across a restart; an entry that was
/// never queued, or is missing, is refused.
pub async fn provider_reports_on_an_entry_only_move_it_forward<H: Harness>() {
    let mut h = H::new().await;
    let (ticket, message) = {
        let store = h.store();
        let (ticket, queued) = hello_queued(&*store).await;
        let id = queued.message.id;
        let report = |state, detail: &str, t| Delivery::new(state, detail, at(t));
        let sent = durable(store.report_entry_delivery(ticket, id, report(DeliveryState::Sent, "wamid.R1", 2)).await);
        assert!(sent.await.1, "sent moves a queued entry on");
        let read = durable(store.report_entry_delivery(ticket, id, report(DeliveryState::Read, "", 4)).await).await;
        assert!(read.1);
        let late = durable(store.report_entry_delivery(ticket, id, report(DeliveryState::Delivered, "", 3)).await);
        let (entry, changed) = late.await;
        assert!(!changed, "a late report changes nothing");
        assert_eq!(entry.delivery.map(|d| (d.state, d.detail)), Some((DeliveryState::Read, "wamid.R1".into())));
        let note = durable(store.append_message(ticket, reply("not sent"), at(5), None).await).await;
        let never = store.report_entry_delivery(ticket, note.id, report(DeliveryState::Read, "", 6)).await;
        assert!(matches!(never, Err(StoreError::Rule(_))), "{never:?}");
        let missing = store.report_entry_delivery(ticket, 999_999, report(DeliveryState::Read, "", 6)).await;
        assert!(matches!(missing, Err(StoreError::UnknownMessage { message: 999_999, .. })), "{missing:?}");
        (ticket, id)
    };
    h.restart().await;
    let store = h.store();
    let thread = store.messages(ticket).await.expect("thread");
    let entry = thread.iter().find(|m| m.id == message).expect("the entry");
    let delivery = entry.delivery.as_ref().map(|d| (d.state, d.detail.as_str(), d.at));
    assert_eq!(delivery, Some((DeliveryState::Read, "wamid.R1", at(4))));
}
