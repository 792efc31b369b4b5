//! Conversions between the domain types and their WIT shapes.

use switchboard_core as core;

use crate::bindings::wit;

pub(crate) fn priority_to_wit(p: core::Priority) -> wit::Priority {
    match p {
        core::Priority::Low => wit::Priority::Low,
        core::Priority::Medium => wit::Priority::Medium,
        core::Priority::High => wit::Priority::High,
        core::Priority::Urgent => wit::Priority::Urgent,
    }
}

pub(crate) fn priority_from_wit(p: wit::Priority) -> core::Priority {
    match p {
        wit::Priority::Low => core::Priority::Low,
        wit::Priority::Medium => core::Priority::Medium,
        wit::Priority::High => core::Priority::High,
        wit::Priority::Urgent => core::Priority::Urgent,
    }
}

fn kind_to_wit(k: core::PointKind) -> wit::PointKind {
    match k {
        core::PointKind::Mobile => wit::PointKind::Mobile,
        core::PointKind::Work => wit::PointKind::Work,
        core::PointKind::Home => wit::PointKind::Home,
        core::PointKind::Other => wit::PointKind::Other,
    }
}

fn kind_from_wit(k: wit::PointKind) -> core::PointKind {
    match k {
        wit::PointKind::Mobile => core::PointKind::Mobile,
        wit::PointKind::Work => core::PointKind::Work,
        wit::PointKind::Home => core::PointKind::Home,
        wit::PointKind::Other => core::PointKind::Other,
    }
}

fn emails_to_wit(list: &[core::Email]) -> Vec<wit::Email> {
    list.iter().map(|e| wit::Email { address: e.address.clone(), kind: kind_to_wit(e.kind) }).collect()
}

fn phones_to_wit(list: &[core::Phone]) -> Vec<wit::Phone> {
    list.iter().map(|p| wit::Phone { number: p.number.clone(), kind: kind_to_wit(p.kind) }).collect()
}

/// A ticket as plugins see it; the stage is shown by name.
pub(crate) fn ticket_to_wit(t: &core::Ticket, team: &core::Team) -> wit::Ticket {
    wit::Ticket {
        id: t.id,
        team: t.team.clone(),
        title: t.title.clone(),
        description: t.description.clone(),
        priority: priority_to_wit(t.priority),
        stage: team.stage(t.stage).map(|s| s.name.clone()).unwrap_or_default(),
        contact: t.contact,
        origin: t.origin.clone(),
        external_key: t.external_key.clone(),
        created_at: t.created_at.to_string(),
        updated_at: t.updated_at.to_string(),
    }
}

/// A contact as plugins see it.
pub(crate) fn contact_to_wit(c: &core::Contact) -> wit::Contact {
    wit::Contact {
        id: c.id,
        name: c.name.clone(),
        emails: emails_to_wit(&c.emails),
        phones: phones_to_wit(&c.phones),
        company: c.company.as_ref().map(|co| wit::Company {
            name: co.name.clone(),
            emails: emails_to_wit(&co.emails),
            phones: phones_to_wit(&co.phones),
        }),
    }
}

/// What a plugin knows about a contact, as a draft for the store.
/// The contact a plugin names, or none when it names nobody: a
/// `contact-info` without a name, an address or a number is what a channel
/// sends for an anonymous visitor, and failing the whole call for it would
/// lose the customer's request.
pub(crate) fn contact_from_wit(c: wit::ContactInfo) -> Option<core::ContactDraft> {
    let unnamed = c.name.as_deref().is_none_or(|name| name.trim().is_empty());
    if unnamed && c.emails.is_empty() && c.phones.is_empty() {
        return None;
    }
    Some(core::ContactDraft {
        name: c.name.filter(|name| !name.trim().is_empty()),
        emails: c.emails.into_iter().map(|e| core::Email { address: e.address, kind: kind_from_wit(e.kind) }).collect(),
        phones: c.phones.into_iter().map(|p| core::Phone { number: p.number, kind: kind_from_wit(p.kind) }).collect(),
        company: None,
    })
}

pub(crate) fn message_kind_from_wit(k: wit::MessageKind) -> core::MessageKind {
    match k {
        wit::MessageKind::Customer => core::MessageKind::Customer,
        wit::MessageKind::Reply => core::MessageKind::Reply,
        wit::MessageKind::Note => core::MessageKind::Note,
        wit::MessageKind::Event => core::MessageKind::Event,
    }
}

/// A thread entry as plugins see it.
pub(crate) fn message_to_wit(m: &core::Message) -> wit::Message {
    let author = match &m.author {
        core::Author::User { name, .. } | core::Author::Contact { name, .. } => name.clone(),
        core::Author::Plugin { id } => id.clone(),
        core::Author::System => "system".into(),
    };
    wit::Message {
        id: m.id,
        kind: match m.kind {
            core::MessageKind::Customer => wit::MessageKind::Customer,
            core::MessageKind::Reply => wit::MessageKind::Reply,
            core::MessageKind::Note => wit::MessageKind::Note,
            core::MessageKind::Event => wit::MessageKind::Event,
        },
        author,
        body: m.body.clone(),
        created_at: m.created_at.to_string(),
    }
}

