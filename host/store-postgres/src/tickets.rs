//! Tickets, their list columns and threads; external keys kept unique by
//! the key of `ticket_keys`, which holds every key a ticket is found by.

use async_trait::async_trait;
use deadpool_postgres::Transaction;
use switchboard_core::{
    Attachment, Author, ContactDraft, CoreError, Delivery, Message, MessageDraft, MessageKind, Team, Ticket,
    TicketDraft, TicketId, Timestamp, TriggerEvent,
};
use switchboard_store::{
    Committed, DeliveryEntry, DeliveryJob, Got, Idempotency, Queued, StoreError, TicketEdit, TicketFilter, TicketStore,
};
use tokio_postgres::types::ToSql;

use crate::convert::{column, db_id, domain_id, json, nanos, record};
use crate::idempotency::{check_idempotency, keep_idempotency};
use crate::store::PgStore;
use crate::teams::{StageLock, lock_stages, team_row};
use crate::tx::{TxError, execute, into_store, next_id, row, rows, transact};

/// The columns beside a ticket's record, in the order of [`upsert_ticket`]'s
/// parameters after the id.
async fn upsert_ticket(tx: &Transaction<'_>, ticket: &Ticket, insert: bool) -> Result<u64, TxError> {
    let sla_due = ticket.running_deadline().map(nanos).transpose()?;
    let params: [&(dyn ToSql + Sync); 10] = [
        &db_id(ticket.id)?,
        &ticket.team,
        &i16::from(ticket.priority.stars()),
        &i64::from(ticket.stage),
        &nanos(ticket.created_at)?,
        &ticket.is_breached(),
        &sla_due,
        &ticket.origin,
        &ticket.external_key,
        &json(ticket),
    ];
    let sql = if insert {
        // The key's constraint is the guard: the insert waits for a
        // transaction that holds the same key and does nothing if it
        // committed, and the caller looks the owner up.
        "INSERT INTO tickets (id, team, priority, stage, created_ns, breached, sla_due_ns, origin, external_key, data)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) ON CONFLICT DO NOTHING"
    } else {
        "UPDATE tickets SET team = $2, priority = $3, stage = $4, created_ns = $5, breached = $6, sla_due_ns = $7,
                origin = $8, external_key = $9, data = $10 WHERE id = $1"
    };
    execute(tx, sql, &params).await
}

/// The ticket with this id, locked against other writers.
pub(crate) async fn locked_ticket(tx: &Transaction<'_>, id: TicketId) -> Result<Ticket, TxError> {
    match row(tx, "SELECT data FROM tickets WHERE id = $1 FOR UPDATE", &[&db_id(id)?]).await? {
        Some(found) => Ok(record("ticket", &found, "data")?),
        None => Err(StoreError::UnknownTicket(id).into()),
    }
}

/// Finds the ticket of a team that an origin knows by a key.
const KEYED_TICKET: &str = "SELECT t.data FROM ticket_keys k JOIN tickets t ON t.id = k.ticket
                            WHERE k.team = $1 AND k.origin = $2 AND k.key = $3";

/// The ticket of `team` that `origin` knows by `key`.
async fn keyed_ticket(tx: &Transaction<'_>, team: &str, origin: &str, key: &str) -> Result<Option<Ticket>, TxError> {
    Ok(row(tx, KEYED_TICKET, &[&team, &origin, &key]).await?.map(|r| record("ticket", &r, "data")).transpose()?)
}

