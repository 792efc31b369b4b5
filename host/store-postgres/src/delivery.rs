//! Thread entries delivered by a channel: the entry and its job in one
//! transaction.

use deadpool_postgres::Transaction;
use switchboard_core::{Delivery, DeliveryState, Message, TicketId, Timestamp};
use switchboard_store::{DeliveryEntry, DeliveryJob, Idempotency, Queued, StoreError};

use crate::convert::{db_id, json, record};
use crate::idempotency::{check_idempotency, keep_idempotency};
use crate::jobs::enqueue_attempt;
use crate::tickets::{add_message, locked_ticket};
use crate::tx::{TxError, execute, row};

/// Entry `message` of ticket `ticket`, locked against other writers.
async fn locked_message(tx: &Transaction<'_>, ticket: TicketId, message: u64) -> Result<Message, TxError> {
    let sql = "SELECT data FROM messages WHERE id = $1 AND ticket_id = $2 FOR UPDATE";
    match row(tx, sql, &[&db_id(message)?, &db_id(ticket)?]).await? {
        Some(found) => Ok(record("message", &found, "data")?),
        None => Err(StoreError::UnknownMessage { ticket, message }.into()),
    }
}

async fn save_message(tx: &Transaction<'_>, message: &Message) -> Result<(), TxError> {
    let sql = "UPDATE messages SET data = $3 WHERE id = $1 AND ticket_id = $2";
    execute(tx, sql, &[&db_id(message.id)?, &db_id(message.ticket)?, &json(message)]).await?;
    Ok(())
}

/// The parts of a queued delivery, borrowed by each attempt.
pub(crate) struct Queueing<'a> {
    pub(crate) id: TicketId,
    pub(crate) entry: &'a DeliveryEntry,
    pub(crate) job: &'a DeliveryJob,
    pub(crate) now: Timestamp,
    pub(crate) idem: Option<&'a Idempotency<Message>>,
}

pub(crate) async fn queue_attempt(tx: &Transaction<'_>, q: &Queueing<'_>) -> Result<Queued, TxError> {
    check_idempotency(tx, q.idem).await?;
    let mut ticket = locked_ticket(tx, q.id).await?;
    let mut message = match q.entry {
        DeliveryEntry::Existing(message) => locked_message(tx, q.id, *message).await?,
        DeliveryEntry::New(draft) => add_message(tx, q.id, draft.clone(), q.now).await?,
    };
    let draft = (q.job)(&message);
    draft.check()?;
    let got = enqueue_attempt(tx, &draft, q.now).await?;
    if got.created {
        message.delivery = Some(Delivery::new(DeliveryState::Queued, "", q.now));
        save_message(tx, &message).await?;
    }
    ticket.updated_at = q.now;
    execute(tx, "UPDATE tickets SET data = $2 WHERE id = $1", &[&db_id(q.id)?, &json(&ticket)]).await?;
    keep_idempotency(tx, q.idem, &message).await?;
    Ok(Queued { message, job: got })
}

pub(crate) async fn set_delivery_attempt(
    tx: &Transaction<'_>,
    id: TicketId,
    message: u64,
    delivery: &Delivery,
) -> Result<Message, TxError> {
    let mut entry = locked_message(tx, id, message).await?;
    entry.delivery = Some(delivery.clone());
    save_message(tx, &entry).await?;
    Ok(entry)
}

/// One attempt at `TicketStore::report_entry_delivery`.
pub(crate) async fn report_entry_delivery_attempt(
    tx: &Transaction<'_>,
    id: TicketId,
    message: u64,
    delivery: &Delivery,
) -> Result<(Message, bool), TxError> {
    let mut entry = locked_message(tx, id, message).await?;
    let changed = entry.report(delivery.clone())?;
    if changed {
        save_message(tx, &entry).await?;
    }
    Ok((entry, changed))
}
