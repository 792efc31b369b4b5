//! The chat side of a channel: a plugin of the `chat-channel` world runs
//! a website's live conversations. The host keeps the conversations, their
//! messages and the visitors' and operators' connections; the plugin is
//! asked, in a fresh instance per event, what happens next, and acts with
//! [`crate::host::conversations`] and [`crate::host::timers`].

use crate::bindings::exports::switchboard::plugin::chat_handler as wit;
use crate::{Channel, PluginError, settings};

pub use crate::bindings::exports::switchboard::plugin::reply_handler::Reply;
pub use crate::bindings::switchboard::plugin::conversations::{
    ChatMessage, ChatTicket, Conversation, ConversationState, Delivery, Expect, InboundMessage, NewPost, Operator,
    Origin, Poster, Received, Speaker,
};
pub use wit::{ChatEvent, Command, Timer};

/// A live chat channel. Implement it with [`Channel`], and export both
/// with [`crate::export_chat_channel!`]; build with the SDK's `chat`
/// feature.
///
/// ```ignore
/// use switchboard_sdk::chat::{ChatEvent, Conversation, Expect, NewPost, Poster};
/// use switchboard_sdk::{ChatChannel, PluginError, host::conversations};
///
/// impl ChatChannel for Desk {
///     fn handle_chat(_: Self::Settings, c: Conversation, event: ChatEvent) -> Result<(), PluginError> {
///         if event == ChatEvent::VisitorJoined {
///             let hello = NewPost { poster: Poster::Bot, body: "Hello! Shall I find you someone?".into(),
///                                   expect: Expect::Choice(vec!["Yes".into(), "No".into()]) };
///             conversations::post(c.id, &hello)?;
///         }
///         Ok(())
///     }
/// }
///
/// switchboard_sdk::export_chat_channel!(Desk);
/// ```
pub trait ChatChannel: Channel {
    /// Handles an event in one of the channel's conversations;
    /// `conversation` is as it is after the event.
    fn handle_chat(settings: Self::Settings, conversation: Conversation, event: ChatEvent) -> Result<(), PluginError>;

    /// Handles a timer set with [`crate::host::timers::schedule`] that is
    /// due. The default does nothing.
    fn handle_timer(settings: Self::Settings, timer: Timer) -> Result<(), PluginError> {
        let _ = (settings, timer);
        Ok(())
    }

    /// Delivers an agent's reply on a ticket this channel opened. The
    /// default refuses: replies are then left to other channels.
    fn deliver_reply(settings: Self::Settings, reply: Reply) -> Result<(), PluginError> {
        let _ = (settings, reply);
        Err(PluginError::Permanent("this chat channel does not deliver replies".into()))
    }
}

/// Glue between the generated bindings and [`ChatChannel`]; used by the
/// export macro.
#[doc(hidden)]
pub mod glue {
    use super::*;

    pub fn handle_chat<T: ChatChannel>(json: &str, c: Conversation, event: ChatEvent) -> Result<(), PluginError> {
        T::handle_chat(settings::parse::<T::Settings>(json)?, c, event)
    }

    pub fn handle_timer<T: ChatChannel>(json: &str, timer: Timer) -> Result<(), PluginError> {
        T::handle_timer(settings::parse::<T::Settings>(json)?, timer)
    }

    pub fn deliver_reply<T: ChatChannel>(json: &str, reply: Reply) -> Result<(), PluginError> {
        T::deliver_reply(settings::parse::<T::Settings>(json)?, reply)
    }
}

/// Exports a [`ChatChannel`] implementation as this component's
/// `channel-handler`, `chat-handler` and `reply-handler`.
#[macro_export]
macro_rules! export_chat_channel {
    ($plugin:ty) => {
        struct __SwitchboardChatChannel;

        impl $crate::bindings::exports::switchboard::plugin::channel_handler::Guest for __SwitchboardChatChannel {
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

        impl $crate::bindings::exports::switchboard::plugin::chat_handler::Guest for __SwitchboardChatChannel {
            fn handle_chat(
                settings: String,
                conversation: $crate::chat::Conversation,
                event: $crate::chat::ChatEvent,
            ) -> Result<(), $crate::PluginError> {
                $crate::__glue::chat::handle_chat::<$plugin>(&settings, conversation, event)
            }

            fn handle_timer(settings: String, timer: $crate::chat::Timer) -> Result<(), $crate::PluginError> {
                $crate::__glue::chat::handle_timer::<$plugin>(&settings, timer)
            }
        }

        impl $crate::bindings::exports::switchboard::plugin::reply_handler::Guest for __SwitchboardChatChannel {
            fn deliver_reply(settings: String, reply: $crate::chat::Reply) -> Result<(), $crate::PluginError> {
                $crate::__glue::chat::deliver_reply::<$plugin>(&settings, reply)
            }
        }

        $crate::bindings::export!(__SwitchboardChatChannel with_types_in $crate::bindings);
    };
}
