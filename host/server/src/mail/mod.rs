//! E-mail: the SMTP listener that receives mail for team aliases, and the
//! inbound path that keeps each message before a team's channel sees it.

mod inbound;
mod listener;
pub(crate) mod payload;
mod session;
pub(crate) mod settings;

pub(crate) use inbound::{Inbound, MAIL_IN_QUEUE};
pub(crate) use listener::{SmtpError, start};
