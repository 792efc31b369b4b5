//! A signed notification: each customer message into the customer's open
//! conversation (with its file), each delivery report onto the message it
//! is about.

use serde::{Deserialize, Serialize};
use switchboard_sdk::PluginError;
use switchboard_sdk::chat::{Delivery, InboundMessage};
use switchboard_sdk::host::{conversations, log, storage, tickets};
use switchboard_sdk::http::Response;
use switchboard_sdk::types::{AttachmentContent, ContactInfo, DroppedFile, NewAttachment, Phone, PointKind};

use crate::graph::{Fetched, Graph};
use crate::settings::Settings;
use crate::webhook::{self, Change, Incoming, Status};

/// What the plugin keeps of a conversation: the customer's `wa_id` and
/// profile name, under `conversation:<id>`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Customer {
    /// Their number without `+`.
    pub wa: String,
    /// Their profile name, if WhatsApp gave one.
    #[serde(default)]
    pub name: String,
}

/// Where a message the business sent is, under `sent:<wamid>`: a
/// conversation's message, or a ticket's reply.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Sent {
    /// Message `seq` of conversation `conversation`.
    Chat {
        /// The conversation.
        conversation: u64,
        /// The message's number.
        seq: u64,
    },
    /// Reply `entry` on ticket `ticket`.
    Reply {
        /// The ticket.
        ticket: u64,
        /// The reply's thread entry.
        entry: u64,
    },
}

/// The storage key of a conversation's customer.
pub fn customer_key(conversation: u64) -> String {
    format!("conversation:{conversation}")
}

/// The storage key of a sent message's place.
pub fn sent_key(wamid: &str) -> String {
    format!("sent:{wamid}")
}

/// The chat channel conversations are shown in.
pub fn channel_name(settings: &Settings) -> String {
    match settings.channel.trim() {
        "" => conversations::team_name(),
        name => name.to_owned(),
    }
}

/// Handles a notification whose signature held: 200 once everything in it
/// is kept, 400 for a body that is not a notification. An error (the
/// store or a file fetch failing for now) becomes a 5xx, and Meta
/// delivers the notification again; what was kept the first time is not
/// kept twice.
pub fn notification(settings: &Settings, body: &[u8]) -> Result<Response, PluginError> {
    let n = match webhook::decode(body) {
        Ok(n) => n,
        Err(why) => return Ok(Response::text(400, why)),
    };
    for skipped in &n.skipped {
        log::warn(&format!("a notification part was left out: {skipped}"));
    }
    let ours = |c: &&Change| settings.phone_number_id.is_empty() || c.phone_number_id == settings.phone_number_id;
    let mut graph = None;
    for change in n.changes.iter().filter(ours) {
        for message in &change.messages {
            receive(settings, change, message, &mut graph)?;
        }
        for status in &change.statuses {
            report(status)?;
        }
    }
    Ok(Response::text(200, "EVENT_RECEIVED"))
}

/// Keeps one customer message.
fn receive<'a>(
    settings: &'a Settings,
    change: &Change,
    m: &Incoming,
    graph: &mut Option<Graph<'a>>,
) -> Result<(), PluginError> {
    let mut attachments = Vec::new();
    if let Some(media) = &m.media {
        if graph.is_none() {
            *graph = Some(Graph::open(settings)?);
        }
        let content = match graph.as_ref().map(|g| g.media(&media.id, settings.max_media_bytes)) {
            Some(Ok(Fetched::Kept(bytes, _))) => AttachmentContent::Kept(bytes),
            Some(Ok(Fetched::Dropped(size, reason))) => {
                AttachmentContent::Dropped(DroppedFile { size, reason: webhook::clip(&reason, 255) })
            }
            Some(Err(e)) => return Err(e),
            None => return Err(PluginError::Transient("the Graph API client is missing".into())),
        };
        attachments.push(NewAttachment {
            name: media.filename.clone(),
            content_type: media.mime_type.split(';').next().unwrap_or_default().trim().to_ascii_lowercase(),
            content_id: None,
            inline: false,
            content,
        });
    }
    let text = if m.text.trim().is_empty() { format!("[{}]", m.kind) } else { m.text.clone() };
    let got = conversations::receive(&InboundMessage {
        channel: channel_name(settings),
        customer: format!("+{}", m.from),
        key: m.id.clone(),
        body: text,
        attachments,
    })?;
    // A conversation opened by a delivery that failed after the write is
    // completed by the retry, which finds the message a duplicate.
    if got.opened || (got.duplicate && storage::get(&customer_key(got.conversation))?.is_none()) {
        let name = change.profiles.iter().find(|(wa, _)| *wa == m.from).map(|(_, n)| n.clone()).unwrap_or_default();
        let customer = Customer { wa: m.from.clone(), name: name.clone() };
        storage::set_json(&customer_key(got.conversation), &customer)?;
        let contact = ContactInfo {
            name: (!name.is_empty()).then_some(name),
            emails: Vec::new(),
            phones: vec![Phone { number: format!("+{}", m.from), kind: PointKind::Mobile }],
        };
        conversations::set_contact(got.conversation, &contact)?;
    }
    Ok(())
}

/// Applies a delivery report to the message it is about; reports on
/// messages this installation did not send are left alone.
fn report(status: &Status) -> Result<(), PluginError> {
    let Some(sent) = storage::get_json::<Sent>(&sent_key(&status.id))? else {
        return Ok(());
    };
    let delivery = match status.status.as_str() {
        "sent" => Delivery::Sent(status.id.clone()),
        "delivered" => Delivery::Delivered,
        "read" => Delivery::Read,
        "failed" if status.error.is_empty() => Delivery::Failed("WhatsApp could not deliver it".into()),
        "failed" => Delivery::Failed(status.error.clone()),
        _ => return Ok(()),
    };
    match sent {
        Sent::Chat { conversation, seq } => {
            conversations::set_delivery(conversation, seq, &delivery)?;
        }
        Sent::Reply { ticket, entry } => {
            tickets::set_delivery(ticket, entry, &delivery)?;
        }
    }
    Ok(())
}
