//! Operators' answers and agents' replies, out through the Graph API: free
//! text within the customer service window, the configured template
//! outside it, or a clear reason why nothing was sent.

use switchboard_sdk::PluginError;
use switchboard_sdk::chat::{ChatMessage, Conversation, Delivery, Expect, NewPost, Poster, Reply, Speaker};
use switchboard_sdk::host::{conversations, storage, tickets};
use switchboard_sdk::types::MessageKind;

use crate::graph::Graph;
use crate::inbound::{Customer, Sent, customer_key, sent_key};
use crate::settings::{Parameter, Settings};
use crate::webhook::clip;
use crate::window;

/// How many of a conversation's latest messages are read to find the
/// customer's last one.
const LOOK_BACK: u64 = 100;

/// What a message went out as.
enum Went {
    /// Free text.
    Text(String),
    /// The template, since the window had closed.
    Template(String, String),
}

/// What fills a template's parameters.
struct Fill<'a> {
    customer: &'a Customer,
    ticket: Option<(u64, String)>,
    message: &'a str,
}

/// Unix seconds of the customer's latest message in the conversation, if
/// one is among its last [`LOOK_BACK`] messages.
fn customer_wrote(c: &Conversation) -> Result<Option<i64>, PluginError> {
    let recent = conversations::messages(c.id, c.last_seq.saturating_sub(LOOK_BACK), LOOK_BACK as u32)?;
    Ok(recent.iter().rev().find(|m| m.speaker == Speaker::Visitor).and_then(|m| window::unix_seconds(&m.at)))
}

/// Sends `text` to the customer: as free text when they wrote within the
/// window, as the template otherwise.
fn send(settings: &Settings, last: Option<i64>, now: Option<i64>, fill: &Fill<'_>) -> Result<Went, PluginError> {
    let graph = Graph::open(settings)?;
    // A time the host wrote is always readable; if one were not, free text
    // is tried and WhatsApp's own answer says whether the window is open.
    if now.is_none_or(|now| window::is_open(last, now)) {
        return graph.send_text(&fill.customer.wa, fill.message).map(Went::Text);
    }
    let Some(template) = &settings.template else {
        return Err(PluginError::Permanent(
            "not sent: the customer last wrote more than 24 hours ago, and WhatsApp takes only an approved \
             template then; set one in the channel's settings, or reach them another way"
                .into(),
        ));
    };
    let team = conversations::team_name();
    let values: Vec<String> = template
        .parameters
        .iter()
        .map(|p| match p {
            Parameter::ContactName if fill.customer.name.is_empty() => format!("+{}", fill.customer.wa),
            Parameter::ContactName => fill.customer.name.clone(),
            Parameter::TicketId => fill.ticket.as_ref().map_or_else(|| "-".into(), |(id, _)| id.to_string()),
            Parameter::TicketTitle => fill.ticket.as_ref().map_or_else(|| "-".into(), |(_, t)| t.clone()),
            Parameter::TeamName => team.clone(),
            Parameter::Message => clip(fill.message, 1_000),
        })
        .collect();
    graph.send_template(&fill.customer.wa, template, &values).map(|id| Went::Template(id, template.name.clone()))
}

/// The one line an operator reads for a failure.
fn reason(e: &PluginError) -> String {
    let text = match e {
        PluginError::InvalidSettings(t)
        | PluginError::Denied(t)
        | PluginError::NotFound(t)
        | PluginError::RateLimited(t)
        | PluginError::Transient(t)
        | PluginError::Permanent(t) => t.clone(),
    };
    match e {
        PluginError::RateLimited(_) | PluginError::Transient(_) => format!("{text} (try sending it again)"),
        _ => text,
    }
}

fn system(id: u64, body: String) -> Result<(), PluginError> {
    conversations::post(id, &NewPost { poster: Poster::System, body, expect: Expect::Text }).map(drop)
}

