//! Live conversations: one row each, locked while a message is numbered,
//! and their messages keyed by conversation and number.

use async_trait::async_trait;
use deadpool_postgres::Transaction;
use switchboard_core::{
    Attachment, Author, ChatDelivery, ChatMessage, Conversation, ConversationChange, ConversationDraft, ConversationId,
    ConversationState, Expect, InboundDraft, Speaker, TicketDraft, Timestamp,
};
use switchboard_store::{
    Changed, Committed, ConversationStore, ConversationTicket, MAX_CHAT_PAGE, Received, StoreError, kept_chat_file,
};

use crate::convert::{column, db_id, json, record};
use crate::store::PgStore;
use crate::teams::team_row;
use crate::tx::{TxError, execute, into_store, next_id, row, rows, transact};

/// The conversation, locked until the transaction ends.
async fn locked(tx: &Transaction<'_>, id: ConversationId) -> Result<Conversation, TxError> {
    match row(tx, "SELECT data FROM conversations WHERE id = $1 FOR UPDATE", &[&db_id(id)?]).await? {
        Some(found) => Ok(record("conversation", &found, "data")?),
        None => Err(StoreError::UnknownConversation(id).into()),
    }
}

/// Writes the conversation back, and the message, if any.
async fn keep(tx: &Transaction<'_>, c: &Conversation, message: Option<&ChatMessage>) -> Result<(), TxError> {
    let sql = "UPDATE conversations SET state = $2, data = $3 WHERE id = $1";
    execute(tx, sql, &[&db_id(c.id)?, &c.state.as_str(), &json(c)]).await?;
    if let Some(m) = message {
        let sql = "INSERT INTO chat_messages (conversation_id, seq, data) VALUES ($1, $2, $3)";
        execute(tx, sql, &[&db_id(c.id)?, &db_id(m.seq)?, &json(m)]).await?;
    }
    Ok(())
}

async fn open(tx: &Transaction<'_>, draft: &ConversationDraft, now: Timestamp) -> Result<Conversation, TxError> {
    team_row(tx, &draft.team, "").await?;
    // A token met by a concurrent open fails its insert, and the run
    // again finds it here.
    if row(tx, "SELECT 1 FROM conversations WHERE token_hash = $1", &[&draft.token_hash]).await?.is_some() {
        return Err(StoreError::TokenTaken.into());
    }
    let c = Conversation::open(next_id(tx, "conversation_ids").await?, draft.clone(), now)?;
    let sql = "INSERT INTO conversations (id, team, state, token_hash, data) VALUES ($1, $2, $3, $4, $5)";
    execute(tx, sql, &[&db_id(c.id)?, &c.team, &c.state.as_str(), &c.token_hash, &json(&c)]).await?;
    Ok(c)
}

async fn say_in(
    tx: &Transaction<'_>,
    id: ConversationId,
    speaker: &Speaker,
    body: &str,
    expect: &Expect,
    now: Timestamp,
) -> Result<ChatMessage, TxError> {
    let mut c = locked(tx, id).await?;
    let message = c.say(speaker.clone(), body, expect.clone(), now)?;
    keep(tx, &c, Some(&message)).await?;
    Ok(message)
}

async fn apply_change(
    tx: &Transaction<'_>,
    id: ConversationId,
    change: &ConversationChange,
    now: Timestamp,
) -> Result<Changed, TxError> {
    let mut c = locked(tx, id).await?;
    let was = c.state;
    let message = c.apply(change.clone(), now)?;
    keep(tx, &c, message.as_ref()).await?;
    if let Some(ticket) = c.ticket.filter(|_| was != c.state && c.state == ConversationState::Ended) {
        crate::tickets::conversation_ended(tx, ticket, now).await?;
    }
    Ok(Changed { conversation: c, message })
}

async fn ticket_attempt(
    tx: &Transaction<'_>,
    id: ConversationId,
    draft: &TicketDraft,
    author: &Author,
    now: Timestamp,
) -> Result<ConversationTicket, TxError> {
    let mut c = locked(tx, id).await?;
    if let Some(ticket) = c.ticket {
        return Ok(ConversationTicket { ticket: crate::tickets::locked_ticket(tx, ticket).await?, changed: None });
    }
    let opened = crate::tickets::open_team(tx, &c.team).await?;
    let ticket = crate::tickets::open_ticket_with(tx, &opened, draft, c.contact, author, now).await?;
    let message = c.apply(ConversationChange::Ticket(ticket.id), now)?;
    keep(tx, &c, message.as_ref()).await?;
    Ok(ConversationTicket { ticket, changed: Some(Changed { conversation: c, message }) })
}

