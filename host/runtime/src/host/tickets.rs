//! `tickets`: the team's tickets, scoped to the installation's team.

use std::sync::Arc;

use switchboard_core::{
    Author, Capability, ContactDraft, Delivery as DeliveryRecord, MessageDraft, MessageKind, Ticket, TicketDraft,
    check_attachments,
};
use switchboard_store::TicketEdit;

use crate::bindings::channel::switchboard::plugin::conversations::Delivery;
use crate::bindings::channel::switchboard::plugin::tickets::{GotTicket, Host};
use crate::bindings::wit::{self, PluginError};
use crate::convert::{
    attachment_from_wit, contact_from_wit, contact_to_wit, delivery_from_wit, message_kind_from_wit, message_to_wit,
    priority_from_wit, ticket_to_wit,
};
use crate::host::{HostState, plugin_error};

impl HostState {
    fn author(&self) -> Author {
        Author::Plugin { id: self.scope.plugin.to_string() }
    }

    /// The ticket, if it belongs to this installation's team. The future
    /// holds no borrow of the call's state, which is not `Sync`.
    pub(crate) fn own_ticket(&self, id: u64) -> impl Future<Output = Result<Ticket, PluginError>> + Send + 'static {
        let (tickets, team) = (Arc::clone(&self.services.tickets), Arc::clone(&self.scope.team));
        async move {
            match tickets.ticket(id).await {
                Ok(t) if *t.team == *team => Ok(t),
                Ok(_) | Err(switchboard_store::StoreError::UnknownTicket(_)) => {
                    Err(PluginError::NotFound(format!("ticket {id} is not a ticket of team \"{team}\"")))
                }
                Err(e) => Err(plugin_error(e)),
            }
        }
    }

    /// Who an entry of `kind` on ticket `id` is by: the ticket's contact
    /// for a customer entry, the plugin otherwise. Checks that the ticket
    /// is the team's. The future holds no borrow of the call's state.
    fn entry_author(
        &self,
        id: u64,
        kind: MessageKind,
    ) -> impl Future<Output = Result<Author, PluginError>> + Send + 'static {
        let (own, contacts, plugin) = (self.own_ticket(id), Arc::clone(&self.services.contacts), self.author());
        async move {
            Ok(match (kind, own.await?.contact) {
                (MessageKind::Customer, Some(contact)) => {
                    let name = contacts.contact(contact).await.map_err(plugin_error)?.name;
                    Author::Contact { id: contact, name }
                }
                _ => plugin,
            })
        }
    }

    /// Writes a thread entry and answers once it is durable.
    async fn append(&mut self, id: u64, mut draft: MessageDraft) -> Result<wit::Message, PluginError> {
        // Every entry a plugin adds came through it: a customer's words
        // through a channel set off that channel's triggers.
        draft.via = Some(self.scope.plugin.to_string());
        let (tickets, now) = (Arc::clone(&self.services.tickets), self.now());
        let appended = self.write(tickets.append_message(id, draft, now, None)).await?;
        Ok(message_to_wit(&appended))
    }

    /// The WIT form of a ticket, with its stage by name.
    fn to_wit(&self, ticket: Ticket) -> impl Future<Output = Result<wit::Ticket, PluginError>> + Send + 'static {
        let teams = Arc::clone(&self.services.teams);
        async move {
            let team = teams.team(&ticket.team).await.map_err(plugin_error)?;
            Ok(ticket_to_wit(&ticket, &team))
        }
    }

    async fn edit(&mut self, id: u64, edit: TicketEdit) -> Result<wit::Ticket, PluginError> {
        self.own_ticket(id).await?;
        let (tickets, author, now) = (Arc::clone(&self.services.tickets), self.author(), self.now());
        let updated = self.write(tickets.update_ticket(id, edit, author, now, None)).await?;
        self.to_wit(updated).await
    }

    /// A draft of a ticket this plugin opens.
    fn draft(&self, ticket: wit::NewTicket, fields: Vec<(String, String)>) -> (TicketDraft, Option<ContactDraft>) {
        let draft = TicketDraft {
            title: ticket.title,
            description: ticket.description,
            priority: ticket.priority.map(priority_from_wit),
            stage: None,
            origin: self.scope.plugin.to_string(),
            external_key: ticket.external_key,
            fields,
        };
        (draft, ticket.contact.and_then(contact_from_wit))
    }
}

impl Host for HostState {
    async fn create(&mut self, ticket: wit::NewTicket) -> Result<wit::Ticket, PluginError> {
        self.create_with_fields(ticket, Vec::new()).await
    }

    async fn create_with_fields(
        &mut self,
        ticket: wit::NewTicket,
        fields: Vec<(String, String)>,
    ) -> Result<wit::Ticket, PluginError> {
        self.scope.require(&Capability::Tickets)?;
        let (draft, contact) = self.draft(ticket, fields);
        let (tickets, team, author, now) =
            (Arc::clone(&self.services.tickets), self.scope.team.clone(), self.author(), self.now());
        let created = self.write(tickets.create_ticket(&team, draft, contact, author, now, None)).await?;
        self.to_wit(created).await
    }

