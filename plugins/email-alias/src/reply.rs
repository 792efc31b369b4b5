//! Agents' replies, and the acknowledgement of a new ticket, as mail from
//! the team's alias, threaded onto the customer's mails.

use switchboard_sdk::PluginError;
use switchboard_sdk::host::tickets;
use switchboard_sdk::mail::{self, Outgoing, Reply};

use super::compose::{self, Outgoing as Mail};

/// The ids a reply on a ticket answers: the thread's Message-IDs, oldest
/// first, as the host keeps them (the first and the latest); not the
/// receipts of mails that had none.
fn references(reply: &Reply) -> Vec<String> {
    reply.thread_keys.iter().filter(|k| k.starts_with('<')).cloned().collect()
}

/// The domain of an address.
fn domain(address: &str) -> &str {
    address.rsplit_once('@').map_or("localhost", |(_, d)| d)
}

/// Delivers an agent's reply to the ticket's contact.
pub fn deliver(reply: &Reply) -> Result<(), PluginError> {
    let ticket = &reply.ticket;
    let to = reply
        .contact
        .as_ref()
        .and_then(|c| c.emails.first())
        .map(|e| e.address.clone())
        .ok_or_else(|| PluginError::Permanent(format!("ticket {}'s contact has no e-mail address", ticket.id)))?;
    let message_id = format!("<reply-{}.{}@{}>", reply.message.id, ticket.id, domain(&reply.team_address));
    let references = references(reply);
    let raw = compose::compose(&Mail {
        from_name: &reply.team_name,
        from: &reply.team_address,
        to: &to,
        subject: &compose::subject(&ticket.title, ticket.id),
        message_id: &message_id,
        references: &references,
        date: &reply.message.created_at,
        body: &reply.message.body,
        automatic: false,
    })?;
    mail::send(&Outgoing {
        ticket: ticket.id,
        entry: Some(reply.message.id),
        sender: reply.team_address.clone(),
        recipients: vec![to],
        raw,
    })?;
    // The customer's answer names this id; it finds the ticket by it.
    tickets::add_keys(ticket.id, std::slice::from_ref(&message_id))
}

/// What an acknowledgement needs.
pub struct Ack<'a> {
    /// The new ticket.
    pub ticket: u64,
    /// Its title.
    pub title: &'a str,
    /// The customer's address.
    pub to: &'a str,
    /// The team's address the customer wrote to.
    pub team_address: &'a str,
    /// The customer's Message-ID, if the mail had one.
    pub answers: Option<&'a str>,
    /// When, RFC 3339.
    pub date: &'a str,
}

/// Acknowledges a new ticket with an automatic mail, marked as such so
/// that the customer's own auto-responder does not answer it.
pub fn acknowledge(ack: &Ack<'_>) -> Result<(), PluginError> {
    let message_id = format!("<ack-{}@{}>", ack.ticket, domain(ack.team_address));
    let references: Vec<String> = ack.answers.map(str::to_owned).into_iter().collect();
    let body = format!(
        "We received your message and opened ticket #{}.\n\nReply to this mail to add to it; keep [#{}] in the subject.",
        ack.ticket, ack.ticket
    );
    let raw = compose::compose(&Mail {
        from_name: "Support",
        from: ack.team_address,
        to: ack.to,
        subject: &compose::subject(ack.title, ack.ticket),
        message_id: &message_id,
        references: &references,
        date: ack.date,
        body: &body,
        automatic: true,
    })?;
    mail::send(&Outgoing {
        ticket: ack.ticket,
        entry: None,
        sender: ack.team_address.to_owned(),
        recipients: vec![ack.to.to_owned()],
        raw,
    })?;
    tickets::add_keys(ack.ticket, std::slice::from_ref(&message_id))
}