/// Message `seq` of conversation `id`, locked when `lock` says so.
async fn chat_message<C: deadpool_postgres::GenericClient>(
    db: &C,
    id: ConversationId,
    seq: u64,
    lock: &str,
) -> Result<ChatMessage, TxError> {
    let sql = format!("SELECT data FROM chat_messages WHERE conversation_id = $1 AND seq = $2 {lock}");
    match row(db, &sql, &[&db_id(id)?, &db_id(seq)?]).await? {
        Some(found) => Ok(record("chat message", &found, "data")?),
        None => Err(StoreError::UnknownChatMessage { conversation: id, seq }.into()),
    }
}

/// The customer's open conversation, locked, or a new one. Two first
/// messages at once both insert the customer's row; the one that loses
/// runs again and finds the other's conversation.
async fn customer_conversation(
    tx: &Transaction<'_>,
    draft: &InboundDraft,
    now: Timestamp,
) -> Result<(Conversation, bool), TxError> {
    let sql = "SELECT conversation_id FROM inbound_customers WHERE team = $1 AND plugin = $2 AND customer = $3 \
               FOR UPDATE";
    let known = row(tx, sql, &[&draft.team, &draft.plugin, &draft.customer]).await?;
    if let Some(found) = &known {
        let id: i64 = column(found, "conversation_id")?;
        let c = locked(tx, u64::try_from(id).unwrap_or_default()).await?;
        if c.is_open() {
            return Ok((c, false));
        }
    }
    team_row(tx, &draft.team, "").await?;
    let c = Conversation::open_inbound(next_id(tx, "conversation_ids").await?, draft, now);
    let sql = "INSERT INTO conversations (id, team, state, token_hash, data) VALUES ($1, $2, $3, $4, $5)";
    execute(tx, sql, &[&db_id(c.id)?, &c.team, &c.state.as_str(), &c.token_hash, &json(&c)]).await?;
    let sql = if known.is_some() {
        "UPDATE inbound_customers SET conversation_id = $4 WHERE team = $1 AND plugin = $2 AND customer = $3"
    } else {
        "INSERT INTO inbound_customers (team, plugin, customer, conversation_id) VALUES ($1, $2, $3, $4)"
    };
    execute(tx, sql, &[&draft.team, &draft.plugin, &draft.customer, &db_id(c.id)?]).await?;
    Ok((c, true))
}

async fn receive_attempt(
    tx: &Transaction<'_>,
    draft: &InboundDraft,
    files: &[Attachment],
    now: Timestamp,
) -> Result<Received, TxError> {
    let sql = "SELECT conversation_id, seq FROM inbound_keys WHERE team = $1 AND plugin = $2 AND key = $3";
    if let Some(found) = row(tx, sql, &[&draft.team, &draft.plugin, &draft.key]).await? {
        let id = u64::try_from(column::<_, i64>(&found, "conversation_id")?).unwrap_or_default();
        let seq = u64::try_from(column::<_, i64>(&found, "seq")?).unwrap_or_default();
        let conversation = locked(tx, id).await?;
        let message = chat_message(tx, id, seq, "").await?;
        return Ok(Received { conversation, message, opened: false, duplicate: true });
    }
    let (mut c, opened) = customer_conversation(tx, draft, now).await?;
    let message = c.receive(&draft.body, files.to_vec(), now)?;
    keep(tx, &c, Some(&message)).await?;
    let (id, seq) = (db_id(c.id)?, db_id(message.seq)?);
    let sql = "INSERT INTO inbound_keys (team, plugin, key, conversation_id, seq) VALUES ($1, $2, $3, $4, $5)";
    execute(tx, sql, &[&draft.team, &draft.plugin, &draft.key, &id, &seq]).await?;
    for (index, file) in draft.attachments.iter().enumerate() {
        if let Some(data) = file.data() {
            // Core caps a message's files at a hundred, so the place fits.
            let idx = i32::try_from(index).unwrap_or(i32::MAX);
            let sql = "INSERT INTO chat_attachments (conversation_id, seq, idx, data) VALUES ($1, $2, $3, $4)";
            execute(tx, sql, &[&id, &seq, &idx, &&**data]).await?;
        }
    }
    Ok(Received { conversation: c, message, opened, duplicate: false })
}

async fn report_attempt(
    tx: &Transaction<'_>,
    id: ConversationId,
    seq: u64,
    delivery: &ChatDelivery,
) -> Result<Option<ChatMessage>, TxError> {
    let mut message = chat_message(tx, id, seq, "FOR UPDATE").await?;
    if !message.report(delivery.clone()) {
        return Ok(None);
    }
    let sql = "UPDATE chat_messages SET data = $3 WHERE conversation_id = $1 AND seq = $2";
    execute(tx, sql, &[&db_id(id)?, &db_id(seq)?, &json(&message)]).await?;
    Ok(Some(message))
}

