//! Switchboard's e-mail alias channel. The host's SMTP listener accepts
//! mail for a team's alias and hands each message here: a new mail opens a
//! ticket, a reply is added to the ticket it answers, and auto-replies and
//! bounces never open one. The message is parsed here, in the sandbox, with
//! `mail-parser`. Agents' replies go back by mail from the team's alias,
//! threaded so that the customer's answer finds the ticket again.

mod compose;
mod html;
mod noise;
mod parse;
mod reply;
mod thread;

use serde::Deserialize;
use switchboard_sdk::http::{Request, Response};
use switchboard_sdk::mail::{InboundMail, MailOutcome, Reply};
use switchboard_sdk::{Channel, Info, MailChannel, PluginError};

/// The installation's settings.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    /// The most tickets one sender may open in an hour.
    #[serde(default = "default_per_sender")]
    pub new_tickets_per_sender_per_hour: u32,
    /// Answer each new ticket with an automatic acknowledgement.
    #[serde(default)]
    pub acknowledge_new_tickets: bool,
}

fn default_per_sender() -> u32 {
    20
}

struct EmailAlias;

impl Channel for EmailAlias {
    type Settings = Settings;

    fn describe() -> Info {
        Info::new("E-mail alias", "Mail to the team's alias opens tickets, and replies thread onto them")
    }

    fn validate(settings: &Settings) -> Result<(), PluginError> {
        if settings.new_tickets_per_sender_per_hour == 0 {
            return Err(PluginError::InvalidSettings("new_tickets_per_sender_per_hour: must be at least 1".into()));
        }
        Ok(())
    }

    /// The channel has no web page: mail reaches it through the host's
    /// SMTP listener.
    fn handle_http(_: Settings, _: Request) -> Result<Response, PluginError> {
        Ok(Response::text(404, "this channel receives e-mail at the team's alias; it has no web page"))
    }
}

impl MailChannel for EmailAlias {
    fn handle_mail(settings: Settings, mail: InboundMail) -> Result<MailOutcome, PluginError> {
        thread::handle(&settings, &mail)
    }

    fn deliver_reply(_: Settings, reply: Reply) -> Result<(), PluginError> {
        reply::deliver(&reply)
    }
}

switchboard_sdk::export_mail_channel!(EmailAlias);
