//! `/api/tickets/{id}/messages`: a ticket's thread.

use crate::extract::Path;
use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use switchboard_core::{Author, Delivery, DeliveryState, Message, MessageDraft, MessageKind};
use switchboard_store::DeliveryEntry;
use utoipa::ToSchema;

use super::attachments::AttachmentOut;
use super::tickets::{parse_id, require_visible};
use super::wire::AuthorOut;
use crate::auth::Caller;
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::idempotency::Idem;
use crate::json::Json;
use crate::state::AppState;

/// The kinds of entry a client may add.
#[derive(Debug, Clone, Copy, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum NewMessageKind {
    /// An answer to the customer.
    Reply,
    /// An internal note only agents see.
    Note,
    /// A message from the customer, recorded by an agent or an import; it
    /// is attributed to the ticket's contact.
    Customer,
}

/// A new thread entry.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewMessage {
    /// `reply`, `note` or `customer`. System events are written by the
    /// server only.
    pub kind: NewMessageKind,
    /// The text.
    pub body: String,
}

/// A thread entry as the API shows it.
#[derive(Debug, Serialize, ToSchema)]
pub struct MessageOut {
    /// The message's id.
    pub id: u64,
    /// The ticket it belongs to.
    pub ticket: u64,
    /// `customer`, `reply`, `note` or `event`.
    pub kind: &'static str,
    /// Who wrote it.
    pub author: AuthorOut,
    /// The text.
    pub body: String,
    /// When it was written (RFC 3339).
    pub created_at: String,
    /// For a reply a channel delivers (by mail, say): how its delivery
    /// went. Absent for entries nothing delivers.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub delivery: Option<DeliveryOut>,
    /// The whole text, when `body` folds part of it away (the quoted
    /// history below an e-mail reply). Absent otherwise.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub full_body: Option<String>,
    /// The files that came with it, in order; empty for most entries.
    pub attachments: Vec<AttachmentOut>,
}

/// How the delivery of a thread entry went.
#[derive(Debug, Serialize, ToSchema)]
pub struct DeliveryOut {
    /// `queued`, `sent`, `deferred` (it will be tried again) or `failed`;
    /// a channel whose provider reports on delivery (WhatsApp) moves a
    /// sent entry on to `delivered` and `read`.
    pub state: &'static str,
    /// Why it was deferred or failed, or the relay's answer; may be empty.
    pub detail: String,
    /// When it last changed (RFC 3339).
    pub at: String,
}

impl From<&Delivery> for DeliveryOut {
    fn from(d: &Delivery) -> Self {
        DeliveryOut {
            state: match d.state {
                DeliveryState::Queued => "queued",
                DeliveryState::Sent => "sent",
                DeliveryState::Deferred => "deferred",
                DeliveryState::Failed => "failed",
                DeliveryState::Delivered => "delivered",
                DeliveryState::Read => "read",
            },
            detail: d.detail.clone(),
            at: d.at.to_string(),
        }
    }
}

impl From<&Message> for MessageOut {
    fn from(m: &Message) -> Self {
        MessageOut {
            id: m.id,
            ticket: m.ticket,
            kind: match m.kind {
                MessageKind::Customer => "customer",
                MessageKind::Reply => "reply",
                MessageKind::Note => "note",
                MessageKind::Event => "event",
            },
            author: (&m.author).into(),
            body: m.body.clone(),
            created_at: m.created_at.to_string(),
            delivery: m.delivery.as_ref().map(DeliveryOut::from),
            full_body: m.full_body.clone(),
            attachments: m.attachments.iter().enumerate().map(|(i, a)| AttachmentOut::new(m, i, a)).collect(),
        }
    }
}

/// Adds a reply, a note or a customer message to a ticket's thread. A
/// reply on a ticket that a channel opened (an e-mail, say) is delivered
/// to the customer by that channel; its `delivery` shows how that went.
#[utoipa::path(post, path = "/tickets/{id}/messages", tag = "tickets", params(("id" = u64, Path, description = "ticket number")),
    request_body = NewMessage,
    responses((status = 201, body = MessageOut), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn create_message(
    State(state): State<AppState>,
    caller: Caller,
    idem: Idem,
    Path(id): Path<String>,
    Json(body): Json<NewMessage>,
) -> ApiResult<(StatusCode, Json<MessageOut>)> {
    let id = parse_id(&id)?;
    require_visible(&state, &caller, id).await?;
    let (kind, author) = match body.kind {
        NewMessageKind::Reply => (MessageKind::Reply, caller.author()),
        NewMessageKind::Note => (MessageKind::Note, caller.author()),
        NewMessageKind::Customer => {
            let ticket = state.stores.tickets.ticket(id).await?;
            let contact = ticket.contact.ok_or_else(|| {
                ApiError::invalid("kind", format!("ticket {id} has no contact to attribute a customer message to"))
            })?;
            let name = state.stores.contacts.contact(contact).await?.name;
            (MessageKind::Customer, Author::Contact { id: contact, name })
        }
    };
    let draft = MessageDraft::new(kind, author, body.body);
    let now = state.clock.now();
    let idem = idem.keep(&caller, now, StatusCode::CREATED, |m: &Message| MessageOut::from(m));
    // A reply on a ticket a channel opened is delivered by that channel:
    // the reply and the job that hands it over are one write.
    if kind == MessageKind::Reply && crate::mail::delivers_replies(&state, id).await? {
        let job = crate::mail::reply_job(id);
        let queued = state.stores.tickets.queue_delivery(id, DeliveryEntry::New(draft), job, now, idem).await?;
        let queued = queued.durable().await?;
        state.wake_replies.notify_one();
        return Ok((StatusCode::CREATED, Json((&queued.message).into())));
    }
    let message = state.stores.tickets.append_message(id, draft, now, idem).await?.durable().await?;
    Ok((StatusCode::CREATED, Json((&message).into())))
}

/// A ticket's thread, oldest first: customer messages, replies, notes and
/// system events.
#[utoipa::path(get, path = "/tickets/{id}/messages", tag = "tickets", params(("id" = u64, Path, description = "ticket number")),
    responses((status = 200, body = Vec<MessageOut>), (status = 404, body = ErrorBody)))]
pub async fn list_messages(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<Vec<MessageOut>>> {
    let id = parse_id(&id)?;
    require_visible(&state, &caller, id).await?;
    let messages = state.stores.tickets.messages(id).await?;
    Ok(Json(messages.iter().map(MessageOut::from).collect()))
}
