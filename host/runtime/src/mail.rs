//! Handing an accepted e-mail to a channel of the `mail-channel` world.

use switchboard_core::{Contact, Installation, Message, Team, Ticket};

use crate::bindings::mail_channel::exports::switchboard::plugin::mail_handler as mh;
use crate::bindings::mail_channel::exports::switchboard::plugin::reply_handler as rh;
use crate::call::Answer;
use crate::convert::{contact_to_wit, message_to_wit, ticket_to_wit};
use crate::engine::Runtime;
use crate::plugin::Pre;
use crate::{RuntimeError, Secrets};

/// The SMTP envelope of an accepted message.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Envelope {
    /// The reverse path; empty for the null sender.
    pub mail_from: String,
    /// The recipients that reach the team.
    pub rcpt_to: Vec<String>,
    /// The client's IP address.
    pub client_addr: String,
    /// The name the client gave in `EHLO` or `HELO`.
    pub helo: String,
}

/// A message the host accepted and keeps, for the plugin.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InboundMail {
    /// Its envelope.
    pub envelope: Envelope,
    /// The raw RFC 5322 message.
    pub raw: Vec<u8>,
    /// When it was accepted.
    pub received_at: jiff::Timestamp,
    /// The id of the stored copy, the same on every retry.
    pub receipt: u64,
}

/// What the plugin made of a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MailOutcome {
    /// It opened this ticket.
    Opened(u64),
    /// It added the message to this ticket.
    Appended(u64),
    /// A bounce, recorded on this ticket if one was found.
    Bounced(Option<u64>),
    /// Left out on purpose, for this reason.
    Ignored(String),
}

/// An agent's reply for a channel to deliver.
#[derive(Debug, Clone)]
pub struct ReplyInput {
    /// The ticket.
    pub ticket: Ticket,
    /// Its team.
    pub team: Team,
    /// Its contact, if known.
    pub contact: Option<Contact>,
    /// The reply.
    pub message: Message,
    /// The team's address.
    pub team_address: String,
}

/// The CPU time a message gets per MiB on top of the installation's
/// budget: reading a message (MIME parts, base64, charsets) costs time in
/// proportion to its size, so a budget fit for a short mail would refuse
/// a long one however well the plugin is written. Measured: the shipped
/// channel needs 100-250 ms for a 23 MB mail with two large attachments
/// (`tests/mail_files.rs`). Twice that is given because the guest's clock
/// is its running time while polled, which a busy machine stretches: at
/// 10 ms a MiB the 23 MB mail was refused once when CI ran the tests in
/// parallel on two cores.
pub(crate) const MAIL_CPU_MS_PER_MIB: u32 = 20;

/// The CPU budget of handling a message of `len` bytes for an
/// installation whose budget is `base_ms`: the base, plus
/// [`MAIL_CPU_MS_PER_MIB`] for each MiB begun, at most the most any call
/// may be given.
pub(crate) fn mail_budget_ms(base_ms: u32, len: usize) -> u32 {
    let mib = u32::try_from(len.div_ceil(1024 * 1024)).unwrap_or(u32::MAX);
    base_ms
        .saturating_add(mib.saturating_mul(MAIL_CPU_MS_PER_MIB))
        .min(switchboard_core::Limits::MAX_CPU_MS.max(base_ms))
}

impl Runtime {
    /// Whether the loaded plugin `plugin` delivers agents' replies (its
    /// component exports `reply-handler`).
    pub fn delivers_replies(&self, plugin: &str) -> bool {
        self.loaded(plugin).is_ok_and(|l| l.pre.delivers_replies())
    }

