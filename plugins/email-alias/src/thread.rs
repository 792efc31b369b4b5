//! What a message becomes: a new ticket, an entry on the ticket it
//! answers, a bounce on the ticket it bounced from, or nothing.

use switchboard_sdk::PluginError;
use switchboard_sdk::host::{rate_limit, tickets};
use switchboard_sdk::mail::{InboundMail, MailOutcome};
use switchboard_sdk::types::{ContactInfo, Email, MessageKind, NewAttachment, NewEntry, NewTicket, PointKind, Ticket};

use super::Settings;
use super::files;
use super::noise;
use super::parse::{self, Parsed, Sender};
use super::quote;
use super::reply;

/// How much of an unreadable message's raw text the ticket shows.
const RAW_EXCERPT: usize = 20_000;

/// Handles one accepted message.
pub fn handle(settings: &Settings, mail: &InboundMail) -> Result<MailOutcome, PluginError> {
    let Some(mut parsed) = parse::parse(&mail.raw, &mail.envelope.mail_from) else {
        return unreadable(settings, mail);
    };
    if noise::is_bounce(&parsed.message, &mail.envelope.mail_from) {
        return bounce(&parsed);
    }
    if let Some(why) = noise::automatic(&parsed.message) {
        return Ok(MailOutcome::Ignored(format!("an automatic message ({why}) never opens a ticket")));
    }
    // The key this message is known by. A message handled before (a retry
    // after a failure, or the same mail delivered twice) is found by it and
    // not added again.
    let own = parsed.message_id.clone().unwrap_or_else(|| format!("receipt:{}", mail.receipt));
    if let Some(done) = tickets::find_by_external_key(&own)? {
        return Ok(MailOutcome::Appended(done.id));
    }
    if let Some(ticket) = answered(&parsed)? {
        return append(settings, &ticket, &mut parsed, &own);
    }
    let Some(sender) = parsed.sender.clone() else {
        return Ok(MailOutcome::Ignored("the message has no sender address (From or MAIL FROM)".into()));
    };
    let limit = settings.new_tickets_per_sender_per_hour;
    // `take` answers how long to wait when the sender is over the limit.
    if rate_limit::take(&format!("new:{}", sender.address), limit, 3600).is_some() {
        return Ok(MailOutcome::Ignored(format!(
            "{} opened {limit} tickets in the last hour, the most the settings allow",
            sender.address
        )));
    }
    let id = open(settings, &mut parsed, &sender, own)?;
    if settings.acknowledge_new_tickets && id.created {
        let team_address = mail.envelope.rcpt_to.first().map(|a| without_tag(a)).unwrap_or_default();
        reply::acknowledge(&reply::Ack {
            ticket: id.ticket,
            title: &id.title,
            to: &sender.address,
            team_address: &team_address,
            answers: parsed.message_id.as_deref(),
            date: &mail.received_at,
        })?;
    }
    Ok(MailOutcome::Opened(id.ticket))
}

/// A recipient address without its `+tag`: the team's alias.
fn without_tag(address: &str) -> String {
    match address.rsplit_once('@') {
        Some((local, domain)) => format!("{}@{domain}", local.split('+').next().unwrap_or(local)),
        None => address.to_owned(),
    }
}

/// A ticket opened for a message.
struct Opened {
    ticket: u64,
    title: String,
    created: bool,
}

/// The ticket a message answers: one whose thread has an id it names in
/// In-Reply-To or References, else the ticket its subject tags, if the
/// sender is that ticket's contact.
fn answered(parsed: &Parsed<'_>) -> Result<Option<Ticket>, PluginError> {
    if let Some(found) = first_known(&parsed.refs)? {
        return Ok(Some(found));
    }
    let (Some(id), Some(sender)) = (parse::subject_tag(&parsed.subject), &parsed.sender) else {
        return Ok(None);
    };
    let ticket = match tickets::get(id) {
        Ok(ticket) => ticket,
        Err(PluginError::NotFound(_)) => return Ok(None),
        Err(e) => return Err(e),
    };
    // A number alone is easy to guess: it only counts from the customer
    // whose ticket it is, or anyone could write into another's ticket.
    let contact = tickets::get_contact(ticket.id)?;
    let is_contact = contact.is_some_and(|c| c.emails.iter().any(|e| e.address.eq_ignore_ascii_case(&sender.address)));
    Ok(is_contact.then_some(ticket))
}

/// The ticket the first known id belongs to.
fn first_known(ids: &[String]) -> Result<Option<Ticket>, PluginError> {
    for id in ids {
        if let Some(ticket) = tickets::find_by_external_key(id)? {
            return Ok(Some(ticket));
        }
    }
    Ok(None)
}

