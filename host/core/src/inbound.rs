//! Conversations with customers who write from outside the host, such as
//! a WhatsApp number: the channel hands each of their messages over, and
//! reports how the operators' answers reached them.
//!
//! A customer has at most one open conversation per address in an
//! installation; once it ended, their next message opens another. Every
//! message carries the channel's own id for it, so that a delivery the
//! provider retries is kept once. Delivery reports arrive out of order,
//! so a report only ever moves a message's delivery forward.

use serde::{Deserialize, Serialize};

use crate::text::line_problem;
use crate::{
    Attachment, AttachmentDraft, ChatMessage, Conversation, ConversationId, ConversationOrigin, ConversationState,
    CoreError, Expect, Speaker, Timestamp, check_attachments,
};

/// The longest customer address or message key, in bytes.
pub const MAX_INBOUND_KEY_LEN: usize = 200;
/// The longest delivery detail kept, in characters.
const MAX_DELIVERY_DETAIL: usize = 1_000;

/// A customer's message, as a channel hands it over.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InboundDraft {
    /// The team's slug.
    pub team: String,
    /// The channel plugin.
    pub plugin: String,
    /// The chat channel within the plugin's installation.
    pub channel: String,
    /// The customer's address on the channel, such as `+380501234567`.
    pub customer: String,
    /// The channel's own id for the message, such as a WhatsApp `wamid`.
    pub key: String,
    /// The text shown.
    pub body: String,
    /// The files that came with it.
    pub attachments: Vec<AttachmentDraft>,
}

impl InboundDraft {
    /// Checks the address and the key, and lists the files: what the
    /// message will record of them.
    pub fn check(&self) -> Result<Vec<Attachment>, CoreError> {
        for (field, value) in [("customer", &self.customer), ("key", &self.key)] {
            if value.trim().is_empty() {
                return Err(CoreError::invalid(field, "must not be empty"));
            }
            if value.len() > MAX_INBOUND_KEY_LEN || value.chars().any(char::is_control) {
                let shown: String = value.chars().take(40).collect();
                return Err(CoreError::invalid(
                    field,
                    format!("\"{shown}\" must be one line of at most {MAX_INBOUND_KEY_LEN} bytes"),
                ));
            }
        }
        if let Some(problem) = line_problem(&self.channel, 100) {
            return Err(CoreError::invalid("channel", problem));
        }
        check_attachments(&self.attachments)
    }
}

impl Conversation {
    /// A conversation opened for a customer's first message: it waits for
    /// an operator, as no bot answers on such a channel. Its token is no
    /// hash of anything a visitor could present, so no websocket reaches it.
    pub fn open_inbound(id: ConversationId, draft: &InboundDraft, now: Timestamp) -> Conversation {
        Conversation {
            id,
            team: draft.team.clone(),
            plugin: draft.plugin.clone(),
            channel: draft.channel.clone(),
            state: ConversationState::Waiting,
            origin: ConversationOrigin::default(),
            operators: Vec::new(),
            contact: None,
            ticket: None,
            last_seq: 0,
            token_hash: format!("inbound:{id}"),
            customer: Some(draft.customer.clone()),
            created_at: now,
            updated_at: now,
        }
    }

    /// Whether this is the open conversation of a customer: one a new
    /// message from them joins.
    pub fn is_open(&self) -> bool {
        self.state != ConversationState::Ended
    }

    /// Adds a customer's message with its files, numbered next.
    pub fn receive(&mut self, body: &str, files: Vec<Attachment>, now: Timestamp) -> Result<ChatMessage, CoreError> {
        let mut message = self.say(Speaker::Visitor, body, Expect::Text, now)?;
        message.attachments = files;
        Ok(message)
    }
}

/// Where the delivery of a message to the customer stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ChatDeliveryState {
    /// The provider took it.
    Sent,
    /// It reached the customer's device.
    Delivered,
    /// The customer read it.
    Read,
    /// It could not be delivered.
    Failed,
}

/// How the delivery of a message went, and when that was learnt.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChatDelivery {
    /// Where it stands.
    pub state: ChatDeliveryState,
    /// The provider's id for it (when sent) or why it failed; may be empty.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub detail: String,
    /// When it was recorded.
    pub at: Timestamp,
}

impl ChatDelivery {
    /// A delivery state with its detail, made one line and cut to a
    /// length fit for a chat window.
    pub fn new(state: ChatDeliveryState, detail: &str, at: Timestamp) -> ChatDelivery {
        let detail = detail.chars().map(|c| if c.is_control() { ' ' } else { c }).take(MAX_DELIVERY_DETAIL).collect();
        ChatDelivery { state, detail, at }
    }

