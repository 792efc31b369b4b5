//! Live conversations: a visitor on a team's website, a chatbot and
//! operators, talking in order.
//!
//! A conversation starts with the bot (or waiting, when the channel has
//! none), is handed over to an operator, and ends. Every message gets the
//! next sequence number of its conversation, so that a client that lost
//! its connection asks for what came after the last number it saw and
//! misses nothing. The rules of who may say what in which state live here;
//! the store writes a conversation and its messages in one step.

use serde::{Deserialize, Serialize};

use crate::text::line_problem;
use crate::{CoreError, TicketId, Timestamp, UserId};

/// A conversation's number, unique across the server.
pub type ConversationId = u64;

/// The longest chat message, in characters.
pub const MAX_CHAT_MESSAGE_LEN: usize = 4_000;
/// The longest page URL kept, in bytes.
const MAX_URL_LEN: usize = 2_048;

/// Where a conversation stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ConversationState {
    /// The chatbot talks with the visitor.
    Bot,
    /// Waiting for an operator.
    Waiting,
    /// An operator has joined.
    WithOperator,
    /// Over; nothing more can be said.
    Ended,
}

impl ConversationState {
    /// Every state, in the order an operator's list shows them.
    pub const ALL: [ConversationState; 4] =
        [ConversationState::Waiting, ConversationState::WithOperator, ConversationState::Bot, ConversationState::Ended];

    /// The state's name, as the API and the stores write it.
    pub fn as_str(self) -> &'static str {
        match self {
            ConversationState::Bot => "bot",
            ConversationState::Waiting => "waiting",
            ConversationState::WithOperator => "with_operator",
            ConversationState::Ended => "ended",
        }
    }
}

/// Who said something in a conversation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Speaker {
    /// The visitor.
    Visitor,
    /// An operator.
    Operator {
        /// The user's id.
        id: UserId,
        /// The name the visitor sees.
        name: String,
    },
    /// The channel's chatbot.
    Bot,
    /// Switchboard itself: "Anna joined", "the chat ended".
    System,
}

/// Where a conversation came from.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConversationOrigin {
    /// The page the visitor was on.
    pub page_url: Option<String>,
    /// The visitor's country, ISO 3166-1 alpha-2, uppercase.
    pub country: Option<String>,
    /// The visitor's language, a BCP 47 tag such as `uk` or `es-AR`.
    pub language: Option<String>,
}

/// What a channel gives to open a conversation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConversationDraft {
    /// The team's slug.
    pub team: String,
    /// The channel plugin that opened it.
    pub plugin: String,
    /// The chat channel's name within the plugin's installation.
    pub channel: String,
    /// Where the visitor came from.
    pub origin: ConversationOrigin,
    /// Whether a chatbot starts; otherwise it starts waiting.
    pub with_bot: bool,
    /// A hash of the visitor's token, by which the visitor is known.
    pub token_hash: String,
}

/// A live conversation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Conversation {
    /// Its number.
    pub id: ConversationId,
    /// The team's slug.
    pub team: String,
    /// The channel plugin that opened it.
    pub plugin: String,
    /// The chat channel's name.
    pub channel: String,
    /// Where it stands.
    pub state: ConversationState,
    /// Where the visitor came from.
    pub origin: ConversationOrigin,
    /// The operators in it now, in the order they joined.
    pub operators: Vec<Speaker>,
    /// The contact the visitor turned out to be, once known.
    pub contact: Option<u64>,
    /// The ticket made of it, if any.
    pub ticket: Option<TicketId>,
    /// The sequence number of its latest message; 0 before the first.
    pub last_seq: u64,
    /// A hash of the visitor's token.
    pub token_hash: String,
    /// The customer's address on the channel (a phone number), for a
    /// conversation the channel opened for a message from outside.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub customer: Option<String>,
    /// When it was opened.
    pub created_at: Timestamp,
    /// When it last changed.
    pub updated_at: Timestamp,
}

/// How the visitor may answer a message: what the chat window offers.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", content = "answers", rename_all = "snake_case")]
pub enum Expect {
    /// Anything, on one line or several.
    #[default]
    Text,
    /// One line.
    Line,
    /// Several lines.
    Lines,
    /// An e-mail address.
    Email,
    /// A phone number.
    Phone,
    /// One of these answers, offered as buttons.
    Choice(Vec<String>),
}

/// The most answers a message may offer.
pub const MAX_CHOICES: usize = 20;
/// The longest answer offered, in characters.
pub const MAX_CHOICE_LEN: usize = 200;

