//! `tickets`: the team's tickets, scoped to the installation's team.

use switchboard_core::{Author, Capability, MessageDraft, MessageKind, Ticket, TicketDraft};
use switchboard_store::TicketEdit;

use crate::bindings::channel::switchboard::plugin::tickets::Host;
use crate::bindings::wit::{self, PluginError};
use crate::convert::{contact_from_wit, message_kind_from_wit, message_to_wit, priority_from_wit, ticket_to_wit};
use crate::host::{HostState, plugin_error};

impl HostState {
    fn author(&self) -> Author {
        Author::Plugin { id: self.scope.plugin.to_string() }
    }

    /// The ticket, if it belongs to this installation's team.
    fn own_ticket(&self, id: u64) -> Result<Ticket, PluginError> {
        let not_found =
            || PluginError::NotFound(format!("ticket {id} is not a ticket of team \"{}\"", self.scope.team));
        match self.services.store.ticket(id) {
            Ok(t) if *t.team == *self.scope.team => Ok(t),
            Ok(_) | Err(switchboard_store::StoreError::UnknownTicket(_)) => Err(not_found()),
            Err(e) => Err(plugin_error(e)),
        }
    }

    fn to_wit(&self, ticket: &Ticket) -> Result<wit::Ticket, PluginError> {
        let team = self.services.store.team(&ticket.team).map_err(plugin_error)?;
        Ok(ticket_to_wit(ticket, &team))
    }

    async fn edit(&mut self, id: u64, edit: TicketEdit) -> Result<wit::Ticket, PluginError> {
        self.own_ticket(id)?;
        let author = self.author();
        let updated = self.write(move |store, now| store.update_ticket(id, &edit, author.clone(), now)).await?;
        self.to_wit(&updated)
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
        let draft = TicketDraft {
            title: ticket.title,
            description: ticket.description,
            priority: ticket.priority.map(priority_from_wit),
            stage: None,
            origin: self.scope.plugin.to_string(),
            external_key: ticket.external_key,
            fields,
        };
        let contact = ticket.contact.map(contact_from_wit);
        let (team, author) = (self.scope.team.clone(), self.author());
        let created = self
            .write(move |store, now| store.create_ticket(&team, draft.clone(), contact.clone(), author.clone(), now))
            .await?;
        self.to_wit(&created)
    }

    async fn get(&mut self, id: u64) -> Result<wit::Ticket, PluginError> {
        self.scope.require(&Capability::Tickets)?;
        let ticket = self.own_ticket(id)?;
        self.to_wit(&ticket)
    }

    async fn find_by_external_key(&mut self, key: String) -> Result<Option<wit::Ticket>, PluginError> {
        self.scope.require(&Capability::Tickets)?;
        let found = self
            .services
            .store
            .ticket_by_external_key(&self.scope.team, &self.scope.plugin, &key)
            .map_err(plugin_error)?;
        found.as_ref().map(|t| self.to_wit(t)).transpose()
    }

    async fn append_message(
        &mut self,
        id: u64,
        kind: wit::MessageKind,
        body: String,
    ) -> Result<wit::Message, PluginError> {
        self.scope.require(&Capability::Tickets)?;
        let ticket = self.own_ticket(id)?;
        let kind = message_kind_from_wit(kind);
        let author = match (kind, ticket.contact) {
            (MessageKind::Customer, Some(contact)) => {
                let name = self.services.store.contact(contact).map_err(plugin_error)?.name;
                Author::Contact { id: contact, name }
            }
            _ => self.author(),
        };
        let draft = MessageDraft { kind, author, body };
        let appended = self.write(move |store, now| store.append_message(id, draft.clone(), now)).await?;
        Ok(message_to_wit(&appended))
    }

    async fn set_priority(&mut self, id: u64, priority: wit::Priority) -> Result<wit::Ticket, PluginError> {
        self.scope.require(&Capability::Tickets)?;
        self.edit(id, TicketEdit { priority: Some(priority_from_wit(priority)), ..TicketEdit::default() }).await
    }

    async fn move_to_stage(&mut self, id: u64, stage: String) -> Result<wit::Ticket, PluginError> {
        self.scope.require(&Capability::Tickets)?;
        let team = self.services.store.team(&self.scope.team).map_err(plugin_error)?;
        let stage = team
            .find_stage(&stage)
            .map_err(|_| PluginError::NotFound(format!("team \"{}\" has no stage \"{stage}\"", team.slug)))?
            .id;
        self.edit(id, TicketEdit { stage: Some(stage), ..TicketEdit::default() }).await
    }

    async fn set_fields(&mut self, id: u64, fields: Vec<(String, String)>) -> Result<(), PluginError> {
        self.scope.require(&Capability::Tickets)?;
        self.own_ticket(id)?;
        let author = self.author();
        self.write(move |store, now| store.set_ticket_fields(id, &fields, author.clone(), now)).await.map(drop)
    }

    async fn get_fields(&mut self, id: u64) -> Result<Vec<(String, String)>, PluginError> {
        self.scope.require(&Capability::Tickets)?;
        Ok(self.own_ticket(id)?.fields.into_iter().collect())
    }
}