    /// Asks a channel to deliver an agent's reply. The plugin's own
    /// refusal comes back as [`RuntimeError::Plugin`].
    pub async fn deliver_reply(
        &self,
        installation: &Installation,
        secrets: &Secrets,
        input: ReplyInput,
    ) -> Result<(), RuntimeError> {
        let loaded = self.loaded(&installation.plugin)?;
        if !loaded.pre.delivers_replies() {
            return Err(RuntimeError::NoReplyHandler(installation.plugin.clone()));
        }
        let settings = secrets.settings_for(&loaded.wit, &installation.settings);
        let reply = rh::Reply {
            ticket: ticket_to_wit(&input.ticket, &input.team),
            contact: input.contact.as_ref().map(contact_to_wit),
            message: message_to_wit(&input.message),
            team_name: input.team.name.clone(),
            team_address: input.team_address,
            thread_keys: input.ticket.thread_keys.clone(),
        };
        let scope = Self::installation_scope(&loaded, installation, secrets);
        let answer: Answer<()> = self
            .call(&loaded, scope, |store, pre| {
                Box::pin(async move {
                    let Pre::Channel { pre, reply: Some(indices), .. } = pre else {
                        return Err(wasmtime::format_err!("not a channel that delivers replies"));
                    };
                    let instance = pre.instance_pre().instantiate_async(&mut *store).await?;
                    let handler = indices.load(&mut *store, &instance)?;
                    handler.call_deliver_reply(&mut *store, &settings, &reply).await
                })
            })
            .await?;
        answer.map_err(|e| {
            self.inner.metrics.failed(&installation.plugin);
            RuntimeError::Plugin { plugin: installation.plugin.clone(), failure: e.into() }
        })
    }

    /// Whether the loaded plugin `plugin` receives e-mail (its component
    /// exports `mail-handler`).
    pub fn handles_mail(&self, plugin: &str) -> bool {
        self.loaded(plugin).is_ok_and(|l| l.pre.handles_mail())
    }

    /// Hands an accepted message to a team's mail channel. The plugin's
    /// own refusal comes back as [`RuntimeError::Plugin`].
    pub async fn handle_mail(
        &self,
        installation: &Installation,
        secrets: &Secrets,
        mail: InboundMail,
    ) -> Result<MailOutcome, RuntimeError> {
        let loaded = self.loaded(&installation.plugin)?;
        if !loaded.pre.handles_mail() {
            return Err(RuntimeError::NoMailHandler(installation.plugin.clone()));
        }
        let settings = secrets.settings_for(&loaded.wit, &installation.settings);
        let mut scope = Self::installation_scope(&loaded, installation, secrets);
        scope.limits.cpu_ms = mail_budget_ms(scope.limits.cpu_ms, mail.raw.len());
        let mail = mh::InboundMail {
            envelope: mh::Envelope {
                mail_from: mail.envelope.mail_from,
                rcpt_to: mail.envelope.rcpt_to,
                client_addr: mail.envelope.client_addr,
                helo: mail.envelope.helo,
            },
            raw: mail.raw,
            received_at: mail.received_at.to_string(),
            receipt: mail.receipt,
        };
        let answer: Answer<mh::MailOutcome> = self
            .call(&loaded, scope, |store, pre| {
                Box::pin(async move {
                    let Pre::Channel { pre, mail: Some(indices), .. } = pre else {
                        return Err(wasmtime::format_err!("not a mail channel"));
                    };
                    let instance = pre.instance_pre().instantiate_async(&mut *store).await?;
                    let handler = indices.load(&mut *store, &instance)?;
                    handler.call_handle_mail(&mut *store, &settings, &mail).await
                })
            })
            .await?;
        match answer {
            Ok(mh::MailOutcome::Opened(id)) => Ok(MailOutcome::Opened(id)),
            Ok(mh::MailOutcome::Appended(id)) => Ok(MailOutcome::Appended(id)),
            Ok(mh::MailOutcome::Bounced(id)) => Ok(MailOutcome::Bounced(id)),
            Ok(mh::MailOutcome::Ignored(why)) => Ok(MailOutcome::Ignored(why)),
            Err(e) => {
                self.inner.metrics.failed(&installation.plugin);
                let failure: crate::PluginFailure = e.into();
                tracing::warn!(plugin = %installation.plugin, team = %installation.team, error = %failure, "mail handler failed");
                Err(RuntimeError::Plugin { plugin: installation.plugin.clone(), failure })
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_message_gets_time_in_proportion_to_its_size_within_the_maximum() {
        assert_eq!(mail_budget_ms(100, 0), 100);
        assert_eq!(mail_budget_ms(100, 1), 100 + MAIL_CPU_MS_PER_MIB);
        assert_eq!(mail_budget_ms(100, 25_000_000), 100 + 24 * MAIL_CPU_MS_PER_MIB);
        assert_eq!(mail_budget_ms(9_990, 25_000_000), switchboard_core::Limits::MAX_CPU_MS);
        assert_eq!(mail_budget_ms(100, usize::MAX), switchboard_core::Limits::MAX_CPU_MS);
    }
}