impl Expect {
    /// Whether this is the default, which a stored message leaves out.
    pub fn is_text(&self) -> bool {
        *self == Expect::Text
    }

    /// Checks the answers offered: 1 to [`MAX_CHOICES`], each one line of
    /// 1 to [`MAX_CHOICE_LEN`] characters, no two alike.
    pub fn check(&self) -> Result<(), CoreError> {
        let Expect::Choice(answers) = self else { return Ok(()) };
        if answers.is_empty() || answers.len() > MAX_CHOICES {
            return Err(CoreError::invalid("expect", format!("must offer 1 to {MAX_CHOICES} answers")));
        }
        for (i, answer) in answers.iter().enumerate() {
            if answer.trim().is_empty() {
                return Err(CoreError::invalid("expect", format!("answers[{i}] must not be empty")));
            }
            if let Some(problem) = line_problem(answer, MAX_CHOICE_LEN) {
                return Err(CoreError::invalid("expect", format!("answers[{i}] {problem}")));
            }
            if answers[..i].contains(answer) {
                return Err(CoreError::invalid("expect", format!("answers[{i}] \"{answer}\" is offered twice")));
            }
        }
        Ok(())
    }
}

/// One message of a conversation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChatMessage {
    /// The conversation.
    pub conversation: ConversationId,
    /// Its place: 1 for the first message, one more for each next.
    pub seq: u64,
    /// Who said it.
    pub speaker: Speaker,
    /// The text.
    pub body: String,
    /// How the visitor may answer it.
    #[serde(default, skip_serializing_if = "Expect::is_text")]
    pub expect: Expect,
    /// When it was said.
    pub at: Timestamp,
    /// The files that came with it (a customer's photo).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub attachments: Vec<crate::Attachment>,
    /// How its delivery to the customer went, for a channel that reports
    /// it (WhatsApp).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delivery: Option<crate::ChatDelivery>,
}

/// A change to a conversation, with the system message it writes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConversationChange {
    /// The bot hands the visitor over: the conversation waits for an
    /// operator.
    HandOver,
    /// An operator joins (and the conversation is theirs from then on).
    Join {
        /// The user's id.
        id: UserId,
        /// The name the visitor sees.
        name: String,
    },
    /// An operator leaves; with nobody left, the conversation waits again.
    Leave {
        /// The user's id.
        id: UserId,
    },
    /// The visitor learned to be this contact.
    Contact(u64),
    /// A ticket was made of it.
    Ticket(TicketId),
    /// It ends.
    End,
}

impl Conversation {
    /// A new conversation with its number.
    pub fn open(id: ConversationId, draft: ConversationDraft, now: Timestamp) -> Result<Conversation, CoreError> {
        let origin = check_origin(draft.origin)?;
        if let Some(problem) = line_problem(&draft.channel, 100) {
            return Err(CoreError::invalid("channel", problem));
        }
        if draft.token_hash.is_empty() {
            return Err(CoreError::invalid("token_hash", "must not be empty"));
        }
        Ok(Conversation {
            id,
            team: draft.team,
            plugin: draft.plugin,
            channel: draft.channel,
            state: if draft.with_bot { ConversationState::Bot } else { ConversationState::Waiting },
            origin,
            operators: Vec::new(),
            contact: None,
            ticket: None,
            last_seq: 0,
            token_hash: draft.token_hash,
            customer: None,
            created_at: now,
            updated_at: now,
        })
    }

    /// Whether the operator with this id is in the conversation.
    pub fn has_operator(&self, user: UserId) -> bool {
        self.operators.iter().any(|o| matches!(o, Speaker::Operator { id, .. } if *id == user))
    }

    /// Checks that `speaker` may say `body` now and stamps the message with
    /// the next sequence number, which the conversation then counts.
    pub fn say(
        &mut self,
        speaker: Speaker,
        body: &str,
        expect: Expect,
        now: Timestamp,
    ) -> Result<ChatMessage, CoreError> {
        if self.state == ConversationState::Ended {
            return Err(CoreError::Conflict(format!("conversation {} has ended", self.id)));
        }
        match &speaker {
            Speaker::Operator { id, .. } if !self.has_operator(*id) => {
                return Err(CoreError::Conflict(format!(
                    "user {id} has not joined conversation {}; join it first",
                    self.id
                )));
            }
            Speaker::Bot if self.state != ConversationState::Bot => {
                return Err(CoreError::Conflict(format!(
                    "the bot speaks only before the hand-over; conversation {} is {}",
                    self.id,
                    self.state.as_str()
                )));
            }
            _ => {}
        }
        let body = body.trim();
        if body.is_empty() {
            return Err(CoreError::invalid("body", "must not be empty"));
        }
        if body.chars().count() > MAX_CHAT_MESSAGE_LEN {
            return Err(CoreError::invalid("body", format!("is longer than {MAX_CHAT_MESSAGE_LEN} characters")));
        }
        expect.check()?;
        let mut message = self.stamp(speaker, body.to_owned(), now);
        message.expect = expect;
        Ok(message)
    }