/// Records that `origin` knows `ticket` by `key`. The table's key is the
/// guard: an insert waits for a transaction holding the same key, and if
/// that one committed, the owner it wrote is returned.
async fn add_key(tx: &Transaction<'_>, team: &str, origin: &str, key: &str, ticket: TicketId) -> Result<(), TxError> {
    let sql = "INSERT INTO ticket_keys (team, origin, key, ticket) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING";
    if execute(tx, sql, &[&team, &origin, &key, &db_id(ticket)?]).await? == 1 {
        return Ok(());
    }
    let sql = "SELECT ticket FROM ticket_keys WHERE team = $1 AND origin = $2 AND key = $3";
    let Some(found) = row(tx, sql, &[&team, &origin, &key]).await? else {
        return Err(TxError::Retry(format!("ticket key \"{key}\" met a row that is gone")));
    };
    let owner = domain_id(column(&found, "ticket")?)?;
    if owner == ticket {
        return Ok(());
    }
    Err(StoreError::ExternalKeyTaken { origin: origin.to_owned(), key: key.to_owned(), ticket: owner }.into())
}

async fn add_keys_attempt(tx: &Transaction<'_>, id: TicketId, origin: &str, keys: &[String]) -> Result<(), TxError> {
    let mut ticket = locked_ticket(tx, id).await?;
    for key in keys {
        add_key(tx, &ticket.team, origin, key, id).await?;
        if ticket.origin == origin {
            ticket.remember_key(key);
        }
    }
    execute(tx, "UPDATE tickets SET data = $2 WHERE id = $1", &[&db_id(id)?, &json(&ticket)]).await?;
    Ok(())
}

pub(crate) async fn add_message(
    tx: &Transaction<'_>,
    ticket: TicketId,
    draft: MessageDraft,
    now: Timestamp,
) -> Result<Message, TxError> {
    let id = next_id(tx, "message_ids").await?;
    insert_message(tx, id, ticket, draft, now).await
}

async fn insert_message(
    tx: &Transaction<'_>,
    id: u64,
    ticket: TicketId,
    draft: MessageDraft,
    now: Timestamp,
) -> Result<Message, TxError> {
    let files: Vec<_> = draft.attachments.iter().map(|a| a.data().cloned()).collect();
    let message = Message::new(id, ticket, draft, now)?;
    let sql = "INSERT INTO messages (id, ticket_id, data) VALUES ($1, $2, $3)";
    execute(tx, sql, &[&db_id(message.id)?, &db_id(ticket)?, &json(&message)]).await?;
    for (index, data) in files.into_iter().enumerate() {
        if let Some(data) = data {
            let sql = "INSERT INTO attachments (message_id, idx, data) VALUES ($1, $2, $3)";
            // Core caps an entry's files at a hundred, so the place fits.
            let idx = i32::try_from(index).unwrap_or(i32::MAX);
            execute(tx, sql, &[&db_id(message.id)?, &idx, &&*data]).await?;
        }
    }
    Ok(message)
}

pub(crate) async fn add_event(
    tx: &Transaction<'_>,
    ticket: TicketId,
    author: &Author,
    body: String,
    now: Timestamp,
) -> Result<(), TxError> {
    let draft = MessageDraft::new(MessageKind::Event, author.clone(), body);
    add_message(tx, ticket, draft, now).await.map(drop)
}

/// A team about to get a ticket, with the ids the ticket and its
/// "created" event will have.
pub(crate) struct Opened {
    team: Team,
    ticket_id: TicketId,
    event_id: u64,
}

/// Locks the team's stages for a ticket to enter one, then reads the team
/// and takes the two ids a new ticket needs, in one round trip. Ids taken
/// by an attempt that opens nothing (the key's ticket exists) are skipped.
pub(crate) async fn open_team(tx: &Transaction<'_>, slug: &str) -> Result<Opened, TxError> {
    lock_stages(tx, slug, StageLock::Enter).await?;
    let sql = "SELECT data, nextval('ticket_ids'), nextval('message_ids') FROM teams WHERE slug = $1";
    let Some(found) = row(tx, sql, &[&slug]).await? else {
        return Err(StoreError::UnknownTeam(slug.to_owned()).into());
    };
    Ok(Opened {
        team: record("team", &found, "data")?,
        ticket_id: domain_id(column(&found, 1)?)?,
        event_id: domain_id(column(&found, 2)?)?,
    })
}

