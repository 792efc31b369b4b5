//! `open-lines`: a robot's message to the customer through the channel
//! they last wrote from, delivered as an agent's reply is (the server's
//! reply worker hands it to the channel's `deliver-reply`), once per key.

use std::sync::Arc;

use sha2::{Digest, Sha256};
use switchboard_core::{Author, Capability, MessageDraft, MessageKind, Ticket};
use switchboard_store::{Committed, DeliveryEntry, Idempotency, StoreError, StoredAnswer, TicketStore};

use crate::bindings::stage_robot::switchboard::plugin::open_lines::Host;
use crate::bindings::wit::PluginError;
use crate::host::{HostState, plugin_error};
use crate::outbox::ReplyJob;

/// The longest key, in bytes.
const MAX_KEY: usize = 200;
/// How long a key is remembered: longer than any run's retries.
const KEY_DAYS: i64 = 30;

impl HostState {
    /// The ticket's open line: the channel its customer last wrote from,
    /// else its origin, if that channel is enabled for the team and
    /// delivers replies. The future holds no borrow of the call's state.
    fn open_line(&self, ticket: Ticket) -> impl Future<Output = Result<Option<String>, PluginError>> + Send + 'static {
        let (tickets, plugins, loaded) =
            (Arc::clone(&self.services.tickets), Arc::clone(&self.services.plugins), Arc::clone(&self.services.loaded));
        async move {
            let thread = tickets.messages(ticket.id).await.map_err(plugin_error)?;
            let last = thread.iter().rev().find(|m| m.kind == MessageKind::Customer).and_then(|m| m.via.clone());
            for channel in last.into_iter().chain([ticket.origin.clone()]) {
                let delivers = loaded
                    .read()
                    .unwrap_or_else(std::sync::PoisonError::into_inner)
                    .get(&channel)
                    .is_some_and(|l| l.pre.delivers_replies());
                if delivers && plugins.installation(&ticket.team, &channel).await.is_ok() {
                    return Ok(Some(channel));
                }
            }
            Ok(None)
        }
    }
}

/// Queues the reply with its key's record in one write; a repeat of the
/// key answers the first entry's id.
async fn queue(
    tickets: Arc<dyn TicketStore>,
    ticket: u64,
    draft: MessageDraft,
    via: String,
    idem: Idempotency<switchboard_core::Message>,
) -> Result<Committed<u64>, StoreError> {
    let now = idem.now;
    let key = idem.key.clone();
    match tickets
        .queue_delivery(ticket, DeliveryEntry::New(draft), ReplyJob::delivery(ticket, Some(via)), now, Some(idem))
        .await
    {
        Ok(queued) => Ok(queued.map(|q| q.message.id)),
        Err(StoreError::Replayed { answer, .. }) => {
            let id = std::str::from_utf8(&answer.body).ok().and_then(|t| t.parse().ok());
            id.map(Committed::durable_now).ok_or_else(|| StoreError::Corrupt {
                what: format!("open-line key \"{key}\""),
                reason: "no entry id".into(),
            })
        }
        Err(e) => Err(e),
    }
}

impl Host for HostState {
    async fn find(&mut self, ticket: u64) -> Result<Option<String>, PluginError> {
        self.scope.require(&Capability::Tickets)?;
        let ticket = self.own_ticket(ticket).await?;
        self.open_line(ticket).await
    }

    async fn send(&mut self, ticket: u64, body: String, key: String) -> Result<u64, PluginError> {
        self.scope.require(&Capability::Tickets)?;
        if key.is_empty() || key.len() > MAX_KEY {
            return Err(PluginError::Permanent(format!("a key is 1 to {MAX_KEY} bytes, not {}", key.len())));
        }
        let found = self.own_ticket(ticket).await?;
        let Some(via) = self.open_line(found).await? else {
            return Err(PluginError::NotFound(format!(
                "ticket {ticket} has no open line: no channel it came through delivers replies"
            )));
        };
        let author = Author::Plugin { id: self.scope.plugin.to_string() };
        let draft = MessageDraft::new(MessageKind::Reply, author, body.clone());
        let now = self.now();
        let idem = Idempotency {
            scope: format!("plugin {}/{}", self.scope.team, self.scope.plugin),
            key: key.clone(),
            fingerprint: Sha256::new()
                .chain_update(ticket.to_be_bytes())
                .chain_update(body.as_bytes())
                .finalize()
                .into(),
            now,
            expires_at: now + jiff::SignedDuration::from_hours(24 * KEY_DAYS),
            answer: Arc::new(|m: &switchboard_core::Message| StoredAnswer {
                status: 201,
                body: m.id.to_string().into_bytes(),
            }),
        };
        let tickets = Arc::clone(&self.services.tickets);
        self.write(queue(tickets, ticket, draft, via, idem)).await
    }
}