    /// Applies a change and returns the system message that records it,
    /// if it writes one.
    pub fn apply(&mut self, change: ConversationChange, now: Timestamp) -> Result<Option<ChatMessage>, CoreError> {
        let ended = self.state == ConversationState::Ended;
        let text = match change {
            // A ticket may be made of a conversation after it ended: that is
            // when an operator sees it needs follow-up.
            ConversationChange::Ticket(_) if ended && self.ticket.is_some() => {
                return Err(CoreError::Conflict(format!("conversation {} has a ticket", self.id)));
            }
            ConversationChange::Ticket(ticket) if ended => {
                self.ticket = Some(ticket);
                format!("Ticket #{ticket} was created from this conversation")
            }
            _ if ended => return Err(CoreError::Conflict(format!("conversation {} has ended", self.id))),
            ConversationChange::HandOver => {
                if self.state != ConversationState::Bot {
                    return Ok(None);
                }
                self.state = ConversationState::Waiting;
                "Waiting for an operator".to_owned()
            }
            ConversationChange::Join { id, name } => {
                if self.has_operator(id) {
                    return Ok(None);
                }
                let shown = format!("{name} joined");
                self.operators.push(Speaker::Operator { id, name });
                self.state = ConversationState::WithOperator;
                shown
            }
            ConversationChange::Leave { id } => {
                let Some(at) =
                    self.operators.iter().position(|o| matches!(o, Speaker::Operator { id: u, .. } if *u == id))
                else {
                    return Ok(None);
                };
                let left = self.operators.remove(at);
                if self.operators.is_empty() {
                    self.state = ConversationState::Waiting;
                }
                match left {
                    Speaker::Operator { name, .. } => format!("{name} left"),
                    _ => "An operator left".to_owned(),
                }
            }
            ConversationChange::Contact(contact) => {
                self.contact = Some(contact);
                self.updated_at = now;
                return Ok(None);
            }
            ConversationChange::Ticket(ticket) => {
                self.ticket = Some(ticket);
                format!("Ticket #{ticket} was created from this conversation")
            }
            ConversationChange::End => {
                self.state = ConversationState::Ended;
                "The conversation ended".to_owned()
            }
        };
        Ok(Some(self.stamp(Speaker::System, text, now)))
    }

    pub(crate) fn stamp(&mut self, speaker: Speaker, body: String, now: Timestamp) -> ChatMessage {
        self.last_seq += 1;
        self.updated_at = now;
        ChatMessage {
            conversation: self.id,
            seq: self.last_seq,
            speaker,
            body,
            expect: Expect::Text,
            at: now,
            attachments: Vec::new(),
            delivery: None,
        }
    }
}