/// A file given with a new thread entry.
pub(crate) fn attachment_from_wit(a: wit::NewAttachment) -> core::AttachmentDraft {
    core::AttachmentDraft {
        name: a.name,
        content_type: a.content_type,
        content_id: a.content_id,
        inline: a.inline,
        content: match a.content {
            wit::AttachmentContent::Kept(data) => core::AttachmentContent::Kept(data.into()),
            wit::AttachmentContent::Dropped(d) => core::AttachmentContent::Dropped { size: d.size, reason: d.reason },
        },
    }
}

/// The `conversations` interface's own types.
mod chat_wit {
    pub(crate) use crate::bindings::channel::switchboard::plugin::conversations::{
        ChatMessage, Conversation, ConversationState, Delivery, Expect, Operator, Origin, Speaker,
    };
}

/// A provider's delivery report from a plugin, as a chat delivery state and
/// its detail (the provider's id, or why it failed): the same report for a
/// conversation's message and a ticket's reply. A provider's id longer than
/// a message key is refused.
pub(crate) fn delivery_from_wit(d: chat_wit::Delivery) -> Result<(core::ChatDeliveryState, String), wit::PluginError> {
    Ok(match d {
        chat_wit::Delivery::Sent(provider_id) => {
            if provider_id.len() > core::MAX_INBOUND_KEY_LEN {
                return Err(wit::PluginError::Permanent(format!(
                    "delivery: a provider's id has at most {} bytes",
                    core::MAX_INBOUND_KEY_LEN
                )));
            }
            (core::ChatDeliveryState::Sent, provider_id)
        }
        chat_wit::Delivery::Delivered => (core::ChatDeliveryState::Delivered, String::new()),
        chat_wit::Delivery::Read => (core::ChatDeliveryState::Read, String::new()),
        chat_wit::Delivery::Failed(why) => (core::ChatDeliveryState::Failed, why),
    })
}

fn speaker_to_wit(s: &core::Speaker) -> chat_wit::Speaker {
    match s {
        core::Speaker::Visitor => chat_wit::Speaker::Visitor,
        core::Speaker::Operator { id, name } => {
            chat_wit::Speaker::Operator(chat_wit::Operator { user: *id, name: name.clone() })
        }
        core::Speaker::Bot => chat_wit::Speaker::Bot,
        core::Speaker::System => chat_wit::Speaker::System,
    }
}

pub(crate) fn expect_to_wit(e: &core::Expect) -> chat_wit::Expect {
    match e {
        core::Expect::Text => chat_wit::Expect::Text,
        core::Expect::Line => chat_wit::Expect::Line,
        core::Expect::Lines => chat_wit::Expect::Lines,
        core::Expect::Email => chat_wit::Expect::Email,
        core::Expect::Phone => chat_wit::Expect::Phone,
        core::Expect::Choice(answers) => chat_wit::Expect::Choice(answers.clone()),
    }
}

pub(crate) fn expect_from_wit(e: chat_wit::Expect) -> core::Expect {
    match e {
        chat_wit::Expect::Text => core::Expect::Text,
        chat_wit::Expect::Line => core::Expect::Line,
        chat_wit::Expect::Lines => core::Expect::Lines,
        chat_wit::Expect::Email => core::Expect::Email,
        chat_wit::Expect::Phone => core::Expect::Phone,
        chat_wit::Expect::Choice(answers) => core::Expect::Choice(answers),
    }
}

pub(crate) fn chat_message_to_wit(m: &core::ChatMessage) -> chat_wit::ChatMessage {
    chat_wit::ChatMessage {
        seq: m.seq,
        speaker: speaker_to_wit(&m.speaker),
        body: m.body.clone(),
        expect: expect_to_wit(&m.expect),
        at: m.at.to_string(),
    }
}

pub(crate) fn operator_of(s: &core::Speaker) -> Option<chat_wit::Operator> {
    match s {
        core::Speaker::Operator { id, name } => Some(chat_wit::Operator { user: *id, name: name.clone() }),
        _ => None,
    }
}

pub(crate) fn conversation_to_wit(c: &core::Conversation) -> chat_wit::Conversation {
    chat_wit::Conversation {
        id: c.id,
        channel: c.channel.clone(),
        state: match c.state {
            core::ConversationState::Bot => chat_wit::ConversationState::Bot,
            core::ConversationState::Waiting => chat_wit::ConversationState::Waiting,
            core::ConversationState::WithOperator => chat_wit::ConversationState::WithOperator,
            core::ConversationState::Ended => chat_wit::ConversationState::Ended,
        },
        origin: chat_wit::Origin {
            page_url: c.origin.page_url.clone(),
            country: c.origin.country.clone(),
            language: c.origin.language.clone(),
        },
        operators: c.operators.iter().filter_map(operator_of).collect(),
        contact: c.contact,
        ticket: c.ticket,
        last_seq: c.last_seq,
    }
}
