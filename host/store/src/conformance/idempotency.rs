//! Idempotency keys: the write and its answer are kept together.

use std::sync::Arc;

use switchboard_core::{Author, MessageDraft, MessageKind, Priority, Ticket, Timestamp};

use super::{Harness, at, draft, durable, open_ticket, team, with_team};
use crate::{Idempotency, StoreError, StoredAnswer, TicketFilter};

fn key<T: 'static>(scope: &str, key: &str, body: u8, now: Timestamp, render: fn(&T) -> String) -> Idempotency<T> {
    Idempotency {
        scope: scope.into(),
        key: key.into(),
        fingerprint: [body; 32],
        now,
        expires_at: now + jiff::SignedDuration::from_hours(24),
        answer: Arc::new(move |value| StoredAnswer { status: 201, body: render(value).into_bytes() }),
    }
}

fn ticket_answer(t: &Ticket) -> String {
    format!("ticket {}", t.id)
}

fn count(tickets: Vec<Ticket>) -> usize {
    tickets.len()
}

/// Concurrent requests with one key make one ticket; the rest, and later
/// retries, get the first answer; the key with another body is refused;
/// another caller's key of the same name is its own.
pub async fn idempotent_writes_are_made_once_and_answered_alike<H: Harness>() {
    let h = H::new().await;
    let store = h.store();
    with_team(&*store, "Ops").await;
    let mut tasks = Vec::new();
    for _ in 0..8 {
        let store = Arc::clone(&store);
        tasks.push(tokio::spawn(async move {
            let idem = key("user 1", "k-1", 7, at(0), ticket_answer);
            match store.create_ticket("ops", draft("t", Priority::Low), None, Author::System, at(0), Some(idem)).await {
                Ok(c) => Ok(ticket_answer(&c.durable().await.expect("durable"))),
                Err(StoreError::Replayed { key, answer }) => {
                    assert_eq!((key.as_str(), answer.status), ("k-1", 201));
                    Err(String::from_utf8(answer.body).expect("utf-8"))
                }
                Err(e) => panic!("unexpected {e:?}"),
            }
        }));
    }
    let (mut made, mut replayed) = (Vec::new(), Vec::new());
    for task in tasks {
        match task.await.expect("task") {
            Ok(answer) => made.push(answer),
            Err(answer) => replayed.push(answer),
        }
    }
    assert_eq!(made.len(), 1, "one request made the ticket");
    assert!(replayed.iter().all(|a| *a == made[0]), "{replayed:?} against {made:?}");
    let all = TicketFilter { limit: 100, ..TicketFilter::default() };
    assert_eq!(count(store.tickets("ops", &all).await.expect("list")), 1);

    let other_body = key("user 1", "k-1", 8, at(1), ticket_answer);
    let reused =
        store.create_ticket("ops", draft("u", Priority::Low), None, Author::System, at(1), Some(other_body)).await;
    assert!(matches!(&reused, Err(StoreError::KeyReused(k)) if k == "k-1"), "{reused:?}");
    let record = store.idempotency_record("user 1", "k-1", at(1)).await.expect("read").expect("kept");
    assert_eq!(record.answer.body, made[0].as_bytes());

    let other_caller = key("user 2", "k-1", 7, at(1), ticket_answer);
    durable(
        store.create_ticket("ops", draft("v", Priority::Low), None, Author::System, at(1), Some(other_caller)).await,
    )
    .await;
    assert_eq!(count(store.tickets("ops", &all).await.expect("list")), 2);

    // Every keyed write kind keeps its answer the same way.
    let t = open_ticket(&*store, "ops", "w").await;
    let note = || MessageDraft::new(MessageKind::Note, Author::System, "hi");
    let idem = key("user 1", "note", 1, at(2), |m: &switchboard_core::Message| format!("message {}", m.id));
    durable(store.append_message(t.id, note(), at(2), Some(idem.clone())).await).await;
    let again = store.append_message(t.id, note(), at(2), Some(idem)).await;
    assert!(matches!(again, Err(StoreError::Replayed { .. })), "{again:?}");
    assert_eq!(store.messages(t.id).await.expect("thread").len(), 2);
    let idem = key("user 1", "team", 1, at(2), |t: &switchboard_core::Team| t.slug.clone());
    durable(store.create_team(team("Care"), Some(idem.clone())).await).await;
    let again = store.create_team(team("Care"), Some(idem)).await;
    assert!(matches!(&again, Err(StoreError::Replayed { answer, .. }) if answer.body == b"care"), "{again:?}");
}

/// A record counts only until it expires; expiring removes it.
pub async fn idempotency_keys_expire<H: Harness>() {
    let h = H::new().await;
    let store = h.store();
    with_team(&*store, "Ops").await;
    let mut idem = key("user 1", "k", 1, at(0), ticket_answer);
    idem.expires_at = at(1);
    durable(
        store.create_ticket("ops", draft("t", Priority::Low), None, Author::System, at(0), Some(idem.clone())).await,
    )
    .await;
    assert!(store.idempotency_record("user 1", "k", at(0)).await.expect("read").is_some());
    assert!(store.idempotency_record("user 1", "k", at(1)).await.expect("read").is_none(), "expired");
    assert_eq!(durable(store.expire_idempotency(at(0)).await).await, 0);
    // Once expired, the key may be used again, even with another body.
    let mut later = key("user 1", "k", 2, at(2), ticket_answer);
    later.expires_at = at(3);
    durable(store.create_ticket("ops", draft("t2", Priority::Low), None, Author::System, at(2), Some(later)).await)
        .await;
    assert_eq!(durable(store.expire_idempotency(at(4)).await).await, 1);
    assert!(store.idempotency_record("user 1", "k", at(2)).await.expect("read").is_none(), "removed");
}

/// Records are on disk with the write they belong to.
pub async fn idempotency_records_survive_a_restart<H: Harness>() {
    let mut h = H::new().await;
    let made = {
        let store = h.store();
        with_team(&*store, "Ops").await;
        let idem = key("user 1", "k", 1, at(0), ticket_answer);
        let d = draft("t", Priority::Low);
        ticket_answer(&durable(store.create_ticket("ops", d, None, Author::System, at(0), Some(idem)).await).await)
    };
    h.restart().await;
    let store = h.store();
    let idem = key("user 1", "k", 1, at(0), ticket_answer);
    let again = store.create_ticket("ops", draft("t", Priority::Low), None, Author::System, at(0), Some(idem)).await;
    assert!(matches!(&again, Err(StoreError::Replayed { answer, .. }) if answer.body == made.as_bytes()), "{again:?}");
}
