//! Live conversations and their messages.

use async_trait::async_trait;
use switchboard_core::{
    Attachment, Author, ChatDelivery, ChatMessage, Conversation, ConversationChange, ConversationDraft, ConversationId,
    ConversationState, Expect, InboundDraft, Speaker, Ticket, TicketDraft, Timestamp,
};

use crate::{Committed, StoreError};

/// The most messages one read returns.
pub const MAX_CHAT_PAGE: usize = 500;

/// What a change to a conversation wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Changed {
    /// The conversation after the change.
    pub conversation: Conversation,
    /// The system message that records it, if the change wrote one (a
    /// change that was already so writes none).
    pub message: Option<ChatMessage>,
}

/// A ticket made of a conversation.
#[derive(Debug, Clone, PartialEq)]
pub struct ConversationTicket {
    /// The ticket.
    pub ticket: Ticket,
    /// What linking it changed; `None` when the conversation already had
    /// this ticket and nothing was written.
    pub changed: Option<Changed>,
}

/// What became of a customer's message from outside.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Received {
    /// The conversation it is in, after it.
    pub conversation: Conversation,
    /// The message: the first copy's, for a duplicate.
    pub message: ChatMessage,
    /// Whether the conversation was opened for it.
    pub opened: bool,
    /// Whether its key was known, so that nothing was written.
    pub duplicate: bool,
}

/// File `index` of conversation message `m`, if it lists it as kept: the
/// check every backend makes before it reads a file's content.
pub fn kept_chat_file(m: &ChatMessage, index: usize) -> Result<&Attachment, StoreError> {
    let unknown = || StoreError::UnknownChatAttachment { conversation: m.conversation, seq: m.seq, index };
    m.attachments.get(index).filter(|a| a.dropped.is_none()).ok_or_else(unknown)
}

/// The error for a file a conversation message lists as kept whose
/// content is missing: the store lost data, which is not "not found".
pub fn missing_chat_file(conversation: ConversationId, seq: u64, index: usize) -> StoreError {
    StoreError::Corrupt {
        what: "attachment".to_owned(),
        reason: format!("message {seq} of conversation {conversation} lists file {index} but its content is missing"),
    }
}

/// Live conversations. Each message gets the next sequence number of its
/// conversation in the write that adds it: concurrent speakers get
/// distinct, consecutive numbers, and a reader that asks for what came
/// after the last number it saw misses nothing.
#[async_trait]
pub trait ConversationStore: Send + Sync {
    /// Opens a conversation in a team. Refused with
    /// [`StoreError::UnknownTeam`] for a team that does not exist, and with
    /// [`StoreError::TokenTaken`] when another conversation has the token.
    async fn open_conversation(
        &self,
        draft: ConversationDraft,
        now: Timestamp,
    ) -> Result<Committed<Conversation>, StoreError>;

    /// The conversation with this id.
    async fn conversation(&self, id: ConversationId) -> Result<Conversation, StoreError>;

    /// The conversation whose visitor token has this hash.
    async fn conversation_by_token(&self, token_hash: &str) -> Result<Option<Conversation>, StoreError>;

    /// Adds a message by `speaker`, numbered next, if the conversation's
    /// rules let them speak now.
    async fn say(
        &self,
        id: ConversationId,
        speaker: Speaker,
        body: &str,
        expect: Expect,
        now: Timestamp,
    ) -> Result<Committed<ChatMessage>, StoreError>;

    /// Changes a conversation (a hand-over, an operator joining or
    /// leaving, its end) and writes the system message that records it.
    async fn change_conversation(
        &self,
        id: ConversationId,
        change: ConversationChange,
        now: Timestamp,
    ) -> Result<Committed<Changed>, StoreError>;

    /// Makes a ticket of conversation `id` in its team, from `draft`
    /// (whose origin and external key the caller chooses), with the
    /// conversation's contact, and links it to the conversation, in one
    /// write. A conversation that has a ticket gets that ticket back, and
    /// nothing is written.
    async fn conversation_ticket(
        &self,
        id: ConversationId,
        draft: TicketDraft,
        author: Author,
        now: Timestamp,
    ) -> Result<Committed<ConversationTicket>, StoreError>;

    /// The messages numbered after `after`, oldest first, at most `limit`
    /// (and at most [`MAX_CHAT_PAGE`]).
    async fn chat_messages(&self, id: ConversationId, after: u64, limit: usize)
    -> Result<Vec<ChatMessage>, StoreError>;

    /// A team's conversations in `state`, oldest first (the longest
    /// waiting first), at most `limit` (and at most [`MAX_CHAT_PAGE`]).
    async fn conversations(
        &self,
        team: &str,
        state: ConversationState,
        limit: usize,
    ) -> Result<Vec<Conversation>, StoreError>;

    /// Adds a customer's message from outside (see [`InboundDraft`]) to
    /// their open conversation in the plugin's installation, opening one
    /// when they have none (or only ended ones), in one write with its
    /// kept files. A key the installation received before writes nothing
    /// and returns the first copy, marked as a duplicate. Refused with
    /// [`StoreError::UnknownTeam`] for a team that does not exist.
    async fn receive(&self, draft: InboundDraft, now: Timestamp) -> Result<Committed<Received>, StoreError>;

    /// Records a delivery report on message `seq` of conversation `id`,
    /// if it moves the message forward (see [`ChatMessage::report`]).
    /// Returns the message when it changed, `None` when it did not.
    async fn report_delivery(
        &self,
        id: ConversationId,
        seq: u64,
        delivery: ChatDelivery,
    ) -> Result<Committed<Option<ChatMessage>>, StoreError>;

    /// File `index` of message `seq` of conversation `id`, as the message
    /// lists it, and its content.
    async fn chat_attachment(
        &self,
        id: ConversationId,
        seq: u64,
        index: usize,
    ) -> Result<(Attachment, Vec<u8>), StoreError>;
}
