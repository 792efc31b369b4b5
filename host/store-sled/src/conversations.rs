//! Live conversations: the record, its messages numbered in the write
//! that adds them, the visitor-token index and the per-team state index.

use async_trait::async_trait;
use switchboard_core::{
    Attachment, Author, ChatDelivery, ChatMessage, Conversation, ConversationChange, ConversationDraft, ConversationId,
    ConversationState, Expect, InboundDraft, Speaker, TicketDraft, Timestamp,
};
use switchboard_store::{
    Changed, Committed, ConversationStore, ConversationTicket, MAX_CHAT_PAGE, Received, StoreError, kept_chat_file,
};

use crate::SledResult;
use crate::codec::decode;
use crate::keys;
use crate::store::SledStore;
use crate::trees::{Sequence, Tree};
use crate::tx::{OrAbort, Tx, TxResult, abort};
use crate::visibility::Trees;

/// What conversation writes touch.
const WRITE: Trees = Trees::of(&[
    Tree::Meta,
    Tree::Conversations,
    Tree::ChatMessages,
    Tree::ConversationTokens,
    Tree::ConversationStates,
]);
/// What a message from outside touches besides.
const INBOUND: Trees = Trees::of(&[Tree::InboundCustomers, Tree::InboundKeys, Tree::Attachments]);
/// What conversation reads look at.
const READ: Trees =
    Trees::of(&[Tree::Conversations, Tree::ChatMessages, Tree::ConversationTokens, Tree::ConversationStates]);

impl Tx<'_> {
    /// Sets off the "conversation ended" triggers of the ticket made of
    /// the conversation.
    fn conversation_ended(&self, id: switchboard_core::TicketId, now: Timestamp) -> TxResult<()> {
        let old = self.ticket(id)?;
        let team = self.team(&old.team)?;
        let mut ticket = old.clone();
        let events = [switchboard_core::TriggerEvent::ConversationEnded];
        let lines = switchboard_store::triggers::fire(&team, &mut ticket, &events, now);
        if lines.is_empty() {
            return Ok(());
        }
        self.put_ticket(Some(&old), &ticket)?;
        self.after_change(&team, &old, &ticket, lines, now)
    }

    fn chat_message(&self, id: ConversationId, seq: u64) -> TxResult<ChatMessage> {
        match self.get(Tree::ChatMessages, &keys::chat_message(id, seq), "chat message")? {
            Some(m) => Ok(m),
            None => abort(StoreError::UnknownChatMessage { conversation: id, seq }),
        }
    }

    /// The customer's open conversation, or a new one: the index names at
    /// most one, and an ended one no longer counts.
    fn customer_conversation(&self, draft: &InboundDraft, now: Timestamp) -> TxResult<(Conversation, bool)> {
        let key = keys::inbound(&draft.team, &draft.plugin, &draft.customer);
        if let Some(id) = self.id_at(Tree::InboundCustomers, &key)? {
            let c = self.conversation(id)?;
            if c.is_open() {
                return Ok((c, false));
            }
        }
        self.team(&draft.team)?;
        let id = self.next_id(Sequence::Conversation)?;
        let c = Conversation::open_inbound(id, draft, now);
        self.put_raw(Tree::InboundCustomers, &key, keys::id(id).as_slice())?;
        self.put_raw(Tree::ConversationStates, &keys::conversation_state(&c.team, c.state, id), &[][..])?;
        Ok((c, true))
    }

    fn conversation(&self, id: ConversationId) -> TxResult<Conversation> {
        match self.get(Tree::Conversations, &keys::id(id), "conversation")? {
            Some(c) => Ok(c),
            None => abort(StoreError::UnknownConversation(id)),
        }
    }

    /// Writes the conversation, moving it in the state index if its state
    /// changed from `was`, and the message, if any.
    fn keep_conversation(
        &self,
        c: &Conversation,
        was: ConversationState,
        message: Option<&ChatMessage>,
    ) -> TxResult<()> {
        if c.state != was {
            self.remove(Tree::ConversationStates, &keys::conversation_state(&c.team, was, c.id))?;
            self.put_raw(Tree::ConversationStates, &keys::conversation_state(&c.team, c.state, c.id), &[][..])?;
        }
        if let Some(m) = message {
            self.put(Tree::ChatMessages, &keys::chat_message(c.id, m.seq), m)?;
        }
        self.put(Tree::Conversations, &keys::id(c.id), c)
    }
}