#[async_trait]
impl ConversationStore for PgStore {
    async fn receive(&self, draft: InboundDraft, now: Timestamp) -> Result<Committed<Received>, StoreError> {
        let files = draft.check()?;
        transact!(self, |tx| receive_attempt(&tx, &draft, &files, now)).map(Committed::durable_now)
    }

    async fn report_delivery(
        &self,
        id: ConversationId,
        seq: u64,
        delivery: ChatDelivery,
    ) -> Result<Committed<Option<ChatMessage>>, StoreError> {
        transact!(self, |tx| report_attempt(&tx, id, seq, &delivery)).map(Committed::durable_now)
    }

    async fn chat_attachment(
        &self,
        id: ConversationId,
        seq: u64,
        index: usize,
    ) -> Result<(Attachment, Vec<u8>), StoreError> {
        let client = self.client().await.map_err(into_store)?;
        let message = chat_message(&client, id, seq, "").await.map_err(into_store)?;
        let listed = kept_chat_file(&message, index)?.clone();
        let idx = i32::try_from(index).unwrap_or(i32::MAX);
        let sql = "SELECT data FROM chat_attachments WHERE conversation_id = $1 AND seq = $2 AND idx = $3";
        let found = row(&client, sql, &[&db_id(id)?, &db_id(seq)?, &idx]).await.map_err(into_store)?;
        let found = found.ok_or_else(|| switchboard_store::missing_chat_file(id, seq, index))?;
        Ok((listed, column(&found, "data")?))
    }

    async fn conversation_ticket(
        &self,
        id: ConversationId,
        draft: TicketDraft,
        author: Author,
        now: Timestamp,
    ) -> Result<Committed<ConversationTicket>, StoreError> {
        transact!(self, |tx| ticket_attempt(&tx, id, &draft, &author, now)).map(Committed::durable_now)
    }

    async fn open_conversation(
        &self,
        draft: ConversationDraft,
        now: Timestamp,
    ) -> Result<Committed<Conversation>, StoreError> {
        transact!(self, |tx| open(&tx, &draft, now)).map(Committed::durable_now)
    }

    async fn conversation(&self, id: ConversationId) -> Result<Conversation, StoreError> {
        let client = self.client().await.map_err(into_store)?;
        let sql = "SELECT data FROM conversations WHERE id = $1";
        let found = row(&client, sql, &[&db_id(id)?]).await.map_err(into_store)?;
        found.map(|r| record("conversation", &r, "data")).transpose()?.ok_or(StoreError::UnknownConversation(id))
    }

    async fn conversation_by_token(&self, token_hash: &str) -> Result<Option<Conversation>, StoreError> {
        let client = self.client().await.map_err(into_store)?;
        let sql = "SELECT data FROM conversations WHERE token_hash = $1";
        let found = row(&client, sql, &[&token_hash]).await.map_err(into_store)?;
        found.map(|r| record("conversation", &r, "data")).transpose()
    }

    async fn say(
        &self,
        id: ConversationId,
        speaker: Speaker,
        body: &str,
        expect: Expect,
        now: Timestamp,
    ) -> Result<Committed<ChatMessage>, StoreError> {
        transact!(self, |tx| say_in(&tx, id, &speaker, body, &expect, now)).map(Committed::durable_now)
    }

    async fn change_conversation(
        &self,
        id: ConversationId,
        change: ConversationChange,
        now: Timestamp,
    ) -> Result<Committed<Changed>, StoreError> {
        transact!(self, |tx| apply_change(&tx, id, &change, now)).map(Committed::durable_now)
    }

    async fn chat_messages(
        &self,
        id: ConversationId,
        after: u64,
        limit: usize,
    ) -> Result<Vec<ChatMessage>, StoreError> {
        self.conversation(id).await?;
        let client = self.client().await.map_err(into_store)?;
        let limit = i64::try_from(limit.min(MAX_CHAT_PAGE)).unwrap_or(0);
        let after = i64::try_from(after).unwrap_or(i64::MAX);
        let sql = "SELECT data FROM chat_messages WHERE conversation_id = $1 AND seq > $2 ORDER BY seq LIMIT $3";
        let found = rows(&client, sql, &[&db_id(id)?, &after, &limit]).await.map_err(into_store)?;
        found.iter().map(|r| record("chat message", r, "data")).collect()
    }

    async fn conversations(
        &self,
        team: &str,
        state: ConversationState,
        limit: usize,
    ) -> Result<Vec<Conversation>, StoreError> {
        let client = self.client().await.map_err(into_store)?;
        let limit = i64::try_from(limit.min(MAX_CHAT_PAGE)).unwrap_or(0);
        let sql = "SELECT data FROM conversations WHERE team = $1 AND state = $2 ORDER BY id LIMIT $3";
        let found = rows(&client, sql, &[&team, &state.as_str(), &limit]).await.map_err(into_store)?;
        found.iter().map(|r| record("conversation", r, "data")).collect()
    }
}
