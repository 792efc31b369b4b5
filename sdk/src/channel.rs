//! The channel side: a plugin that answers HTTP on its public route.

use serde::de::DeserializeOwned;

use crate::bindings::exports::switchboard::plugin::channel_handler as wit;
use crate::http::{Request, Response};
use crate::{Info, PluginError, settings};

/// A channel plugin. Implement it, then export it with
/// [`crate::export_channel!`].
pub trait Channel {
    /// The plugin's settings, parsed from the installation's JSON.
    type Settings: DeserializeOwned;

    /// Name and summary. (The settings schema belongs in `plugin.toml`.)
    fn describe() -> Info;

    /// Checks parsed settings beyond their shape. The default accepts any
    /// settings that parse.
    fn validate(settings: &Self::Settings) -> Result<(), PluginError> {
        let _ = settings;
        Ok(())
    }

    /// Answers a request to `/c/<team>/<plugin>/<path>`.
    fn handle_http(settings: Self::Settings, request: Request) -> Result<Response, PluginError>;
}

/// Glue between the generated bindings and [`Channel`]; used by the
/// export macro.
#[doc(hidden)]
pub mod glue {
    use super::*;

    pub fn describe<T: Channel>() -> wit::Info {
        let info = T::describe();
        wit::Info { name: info.name, summary: info.summary, settings_schema: info.settings_schema }
    }

    pub fn validate_settings<T: Channel>(json: &str) -> Result<(), PluginError> {
        T::validate(&settings::parse::<T::Settings>(json)?)
    }

    pub fn handle_http<T: Channel>(json: &str, request: wit::HttpRequest) -> Result<wit::HttpResponse, PluginError> {
        let settings = settings::parse::<T::Settings>(json)?;
        let request = Request {
            method: request.method,
            path: request.path,
            query: request.query,
            headers: request.headers,
            body: request.body,
            client_addr: request.client_addr,
        };
        let response = T::handle_http(settings, request)?;
        Ok(wit::HttpResponse { status: response.status, headers: response.headers, body: response.body })
    }
}

/// Exports a [`Channel`] implementation as this component's
/// `channel-handler`.
#[macro_export]
macro_rules! export_channel {
    ($plugin:ty) => {
        struct __SwitchboardChannel;

        impl $crate::bindings::exports::switchboard::plugin::channel_handler::Guest for __SwitchboardChannel {
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

        $crate::bindings::export!(__SwitchboardChannel with_types_in $crate::bindings);
    };
}
