//! The frames of the chat websockets: JSON text messages, one object each,
//! told apart by `type`.

use serde::{Deserialize, Serialize};
use switchboard_core::{ChatDelivery, ChatMessage, Conversation, ConversationState, Expect, Speaker};

/// What a visitor's client sends.
#[derive(Debug, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub(crate) enum VisitorFrame {
    /// Opens a conversation; the first frame of a new visitor.
    Start {
        /// The chat channel.
        channel: String,
        /// The page the chat is opened on.
        page_url: Option<String>,
        /// The visitor's language tag.
        language: Option<String>,
    },
    /// Picks up a conversation after the last message seen; the first
    /// frame of a returning visitor.
    Resume {
        /// The token the welcome frame gave.
        token: String,
        /// The number of the last message seen.
        #[serde(default)]
        after: u64,
    },
    /// Says something.
    Say {
        /// The text.
        body: String,
    },
}

/// What an operator's client sends. `ref` is echoed in the answer.
#[derive(Debug, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub(crate) enum OperatorFrame {
    /// Online in a chat channel, under a chat name; repeat within 30
    /// minutes to stay online.
    Online {
        team: String,
        channel: String,
        name: Option<String>,
        #[serde(rename = "ref")]
        reference: Option<String>,
    },
    /// No longer online in a chat channel.
    Offline {
        team: String,
        channel: String,
        #[serde(rename = "ref")]
        reference: Option<String>,
    },
    /// Lists a team's conversations now and as they change.
    Watch {
        team: String,
        #[serde(rename = "ref")]
        reference: Option<String>,
    },
    /// Joins a conversation and follows it from its start.
    Join {
        conversation: u64,
        #[serde(rename = "ref")]
        reference: Option<String>,
    },
    /// Follows a conversation after message `after`, without joining.
    Follow {
        conversation: u64,
        #[serde(default)]
        after: u64,
        #[serde(rename = "ref")]
        reference: Option<String>,
    },
    /// Says something, or runs a command (`/ticket …`).
    Say {
        conversation: u64,
        body: String,
        #[serde(rename = "ref")]
        reference: Option<String>,
    },
    /// Leaves a conversation.
    Leave {
        conversation: u64,
        #[serde(rename = "ref")]
        reference: Option<String>,
    },
    /// Ends a conversation.
    End {
        conversation: u64,
        #[serde(rename = "ref")]
        reference: Option<String>,
    },
}

/// A speaker as the clients see it.
#[derive(Debug, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub(crate) enum SpeakerOut {
    Visitor,
    Operator { id: u64, name: String },
    Bot,
    System,
}

impl From<&Speaker> for SpeakerOut {
    fn from(s: &Speaker) -> Self {
        match s {
            Speaker::Visitor => SpeakerOut::Visitor,
            Speaker::Operator { id, name } => SpeakerOut::Operator { id: *id, name: name.clone() },
            Speaker::Bot => SpeakerOut::Bot,
            Speaker::System => SpeakerOut::System,
        }
    }
}

/// How the visitor may answer, as the clients see it.
#[derive(Debug, Serialize)]
pub(crate) struct ExpectOut {
    #[serde(rename = "type")]
    kind: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    answers: Option<Vec<String>>,
}

impl From<&Expect> for ExpectOut {
    fn from(e: &Expect) -> Self {
        let (kind, answers) = match e {
            Expect::Text => ("text", None),
            Expect::Line => ("line", None),
            Expect::Lines => ("lines", None),
            Expect::Email => ("email", None),
            Expect::Phone => ("phone", None),
            Expect::Choice(answers) => ("choice", Some(answers.clone())),
        };
        ExpectOut { kind, answers }
    }
}

/// A file of a conversation message, as the clients see it.
#[derive(Debug, Serialize)]
pub(crate) struct ChatFileOut {
    name: String,
    content_type: String,
    size: u64,
    /// Why it was not kept; a dropped file has no `url`.
    #[serde(skip_serializing_if = "Option::is_none")]
    dropped: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    url: Option<String>,
}

