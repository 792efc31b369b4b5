//! Tickets, their threads, and the SLA sweep.

use async_trait::async_trait;
use switchboard_core::{
    Attachment, Author, ContactDraft, Delivery, Message, MessageDraft, Ticket, TicketDraft, TicketId, Timestamp,
};

use crate::{Committed, DeliveryEntry, DeliveryJob, Got, Idempotency, Queued, StoreError, TicketEdit, TicketFilter};

/// File `index` of thread entry `entry`, if the entry lists it as kept:
/// the check every backend makes before it reads a file's content.
pub fn kept_file(entry: &Message, index: usize) -> Result<&Attachment, StoreError> {
    let unknown = || StoreError::UnknownAttachment { ticket: entry.ticket, message: entry.id, index };
    entry.attachments.get(index).filter(|a| a.dropped.is_none()).ok_or_else(unknown)
}

/// The error for a file an entry lists as kept whose content is missing:
/// the store lost data, which is not the client's "not found".
pub fn missing_file(message: u64, index: usize) -> StoreError {
    StoreError::Corrupt {
        what: "attachment".to_owned(),
        reason: format!("message {message} lists file {index} but its content is missing"),
    }
}

/// Tickets and their threads. A ticket's external key is unique per team
/// and origin: a second ticket with the same one is refused.
#[async_trait]
pub trait TicketStore: Send + Sync {
    /// Opens a ticket in a team, finding or creating its contact, and
    /// writes a "created" event into its thread by `author`. Refuses with
    /// [`StoreError::ExternalKeyTaken`] if the team already has a ticket
    /// from the draft's origin with its external key.
    async fn create_ticket(
        &self,
        slug: &str,
        draft: TicketDraft,
        contact: Option<ContactDraft>,
        author: Author,
        now: Timestamp,
        idem: Option<Idempotency<Ticket>>,
    ) -> Result<Committed<Ticket>, StoreError>;

    /// Opens a ticket as [`TicketStore::create_ticket`] does, unless the
    /// team has one from the draft's origin with its external key (which
    /// the draft must have): then that ticket comes back, unchanged. Two
    /// concurrent calls with one key make one ticket.
    async fn create_or_get_ticket(
        &self,
        slug: &str,
        draft: TicketDraft,
        contact: Option<ContactDraft>,
        author: Author,
        now: Timestamp,
    ) -> Result<Committed<Got<Ticket>>, StoreError>;

    /// The ticket with this id.
    async fn ticket(&self, id: TicketId) -> Result<Ticket, StoreError>;

    /// The ticket with this id as it is now, perhaps showing writes of
    /// others that are not yet durable, with the durability of what it
    /// shows. For a caller that waits for it before anything it learned
    /// leaves the server (a robot run hands it to the robot's call),
    /// instead of before it goes on. A backend whose reads show only
    /// durable writes answers it durable.
    async fn ticket_unsettled(&self, id: TicketId) -> Result<Committed<Ticket>, StoreError> {
        Ok(Committed::durable_now(self.ticket(id).await?))
    }

    /// A team's tickets in list order.
    async fn tickets(&self, slug: &str, filter: &TicketFilter) -> Result<Vec<Ticket>, StoreError>;

    /// The ticket that `origin` opened in a team with this external key.
    async fn ticket_by_external_key(&self, slug: &str, origin: &str, key: &str) -> Result<Option<Ticket>, StoreError>;

    /// Gives ticket `id` more keys by which `origin` finds it in its team
    /// (an e-mail channel adds every Message-ID of a thread). A key the
    /// ticket has already is kept; if another ticket of the team has one
    /// from `origin`, none is added and the call is refused with
    /// [`StoreError::ExternalKeyTaken`]. At most
    /// [`switchboard_core::MAX_KEYS_PER_CALL`] keys per call. Keys of the
    /// ticket's own origin are listed, in order, in its `thread_keys`.
    async fn add_external_keys(&self, id: TicketId, origin: &str, keys: &[String])
    -> Result<Committed<()>, StoreError>;

    /// Changes a ticket in one write and writes each change into its
    /// thread as an event by `author`.
    async fn update_ticket(
        &self,
        id: TicketId,
        edit: TicketEdit,
        author: Author,
        now: Timestamp,
        idem: Option<Idempotency<Ticket>>,
    ) -> Result<Committed<Ticket>, StoreError>;

    /// Adds a message to a ticket's thread.
    async fn append_message(
        &self,
        id: TicketId,
        draft: MessageDraft,
        now: Timestamp,
        idem: Option<Idempotency<Message>>,
    ) -> Result<Committed<Message>, StoreError>;

    /// Queues a thread entry for delivery by a channel: adds it (or finds
    /// it) and enqueues the job `job` builds for it, in one write. A new
    /// job marks the entry `queued`; when the job's key has one already,
    /// that job comes back and the entry is left as it was, so queueing an
    /// entry twice sends it once. An idempotency key applies to a new entry.
    async fn queue_delivery(
        &self,
        id: TicketId,
        entry: DeliveryEntry,
        job: DeliveryJob,
        now: Timestamp,
        idem: Option<Idempotency<Message>>,
    ) -> Result<Committed<Queued>, StoreError>;

    /// Records how the delivery of entry `message` of ticket `id` went.
    async fn set_delivery(
        &self,
        id: TicketId,
        message: u64,
        delivery: Delivery,
    ) -> Result<Committed<Message>, StoreError>;

    /// Applies a channel provider's report on the delivery of entry
    /// `message` of ticket `id`, if it moves the entry forward (see
    /// `Message::report`), and says whether it did. Refused with
    /// [`StoreError::UnknownMessage`] when the thread lacks the entry, and
    /// as a rule broken when the entry was never queued for delivery.
    async fn report_entry_delivery(
        &self,
        id: TicketId,
        message: u64,
        delivery: Delivery,
    ) -> Result<Committed<(Message, bool)>, StoreError>;

    /// A ticket's thread, oldest first.
    async fn messages(&self, id: TicketId) -> Result<Vec<Message>, StoreError>;

    /// File `index` of entry `message` of ticket `id`, as the entry lists
    /// it, and its content. Refused with [`StoreError::UnknownMessage`]
    /// when the thread lacks the entry, and with
    /// [`StoreError::UnknownAttachment`] when the entry lists no file
    /// there or did not keep it.
    async fn attachment(&self, id: TicketId, message: u64, index: usize) -> Result<(Attachment, Vec<u8>), StoreError>;

    /// Marks every running SLA whose deadline passed by `now` as breached
    /// and returns the tickets affected.
    async fn breach_overdue(&self, now: Timestamp) -> Result<Committed<Vec<TicketId>>, StoreError>;
}
