//! The mail side of a channel: a plugin of the `mail-channel` world
//! receives every message the host's SMTP listener accepts for its team.

use crate::bindings::exports::switchboard::plugin::mail_handler as wit;
use crate::{Channel, PluginError, settings};

pub use crate::bindings::exports::switchboard::plugin::reply_handler::Reply;
pub use crate::bindings::switchboard::plugin::mail::Outgoing;
pub use wit::{Envelope, InboundMail, MailOutcome};

pub use crate::host::mail::send;

/// A channel that also receives e-mail. Implement it with [`Channel`], and
/// export both with [`crate::export_mail_channel!`]; build with the SDK's
/// `mail` feature.
///
/// ```ignore
/// use switchboard_sdk::mail::{InboundMail, MailOutcome, Reply};
/// use switchboard_sdk::{MailChannel, PluginError, host::tickets, types::NewTicket};
///
/// impl MailChannel for Inbox {
///     fn handle_mail(_: Self::Settings, mail: InboundMail) -> Result<MailOutcome, PluginError> {
///         // Parse `mail.raw` (mail-parser builds for wasm32-wasip2), then:
///         let got = tickets::create_or_get(
///             &NewTicket {
///                 title: "Subject of the mail".into(),
///                 description: "Its text".into(),
///                 priority: None,
///                 contact: None,
///                 // A retried mail has the same receipt: one ticket.
///                 external_key: Some(format!("receipt:{}", mail.receipt)),
///             },
///             &[],
///         )?;
///         Ok(if got.created { MailOutcome::Opened(got.ticket.id) } else { MailOutcome::Appended(got.ticket.id) })
///     }
///
///     fn deliver_reply(_: Self::Settings, reply: Reply) -> Result<(), PluginError> {
///         // Compose the mail, then queue it with `mail::send` (see there).
///         # let _ = reply;
///         Ok(())
///     }
/// }
///
/// switchboard_sdk::export_mail_channel!(Inbox);
/// ```
pub trait MailChannel: Channel {
    /// Handles one accepted message. An error makes the host answer the
    /// sender "try again later" (451) and retry the stored message itself.
    fn handle_mail(settings: Self::Settings, mail: InboundMail) -> Result<MailOutcome, PluginError>;

    /// Delivers an agent's reply on a ticket this channel opened, by
    /// queueing a mail with [`send`]. An error is tried again later by the
    /// host.
    fn deliver_reply(settings: Self::Settings, reply: Reply) -> Result<(), PluginError>;
}

/// Glue between the generated bindings and [`MailChannel`]; used by the
/// export macro.
#[doc(hidden)]
pub mod glue {
    use super::*;

    pub fn handle_mail<T: MailChannel>(json: &str, mail: InboundMail) -> Result<MailOutcome, PluginError> {
        T::handle_mail(settings::parse::<T::Settings>(json)?, mail)
    }

    pub fn deliver_reply<T: MailChannel>(json: &str, reply: Reply) -> Result<(), PluginError> {
        T::deliver_reply(settings::parse::<T::Settings>(json)?, reply)
    }
}

/// Exports a [`MailChannel`] implementation as this component's
/// `channel-handler`, `mail-handler` and `reply-handler`.
#[macro_export]
macro_rules! export_mail_channel {
    ($plugin:ty) => {
        struct __SwitchboardMailChannel;

        impl $crate::bindings::exports::switchboard::plugin::channel_handler::Guest for __SwitchboardMailChannel {
            fn describe() -> $crate::bindings::exports::switchboard::plugin::channel_handler::Info {
                $crate::__glue::channel::describe::<$plugin>()
            }

            fn validate_settings(settings: String) -> Result<(), $crate::PluginError> {
                $crate::__glue::channel::validate_settings::<$plugin>(&settings)
            }

            fn handle_http(
                settings: String,
                request: $crate::bindings::exports::switchboard::plugin::channel_handler::HttpRequest,
            ) -> Result<$crate::bindings::exports::switchboard::plugin::channel_handler::HttpResponse, $crate::PluginError> {
                $crate::__glue::channel::handle_http::<$plugin>(&settings, request)
            }
        }

        impl $crate::bindings::exports::switchboard::plugin::mail_handler::Guest for __SwitchboardMailChannel {
            fn handle_mail(
                settings: String,
                mail: $crate::mail::InboundMail,
            ) -> Result<$crate::mail::MailOutcome, $crate::PluginError> {
                $crate::__glue::mail::handle_mail::<$plugin>(&settings, mail)
            }
        }

        impl $crate::bindings::exports::switchboard::plugin::reply_handler::Guest for __SwitchboardMailChannel {
            fn deliver_reply(settings: String, reply: $crate::mail::Reply) -> Result<(), $crate::PluginError> {
                $crate::__glue::mail::deliver_reply::<$plugin>(&settings, reply)
            }
        }

        $crate::bindings::export!(__SwitchboardMailChannel with_types_in $crate::bindings);
    };
}
