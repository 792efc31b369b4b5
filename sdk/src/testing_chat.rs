//! The fake host's conversations, operators online and timers, for
//! testing a chat channel natively. It follows the host's rules where a
//! test would notice: the bot speaks only before the hand-over, an
//! operator only after joining, nobody after the end; a conversation
//! makes one ticket; a timer key has one timer.

use std::collections::BTreeMap;

use crate::PluginError;
use crate::chat::{
    ChatMessage, ChatTicket, Conversation, ConversationState, Delivery, Expect, InboundMessage, NewPost, Operator,
    Origin, Poster, Received, Speaker,
};
use crate::testing::{FakeHost, Host};
use crate::types::{ContactInfo, NewTicket};

/// What the fake keeps of live chat.
#[derive(Default)]
pub(crate) struct ChatState {
    conversations: BTreeMap<u64, Conversation>,
    messages: BTreeMap<u64, Vec<ChatMessage>>,
    online: BTreeMap<String, Vec<Operator>>,
    timers: BTreeMap<String, (u64, String)>,
    countries: BTreeMap<String, String>,
    /// Customers' open conversations by channel and address.
    customers: BTreeMap<(String, String), u64>,
    /// Received messages' places by key.
    keys: BTreeMap<String, (u64, u64)>,
    /// What each received message came with.
    inbound: BTreeMap<(u64, u64), InboundMessage>,
    /// Delivery reports by conversation and message.
    deliveries: BTreeMap<(u64, u64), Delivery>,
}

impl ChatState {
    fn own(&mut self, id: u64) -> Result<&mut Conversation, PluginError> {
        self.conversations.get_mut(&id).ok_or_else(|| PluginError::NotFound(format!("conversation {id} is not known")))
    }

    fn stamp(&mut self, id: u64, speaker: Speaker, body: &str, expect: Expect) -> Result<ChatMessage, PluginError> {
        let c = self.own(id)?;
        if c.state == ConversationState::Ended {
            return Err(PluginError::Permanent(format!("conversation {id} has ended")));
        }
        let body = body.trim();
        if body.is_empty() || body.chars().count() > 4_000 {
            return Err(PluginError::Permanent("body: must be 1 to 4000 characters".into()));
        }
        c.last_seq += 1;
        let message =
            ChatMessage { seq: c.last_seq, speaker, body: body.into(), expect, at: "2026-01-01T00:00:00Z".into() };
        self.messages.entry(id).or_default().push(message.clone());
        Ok(message)
    }

    fn join(&mut self, id: u64, operator: Operator) -> Result<(), PluginError> {
        let c = self.own(id)?;
        if !c.operators.iter().any(|o| o.user == operator.user) {
            c.operators.push(operator.clone());
            c.state = ConversationState::WithOperator;
            self.stamp(id, Speaker::System, &format!("{} joined", operator.name), Expect::Text)?;
        }
        Ok(())
    }
}

impl FakeHost {
    /// Opens a conversation in `channel` from `origin`, with the bot, as
    /// the host does when a visitor connects; the test then hands the
    /// plugin `ChatEvent::VisitorJoined`.
    pub fn open_chat(&self, channel: &str, origin: Origin) -> Conversation {
        let chat = &mut self.state.borrow_mut().chat;
        let id = chat.conversations.len() as u64 + 1;
        let c = Conversation {
            id,
            channel: channel.into(),
            state: ConversationState::Bot,
            origin,
            operators: Vec::new(),
            contact: None,
            ticket: None,
            last_seq: 0,
        };
        chat.conversations.insert(id, c.clone());
        c
    }

    /// The conversation as it is now.
    pub fn chat(&self, id: u64) -> Conversation {
        self.state.borrow().chat.conversations.get(&id).cloned().expect("a conversation the test opened")
    }

    /// Every conversation, in the order they were opened.
    pub fn chats(&self) -> Vec<Conversation> {
        self.state.borrow().chat.conversations.values().cloned().collect()
    }

    /// Every message of a conversation, oldest first.
    pub fn chat_messages(&self, id: u64) -> Vec<ChatMessage> {
        self.state.borrow().chat.messages.get(&id).cloned().unwrap_or_default()
    }

    /// The visitor says `body`; returns the message for the event.
    pub fn visitor_says(&self, id: u64, body: &str) -> ChatMessage {
        self.state.borrow_mut().chat.stamp(id, Speaker::Visitor, body, Expect::Text).expect("the visitor may speak")
    }