/// Opens a ticket with its contact and its "created" event, or says which
/// ticket holds its external key.
async fn open_ticket(
    tx: &Transaction<'_>,
    opened: &Opened,
    draft: &TicketDraft,
    contact: Option<&ContactDraft>,
    author: &Author,
    now: Timestamp,
) -> Result<Ticket, TxError> {
    let contact = match contact {
        Some(c) => Some(crate::contacts::upsert(tx, c, now).await?.id),
        None => None,
    };
    open_ticket_with(tx, opened, draft, contact, author, now).await
}

/// Opens a ticket for a known contact (or none), with its key and its
/// "created" event, or says which ticket holds its external key.
pub(crate) async fn open_ticket_with(
    tx: &Transaction<'_>,
    opened: &Opened,
    draft: &TicketDraft,
    contact: Option<u64>,
    author: &Author,
    now: Timestamp,
) -> Result<Ticket, TxError> {
    let (team, id) = (&opened.team, opened.ticket_id);
    let mut ticket = Ticket::open(id, team, draft.clone(), contact, now)?;
    let stage = team.stage(ticket.stage).map(|s| s.name.clone()).unwrap_or_else(|_| "?".into());
    // The team was read holding its stages (see `open_team`).
    let events = TriggerEvent::opened(&ticket.origin);
    let lines = switchboard_store::triggers::fire(team, &mut ticket, &events, now);
    if upsert_ticket(tx, &ticket, true).await? == 0 {
        let key = ticket.external_key.clone().unwrap_or_default();
        return match keyed_ticket(tx, &team.slug, &ticket.origin, &key).await? {
            Some(taken) => Err(StoreError::ExternalKeyTaken { origin: ticket.origin, key, ticket: taken.id }.into()),
            None => Err(TxError::Retry(format!("ticket key \"{key}\" met a row that is gone"))),
        };
    }
    if let Some(key) = &ticket.external_key {
        add_key(tx, &team.slug, &ticket.origin, key, id).await?;
    }
    let body = format!("Ticket created via {} in stage {stage}", ticket.origin);
    let event = MessageDraft::new(MessageKind::Event, author.clone(), body);
    insert_message(tx, opened.event_id, id, event, now).await?;
    for line in lines {
        add_event(tx, id, &Author::System, line, now).await?;
    }
    crate::robot_runs::start_stage_runs(tx, team, &ticket, now).await?;
    Ok(ticket)
}

/// The parts of a ticket creation, borrowed by each attempt.
struct Opening<'a> {
    slug: &'a str,
    draft: &'a TicketDraft,
    contact: Option<&'a ContactDraft>,
    author: &'a Author,
    now: Timestamp,
}

async fn create_attempt(
    tx: &Transaction<'_>,
    o: &Opening<'_>,
    idem: Option<&Idempotency<Ticket>>,
) -> Result<Ticket, TxError> {
    check_idempotency(tx, idem).await?;
    let opened = open_team(tx, o.slug).await?;
    let ticket = open_ticket(tx, &opened, o.draft, o.contact, o.author, o.now).await?;
    keep_idempotency(tx, idem, &ticket).await?;
    Ok(ticket)
}

async fn create_or_get_attempt(tx: &Transaction<'_>, o: &Opening<'_>, key: &str) -> Result<Got<Ticket>, TxError> {
    let opened = open_team(tx, o.slug).await?;
    if let Some(ticket) = keyed_ticket(tx, o.slug, &o.draft.origin, key).await? {
        return Ok(Got { record: ticket, created: false });
    }
    match open_ticket(tx, &opened, o.draft, o.contact, o.author, o.now).await {
        Ok(ticket) => Ok(Got { record: ticket, created: true }),
        // Another caller made it since the look-up: the next attempt
        // returns theirs, with none of this attempt's writes.
        Err(TxError::Store(StoreError::ExternalKeyTaken { .. })) => {
            Err(TxError::Retry(format!("ticket key \"{key}\" was taken meanwhile")))
        }
        Err(e) => Err(e),
    }
}

