//! Messages: the ticket's thread ("chatter").

use serde::{Deserialize, Serialize};

use crate::attachment::check_attachments;
use crate::{Attachment, AttachmentDraft, CoreError, TicketId, Timestamp};

/// The longest message body accepted, in characters.
const MAX_BODY_LEN: usize = 100_000;

/// What kind of entry a message is in the thread.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MessageKind {
    /// Written by the customer.
    Customer,
    /// An agent's answer, which channels send to the customer.
    Reply,
    /// An internal note that only agents see.
    Note,
    /// Something the system did, such as a stage change or a robot run.
    Event,
}

/// Who wrote a message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Author {
    /// An admin or agent.
    User {
        /// The user's id.
        id: u64,
        /// The user's name when the message was written.
        name: String,
    },
    /// A customer.
    Contact {
        /// The contact's id.
        id: u64,
        /// The contact's name when the message was written.
        name: String,
    },
    /// A plugin, such as a channel or a robot.
    Plugin {
        /// The plugin's id.
        id: String,
    },
    /// Switchboard itself.
    System,
}

/// What a caller gives to add a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessageDraft {
    /// The kind of entry.
    pub kind: MessageKind,
    /// Who wrote it.
    pub author: Author,
    /// The text.
    pub body: String,
    /// The whole text when `body` leaves part of it out, such as the
    /// quoted history below an e-mail reply.
    pub full_body: Option<String>,
    /// The files that came with it.
    pub attachments: Vec<AttachmentDraft>,
    /// The channel plugin it came through, if a plugin added it: what the
    /// "message on channel X" trigger looks at.
    pub via: Option<String>,
}

impl MessageDraft {
    /// A draft of plain text, with no files.
    pub fn new(kind: MessageKind, author: Author, body: impl Into<String>) -> MessageDraft {
        MessageDraft { kind, author, body: body.into(), full_body: None, attachments: Vec::new(), via: None }
    }
}

/// One entry in a ticket's thread.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Message {
    /// The message's id, increasing along the thread.
    pub id: u64,
    /// The ticket it belongs to.
    pub ticket: TicketId,
    /// The kind of entry.
    pub kind: MessageKind,
    /// Who wrote it.
    pub author: Author,
    /// The text.
    pub body: String,
    /// When it was written.
    pub created_at: Timestamp,
    /// For an entry a channel delivers (an agent's reply sent by mail),
    /// how its delivery went. (Records from before have none.)
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delivery: Option<Delivery>,
    /// The whole text when `body` leaves part of it out (the quoted
    /// history of an e-mail reply).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub full_body: Option<String>,
    /// The files that came with it, in order; a file's place in this list
    /// is how its content is fetched.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub attachments: Vec<Attachment>,
    /// The channel plugin it came through, if a plugin added it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub via: Option<String>,
}

/// Where the delivery of a thread entry stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeliveryState {
    /// Waiting to be handed over, or to be tried again.
    Queued,
    /// Handed to the next server (the mail relay) for good.
    Sent,
    /// Refused for now; it will be tried again.
    Deferred,
    /// Given up on.
    Failed,
    /// The channel's provider reports it reached the customer's device.
    Delivered,
    /// The channel's provider reports the customer read it.
    Read,
}

/// A provider's report on a conversation's message says the same of a
/// ticket's reply.
impl From<crate::ChatDeliveryState> for DeliveryState {
    fn from(state: crate::ChatDeliveryState) -> Self {
        match state {
            crate::ChatDeliveryState::Sent => DeliveryState::Sent,
            crate::ChatDeliveryState::Delivered => DeliveryState::Delivered,
            crate::ChatDeliveryState::Read => DeliveryState::Read,
            crate::ChatDeliveryState::Failed => DeliveryState::Failed,
        }
    }
}

impl DeliveryState {
    /// How far along a provider's report puts an entry: queued and
    /// deferred entries are not yet sent, and failed is the end.
    fn rank(self) -> u8 {
        match self {
            DeliveryState::Queued | DeliveryState::Deferred => 0,
            DeliveryState::Sent => 1,
            DeliveryState::Delivered => 2,
            DeliveryState::Read => 3,
            DeliveryState::Failed => 4,
        }
    }
}

/// How the delivery of a thread entry went, and when it last changed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Delivery {
    /// Where it stands.
    pub state: DeliveryState,
    /// Why it was deferred or failed, or what took it; may be empty.
    pub detail: String,
    /// When it last changed.
    pub at: Timestamp,
}

impl Delivery {
    /// The longest detail kept, in characters: a relay's answer can be long.
    const MAX_DETAIL: usize = 1000;

    /// A delivery state with its detail, cut to a length fit for a thread.
    pub fn new(state: DeliveryState, detail: &str, at: Timestamp) -> Delivery {
        let detail = detail.chars().filter(|c| !c.is_control()).take(Self::MAX_DETAIL).collect();
        Delivery { state, detail, at }
    }
}