    /// Whether this report moves a message on from `recorded`: reports
    /// only move forward (sent, delivered, read), a failure ends it, and a
    /// repeated report changes nothing. The provider's id given when it
    /// was sent is kept through the later states.
    pub fn advances(&self, recorded: Option<&ChatDelivery>) -> bool {
        match recorded {
            None => true,
            Some(old) if old.state == ChatDeliveryState::Failed => false,
            Some(old) => self.state > old.state,
        }
    }
}

impl ChatMessage {
    /// Applies a delivery report, if it moves the message forward; says
    /// whether it did.
    pub fn report(&mut self, mut delivery: ChatDelivery) -> bool {
        if !delivery.advances(self.delivery.as_ref()) {
            return false;
        }
        if let Some(old) = &self.delivery
            && delivery.state != ChatDeliveryState::Failed
            && delivery.detail.is_empty()
        {
            delivery.detail.clone_from(&old.detail);
        }
        self.delivery = Some(delivery);
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::AttachmentContent;
    use ChatDeliveryState::*;

    fn at(s: i64) -> Timestamp {
        Timestamp::from_second(1_800_000_000 + s).expect("time")
    }

    fn draft() -> InboundDraft {
        InboundDraft {
            team: "care".into(),
            plugin: "whatsapp".into(),
            channel: "Care".into(),
            customer: "+380501234567".into(),
            key: "wamid.HBgL".into(),
            body: "Hello".into(),
            attachments: Vec::new(),
        }
    }

    #[test]
    fn a_customer_conversation_waits_for_an_operator_and_the_customer_speaks_as_the_visitor() {
        let mut c = Conversation::open_inbound(4, &draft(), at(0));
        assert_eq!(c.state, ConversationState::Waiting);
        assert_eq!(c.customer.as_deref(), Some("+380501234567"));
        let photo = Attachment {
            name: "photo.jpg".into(),
            content_type: "image/jpeg".into(),
            size: 3,
            content_id: None,
            inline: false,
            dropped: None,
        };
        let m = c.receive("  [image] my order  ", vec![photo.clone()], at(5)).expect("receive");
        assert_eq!((m.seq, m.speaker, m.body.as_str()), (1, Speaker::Visitor, "[image] my order"));
        assert_eq!(m.attachments, vec![photo]);
        c.apply(crate::ConversationChange::End, at(6)).expect("end");
        assert!(!c.is_open());
        assert!(c.receive("again", Vec::new(), at(7)).is_err(), "an ended conversation takes no message");
    }

    #[test]
    fn addresses_keys_and_files_are_checked_naming_the_field() {
        let mut d = draft();
        d.key = " ".into();
        assert!(d.check().expect_err("empty key").to_string().contains("key"));
        let mut d = draft();
        d.customer = "x".repeat(201);
        assert!(d.check().expect_err("long address").to_string().contains("customer"));
        let mut d = draft();
        d.key = "wamid\n1".into();
        assert!(d.check().is_err(), "a key is one line");
        let mut d = draft();
        d.attachments = vec![AttachmentDraft {
            name: "a/b".into(),
            content_type: "image/png".into(),
            content_id: None,
            inline: false,
            content: AttachmentContent::Kept(vec![1u8].into()),
        }];
        assert!(d.check().is_err(), "a file name has no slash");
        assert_eq!(draft().check().expect("fine"), Vec::new());
    }

    #[test]
    fn delivery_moves_forward_only_and_a_failure_ends_it() {
        let c = &mut Conversation::open_inbound(4, &draft(), at(0));
        let mut m = c.receive("hi", Vec::new(), at(1)).expect("message");
        assert!(m.report(ChatDelivery::new(Sent, "wamid.OUT", at(2))));
        assert!(m.report(ChatDelivery::new(Read, "", at(4))), "read may come before delivered");
        assert!(!m.report(ChatDelivery::new(Delivered, "", at(5))), "a late delivered does not undo read");
        assert!(!m.report(ChatDelivery::new(Read, "", at(6))), "a repeated report changes nothing");
        let d = m.delivery.clone().expect("delivery");
        assert_eq!((d.state, d.detail.as_str(), d.at), (Read, "wamid.OUT", at(4)), "the provider's id is kept");
        assert!(m.report(ChatDelivery::new(Failed, "131026: message undeliverable", at(7))));
        assert!(!m.report(ChatDelivery::new(Sent, "again", at(8))), "nothing follows a failure");
        assert_eq!(ChatDelivery::new(Failed, "a\nb", at(0)).detail, "a b", "the detail is one line");
    }
}
