//! `mail`: sending e-mail from an address granted to the installation. The
//! host never sends inline: the message goes to the outbox in the same
//! write as the thread entry that records it, and the server's sender
//! delivers it.

use std::sync::Arc;

use switchboard_core::{Author, Capability, MessageDraft, MessageKind};
use switchboard_store::{DeliveryEntry, DeliveryJob, JobDraft};

use crate::bindings::mail_channel::switchboard::plugin::mail::{Host, Outgoing};
use crate::bindings::wit::PluginError;
use crate::host::HostState;
use crate::outbox::{MAIL_OUT_QUEUE, OutboxMail};

/// The largest message a plugin may queue.
const MAX_RAW: usize = 10 * 1024 * 1024;
/// The most recipients of one message.
const MAX_RECIPIENTS: usize = 50;

impl HostState {
    /// Checks that the installation may send from `from`: it was granted
    /// `mail:<from>`, or `mail:team` and `from` is the team's alias. The
    /// future holds no borrow of the call's state, which is not `Sync`.
    fn may_send_from(&self, from: String) -> impl Future<Output = Result<(), PluginError>> + Send + 'static {
        let exact = Capability::Mail { from: Some(from.clone()) };
        let granted = self.scope.grants.contains(&exact);
        let team_granted = self.scope.grants.contains(&Capability::Mail { from: None });
        let denied = self.scope.denied(&exact);
        let (teams, team, domain) =
            (Arc::clone(&self.services.teams), Arc::clone(&self.scope.team), Arc::clone(&self.services.mail_domain));
        async move {
            if granted {
                return Ok(());
            }
            if team_granted {
                let team = teams.team(&team).await.map_err(crate::host::plugin_error)?;
                if from == format!("{}@{domain}", team.alias) {
                    return Ok(());
                }
            }
            Err(denied)
        }
    }
}

/// The address in the message's From header, lowercase.
fn header_from(raw: &[u8]) -> Option<String> {
    let message = mail_parser::MessageParser::default().parse_headers(raw)?;
    let address = message.from()?.first()?.address()?;
    Some(address.trim().to_lowercase())
}

impl Host for HostState {
    async fn send(&mut self, mail: Outgoing) -> Result<u64, PluginError> {
        let invalid = |why: String| Err(PluginError::Permanent(why));
        if mail.raw.len() > MAX_RAW {
            return invalid(format!("the message is {} bytes; the most is {MAX_RAW}", mail.raw.len()));
        }
        if mail.recipients.is_empty() || mail.recipients.len() > MAX_RECIPIENTS {
            return invalid(format!("a message has 1 to {MAX_RECIPIENTS} recipients, not {}", mail.recipients.len()));
        }
        let mut to = Vec::with_capacity(mail.recipients.len());
        for address in &mail.recipients {
            match switchboard_core::normalize_email(address) {
                Ok(address) => to.push(address),
                Err(_) => return invalid(format!("recipient \"{address}\" is not an e-mail address")),
            }
        }
        let Ok(from) = switchboard_core::normalize_mailbox(&mail.sender) else {
            return invalid(format!("sender \"{}\" is not an e-mail address", mail.sender));
        };
        self.may_send_from(from.clone()).await?;
        match header_from(&mail.raw) {
            Some(header) if header == from => {}
            Some(header) => {
                return invalid(format!("the message's From header is \"{header}\", not the sender \"{from}\""));
            }
            None => return invalid("the message has no From header with an address".into()),
        }
        self.scope.require(&Capability::Tickets)?;
        self.own_ticket(mail.ticket).await?;
        let entry = match mail.entry {
            Some(id) => DeliveryEntry::Existing(id),
            None => DeliveryEntry::New(MessageDraft::new(
                MessageKind::Event,
                Author::Plugin { id: self.scope.plugin.to_string() },
                format!("Mail to {} queued", to.join(", ")),
            )),
        };
        let outbox = Arc::new(OutboxMail { ticket: mail.ticket, entry: 0, from, to, raw: mail.raw });
        let job: DeliveryJob = Arc::new(move |m| {
            let payload = OutboxMail { entry: m.id, ..(*outbox).clone() }.encode();
            JobDraft {
                queue: MAIL_OUT_QUEUE.into(),
                key: format!("entry:{}", m.id),
                payload,
                due_at: m.created_at,
                held_by: None,
            }
        });
        let (tickets, now, ticket) = (Arc::clone(&self.services.tickets), self.now(), mail.ticket);
        let queued = self.write(async move { tickets.queue_delivery(ticket, entry, job, now, None).await }).await?;
        Ok(queued.message.id)
    }

    async fn team_address(&mut self) -> String {
        let (teams, team) = (Arc::clone(&self.services.teams), Arc::clone(&self.scope.team));
        match teams.team(&team).await {
            Ok(team) => format!("{}@{}", team.alias, self.services.mail_domain),
            // Outside an installation (describe, validate-settings) there
            // is no team, and so no address.
            Err(_) => String::new(),
        }
    }
}