impl Message {
    /// Applies a channel provider's report on this entry's delivery, if it
    /// moves it forward, and says whether it did. Reports only move forward
    /// (sent, delivered, read), a failure ends it, and a repeated or late
    /// report changes nothing; the detail given when it was sent (the
    /// provider's id) is kept through the later states. Refused for an
    /// entry that was never queued for delivery.
    pub fn report(&mut self, mut delivery: Delivery) -> Result<bool, CoreError> {
        let Some(old) = &self.delivery else {
            return Err(CoreError::invalid("entry", format!("{} is not being delivered", self.id)));
        };
        if old.state == DeliveryState::Failed || delivery.state.rank() <= old.state.rank() {
            return Ok(false);
        }
        if delivery.state != DeliveryState::Failed && delivery.detail.is_empty() && old.state.rank() > 0 {
            delivery.detail.clone_from(&old.detail);
        }
        self.delivery = Some(delivery);
        Ok(true)
    }

    /// Checks a draft and stamps it with its id, ticket and time.
    pub fn new(id: u64, ticket: TicketId, draft: MessageDraft, now: Timestamp) -> Result<Message, CoreError> {
        if draft.body.trim().is_empty() {
            return Err(CoreError::invalid("body", "must not be empty"));
        }
        if draft.body.chars().count() > MAX_BODY_LEN {
            return Err(CoreError::invalid("body", format!("is longer than {MAX_BODY_LEN} characters")));
        }
        if let Some(full) = &draft.full_body
            && full.chars().count() > MAX_BODY_LEN
        {
            return Err(CoreError::invalid("full_body", format!("is longer than {MAX_BODY_LEN} characters")));
        }
        let attachments = check_attachments(&draft.attachments)?;
        // The whole text is only kept when it says more than the body.
        let full_body = draft.full_body.filter(|full| *full != draft.body);
        Ok(Message {
            id,
            ticket,
            kind: draft.kind,
            author: draft.author,
            body: draft.body,
            created_at: now,
            delivery: None,
            full_body,
            attachments,
            via: draft.via,
        })
    }

    /// A system event, as written for a [`crate::TicketChange`].
    pub fn event(id: u64, ticket: TicketId, body: String, now: Timestamp) -> Message {
        Message {
            id,
            ticket,
            kind: MessageKind::Event,
            author: Author::System,
            body,
            created_at: now,
            delivery: None,
            full_body: None,
            attachments: Vec::new(),
            via: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with_full(body: &str, full: &str) -> Result<Message, CoreError> {
        let mut draft = MessageDraft::new(MessageKind::Customer, Author::System, body);
        draft.full_body = Some(full.to_owned());
        Message::new(1, 1, draft, Timestamp::UNIX_EPOCH)
    }

    fn report(entry: &mut Message, state: DeliveryState, detail: &str) -> bool {
        entry.report(Delivery::new(state, detail, Timestamp::UNIX_EPOCH)).expect("a delivered entry")
    }

    #[test]
    fn provider_reports_only_move_an_entry_forward_and_keep_its_id() {
        let draft = MessageDraft::new(MessageKind::Reply, Author::System, "On its way");
        let mut entry = Message::new(3, 1, draft, Timestamp::UNIX_EPOCH).expect("entry");
        let never = entry.report(Delivery::new(DeliveryState::Read, "", Timestamp::UNIX_EPOCH));
        assert_eq!(never.expect_err("not queued").to_string(), "entry: 3 is not being delivered");
        entry.delivery = Some(Delivery::new(DeliveryState::Deferred, "busy", Timestamp::UNIX_EPOCH));
        assert!(report(&mut entry, DeliveryState::Sent, "wamid.1"));
        assert!(!report(&mut entry, DeliveryState::Sent, "handed to the channel"), "a repeat changes nothing");
        assert!(report(&mut entry, DeliveryState::Read, ""));
        assert!(!report(&mut entry, DeliveryState::Delivered, ""), "a late report changes nothing");
        let delivery = entry.delivery.clone().expect("delivery");
        assert_eq!((delivery.state, delivery.detail.as_str()), (DeliveryState::Read, "wamid.1"));
        assert!(report(&mut entry, DeliveryState::Failed, "131026 message undeliverable"));
        assert!(!report(&mut entry, DeliveryState::Read, ""), "failed ends it");
        let delivery = entry.delivery.expect("delivery");
        assert_eq!((delivery.state, delivery.detail.as_str()), (DeliveryState::Failed, "131026 message undeliverable"));
    }

    #[test]
    fn the_whole_text_is_kept_only_when_it_says_more_and_within_the_cap() {
        assert_eq!(
            with_full("Thanks", "Thanks\n> earlier").expect("kept").full_body.as_deref(),
            Some("Thanks\n> earlier")
        );
        assert_eq!(with_full("Thanks", "Thanks").expect("same").full_body, None);
        let err = with_full("Thanks", &"я".repeat(MAX_BODY_LEN + 1)).expect_err("too long");
        assert_eq!(err.to_string(), "full_body: is longer than 100000 characters");
    }
}
