//! Live conversations: one row each, locked while a message is numbered,
//! and their messages keyed by conversation and number.

use async_trait::async_trait;
use deadpool_postgres::Transaction;
use switchboard_core::{
    Author, ChatMessage, Conversation, ConversationChange, ConversationDraft, ConversationId, ConversationState,
    Expect, Speaker, TicketDraft, Timestamp,
};
use switchboard_store::{Changed, Committed, ConversationStore, ConversationTicket, MAX_CHAT_PAGE, StoreError};

use crate::convert::{db_id, json, record};
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

#[async_trait]
impl ConversationStore for PgStore {
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
