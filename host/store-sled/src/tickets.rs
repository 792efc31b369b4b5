//! Tickets, their indexes and threads.

use async_trait::async_trait;
use switchboard_core::{
    Attachment, Author, ContactDraft, CoreError, Delivery, Message, MessageDraft, MessageKind, Team, Ticket,
    TicketDraft, TicketId, Timestamp, TriggerEvent,
};
use switchboard_store::{
    Committed, DeliveryEntry, DeliveryJob, Got, Idempotency, Queued, StoreError, TeamStore, TicketEdit, TicketFilter,
    TicketStore,
};

use crate::SledResult;
use crate::codec::decode;
use crate::keys;
use crate::store::SledStore;
use crate::trees::{Sequence, Tree};
use crate::tx::{OrAbort, Tx, TxResult, abort};
use crate::visibility::Trees;

/// What ticket writes touch: the ticket and its indexes, its thread, its
/// contact, the id sequences, and the robot runs a stage change starts
/// or cancels.
pub(crate) const WRITE: Trees = Trees::of(&[
    Tree::Meta,
    Tree::Tickets,
    Tree::TicketOrder,
    Tree::StageCounts,
    Tree::SlaDue,
    Tree::Messages,
    Tree::Contacts,
    Tree::ContactKeys,
    Tree::ExternalKeys,
    Tree::Attachments,
])
.and(crate::idempotency::KEPT)
.and(crate::jobs::WRITE);
/// What ticket reads look at.
const READ: Trees = Trees::of(&[Tree::Tickets, Tree::TicketOrder, Tree::ExternalKeys, Tree::Messages]);

impl SledStore {
    /// File `index` of `entry` and its content, if the entry lists and
    /// kept it.
    fn attachment_of(&self, entry: &Message, index: usize) -> Result<(Attachment, Vec<u8>), StoreError> {
        let listed = switchboard_store::kept_file(entry, index)?;
        let data = self.inner.tree(Tree::Attachments).get(keys::attachment(entry.id, index)).backend()?;
        let data = data.ok_or_else(|| switchboard_store::missing_file(entry.id, index))?;
        Ok((listed.clone(), data.to_vec()))
    }
}