/// An operator said something in a WhatsApp conversation: it goes to the
/// customer, and the answer's delivery shows how it went.
pub fn operator_message(settings: &Settings, c: &Conversation, m: &ChatMessage) -> Result<(), PluginError> {
    let Some(customer) = storage::get_json::<Customer>(&customer_key(c.id))? else {
        let why = "not sent: this conversation's WhatsApp number is not known".to_owned();
        conversations::set_delivery(c.id, m.seq, &Delivery::Failed(why.clone()))?;
        return system(c.id, why);
    };
    let ticket = match c.ticket {
        Some(id) => tickets::get(id).ok().map(|t| (t.id, t.title)),
        None => None,
    };
    let fill = Fill { customer: &customer, ticket, message: &m.body };
    let went = customer_wrote(c).and_then(|last| send(settings, last, window::unix_seconds(&m.at), &fill));
    match went {
        Ok(went) => {
            let (wamid, template) = match went {
                Went::Text(id) => (id, None),
                Went::Template(id, name) => (id, Some(name)),
            };
            storage::set_json(&sent_key(&wamid), &Sent::Chat { conversation: c.id, seq: m.seq })?;
            conversations::set_delivery(c.id, m.seq, &Delivery::Sent(wamid))?;
            if let Some(name) = template {
                system(
                    c.id,
                    format!(
                        "The customer last wrote more than 24 hours ago, so WhatsApp got the template \"{name}\" \
                         instead of this text; the conversation goes on when they answer"
                    ),
                )?;
            }
            Ok(())
        }
        Err(e) => {
            let why = reason(&e);
            conversations::set_delivery(c.id, m.seq, &Delivery::Failed(why.clone()))?;
            system(c.id, format!("Not sent over WhatsApp: {why}"))
        }
    }
}

/// The conversation a ticket was made of, from its thread keys.
fn conversation_of(reply: &Reply) -> Option<u64> {
    reply.thread_keys.iter().find_map(|k| k.strip_prefix("conversation:").and_then(|id| id.parse().ok()))
}

/// An agent replied on a ticket made of a WhatsApp conversation: the reply
/// goes to the customer. An error is the host's to show on the reply (and
/// to try again, when it may pass).
pub fn ticket_reply(settings: &Settings, reply: &Reply) -> Result<(), PluginError> {
    let conversation = conversation_of(reply);
    let stored = match conversation {
        Some(id) => storage::get_json::<Customer>(&customer_key(id))?,
        None => None,
    };
    let from_contact = || {
        let contact = reply.contact.as_ref()?;
        let number = contact.phones.iter().find_map(|p| p.number.strip_prefix('+'))?;
        Some(Customer { wa: number.to_owned(), name: contact.name.clone() })
    };
    let Some(customer) = stored.or_else(from_contact) else {
        return Err(PluginError::Permanent(
            "the ticket's customer has no WhatsApp number: it was not made of a WhatsApp conversation".into(),
        ));
    };
    let last = match conversation {
        Some(id) => customer_wrote(&conversations::get(id)?)?,
        None => None,
    };
    let body = reply.message.body.trim();
    let fill = Fill { customer: &customer, ticket: Some((reply.ticket.id, reply.ticket.title.clone())), message: body };
    let went = send(settings, last, window::unix_seconds(&reply.message.created_at), &fill)?;
    let wamid = match went {
        Went::Text(id) => id,
        Went::Template(id, name) => {
            let note = format!(
                "The customer last wrote on WhatsApp more than 24 hours ago, so they got the template \"{name}\" \
                 instead of reply #{}",
                reply.message.id
            );
            tickets::append_message(reply.ticket.id, MessageKind::Note, &note)?;
            id
        }
    };
    storage::set_json(&sent_key(&wamid), &Sent::Reply { ticket: reply.ticket.id, entry: reply.message.id })?;
    // The reply shows WhatsApp's id until the statuses move it on.
    tickets::set_delivery(reply.ticket.id, reply.message.id, &Delivery::Sent(wamid))?;
    Ok(())
}