    /// An operator is online in `channel`.
    pub fn operator_online(&self, channel: &str, user: u64, name: &str) -> &Self {
        let operator = Operator { user, name: name.into() };
        self.state.borrow_mut().chat.online.entry(channel.into()).or_default().push(operator);
        self
    }

    /// An operator joins a conversation, as from their console.
    pub fn operator_joins(&self, id: u64, user: u64, name: &str) {
        self.state.borrow_mut().chat.join(id, Operator { user, name: name.into() }).expect("the operator may join");
    }

    /// The timers set, by key: milliseconds ahead and payload.
    pub fn timers(&self) -> BTreeMap<String, (u64, String)> {
        self.state.borrow().chat.timers.clone()
    }

    /// What the plugin handed over with received message `seq` of
    /// conversation `id`: its key and files.
    pub fn inbound(&self, id: u64, seq: u64) -> Option<InboundMessage> {
        self.state.borrow().chat.inbound.get(&(id, seq)).cloned()
    }

    /// The delivery recorded for message `seq` of conversation `id`.
    pub fn delivery(&self, id: u64, seq: u64) -> Option<Delivery> {
        self.state.borrow().chat.deliveries.get(&(id, seq)).cloned()
    }

    /// The country database knows `addr` to be in `country`.
    pub fn country(&self, addr: &str, country: &str) -> &Self {
        self.state.borrow_mut().chat.countries.insert(addr.into(), country.into());
        self
    }
}