impl Tx<'_> {
    fn add_to_stage_count(&self, slug: &str, stage: u32, delta: i64) -> TxResult<()> {
        let key = keys::stage_count(slug, stage);
        let count = self.id_at(Tree::StageCounts, &key)?.unwrap_or(0).saturating_add_signed(delta);
        self.put_raw(Tree::StageCounts, &key, &keys::id(count))
    }

    /// Writes a ticket and moves its index entries from where `old` had
    /// them to where the ticket now needs them.
    pub(crate) fn put_ticket(&self, old: Option<&Ticket>, new: &Ticket) -> TxResult<()> {
        let order = |t: &Ticket| keys::ticket_order(&t.team, t.priority, t.created_at, t.id);
        let due = |t: &Ticket| t.running_deadline().map(|d| keys::sla_due(d, t.id));
        if let Some(old) = old {
            if old.priority != new.priority {
                self.remove(Tree::TicketOrder, &order(old))?;
            }
            if old.stage != new.stage {
                self.add_to_stage_count(&old.team, old.stage, -1)?;
                self.add_to_stage_count(&new.team, new.stage, 1)?;
            }
            if let Some(key) = due(old).filter(|k| Some(k) != due(new).as_ref()) {
                self.remove(Tree::SlaDue, &key)?;
            }
        } else {
            self.add_to_stage_count(&new.team, new.stage, 1)?;
        }
        self.put_raw(Tree::TicketOrder, &order(new), &[][..])?;
        if let Some(key) = due(new) {
            self.put_raw(Tree::SlaDue, &key, &[][..])?;
        }
        self.put(Tree::Tickets, &keys::id(new.id), new)
    }

    pub(crate) fn add_message(&self, ticket: TicketId, draft: MessageDraft, now: Timestamp) -> TxResult<Message> {
        let id = self.next_id(Sequence::Message)?;
        let files: Vec<_> = draft.attachments.iter().map(|a| a.data().cloned()).collect();
        let message = Message::new(id, ticket, draft, now).or_abort()?;
        for (index, data) in files.into_iter().enumerate() {
            if let Some(data) = data {
                self.put_raw(Tree::Attachments, &keys::attachment(id, index), &*data)?;
            }
        }
        self.put(Tree::Messages, &keys::message(ticket, id), &message)?;
        Ok(message)
    }

    pub(crate) fn add_event(&self, ticket: TicketId, author: &Author, body: String, now: Timestamp) -> TxResult<()> {
        let draft = MessageDraft::new(MessageKind::Event, author.clone(), body);
        self.add_message(ticket, draft, now).map(drop)
    }

    /// The ticket of `team` that `origin` opened with `key`.
    fn keyed_ticket(&self, team: &str, origin: &str, key: &str) -> TxResult<Option<Ticket>> {
        match self.id_at(Tree::ExternalKeys, &keys::external_key(team, origin, key))? {
            Some(id) => self.ticket(id).map(Some),
            None => Ok(None),
        }
    }

    /// Opens a ticket with its contact, its indexes (the external key,
    /// refused when another ticket has it, among them) and its "created"
    /// event.
    pub(crate) fn open_ticket(
        &self,
        team: &Team,
        draft: &TicketDraft,
        contact: Option<&ContactDraft>,
        author: &Author,
        now: Timestamp,
    ) -> TxResult<Ticket> {
        let contact = contact.map(|c| self.upsert_contact(c, now)).transpose()?;
        self.open_ticket_with(team, draft, contact.map(|c| c.id), author, now)
    }

    /// Opens a ticket for a known contact (or none), indexes its key and
    /// records its "created" event.
    pub(crate) fn open_ticket_with(
        &self,
        team: &Team,
        draft: &TicketDraft,
        contact: Option<u64>,
        author: &Author,
        now: Timestamp,
    ) -> TxResult<Ticket> {
        if let Some(key) = &draft.external_key
            && let Some(taken) = self.keyed_ticket(&team.slug, &draft.origin, key)?
        {
            return abort(StoreError::ExternalKeyTaken {
                origin: draft.origin.clone(),
                key: key.clone(),
                ticket: taken.id,
            });
        }
        let id = self.next_id(Sequence::Ticket)?;
        let mut ticket = Ticket::open(id, team, draft.clone(), contact, now).or_abort()?;
        let stage = team.stage(ticket.stage).map(|s| s.name.clone()).unwrap_or_else(|_| "?".into());
        let events = TriggerEvent::opened(&ticket.origin);
        let lines = switchboard_store::triggers::fire(team, &mut ticket, &events, now);
        self.put_ticket(None, &ticket)?;
        if let Some(key) = &ticket.external_key {
            self.put_raw(Tree::ExternalKeys, &keys::external_key(&team.slug, &ticket.origin, key), &keys::id(id))?;
        }
        self.add_event(id, author, format!("Ticket created via {} in stage {stage}", ticket.origin), now)?;
        for line in lines {
            self.add_event(id, &Author::System, line, now)?;
        }
        self.start_stage_runs(team, &ticket, now)?;
        Ok(ticket)
    }
}

#[async_trait]
impl TicketStore for SledStore {
    async fn create_ticket(
        &self,
        slug: &str,
        draft: TicketDraft,
        contact: Option<ContactDraft>,
        author: Author,
        now: Timestamp,
        idem: Option<Idempotency<Ticket>>,
    ) -> Result<Committed<Ticket>, StoreError> {
        let contact = contact.map(|c| c.normalized()).transpose()?;
        let slug = slug.to_owned();
        self.write(WRITE, move |tx| {
            tx.check_idempotency(idem.as_ref())?;
            let team = tx.team(&slug)?;
            let ticket = tx.open_ticket(&team, &draft, contact.as_ref(), &author, now)?;
            tx.keep_idempotency(idem.as_ref(), &ticket)?;
            Ok(ticket)
        })
        .await
    }

    async fn create_or_get_ticket(
        &self,
        slug: &str,
        draft: TicketDraft,
        contact: Option<ContactDraft>,
        author: Author,
        now: Timestamp,
    ) -> Result<Committed<Got<Ticket>>, StoreError> {
        let Some(key) = draft.external_key.clone() else {
            return Err(CoreError::invalid("external_key", "is needed to find the ticket again").into());
        };
        let contact = contact.map(|c| c.normalized()).transpose()?;
        let slug = slug.to_owned();
        self.write(WRITE, move |tx| {
            let team = tx.team(&slug)?;
            if let Some(ticket) = tx.keyed_ticket(&slug, &draft.origin, &key)? {
                return Ok(Got { record: ticket, created: false });
            }
            let ticket = tx.open_ticket(&team, &draft, contact.as_ref(), &author, now)?;
            Ok(Got { record: ticket, created: true })
        })
        .await
    }