async fn update_attempt(
    tx: &Transaction<'_>,
    id: TicketId,
    edit: &TicketEdit,
    author: &Author,
    now: Timestamp,
    idem: Option<&Idempotency<Ticket>>,
) -> Result<Ticket, TxError> {
    check_idempotency(tx, idem).await?;
    let old = locked_ticket(tx, id).await?;
    if edit.stage.is_some() {
        lock_stages(tx, &old.team, StageLock::Enter).await?;
    }
    let team = team_row(tx, &old.team, "").await?;
    let mut ticket = old.clone();
    let mut changes = Vec::new();
    if let Some(title) = &edit.title {
        changes.extend(ticket.set_title(title, now)?);
    }
    if let Some(priority) = edit.priority {
        changes.extend(ticket.set_priority(priority, &team, now));
    }
    if let Some(stage) = edit.stage {
        changes.extend(ticket.move_to_stage(stage, &team, now)?);
    }
    if let Some(fields) = &edit.fields {
        changes.extend(ticket.set_fields(fields, now)?);
    }
    if let Some(assignee) = &edit.assignee {
        changes.extend(ticket.assign(assignee.clone(), now));
    }
    if ticket.stage_entry != old.stage_entry {
        ticket.count_move(matches!(author, Author::User { .. }))?;
    }
    let events = TriggerEvent::edited(&old, &ticket);
    let lines = crate::robot_runs::fire_triggers(tx, &team, &mut ticket, &events, now).await?;
    if !changes.is_empty() || !lines.is_empty() {
        upsert_ticket(tx, &ticket, false).await?;
        for change in &changes {
            add_event(tx, id, author, change.describe(), now).await?;
        }
    }
    crate::robot_runs::after_change(tx, &team, &old, &ticket, lines, now).await?;
    keep_idempotency(tx, idem, &ticket).await?;
    Ok(ticket)
}

async fn append_attempt(
    tx: &Transaction<'_>,
    id: TicketId,
    draft: &MessageDraft,
    now: Timestamp,
    idem: Option<&Idempotency<Message>>,
) -> Result<Message, TxError> {
    check_idempotency(tx, idem).await?;
    let old = locked_ticket(tx, id).await?;
    let mut ticket = old.clone();
    let message = add_message(tx, id, draft.clone(), now).await?;
    ticket.updated_at = now;
    if draft.kind == MessageKind::Customer {
        let team = team_row(tx, &ticket.team, "").await?;
        let events = TriggerEvent::customer_wrote(draft.via.as_deref());
        let lines = crate::robot_runs::fire_triggers(tx, &team, &mut ticket, &events, now).await?;
        upsert_ticket(tx, &ticket, false).await?;
        crate::robot_runs::after_change(tx, &team, &old, &ticket, lines, now).await?;
    } else {
        execute(tx, "UPDATE tickets SET data = $2 WHERE id = $1", &[&db_id(id)?, &json(&ticket)]).await?;
    }
    keep_idempotency(tx, idem, &message).await?;
    Ok(message)
}

async fn breach_attempt(tx: &Transaction<'_>, now: Timestamp) -> Result<Vec<TicketId>, TxError> {
    // Tickets another server is breaching (or another writer is changing)
    // are skipped rather than waited for: that writer handles them, or the
    // next sweep does.
    let sql = "SELECT data FROM tickets WHERE sla_due_ns <= $1 ORDER BY sla_due_ns FOR UPDATE SKIP LOCKED";
    let mut breached = Vec::new();
    for found in rows(tx, sql, &[&nanos(now)?]).await? {
        let old: Ticket = record("ticket", &found, "data")?;
        let mut ticket = old.clone();
        let changes = ticket.check_deadline(now);
        if changes.is_empty() {
            continue;
        }
        let team = team_row(tx, &ticket.team, "").await?;
        let lines = crate::robot_runs::fire_triggers(tx, &team, &mut ticket, &[TriggerEvent::SlaBreached], now).await?;
        upsert_ticket(tx, &ticket, false).await?;
        for change in &changes {
            add_event(tx, ticket.id, &Author::System, change.describe(), now).await?;
        }
        crate::robot_runs::after_change(tx, &team, &old, &ticket, lines, now).await?;
        breached.push(ticket.id);
    }
    Ok(breached)
}

