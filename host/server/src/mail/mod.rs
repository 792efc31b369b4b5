//! E-mail: the SMTP listener that receives mail for team aliases, the
//! inbound path that keeps each message before a team's channel sees it,
//! agents' replies handed to the channel that opened the ticket, and the
//! sender that delivers the mail channels queue to the relay.

#[cfg(any(test, feature = "fuzzing"))]
pub mod fuzz;
mod inbound;
mod listener;
mod outbox;
pub(crate) mod payload;
mod replies;
mod session;
pub(crate) mod settings;

pub(crate) use inbound::{Inbound, MAIL_IN_QUEUE};
pub(crate) use listener::{SmtpError, start};
pub(crate) use outbox::{Outbox, RelayError, transport};
pub(crate) use replies::{Replies, delivers_replies, reply_job};