    async fn ticket(&self, id: TicketId) -> Result<Ticket, StoreError> {
        let ticket = self.inner.get(Tree::Tickets, &keys::id(id), "ticket");
        self.read(READ, ticket).await?.ok_or(StoreError::UnknownTicket(id))
    }

    async fn ticket_unsettled(&self, id: TicketId) -> Result<Committed<Ticket>, StoreError> {
        let ticket = self.inner.get(Tree::Tickets, &keys::id(id), "ticket")?.ok_or(StoreError::UnknownTicket(id));
        self.read_unsettled(READ, ticket)
    }

    async fn tickets(&self, slug: &str, filter: &TicketFilter) -> Result<Vec<Ticket>, StoreError> {
        self.team(slug).await?;
        let mut out = Vec::new();
        let mut skipped = 0;
        for entry in self.inner.tree(Tree::TicketOrder).scan_prefix(keys::team_prefix(slug)).keys() {
            let key = entry.backend()?;
            let Some(id) = key.len().checked_sub(8).and_then(|at| keys::read_id(&key[at..])) else {
                continue;
            };
            let ticket = self.ticket(id).await?;
            let matches = filter.stage.is_none_or(|s| s == ticket.stage)
                && filter.priority.is_none_or(|p| p == ticket.priority)
                && filter.breached.is_none_or(|b| b == ticket.is_breached());
            if !matches {
                continue;
            }
            if skipped < filter.offset {
                skipped += 1;
                continue;
            }
            out.push(ticket);
            if out.len() >= filter.limit {
                break;
            }
        }
        Ok(out)
    }

    async fn add_external_keys(
        &self,
        id: TicketId,
        origin: &str,
        keys: &[String],
    ) -> Result<Committed<()>, StoreError> {
        switchboard_core::check_external_keys(keys)?;
        let (origin, wanted) = (origin.to_owned(), keys.to_vec());
        self.write(WRITE, move |tx| {
            let mut ticket = tx.ticket(id)?;
            for key in &wanted {
                let index = keys::external_key(&ticket.team, &origin, key);
                match tx.id_at(Tree::ExternalKeys, &index)? {
                    Some(owner) if owner == id => {}
                    Some(owner) => {
                        return abort(StoreError::ExternalKeyTaken {
                            origin: origin.clone(),
                            key: key.clone(),
                            ticket: owner,
                        });
                    }
                    None => tx.put_raw(Tree::ExternalKeys, &index, &keys::id(id))?,
                }
                if ticket.origin == origin {
                    ticket.remember_key(key);
                }
            }
            tx.put(Tree::Tickets, &keys::id(id), &ticket)?;
            Ok(())
        })
        .await
    }

    async fn ticket_by_external_key(&self, slug: &str, origin: &str, key: &str) -> Result<Option<Ticket>, StoreError> {
        let index = self.inner.tree(Tree::ExternalKeys).get(keys::external_key(slug, origin, key)).backend()?;
        match index.and_then(|v| keys::read_id(&v)) {
            Some(id) => self.ticket(id).await.map(Some),
            None => Ok(None),
        }
    }

    async fn update_ticket(
        &self,
        id: TicketId,
        edit: TicketEdit,
        author: Author,
        now: Timestamp,
        idem: Option<Idempotency<Ticket>>,
    ) -> Result<Committed<Ticket>, StoreError> {
        self.write(WRITE, move |tx| {
            tx.check_idempotency(idem.as_ref())?;
            let old = tx.ticket(id)?;
            let team = tx.team(&old.team)?;
            let mut ticket = old.clone();
            let mut changes = Vec::new();
            if let Some(title) = &edit.title {
                changes.extend(ticket.set_title(title, now).or_abort()?);
            }
            if let Some(priority) = edit.priority {
                changes.extend(ticket.set_priority(priority, &team, now));
            }
            if let Some(stage) = edit.stage {
                changes.extend(ticket.move_to_stage(stage, &team, now).or_abort()?);
            }
            if let Some(fields) = &edit.fields {
                changes.extend(ticket.set_fields(fields, now).or_abort()?);
            }
            if let Some(assignee) = &edit.assignee {
                changes.extend(ticket.assign(assignee.clone(), now));
            }
            if ticket.stage_entry != old.stage_entry {
                ticket.count_move(matches!(author, Author::User { .. })).or_abort()?;
            }
            let events = TriggerEvent::edited(&old, &ticket);
            let lines = switchboard_store::triggers::fire(&team, &mut ticket, &events, now);
            if !changes.is_empty() || !lines.is_empty() {
                tx.put_ticket(Some(&old), &ticket)?;
                for change in &changes {
                    tx.add_event(id, &author, change.describe(), now)?;
                }
            }
            tx.after_change(&team, &old, &ticket, lines, now)?;
            tx.keep_idempotency(idem.as_ref(), &ticket)?;
            Ok(ticket)
        })
        .await
    }