#[async_trait]
impl TicketStore for PgStore {
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
        let opening = Opening { slug, draft: &draft, contact: contact.as_ref(), author: &author, now };
        transact!(self, |tx| create_attempt(&tx, &opening, idem.as_ref())).map(Committed::durable_now)
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
        let opening = Opening { slug, draft: &draft, contact: contact.as_ref(), author: &author, now };
        transact!(self, |tx| create_or_get_attempt(&tx, &opening, &key)).map(Committed::durable_now)
    }

    async fn ticket(&self, id: TicketId) -> Result<Ticket, StoreError> {
        let client = self.client().await.map_err(into_store)?;
        let found = row(&client, "SELECT data FROM tickets WHERE id = $1", &[&db_id(id)?]).await.map_err(into_store)?;
        found.map(|r| record("ticket", &r, "data")).transpose()?.ok_or(StoreError::UnknownTicket(id))
    }

    async fn tickets(&self, slug: &str, filter: &TicketFilter) -> Result<Vec<Ticket>, StoreError> {
        let client = self.client().await.map_err(into_store)?;
        team_row(&client, slug, "").await.map_err(into_store)?;
        let sql = "SELECT data FROM tickets
                   WHERE team = $1
                     AND ($2::bigint IS NULL OR stage = $2)
                     AND ($3::smallint IS NULL OR priority = $3)
                     AND ($4::boolean IS NULL OR breached = $4)
                   ORDER BY priority DESC, created_ns, id
                   OFFSET $5 LIMIT $6";
        let stage = filter.stage.map(i64::from);
        let priority = filter.priority.map(|p| i16::from(p.stars()));
        let offset = i64::try_from(filter.offset).unwrap_or(i64::MAX);
        let limit = i64::try_from(filter.limit).unwrap_or(i64::MAX);
        let params: [&(dyn ToSql + Sync); 6] = [&slug, &stage, &priority, &filter.breached, &offset, &limit];
        let found = rows(&client, sql, &params).await.map_err(into_store)?;
        found.iter().map(|r| record("ticket", r, "data")).collect()
    }

    async fn add_external_keys(
        &self,
        id: TicketId,
        origin: &str,
        keys: &[String],
    ) -> Result<Committed<()>, StoreError> {
        switchboard_core::check_external_keys(keys)?;
        transact!(self, |tx| add_keys_attempt(&tx, id, origin, keys)).map(Committed::durable_now)
    }

    async fn ticket_by_external_key(&self, slug: &str, origin: &str, key: &str) -> Result<Option<Ticket>, StoreError> {
        let client = self.client().await.map_err(into_store)?;
        let found = row(&client, KEYED_TICKET, &[&slug, &origin, &key]).await.map_err(into_store)?;
        found.map(|r| record("ticket", &r, "data")).transpose()
    }

    async fn update_ticket(
        &self,
        id: TicketId,
        edit: TicketEdit,
        author: Author,
        now: Timestamp,
        idem: Option<Idempotency<Ticket>>,
    ) -> Result<Committed<Ticket>, StoreError> {
        transact!(self, |tx| update_attempt(&tx, id, &edit, &author, now, idem.as_ref())).map(Committed::durable_now)
    }

    async fn append_message(
        &self,
        id: TicketId,
        draft: MessageDraft,
        now: Timestamp,
        idem: Option<Idempotency<Message>>,
    ) -> Result<Committed<Message>, StoreError> {
        transact!(self, |tx| append_attempt(&tx, id, &draft, now, idem.as_ref())).map(Committed::durable_now)
    }

    async fn queue_delivery(
        &self,
        id: TicketId,
        entry: DeliveryEntry,
        job: DeliveryJob,
        now: Timestamp,
        idem: Option<Idempotency<Message>>,
    ) -> Result<Committed<Queued>, StoreError> {
        let q = crate::delivery::Queueing { id, entry: &entry, job: &job, now, idem: idem.as_ref() };
        transact!(self, |tx| crate::delivery::queue_attempt(&tx, &q)).map(Committed::durable_now)
    }

    async fn set_delivery(
        &self,
        id: TicketId,
        message: u64,
        delivery: Delivery,
    ) -> Result<Committed<Message>, StoreError> {
        transact!(self, |tx| crate::delivery::set_delivery_attempt(&tx, id, message, &delivery))
            .map(Committed::durable_now)
    }

    async fn report_entry_delivery(
        &self,
        id: TicketId,
        message: u64,
        delivery: Delivery,
    ) -> Result<Committed<(Message, bool)>, StoreError> {
        transact!(self, |tx| crate::delivery::report_entry_delivery_attempt(&tx, id, message, &delivery))
            .map(Committed::durable_now)
    }

    async fn messages(&self, id: TicketId) -> Result<Vec<Message>, StoreError> {
        let client = self.client().await.map_err(into_store)?;
        if row(&client, "SELECT 1 FROM tickets WHERE id = $1", &[&db_id(id)?]).await.map_err(into_store)?.is_none() {
            return Err(StoreError::UnknownTicket(id));
        }
        let sql = "SELECT data FROM messages WHERE ticket_id = $1 ORDER BY id";
        let found = rows(&client, sql, &[&db_id(id)?]).await.map_err(into_store)?;
        found.iter().map(|r| record("message", r, "data")).collect()
    }

    async fn attachment(&self, id: TicketId, message: u64, index: usize) -> Result<(Attachment, Vec<u8>), StoreError> {
        let client = self.client().await.map_err(into_store)?;
        if row(&client, "SELECT 1 FROM tickets WHERE id = $1", &[&db_id(id)?]).await.map_err(into_store)?.is_none() {
            return Err(StoreError::UnknownTicket(id));
        }
        let sql = "SELECT data FROM messages WHERE id = $1 AND ticket_id = $2";
        let found = row(&client, sql, &[&db_id(message)?, &db_id(id)?]).await.map_err(into_store)?;
        let entry: Message = match found {
            Some(r) => record("message", &r, "data")?,
            None => return Err(StoreError::UnknownMessage { ticket: id, message }),
        };
        let listed = switchboard_store::kept_file(&entry, index)?.clone();
        // Core caps an entry's files at a hundred, so the place fits.
        let idx = i32::try_from(index).unwrap_or(i32::MAX);
        let sql = "SELECT data FROM attachments WHERE message_id = $1 AND idx = $2";
        let found = row(&client, sql, &[&db_id(message)?, &idx]).await.map_err(into_store)?;
        let found = found.ok_or_else(|| switchboard_store::missing_file(message, index))?;
        Ok((listed, column(&found, "data")?))
    }

    async fn breach_overdue(&self, now: Timestamp) -> Result<Committed<Vec<TicketId>>, StoreError> {
        transact!(self, |tx| breach_attempt(&tx, now)).map(Committed::durable_now)
    }
}

/// Sets off the "conversation ended" triggers of ticket `id`, made of a
/// conversation that just ended.
pub(crate) async fn conversation_ended(tx: &Transaction<'_>, id: TicketId, now: Timestamp) -> Result<(), TxError> {
    let old = locked_ticket(tx, id).await?;
    let team = team_row(tx, &old.team, "").await?;
    let mut ticket = old.clone();
    let events = [TriggerEvent::ConversationEnded];
    let lines = crate::robot_runs::fire_triggers(tx, &team, &mut ticket, &events, now).await?;
    if lines.is_empty() {
        return Ok(());
    }
    upsert_ticket(tx, &ticket, false).await?;
    crate::robot_runs::after_change(tx, &team, &old, &ticket, lines, now).await
}