/// Adds the message to `ticket`'s thread and remembers its id, so that
/// answers to it thread too.
fn append(
    settings: &Settings,
    ticket: &Ticket,
    parsed: &mut Parsed<'_>,
    own: &str,
) -> Result<MailOutcome, PluginError> {
    // The host attributes a customer message to the ticket's contact;
    // someone else on the thread (a colleague in Cc) is named.
    let mut from = None;
    if let Some(sender) = &parsed.sender {
        let contact = tickets::get_contact(ticket.id)?;
        let theirs = contact.is_some_and(|c| c.emails.iter().any(|e| e.address.eq_ignore_ascii_case(&sender.address)));
        if !theirs {
            from = Some(format!("From: {}\n\n", display(sender)));
        }
    }
    tickets::append_entry(ticket.id, &entry(settings, parsed, from.as_deref()))?;
    tickets::add_keys(ticket.id, &[own.to_owned()])?;
    Ok(MailOutcome::Appended(ticket.id))
}

/// Opens a ticket for a new message; its Message-ID (or receipt) is the
/// ticket's key, so a retry finds it instead of opening a second one.
fn open(settings: &Settings, parsed: &mut Parsed<'_>, sender: &Sender, own: String) -> Result<Opened, PluginError> {
    let title = if parsed.subject.is_empty() { "(no subject)".to_owned() } else { parsed.subject.clone() };
    let contact = ContactInfo {
        name: sender.name.clone(),
        emails: vec![Email { address: sender.address.clone(), kind: PointKind::Other }],
        phones: Vec::new(),
    };
    let ticket = NewTicket {
        title,
        description: parsed.text.clone(),
        priority: None,
        contact: Some(contact),
        external_key: Some(own),
    };
    let got = tickets::create_or_get(&ticket, &[])?;
    if got.created {
        tickets::append_entry(got.ticket.id, &entry(settings, parsed, None))?;
    }
    Ok(Opened { ticket: got.ticket.id, title: got.ticket.title, created: got.created })
}

/// A bounce goes on the ticket whose mail bounced, as an event; it never
/// opens a ticket.
fn bounce(parsed: &Parsed<'_>) -> Result<MailOutcome, PluginError> {
    let mut ids = noise::bounced_ids(&parsed.message);
    ids.extend(parsed.refs.iter().cloned());
    let Some(ticket) = first_known(&ids)? else {
        return Ok(MailOutcome::Bounced(None));
    };
    let summary = parsed.text.lines().filter(|l| !l.trim().is_empty()).take(20).collect::<Vec<_>>().join("\n");
    let body = format!("A mail on this ticket bounced ({}):\n\n{summary}", parsed.subject);
    tickets::append_message(ticket.id, MessageKind::Event, &parse::clean_text(&body))?;
    Ok(MailOutcome::Bounced(Some(ticket.id)))
}

/// A message the parser cannot read is kept as such: a ticket showing the
/// start of its raw text, with the raw message attached (up to the cap).
fn unreadable(settings: &Settings, mail: &InboundMail) -> Result<MailOutcome, PluginError> {
    let raw = String::from_utf8_lossy(&mail.raw);
    let excerpt: String = raw.chars().take(RAW_EXCERPT).collect();
    let from = if mail.envelope.mail_from.is_empty() { "<>" } else { mail.envelope.mail_from.as_str() };
    let ticket = NewTicket {
        title: parse::clean_line(&format!("Unreadable message from {from}"), 300),
        description: parse::clean_text(&format!("The message could not be parsed. Its raw text begins:\n\n{excerpt}")),
        priority: None,
        contact: None,
        external_key: Some(format!("receipt:{}", mail.receipt)),
    };
    let got = tickets::create_or_get(&ticket, &[])?;
    if got.created {
        let content = files::keep_up_to(mail.raw.clone(), settings.max_attachment_bytes.min(files::MAX_KEPT_BYTES));
        let raw_copy = NewAttachment {
            name: format!("message-{}.eml", mail.receipt),
            content_type: "message/rfc822".into(),
            content_id: None,
            inline: false,
            content,
        };
        let entry = NewEntry {
            kind: MessageKind::Event,
            body: "The message as it was received is attached.".into(),
            full_body: None,
            attachments: vec![raw_copy],
        };
        tickets::append_entry(got.ticket.id, &entry)?;
    }
    Ok(MailOutcome::Opened(got.ticket.id))
}

/// The thread entry of a message: its new text shown (quoted history
/// folded away, the whole text kept), after `from` when the sender is
/// not the ticket's contact, and its files.
fn entry(settings: &Settings, parsed: &mut Parsed<'_>, from: Option<&str>) -> NewEntry {
    let text = if parsed.text.is_empty() { "(the message has no text)" } else { parsed.text.as_str() };
    let (shown, whole) = quote::fold(text);
    let from = from.unwrap_or("");
    let files = files::take(&mut parsed.message, settings.max_attachment_bytes);
    let mut body = format!("{from}{shown}");
    if files.unlisted > 0 {
        body.push_str(&format!("\n\n({} more attachments are not listed: an entry lists at most 100)", files.unlisted));
    }
    NewEntry {
        kind: MessageKind::Customer,
        body: parse::clean_text(&body),
        full_body: whole.map(|w| parse::clean_text(&format!("{from}{w}"))),
        attachments: files.listed,
    }
}

fn display(sender: &Sender) -> String {
    match &sender.name {
        Some(name) => format!("{name} <{}>", sender.address),
        None => sender.address.clone(),
    }
}