/// Checks where a conversation came from: a URL of reasonable length, an
/// alpha-2 country made uppercase, a language tag of letters, digits and
/// hyphens.
fn check_origin(origin: ConversationOrigin) -> Result<ConversationOrigin, CoreError> {
    if let Some(url) = &origin.page_url
        && (url.len() > MAX_URL_LEN || url.chars().any(char::is_control))
    {
        return Err(CoreError::invalid("page_url", format!("must be one line of at most {MAX_URL_LEN} bytes")));
    }
    let country = match origin.country {
        Some(c) if c.len() == 2 && c.bytes().all(|b| b.is_ascii_alphabetic()) => Some(c.to_ascii_uppercase()),
        Some(c) => return Err(CoreError::invalid("country", format!("\"{c}\" is not a two-letter country code"))),
        None => None,
    };
    if let Some(lang) = &origin.language
        && (lang.is_empty() || lang.len() > 35 || !lang.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-'))
    {
        return Err(CoreError::invalid("language", format!("\"{lang}\" is not a language tag such as uk or es-AR")));
    }
    Ok(ConversationOrigin { country, ..origin })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: i64) -> Timestamp {
        Timestamp::from_second(1_800_000_000 + s).expect("time")
    }

    fn open(with_bot: bool) -> Conversation {
        let draft = ConversationDraft {
            team: "care".into(),
            plugin: "live-chat".into(),
            channel: "Care".into(),
            origin: ConversationOrigin {
                page_url: Some("https://shop.example/cart".into()),
                country: Some("ua".into()),
                language: Some("uk".into()),
            },
            with_bot,
            token_hash: "h".into(),
        };
        Conversation::open(7, draft, at(0)).expect("open")
    }

    fn anna() -> ConversationChange {
        ConversationChange::Join { id: 3, name: "Anna".into() }
    }

    #[test]
    fn every_message_gets_the_next_number() {
        let mut c = open(true);
        assert_eq!(c.origin.country.as_deref(), Some("UA"));
        assert_eq!(c.say(Speaker::Bot, "Hello!", Expect::Text, at(1)).expect("bot").seq, 1);
        assert_eq!(c.say(Speaker::Visitor, "Hi", Expect::Text, at(2)).expect("visitor").seq, 2);
        let joined = c.apply(anna(), at(3)).expect("join").expect("a system message");
        assert_eq!((joined.seq, joined.body.as_str()), (3, "Anna joined"));
        assert_eq!((c.last_seq, c.state), (3, ConversationState::WithOperator));
    }

    #[test]
    fn who_may_speak_depends_on_the_state() {
        let mut c = open(true);
        let anna_speaks = Speaker::Operator { id: 3, name: "Anna".into() };
        assert!(
            c.say(anna_speaks.clone(), "hi", Expect::Text, at(1))
                .expect_err("not joined")
                .to_string()
                .contains("join it first")
        );
        c.apply(ConversationChange::HandOver, at(2)).expect("hand over");
        assert_eq!(c.state, ConversationState::Waiting);
        assert!(c.say(Speaker::Bot, "still here", Expect::Text, at(3)).is_err(), "the bot is done after the hand-over");
        c.apply(anna(), at(4)).expect("join");
        c.say(anna_speaks.clone(), "How can I help?", Expect::Text, at(5)).expect("joined operator");
        c.apply(ConversationChange::Leave { id: 3 }, at(6)).expect("leave");
        assert_eq!(c.state, ConversationState::Waiting);
        c.apply(ConversationChange::End, at(7)).expect("end");
        let err = c.say(Speaker::Visitor, "hello?", Expect::Text, at(8)).expect_err("ended");
        assert!(err.to_string().contains("has ended"), "{err}");
        assert!(c.apply(anna(), at(9)).is_err());
    }

    #[test]
    fn repeated_changes_write_nothing_twice() {
        let mut c = open(false);
        assert_eq!(c.state, ConversationState::Waiting);
        assert_eq!(c.apply(ConversationChange::HandOver, at(1)).expect("no-op"), None);
        c.apply(anna(), at(2)).expect("join");
        assert_eq!(c.apply(anna(), at(3)).expect("again"), None);
        assert_eq!(c.apply(ConversationChange::Leave { id: 99 }, at(4)).expect("not there"), None);
        assert_eq!(c.last_seq, 1);
    }

    #[test]
    fn bad_bodies_and_origins_are_refused_with_the_field() {
        let mut c = open(true);
        assert!(
            c.say(Speaker::Visitor, "  ", Expect::Text, at(1)).expect_err("empty").to_string().starts_with("body:")
        );
        let long = "я".repeat(MAX_CHAT_MESSAGE_LEN + 1);
        assert!(c.say(Speaker::Visitor, &long, Expect::Text, at(1)).is_err());
        assert_eq!(c.last_seq, 0, "a refused message takes no number");
        let mut draft = ConversationDraft {
            team: "care".into(),
            plugin: "live-chat".into(),
            channel: "Care".into(),
            origin: ConversationOrigin { country: Some("Ukraine".into()), ..ConversationOrigin::default() },
            with_bot: false,
            token_hash: "h".into(),
        };
        let err = Conversation::open(1, draft.clone(), at(0)).expect_err("country");
        assert!(err.to_string().contains("\"Ukraine\" is not a two-letter country code"), "{err}");
        draft.origin = ConversationOrigin { language: Some("en_US; drop".into()), ..ConversationOrigin::default() };
        assert!(Conversation::open(1, draft, at(0)).expect_err("language").to_string().starts_with("language:"));
    }
}
