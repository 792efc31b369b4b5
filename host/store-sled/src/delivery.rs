//! Thread entries delivered by a channel: the entry and its job in one
//! transaction over the ticket and job trees.

use switchboard_core::{Delivery, DeliveryState, Message, TicketId, Timestamp};
use switchboard_store::{Committed, DeliveryEntry, DeliveryJob, Idempotency, Queued, StoreError};

use crate::keys;
use crate::store::SledStore;
use crate::trees::Tree;
use crate::tx::{OrAbort, Tx, TxResult, abort};

impl Tx<'_> {
    /// Entry `message` of ticket `ticket`.
    fn message(&self, ticket: TicketId, message: u64) -> TxResult<Message> {
        match self.get::<Message>(Tree::Messages, &keys::message(ticket, message), "message")? {
            Some(found) => Ok(found),
            None => abort(StoreError::UnknownMessage { ticket, message }),
        }
    }
}

impl SledStore {
    /// See [`switchboard_store::TicketStore::queue_delivery`].
    pub(crate) async fn queue_delivery_impl(
        &self,
        id: TicketId,
        entry: DeliveryEntry,
        job: DeliveryJob,
        now: Timestamp,
        idem: Option<Idempotency<Message>>,
    ) -> Result<Committed<Queued>, StoreError> {
        let trees = crate::tickets::WRITE.and(crate::jobs::WRITE);
        self.write(trees, move |tx| {
            tx.check_idempotency(idem.as_ref())?;
            let mut ticket = tx.ticket(id)?;
            let mut message = match &entry {
                DeliveryEntry::Existing(message) => tx.message(id, *message)?,
                DeliveryEntry::New(draft) => tx.add_message(id, draft.clone(), now)?,
            };
            let draft = job(&message);
            if let Err(e) = draft.check() {
                return abort(e);
            }
            let got = tx.enqueue(&draft, now)?;
            if got.created {
                message.delivery = Some(Delivery::new(DeliveryState::Queued, "", now));
                tx.put(Tree::Messages, &keys::message(id, message.id), &message)?;
            }
            ticket.updated_at = now;
            tx.put(Tree::Tickets, &keys::id(id), &ticket)?;
            tx.keep_idempotency(idem.as_ref(), &message)?;
            Ok(Queued { message, job: got })
        })
        .await
    }

    /// See [`switchboard_store::TicketStore::set_delivery`].
    pub(crate) async fn set_delivery_impl(
        &self,
        id: TicketId,
        message: u64,
        delivery: Delivery,
    ) -> Result<Committed<Message>, StoreError> {
        self.write(crate::tickets::WRITE, move |tx| {
            let mut entry = tx.message(id, message)?;
            entry.delivery = Some(delivery.clone());
            tx.put(Tree::Messages, &keys::message(id, message), &entry)?;
            Ok(entry)
        })
        .await
    }

    /// See `TicketStore::report_entry_delivery`.
    pub(crate) async fn report_entry_delivery_impl(
        &self,
        id: TicketId,
        message: u64,
        delivery: Delivery,
    ) -> Result<Committed<(Message, bool)>, StoreError> {
        self.write(crate::tickets::WRITE, move |tx| {
            let mut entry = tx.message(id, message)?;
            let changed = entry.report(delivery.clone()).or_abort()?;
            if changed {
                tx.put(Tree::Messages, &keys::message(id, message), &entry)?;
            }
            Ok((entry, changed))
        })
        .await
    }
}
