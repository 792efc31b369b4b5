//! Ticket changes announced on the bus, for live boards.
//!
//! The store is wrapped rather than every caller changed: whatever writes
//! a ticket through [`Stores::tickets`](switchboard_store::Stores), the
//! API, a channel plugin, a robot or the SLA sweep, announces it. The
//! announcement is the ticket's id on the subject `tickets.<team>`, on
//! the bus every server shares, so that a board open on one server sees a
//! ticket another server created. A board reads the ticket itself when it
//! hears of it, and a read waits until what it sees is durable, so nothing
//! shown on a board can vanish in a crash.

use std::sync::Arc;

use async_trait::async_trait;
use switchboard_bus::Bus;
use switchboard_core::{
    Attachment, Author, ContactDraft, Delivery, Message, MessageDraft, Ticket, TicketDraft, TicketId, Timestamp,
};
use switchboard_store::{
    Committed, DeliveryEntry, DeliveryJob, Got, Idempotency, Queued, StoreError, TicketEdit, TicketFilter, TicketStore,
};

/// The subject a team's ticket changes are announced on.
pub(crate) fn subject(team: &str) -> String {
    switchboard_bus::ticket_subject(team)
}

/// A ticket store that announces the tickets it changes.
pub(crate) struct Announcing {
    inner: Arc<dyn TicketStore>,
    bus: Arc<dyn Bus>,
}

impl Announcing {
    /// Wraps `inner`, announcing on `bus`.
    pub(crate) fn new(inner: Arc<dyn TicketStore>, bus: Arc<dyn Bus>) -> Self {
        Announcing { inner, bus }
    }

    /// Announces a change to `ticket`. A lost announcement only delays a
    /// board until its next load, so a bus failure is logged, not
    /// returned: the write itself succeeded.
    async fn announce(&self, ticket: &Ticket) {
        announce_on(&*self.bus, &ticket.team, ticket.id).await;
    }

    /// Announces changes to tickets known only by id, looking up their
    /// teams off the writer's path.
    fn announce_ids(&self, ids: Vec<TicketId>) {
        let (inner, bus) = (Arc::clone(&self.inner), Arc::clone(&self.bus));
        tokio::spawn(async move {
            for id in ids {
                if let Ok(ticket) = inner.ticket(id).await {
                    announce_on(&*bus, &ticket.team, id).await;
                }
            }
        });
    }
}

async fn announce_on(bus: &dyn Bus, team: &str, id: TicketId) {
    if let Err(e) = bus.publish(&subject(team), id.to_string().into_bytes()).await {
        tracing::warn!(error = %e, ticket = id, "could not announce a ticket change to live boards");
    }
}

#[async_trait]
impl TicketStore for Announcing {
    async fn create_ticket(
        &self,
        slug: &str,
        draft: TicketDraft,
        contact: Option<ContactDraft>,
        author: Author,
        now: Timestamp,
        idem: Option<Idempotency<Ticket>>,
    ) -> Result<Committed<Ticket>, StoreError> {
        let written = self.inner.create_ticket(slug, draft, contact, author, now, idem).await?;
        self.announce(written.value()).await;
        Ok(written)
    }

    async fn create_or_get_ticket(
        &self,
        slug: &str,
        draft: TicketDraft,
        contact: Option<ContactDraft>,
        author: Author,
        now: Timestamp,
    ) -> Result<Committed<Got<Ticket>>, StoreError> {
        let written = self.inner.create_or_get_ticket(slug, draft, contact, author, now).await?;
        if written.value().created {
            self.announce(&written.value().record).await;
        }
        Ok(written)
    }

    async fn ticket(&self, id: TicketId) -> Result<Ticket, StoreError> {
        self.inner.ticket(id).await
    }

    async fn ticket_unsettled(&self, id: TicketId) -> Result<Committed<Ticket>, StoreError> {
        self.inner.ticket_unsettled(id).await
    }

    async fn tickets(&self, slug: &str, filter: &TicketFilter) -> Result<Vec<Ticket>, StoreError> {
        self.inner.tickets(slug, filter).await
    }

    async fn ticket_by_external_key(&self, slug: &str, origin: &str, key: &str) -> Result<Option<Ticket>, StoreError> {
        self.inner.ticket_by_external_key(slug, origin, key).await
    }

    async fn add_external_keys(
        &self,
        id: TicketId,
        origin: &str,
        keys: &[String],
    ) -> Result<Committed<()>, StoreError> {
        self.inner.add_external_keys(id, origin, keys).await
    }

    async fn update_ticket(
        &self,
        id: TicketId,
        edit: TicketEdit,
        author: Author,
        now: Timestamp,
        idem: Option<Idempotency<Ticket>>,
    ) -> Result<Committed<Ticket>, StoreError> {
        let written = self.inner.update_ticket(id, edit, author, now, idem).await?;
        self.announce(written.value()).await;
        Ok(written)
    }

    async fn append_message(
        &self,
        id: TicketId,
        draft: MessageDraft,
        now: Timestamp,
        idem: Option<Idempotency<Message>>,
    ) -> Result<Committed<Message>, StoreError> {
        // A message may move the ticket (a trigger on a customer's reply),
        // and always makes it newer.
        let written = self.inner.append_message(id, draft, now, idem).await?;
        self.announce_ids(vec![id]);
        Ok(written)
    }

    async fn queue_delivery(
        &self,
        id: TicketId,
        entry: DeliveryEntry,
        job: DeliveryJob,
        now: Timestamp,
        idem: Option<Idempotency<Message>>,
    ) -> Result<Committed<Queued>, StoreError> {
        self.inner.queue_delivery(id, entry, job, now, idem).await
    }

    async fn set_delivery(
        &self,
        id: TicketId,
        message: u64,
        delivery: Delivery,
    ) -> Result<Committed<Message>, StoreError> {
        self.inner.set_delivery(id, message, delivery).await
    }

    async fn report_entry_delivery(
        &self,
        id: TicketId,
        message: u64,
        delivery: Delivery,
    ) -> Result<Committed<(Message, bool)>, StoreError> {
        self.inner.report_entry_delivery(id, message, delivery).await
    }

    async fn messages(&self, id: TicketId) -> Result<Vec<Message>, StoreError> {
        self.inner.messages(id).await
    }

    async fn attachment(&self, id: TicketId, message: u64, index: usize) -> Result<(Attachment, Vec<u8>), StoreError> {
        self.inner.attachment(id, message, index).await
    }

    async fn breach_overdue(&self, now: Timestamp) -> Result<Committed<Vec<TicketId>>, StoreError> {
        let written = self.inner.breach_overdue(now).await?;
        if !written.value().is_empty() {
            self.announce_ids(written.value().clone());
        }
        Ok(written)
    }
}