impl Host<'_> {
    pub(crate) fn conversation(&mut self, id: u64) -> Result<Conversation, PluginError> {
        self.0.chat.own(id).cloned()
    }

    pub(crate) fn chat_messages(&mut self, id: u64, after: u64, limit: u32) -> Result<Vec<ChatMessage>, PluginError> {
        self.0.chat.own(id)?;
        let all = self.0.chat.messages.get(&id).cloned().unwrap_or_default();
        Ok(all.into_iter().filter(|m| m.seq > after).take(limit.min(500) as usize).collect())
    }

    pub(crate) fn post(&mut self, id: u64, post: &NewPost) -> Result<u64, PluginError> {
        let c = self.0.chat.own(id)?.clone();
        let speaker = match post.poster {
            Poster::Bot if c.state != ConversationState::Bot => {
                return Err(PluginError::Permanent(format!(
                    "the bot speaks only before the hand-over; conversation {id} is past it"
                )));
            }
            Poster::Bot => Speaker::Bot,
            Poster::System => Speaker::System,
            Poster::Operator(user) => match c.operators.iter().find(|o| o.user == user) {
                Some(o) => Speaker::Operator(o.clone()),
                None => return Err(PluginError::Permanent(format!("user {user} has not joined conversation {id}"))),
            },
        };
        if let Expect::Choice(answers) = &post.expect
            && (answers.is_empty() || answers.len() > 20)
        {
            return Err(PluginError::Permanent("expect: must offer 1 to 20 answers".into()));
        }
        Ok(self.0.chat.stamp(id, speaker, &post.body, post.expect.clone())?.seq)
    }

    pub(crate) fn hand_over(&mut self, id: u64, to: Option<u64>) -> Result<Conversation, PluginError> {
        let c = self.0.chat.own(id)?.clone();
        if c.state != ConversationState::Bot {
            return Ok(c);
        }
        let joining =
            match to {
                None => None,
                Some(user) => {
                    let online = self.0.chat.online.get(&c.channel).cloned().unwrap_or_default();
                    let found = online.into_iter().find(|o| o.user == user);
                    Some(found.ok_or_else(|| {
                        PluginError::NotFound(format!("user {user} is not online in \"{}\"", c.channel))
                    })?)
                }
            };
        self.0.chat.own(id)?.state = ConversationState::Waiting;
        self.0.chat.stamp(id, Speaker::System, "Waiting for an operator", Expect::Text)?;
        if let Some(operator) = joining {
            self.0.chat.join(id, operator)?;
        }
        self.conversation(id)
    }

    pub(crate) fn online_operators(&mut self, channel: &str) -> Result<Vec<Operator>, PluginError> {
        Ok(self.0.chat.online.get(channel).cloned().unwrap_or_default())
    }

    pub(crate) fn set_contact(&mut self, id: u64, info: &ContactInfo) -> Result<u64, PluginError> {
        self.0.chat.own(id)?;
        let contact = self.contact_for(info);
        self.0.chat.own(id)?.contact = Some(contact);
        Ok(contact)
    }

    pub(crate) fn chat_to_ticket(&mut self, id: u64, ticket: &ChatTicket) -> Result<u64, PluginError> {
        let c = self.0.chat.own(id)?.clone();
        if let Some(made) = c.ticket {
            return Ok(made);
        }
        let messages = self.0.chat.messages.get(&id).cloned().unwrap_or_default();
        let transcript: Vec<String> =
            messages.iter().map(|m| format!("{}: {}", speaker_name(&m.speaker), m.body)).collect();
        let title = match ticket.title.trim() {
            "" => format!("Chat conversation #{id}"),
            given => given.to_owned(),
        };
        let draft = NewTicket {
            title,
            description: transcript.join("\n"),
            priority: ticket.priority,
            contact: None,
            external_key: Some(format!("conversation:{id}")),
        };
        let made = self.create(&draft, &[])?;
        if let Some(stored) = self.0.tickets.iter_mut().find(|t| t.id == made.id) {
            stored.contact = c.contact;
        }
        self.0.chat.own(id)?.ticket = Some(made.id);
        let note = format!("Ticket #{} was created from this conversation", made.id);
        if c.state != ConversationState::Ended {
            self.0.chat.stamp(id, Speaker::System, &note, Expect::Text)?;
        }
        Ok(made.id)
    }

    pub(crate) fn receive(&mut self, message: &InboundMessage) -> Result<Received, PluginError> {
        if let Some(&(conversation, seq)) = self.0.chat.keys.get(&message.key) {
            return Ok(Received { conversation, seq, opened: false, duplicate: true });
        }
        let chat = &mut self.0.chat;
        let place = (message.channel.clone(), message.customer.clone());
        let open = chat
            .customers
            .get(&place)
            .copied()
            .filter(|id| chat.conversations.get(id).is_some_and(|c| c.state != ConversationState::Ended));
        let (id, opened) = match open {
            Some(id) => (id, false),
            None => {
                let id = chat.conversations.len() as u64 + 1;
                let c = Conversation {
                    id,
                    channel: message.channel.clone(),
                    state: ConversationState::Waiting,
                    origin: Origin { page_url: None, country: None, language: None },
                    operators: Vec::new(),
                    contact: None,
                    ticket: None,
                    last_seq: 0,
                };
                chat.conversations.insert(id, c);
                chat.customers.insert(place, id);
                (id, true)
            }
        };
        let seq = chat.stamp(id, Speaker::Visitor, &message.body, Expect::Text)?.seq;
        chat.keys.insert(message.key.clone(), (id, seq));
        chat.inbound.insert((id, seq), message.clone());
        Ok(Received { conversation: id, seq, opened, duplicate: false })
    }

    pub(crate) fn set_delivery(&mut self, id: u64, seq: u64, delivery: &Delivery) -> Result<bool, PluginError> {
        if !self.0.chat.messages.get(&id).is_some_and(|m| m.iter().any(|m| m.seq == seq)) {
            return Err(PluginError::NotFound(format!("conversation {id} has no message {seq}")));
        }
        if !crate::testing::advances(self.0.chat.deliveries.get(&(id, seq)), delivery) {
            return Ok(false);
        }
        self.0.chat.deliveries.insert((id, seq), delivery.clone());
        Ok(true)
    }

    pub(crate) fn end(&mut self, id: u64) -> Result<(), PluginError> {
        if self.0.chat.own(id)?.state == ConversationState::Ended {
            return Ok(());
        }
        self.0.chat.stamp(id, Speaker::System, "The conversation ended", Expect::Text)?;
        self.0.chat.own(id)?.state = ConversationState::Ended;
        Ok(())
    }

    pub(crate) fn team_name(&mut self) -> String {
        "Test".into()
    }

    pub(crate) fn country_of(&mut self, addr: &str) -> Option<String> {
        self.0.chat.countries.get(addr).cloned()
    }

    pub(crate) fn schedule(&mut self, key: &str, after_ms: u64, payload: &str) -> Result<(), PluginError> {
        if key.is_empty() || key.len() > 200 {
            return Err(PluginError::Permanent("timer key must be 1 to 200 bytes".into()));
        }
        self.0.chat.timers.insert(key.into(), (after_ms, payload.into()));
        Ok(())
    }

    pub(crate) fn cancel(&mut self, key: &str) -> Result<bool, PluginError> {
        Ok(self.0.chat.timers.remove(key).is_some())
    }
}

fn speaker_name(speaker: &Speaker) -> &str {
    match speaker {
        Speaker::Visitor => "Visitor",
        Speaker::Operator(o) => &o.name,
        Speaker::Bot => "Bot",
        Speaker::System => "System",
    }
}