    async fn append_message(
        &self,
        id: TicketId,
        draft: MessageDraft,
        now: Timestamp,
        idem: Option<Idempotency<Message>>,
    ) -> Result<Committed<Message>, StoreError> {
        self.write(WRITE, move |tx| {
            tx.check_idempotency(idem.as_ref())?;
            let old = tx.ticket(id)?;
            let mut ticket = old.clone();
            let message = tx.add_message(id, draft.clone(), now)?;
            ticket.updated_at = now;
            if draft.kind == MessageKind::Customer {
                let team = tx.team(&ticket.team)?;
                let events = TriggerEvent::customer_wrote(draft.via.as_deref());
                let lines = switchboard_store::triggers::fire(&team, &mut ticket, &events, now);
                tx.put_ticket(Some(&old), &ticket)?;
                tx.after_change(&team, &old, &ticket, lines, now)?;
            } else {
                tx.put(Tree::Tickets, &keys::id(id), &ticket)?;
            }
            tx.keep_idempotency(idem.as_ref(), &message)?;
            Ok(message)
        })
        .await
    }

    async fn queue_delivery(
        &self,
        id: TicketId,
        entry: DeliveryEntry,
        job: DeliveryJob,
        now: Timestamp,
        idem: Option<Idempotency<Message>>,
    ) -> Result<Committed<Queued>, StoreError> {
        self.queue_delivery_impl(id, entry, job, now, idem).await
    }

    async fn set_delivery(
        &self,
        id: TicketId,
        message: u64,
        delivery: Delivery,
    ) -> Result<Committed<Message>, StoreError> {
        self.set_delivery_impl(id, message, delivery).await
    }

    async fn report_entry_delivery(
        &self,
        id: TicketId,
        message: u64,
        delivery: Delivery,
    ) -> Result<Committed<(Message, bool)>, StoreError> {
        self.report_entry_delivery_impl(id, message, delivery).await
    }

    async fn messages(&self, id: TicketId) -> Result<Vec<Message>, StoreError> {
        self.ticket(id).await?;
        let thread = self.inner.tree(Tree::Messages).scan_prefix(keys::id(id));
        let messages = thread.values().map(|v| decode("message", &v.backend()?)).collect();
        self.read(READ, messages).await
    }

    async fn attachment(&self, id: TicketId, message: u64, index: usize) -> Result<(Attachment, Vec<u8>), StoreError> {
        self.ticket(id).await?;
        let entry = self.inner.tree(Tree::Messages).get(keys::message(id, message)).backend()?;
        let entry: Option<Message> = entry.map(|v| decode("message", &v)).transpose()?;
        let found = match entry {
            None => Err(StoreError::UnknownMessage { ticket: id, message }),
            Some(entry) => self.attachment_of(&entry, index),
        };
        self.read(READ.and(Trees::of(&[Tree::Attachments])), found).await
    }

    async fn breach_overdue(&self, now: Timestamp) -> Result<Committed<Vec<TicketId>>, StoreError> {
        let due: Vec<TicketId> = self
            .inner
            .tree(Tree::SlaDue)
            .range(..=keys::sla_due_until(now))
            .keys()
            .filter_map(|k| k.map(|k| keys::sla_due_ticket(&k)).transpose())
            .collect::<Result<_, _>>()
            .backend()?;
        if due.is_empty() {
            return Ok(Committed::durable_now(due));
        }
        self.write(WRITE, move |tx| {
            let mut breached = Vec::new();
            for &id in &due {
                let old = tx.ticket(id)?;
                let mut ticket = old.clone();
                let changes = ticket.check_deadline(now);
                if changes.is_empty() {
                    continue;
                }
                let team = tx.team(&ticket.team)?;
                let lines = switchboard_store::triggers::fire(&team, &mut ticket, &[TriggerEvent::SlaBreached], now);
                tx.put_ticket(Some(&old), &ticket)?;
                for change in &changes {
                    tx.add_event(id, &Author::System, change.describe(), now)?;
                }
                tx.after_change(&team, &old, &ticket, lines, now)?;
                breached.push(id);
            }
            Ok(breached)
        })
        .await
    }
}
