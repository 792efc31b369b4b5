//! `conversations`: the installation's live conversations, written through
//! the hub so that every server's connections hear of each change.

use std::sync::Arc;

use switchboard_chat::{ChatError, Hub};
use switchboard_core::{
    Author, Capability, ChatDelivery, Conversation, ConversationChange, ConversationState, InboundDraft, Speaker,
    TicketDraft, chat_title, transcript,
};
use switchboard_store::MAX_CHAT_PAGE;

use crate::bindings::channel::switchboard::plugin::conversations::{
    self as wit_chat, ChatTicket, Delivery, Host, InboundMessage, NewPost, Operator, Poster, Received,
};
use crate::bindings::wit::{ContactInfo, PluginError};
use crate::convert::{
    attachment_from_wit, chat_message_to_wit, contact_from_wit, conversation_to_wit, delivery_from_wit,
    expect_from_wit, priority_from_wit,
};
use crate::host::{HostState, plugin_error};

/// The most messages a transcript reads: enough for any conversation a
/// ticket's description can hold.
const MAX_TRANSCRIPT_MESSAGES: usize = 5_000;

fn chat_error(e: ChatError) -> PluginError {
    match e {
        ChatError::Store(e) => plugin_error(e),
        ChatError::Bus(e) => {
            tracing::error!(error = %e, "chat bus failure in a host call");
            PluginError::Transient("the host could not complete the call; try again".into())
        }
    }
}

impl HostState {
    /// The hub, once the server attached it, after checking the grant.
    fn hub(&self) -> Result<Hub, PluginError> {
        self.scope.require(&Capability::Chat)?;
        match self.services.chat.get() {
            Some(link) => Ok(link.hub.clone()),
            None => Err(PluginError::Transient("live chat is not running on this server".into())),
        }
    }

    /// The conversation, if it is this installation's. The future holds no
    /// borrow of the call's state.
    fn own_conversation(
        &self,
        id: u64,
    ) -> Result<impl Future<Output = Result<Conversation, PluginError>> + Send + 'static, PluginError> {
        let hub = self.hub()?;
        let (team, plugin) = (Arc::clone(&self.scope.team), Arc::clone(&self.scope.plugin));
        Ok(async move {
            match hub.store().conversation(id).await {
                Ok(c) if *c.team == *team && *c.plugin == *plugin => Ok(c),
                Ok(_) | Err(switchboard_store::StoreError::UnknownConversation(_)) => Err(PluginError::NotFound(
                    format!("conversation {id} is not a conversation of plugin \"{plugin}\" in team \"{team}\""),
                )),
                Err(e) => Err(plugin_error(e)),
            }
        })
    }

    /// Runs a hub call as host time.
    async fn timed<T>(&mut self, work: impl Future<Output = Result<T, PluginError>>) -> Result<T, PluginError> {
        self.clock.host_begin();
        let result = work.await;
        self.clock.host_end();
        result
    }

    /// The operators online in `channel` of the installation's team.
    fn online(&self, channel: String) -> impl Future<Output = Result<Vec<Operator>, PluginError>> + Send + 'static {
        let (presence, team, now) = (Arc::clone(&self.services.presence), Arc::clone(&self.scope.team), self.now());
        async move {
            let online = presence.online_operators(&team, &channel, now).await.map_err(plugin_error)?;
            Ok(online.into_iter().map(|p| Operator { user: p.user, name: p.chat_name }).collect())
        }
    }
}

impl Host for HostState {
    async fn get(&mut self, id: u64) -> Result<wit_chat::Conversation, PluginError> {
        let own = self.own_conversation(id)?;
        Ok(conversation_to_wit(&self.timed(own).await?))
    }

    async fn messages(&mut self, id: u64, after: u64, limit: u32) -> Result<Vec<wit_chat::ChatMessage>, PluginError> {
        let (own, hub) = (self.own_conversation(id)?, self.hub()?);
        let limit = usize::try_from(limit).unwrap_or(MAX_CHAT_PAGE).min(MAX_CHAT_PAGE);
        let read = async move {
            own.await?;
            hub.store().chat_messages(id, after, limit).await.map_err(plugin_error)
        };
        Ok(self.timed(read).await?.iter().map(chat_message_to_wit).collect())
    }

    async fn post(&mut self, id: u64, message: NewPost) -> Result<u64, PluginError> {
        let (own, hub, now) = (self.own_conversation(id)?, self.hub()?, self.now());
        let write = async move {
            let c = own.await?;
            let speaker = match message.poster {
                Poster::Bot => Speaker::Bot,
                Poster::System => Speaker::System,
                Poster::Operator(user) => c
                    .operators
                    .iter()
                    .find(|o| matches!(o, Speaker::Operator { id, .. } if *id == user))
                    .cloned()
                    .ok_or_else(|| {
                        PluginError::Permanent(format!("user {user} has not joined conversation {id}; join it first"))
                    })?,
            };
            let expect = expect_from_wit(message.expect);
            let said = hub.say(id, speaker, &message.body, expect, now).await.map_err(chat_error)?;
            Ok(said.seq)
        };
        self.timed(write).await
    }