/// A conversation as operators list it.
#[derive(Debug, Serialize)]
pub(crate) struct ConversationOut {
    id: u64,
    team: String,
    channel: String,
    state: ConversationState,
    page_url: Option<String>,
    country: Option<String>,
    language: Option<String>,
    operators: Vec<SpeakerOut>,
    contact: Option<u64>,
    ticket: Option<u64>,
    last_seq: u64,
    created_at: String,
    /// The channel plugin: `live-chat`, `whatsapp`.
    plugin: String,
    /// The customer's number, for a conversation they opened from outside
    /// (WhatsApp).
    #[serde(skip_serializing_if = "Option::is_none")]
    customer: Option<String>,
}

impl From<&Conversation> for ConversationOut {
    fn from(c: &Conversation) -> Self {
        ConversationOut {
            id: c.id,
            team: c.team.clone(),
            channel: c.channel.clone(),
            state: c.state,
            page_url: c.origin.page_url.clone(),
            country: c.origin.country.clone(),
            language: c.origin.language.clone(),
            operators: c.operators.iter().map(SpeakerOut::from).collect(),
            contact: c.contact,
            ticket: c.ticket,
            last_seq: c.last_seq,
            created_at: c.created_at.to_string(),
            plugin: c.plugin.clone(),
            customer: c.customer.clone(),
        }
    }
}

/// What the server sends.
#[derive(Debug, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub(crate) enum ServerFrame {
    /// A new conversation, and the token that resumes it.
    Welcome { conversation: u64, token: String, state: ConversationState },
    /// A conversation picked up again.
    Resumed { conversation: u64, state: ConversationState, ticket: Option<u64> },
    /// A change to the delivery report of a message sent before.
    Delivery { conversation: u64, seq: u64, delivery: Option<ChatDelivery> },
    /// A message.
    Message {
        conversation: u64,
        seq: u64,
        speaker: SpeakerOut,
        body: String,
        expect: ExpectOut,
        at: String,
        /// Its files, each with the URL an operator fetches it from.
        #[serde(skip_serializing_if = "Vec::is_empty")]
        attachments: Vec<ChatFileOut>,
        /// How its delivery to the customer went, where the channel says.
        #[serde(skip_serializing_if = "Option::is_none")]
        delivery: Option<ChatDelivery>,
    },
    /// Where the visitor's conversation stands now.
    State { conversation: u64, state: ConversationState, ticket: Option<u64> },
    /// A team's conversations, waiting and active.
    Conversations {
        team: String,
        waiting: Vec<ConversationOut>,
        active: Vec<ConversationOut>,
        bot: Vec<ConversationOut>,
    },
    /// One conversation changed.
    Conversation { conversation: ConversationOut },
    /// A request was done.
    Ok {
        #[serde(rename = "ref", skip_serializing_if = "Option::is_none")]
        reference: Option<String>,
        #[serde(skip_serializing_if = "Option::is_none")]
        seq: Option<u64>,
    },
    /// A request was refused.
    Error {
        #[serde(rename = "ref", skip_serializing_if = "Option::is_none")]
        reference: Option<String>,
        error: &'static str,
        detail: String,
    },
}

impl ServerFrame {
    /// The frame of a change to a message's delivery report.
    pub(crate) fn delivery(m: &ChatMessage) -> ServerFrame {
        ServerFrame::Delivery { conversation: m.conversation, seq: m.seq, delivery: m.delivery.clone() }
    }

    /// The frame of a message.
    pub(crate) fn message(m: &ChatMessage) -> ServerFrame {
        ServerFrame::Message {
            conversation: m.conversation,
            seq: m.seq,
            speaker: (&m.speaker).into(),
            body: m.body.clone(),
            expect: (&m.expect).into(),
            at: m.at.to_string(),
            attachments: m
                .attachments
                .iter()
                .enumerate()
                .map(|(index, a)| ChatFileOut {
                    name: a.name.clone(),
                    content_type: a.content_type.clone(),
                    size: a.size,
                    dropped: a.dropped.clone(),
                    url: a.dropped.is_none().then(|| {
                        format!("/api/conversations/{}/messages/{}/attachments/{index}", m.conversation, m.seq)
                    }),
                })
                .collect(),
            delivery: m.delivery.clone(),
        }
    }

    /// The frame as text.
    pub(crate) fn text(&self) -> String {
        // Our own frames have string keys and plain values: serializing
        // cannot fail.
        serde_json::to_string(self).unwrap_or_default()
    }
}