#[async_trait]
impl ConversationStore for SledStore {
    async fn open_conversation(
        &self,
        draft: ConversationDraft,
        now: Timestamp,
    ) -> Result<Committed<Conversation>, StoreError> {
        self.write(WRITE, move |tx| {
            tx.team(&draft.team)?;
            let token = draft.token_hash.as_bytes();
            if tx.id_at(Tree::ConversationTokens, token)?.is_some() {
                return abort(StoreError::TokenTaken);
            }
            let id = tx.next_id(Sequence::Conversation)?;
            let c = Conversation::open(id, draft.clone(), now).or_abort()?;
            tx.put_raw(Tree::ConversationTokens, token, keys::id(id).as_slice())?;
            tx.put_raw(Tree::ConversationStates, &keys::conversation_state(&c.team, c.state, id), &[][..])?;
            tx.put(Tree::Conversations, &keys::id(id), &c)?;
            Ok(c)
        })
        .await
    }

    async fn conversation(&self, id: ConversationId) -> Result<Conversation, StoreError> {
        let found = self.inner.get(Tree::Conversations, &keys::id(id), "conversation");
        self.read(READ, found).await?.ok_or(StoreError::UnknownConversation(id))
    }

    async fn conversation_by_token(&self, token_hash: &str) -> Result<Option<Conversation>, StoreError> {
        let id = self.inner.tree(Tree::ConversationTokens).get(token_hash.as_bytes()).backend()?;
        match id.and_then(|v| keys::read_id(&v)) {
            Some(id) => self.conversation(id).await.map(Some),
            None => self.read(READ, Ok(None)).await,
        }
    }

    async fn say(
        &self,
        id: ConversationId,
        speaker: Speaker,
        body: &str,
        expect: Expect,
        now: Timestamp,
    ) -> Result<Committed<ChatMessage>, StoreError> {
        let body = body.to_owned();
        self.write(WRITE, move |tx| {
            let mut c = tx.conversation(id)?;
            let was = c.state;
            let message = c.say(speaker.clone(), &body, expect.clone(), now).or_abort()?;
            tx.keep_conversation(&c, was, Some(&message))?;
            Ok(message)
        })
        .await
    }

    async fn change_conversation(
        &self,
        id: ConversationId,
        change: ConversationChange,
        now: Timestamp,
    ) -> Result<Committed<Changed>, StoreError> {
        self.write(WRITE.and(crate::tickets::WRITE), move |tx| {
            let mut c = tx.conversation(id)?;
            let was = c.state;
            let message = c.apply(change.clone(), now).or_abort()?;
            tx.keep_conversation(&c, was, message.as_ref())?;
            if let Some(ticket) = c.ticket.filter(|_| was != c.state && c.state == ConversationState::Ended) {
                tx.conversation_ended(ticket, now)?;
            }
            Ok(Changed { conversation: c, message })
        })
        .await
    }

    async fn conversation_ticket(
        &self,
        id: ConversationId,
        draft: TicketDraft,
        author: Author,
        now: Timestamp,
    ) -> Result<Committed<ConversationTicket>, StoreError> {
        self.write(WRITE.and(crate::tickets::WRITE), move |tx| {
            let mut c = tx.conversation(id)?;
            if let Some(ticket) = c.ticket {
                return Ok(ConversationTicket { ticket: tx.ticket(ticket)?, changed: None });
            }
            let team = tx.team(&c.team)?;
            let ticket = tx.open_ticket_with(&team, &draft, c.contact, &author, now)?;
            let was = c.state;
            let message = c.apply(ConversationChange::Ticket(ticket.id), now).or_abort()?;
            tx.keep_conversation(&c, was, message.as_ref())?;
            Ok(ConversationTicket { ticket, changed: Some(Changed { conversation: c, message }) })
        })
        .await
    }