    async fn hand_over(&mut self, id: u64, to: Option<u64>) -> Result<wit_chat::Conversation, PluginError> {
        let (own, hub, now) = (self.own_conversation(id)?, self.hub()?, self.now());
        let presence = Arc::clone(&self.services.presence);
        let team = Arc::clone(&self.scope.team);
        let write = async move {
            let c = own.await?;
            if c.state != ConversationState::Bot {
                return Ok(c);
            }
            let joining = match to {
                None => None,
                Some(user) => {
                    let online = presence.online_operators(&team, &c.channel, now).await.map_err(plugin_error)?;
                    let Some(p) = online.into_iter().find(|p| p.user == user) else {
                        return Err(PluginError::NotFound(format!(
                            "user {user} is not online in chat channel \"{}\"",
                            c.channel
                        )));
                    };
                    Some(ConversationChange::Join { id: user, name: p.chat_name })
                }
            };
            let mut c = hub.change(id, ConversationChange::HandOver, now).await.map_err(chat_error)?.conversation;
            if let Some(join) = joining {
                c = hub.change(id, join, now).await.map_err(chat_error)?.conversation;
            }
            Ok(c)
        };
        Ok(conversation_to_wit(&self.timed(write).await?))
    }

    async fn online_operators(&mut self, channel: String) -> Result<Vec<Operator>, PluginError> {
        self.hub()?;
        let online = self.online(channel);
        self.timed(online).await
    }

    async fn set_contact(&mut self, id: u64, contact: ContactInfo) -> Result<u64, PluginError> {
        let (own, hub, now) = (self.own_conversation(id)?, self.hub()?, self.now());
        let Some(draft) = contact_from_wit(contact) else {
            return Err(PluginError::Permanent("contact: give a name, an e-mail address or a phone number".into()));
        };
        let contacts = Arc::clone(&self.services.contacts);
        let write = async move {
            own.await?;
            let contact = contacts.upsert_contact(draft, now).await.map_err(plugin_error)?;
            let contact = contact.durable().await.map_err(plugin_error)?;
            hub.change(id, ConversationChange::Contact(contact.id), now).await.map_err(chat_error)?;
            Ok(contact.id)
        };
        self.timed(write).await
    }

    async fn to_ticket(&mut self, id: u64, ticket: ChatTicket) -> Result<u64, PluginError> {
        self.scope.require(&Capability::Tickets)?;
        let (own, hub, now) = (self.own_conversation(id)?, self.hub()?, self.now());
        let author = Author::Plugin { id: self.scope.plugin.to_string() };
        let write = async move {
            let c = own.await?;
            if let Some(made) = c.ticket {
                return Ok(made);
            }
            let mut messages = Vec::new();
            while messages.len() < MAX_TRANSCRIPT_MESSAGES {
                let after = messages.last().map_or(0, |m: &switchboard_core::ChatMessage| m.seq);
                let page = hub.store().chat_messages(id, after, MAX_CHAT_PAGE).await.map_err(plugin_error)?;
                if page.is_empty() {
                    break;
                }
                messages.extend(page);
            }
            let draft = TicketDraft {
                title: chat_title(&ticket.title, &messages, id),
                description: transcript(&messages),
                priority: ticket.priority.map(priority_from_wit),
                origin: c.plugin.clone(),
                external_key: Some(format!("conversation:{id}")),
                ..TicketDraft::default()
            };
            let made = hub.ticket(id, draft, author, now).await.map_err(chat_error)?;
            Ok(made.ticket.id)
        };
        self.timed(write).await
    }

    async fn end(&mut self, id: u64) -> Result<(), PluginError> {
        let (own, hub, now) = (self.own_conversation(id)?, self.hub()?, self.now());
        let write = async move {
            if own.await?.state == ConversationState::Ended {
                return Ok(());
            }
            hub.change(id, ConversationChange::End, now).await.map_err(chat_error)?;
            Ok(())
        };
        self.timed(write).await
    }

    async fn team_name(&mut self) -> String {
        let (teams, slug) = (Arc::clone(&self.services.teams), Arc::clone(&self.scope.team));
        let read = async move { Ok(teams.team(&slug).await.map(|t| t.name).unwrap_or_else(|_| slug.to_string())) };
        self.timed(read).await.unwrap_or_default()
    }

    async fn country_of(&mut self, client_addr: String) -> Option<String> {
        let lookup = self.services.chat.get()?.country_of.clone()?;
        let addr = client_addr.trim().parse().ok()?;
        lookup(addr)
    }

    async fn receive(&mut self, message: InboundMessage) -> Result<Received, PluginError> {
        let (hub, now) = (self.hub()?, self.now());
        let draft = InboundDraft {
            team: self.scope.team.to_string(),
            plugin: self.scope.plugin.to_string(),
            channel: message.channel,
            customer: message.customer,
            key: message.key,
            body: message.body,
            attachments: message.attachments.into_iter().map(attachment_from_wit).collect(),
        };
        let write = async move {
            let got = hub.receive(draft, now).await.map_err(chat_error)?;
            Ok(Received {
                conversation: got.conversation.id,
                seq: got.message.seq,
                opened: got.opened,
                duplicate: got.duplicate,
            })
        };
        self.timed(write).await
    }

    async fn set_delivery(&mut self, id: u64, seq: u64, delivery: Delivery) -> Result<bool, PluginError> {
        let (own, hub, now) = (self.own_conversation(id)?, self.hub()?, self.now());
        let (state, detail) = delivery_from_wit(delivery)?;
        let write = async move {
            own.await?;
            let report = ChatDelivery::new(state, &detail, now);
            Ok(hub.report_delivery(id, seq, report).await.map_err(chat_error)?.is_some())
        };
        self.timed(write).await
    }
}