    async fn create_or_get(
        &mut self,
        ticket: wit::NewTicket,
        fields: Vec<(String, String)>,
    ) -> Result<GotTicket, PluginError> {
        self.scope.require(&Capability::Tickets)?;
        if ticket.external_key.is_none() {
            return Err(PluginError::Permanent("create-or-get needs an external-key to find the ticket by".into()));
        }
        let (draft, contact) = self.draft(ticket, fields);
        let (tickets, team, author, now) =
            (Arc::clone(&self.services.tickets), self.scope.team.clone(), self.author(), self.now());
        let got = self.write(tickets.create_or_get_ticket(&team, draft, contact, author, now)).await?;
        Ok(GotTicket { ticket: self.to_wit(got.record).await?, created: got.created })
    }

    async fn get(&mut self, id: u64) -> Result<wit::Ticket, PluginError> {
        self.scope.require(&Capability::Tickets)?;
        let ticket = self.own_ticket(id).await?;
        self.to_wit(ticket).await
    }

    async fn find_by_external_key(&mut self, key: String) -> Result<Option<wit::Ticket>, PluginError> {
        self.scope.require(&Capability::Tickets)?;
        let found = self
            .services
            .tickets
            .ticket_by_external_key(&self.scope.team, &self.scope.plugin, &key)
            .await
            .map_err(plugin_error)?;
        match found {
            Some(t) => self.to_wit(t).await.map(Some),
            None => Ok(None),
        }
    }

    async fn append_message(
        &mut self,
        id: u64,
        kind: wit::MessageKind,
        body: String,
    ) -> Result<wit::Message, PluginError> {
        self.scope.require(&Capability::Tickets)?;
        let kind = message_kind_from_wit(kind);
        let draft = MessageDraft::new(kind, self.entry_author(id, kind).await?, body);
        self.append(id, draft).await
    }

    async fn set_priority(&mut self, id: u64, priority: wit::Priority) -> Result<wit::Ticket, PluginError> {
        self.scope.require(&Capability::Tickets)?;
        self.edit(id, TicketEdit { priority: Some(priority_from_wit(priority)), ..TicketEdit::default() }).await
    }

    async fn move_to_stage(&mut self, id: u64, stage: String) -> Result<wit::Ticket, PluginError> {
        self.scope.require(&Capability::Tickets)?;
        let team = self.services.teams.team(&self.scope.team).await.map_err(plugin_error)?;
        let stage = team
            .find_stage(&stage)
            .map_err(|_| PluginError::NotFound(format!("team \"{}\" has no stage \"{stage}\"", team.slug)))?
            .id;
        self.edit(id, TicketEdit { stage: Some(stage), ..TicketEdit::default() }).await
    }

    async fn set_fields(&mut self, id: u64, fields: Vec<(String, String)>) -> Result<(), PluginError> {
        self.scope.require(&Capability::Tickets)?;
        self.edit(id, TicketEdit::fields(fields)).await.map(drop)
    }

    async fn get_fields(&mut self, id: u64) -> Result<Vec<(String, String)>, PluginError> {
        self.scope.require(&Capability::Tickets)?;
        Ok(self.own_ticket(id).await?.fields.into_iter().collect())
    }

    async fn add_keys(&mut self, id: u64, keys: Vec<String>) -> Result<(), PluginError> {
        self.scope.require(&Capability::Tickets)?;
        self.own_ticket(id).await?;
        let tickets = Arc::clone(&self.services.tickets);
        let plugin = Arc::clone(&self.scope.plugin);
        self.write(async move { tickets.add_external_keys(id, &plugin, &keys).await }).await
    }

    async fn append_entry(&mut self, id: u64, entry: wit::NewEntry) -> Result<wit::Message, PluginError> {
        self.scope.require(&Capability::Tickets)?;
        let attachments: Vec<_> = entry.attachments.into_iter().map(attachment_from_wit).collect();
        // The files' rules are checked before the ticket is looked up, so
        // a refused entry costs no read of the store.
        check_attachments(&attachments).map_err(|e| PluginError::Permanent(e.to_string()))?;
        let kind = message_kind_from_wit(entry.kind);
        let mut draft = MessageDraft::new(kind, self.entry_author(id, kind).await?, entry.body);
        draft.full_body = entry.full_body;
        draft.attachments = attachments;
        self.append(id, draft).await
    }

    async fn set_delivery(&mut self, id: u64, entry: u64, delivery: Delivery) -> Result<bool, PluginError> {
        self.scope.require(&Capability::Tickets)?;
        let (state, detail) = delivery_from_wit(delivery)?;
        self.own_ticket(id).await?;
        let (tickets, record) =
            (Arc::clone(&self.services.tickets), DeliveryRecord::new(state.into(), &detail, self.now()));
        let (_, changed) = self.write(tickets.report_entry_delivery(id, entry, record)).await?;
        Ok(changed)
    }

    async fn get_contact(&mut self, id: u64) -> Result<Option<wit::Contact>, PluginError> {
        self.scope.require(&Capability::Tickets)?;
        let Some(contact) = self.own_ticket(id).await?.contact else {
            return Ok(None);
        };
        let contact = self.services.contacts.contact(contact).await.map_err(plugin_error)?;
        Ok(Some(contact_to_wit(&contact)))
    }
}