    async fn chat_messages(
        &self,
        id: ConversationId,
        after: u64,
        limit: usize,
    ) -> Result<Vec<ChatMessage>, StoreError> {
        self.conversation(id).await?;
        let from = keys::chat_message(id, after.saturating_add(1));
        let to = keys::chat_message(id, u64::MAX);
        let range = self.inner.tree(Tree::ChatMessages).range(from..=to);
        let page = range.values().take(limit.min(MAX_CHAT_PAGE)).map(|v| decode("chat message", &v.backend()?));
        self.read(READ, page.collect()).await
    }

    async fn conversations(
        &self,
        team: &str,
        state: ConversationState,
        limit: usize,
    ) -> Result<Vec<Conversation>, StoreError> {
        let prefix = keys::conversation_state_prefix(team, state);
        let ids: Vec<u64> = self
            .inner
            .tree(Tree::ConversationStates)
            .scan_prefix(&prefix)
            .keys()
            .take(limit.min(MAX_CHAT_PAGE))
            .map(|k| k.map(|k| k.get(prefix.len()..).and_then(keys::read_id)))
            .filter_map(Result::transpose)
            .collect::<Result<_, _>>()
            .backend()?;
        let mut found = Vec::with_capacity(ids.len());
        for id in ids {
            if let Some(c) = self.inner.get(Tree::Conversations, &keys::id(id), "conversation")? {
                found.push(c);
            }
        }
        self.read(READ, Ok(found)).await
    }

    async fn receive(&self, draft: InboundDraft, now: Timestamp) -> Result<Committed<Received>, StoreError> {
        let files = draft.check()?;
        self.write(WRITE.and(INBOUND), move |tx| {
            let key = keys::inbound(&draft.team, &draft.plugin, &draft.key);
            if let Some(place) = tx.get_raw(Tree::InboundKeys, &key)? {
                let (id, seq) = (place.get(..8).and_then(keys::read_id), place.get(8..).and_then(keys::read_id));
                let (Some(id), Some(seq)) = (id, seq) else {
                    return abort(StoreError::Corrupt {
                        what: "inbound key".into(),
                        reason: format!("{} bytes", place.len()),
                    });
                };
                let conversation = tx.conversation(id)?;
                let message = tx.chat_message(id, seq)?;
                return Ok(Received { conversation, message, opened: false, duplicate: true });
            }
            let (mut c, opened) = tx.customer_conversation(&draft, now)?;
            let was = c.state;
            let message = c.receive(&draft.body, files.clone(), now).or_abort()?;
            for (index, data) in draft.attachments.iter().enumerate() {
                if let Some(data) = data.data() {
                    tx.put_raw(Tree::Attachments, &keys::chat_attachment(c.id, message.seq, index), &**data)?;
                }
            }
            tx.put_raw(Tree::InboundKeys, &key, [keys::id(c.id), keys::id(message.seq)].concat())?;
            tx.keep_conversation(&c, was, Some(&message))?;
            Ok(Received { conversation: c, message, opened, duplicate: false })
        })
        .await
    }

    async fn report_delivery(
        &self,
        id: ConversationId,
        seq: u64,
        delivery: ChatDelivery,
    ) -> Result<Committed<Option<ChatMessage>>, StoreError> {
        self.write(WRITE, move |tx| {
            let mut message = tx.chat_message(id, seq)?;
            if !message.report(delivery.clone()) {
                return Ok(None);
            }
            tx.put(Tree::ChatMessages, &keys::chat_message(id, seq), &message)?;
            Ok(Some(message))
        })
        .await
    }

    async fn chat_attachment(
        &self,
        id: ConversationId,
        seq: u64,
        index: usize,
    ) -> Result<(Attachment, Vec<u8>), StoreError> {
        let found = self.inner.get::<ChatMessage>(Tree::ChatMessages, &keys::chat_message(id, seq), "chat message");
        let message = self
            .read(READ.and(INBOUND), found)
            .await?
            .ok_or(StoreError::UnknownChatMessage { conversation: id, seq })?;
        let listed = kept_chat_file(&message, index)?.clone();
        let data = self.inner.tree(Tree::Attachments).get(keys::chat_attachment(id, seq, index)).backend()?;
        let data = data.ok_or_else(|| switchboard_store::missing_chat_file(id, seq, index))?;
        Ok((listed, data.to_vec()))
    }
}
