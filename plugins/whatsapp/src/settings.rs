//! The installation's settings. The verify token, the app secret and the
//! access token are secrets: the host keeps them out of these settings and
//! the plugin reaches them through the `secrets` import only.

use serde::Deserialize;
use switchboard_sdk::PluginError;

/// What an admin sets for the team's WhatsApp number.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    /// The business number's id; notifications for others are left alone.
    #[serde(default)]
    pub phone_number_id: String,
    /// The chat channel conversations are shown in; the team's name when
    /// empty.
    #[serde(default)]
    pub channel: String,
    /// The Graph API's address, without a trailing slash.
    #[serde(default = "default_graph_url")]
    pub graph_url: String,
    /// The Graph API version, such as `v21.0`.
    #[serde(default = "default_api_version")]
    pub api_version: String,
    /// The largest file kept, in bytes.
    #[serde(default = "default_max_media_bytes")]
    pub max_media_bytes: u64,
    /// The template sent outside the 24-hour window.
    #[serde(default)]
    pub template: Option<Template>,
}

/// An approved message template.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Template {
    /// Its name.
    pub name: String,
    /// Its language code.
    pub language: String,
    /// What fills the body's parameters, in order.
    #[serde(default)]
    pub parameters: Vec<Parameter>,
}

/// A value a template's body parameter is filled with.
#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
pub enum Parameter {
    /// The customer's name (or their number).
    #[serde(rename = "contact.name")]
    ContactName,
    /// The ticket's number (empty in a conversation without one).
    #[serde(rename = "ticket.id")]
    TicketId,
    /// The ticket's title.
    #[serde(rename = "ticket.title")]
    TicketTitle,
    /// The team's name.
    #[serde(rename = "team.name")]
    TeamName,
    /// The operator's message that could not be sent as it was.
    #[serde(rename = "message")]
    Message,
}

fn default_graph_url() -> String {
    "https://graph.facebook.com".into()
}

fn default_api_version() -> String {
    "v21.0".into()
}

fn default_max_media_bytes() -> u64 {
    5_000_000
}

impl Settings {
    /// Checks what the schema cannot: a usable Graph API address.
    pub fn check(&self) -> Result<(), PluginError> {
        if self.phone_number_id.is_empty() || !self.phone_number_id.bytes().all(|b| b.is_ascii_digit()) {
            return Err(PluginError::InvalidSettings(format!(
                "phone_number_id: \"{}\" is not the business number's id (digits, from Meta's app dashboard)",
                self.phone_number_id
            )));
        }
        let url = self.graph_url.trim_end_matches('/');
        if !(url.starts_with("https://") || url.starts_with("http://")) || url.contains(['?', '#', ' ']) {
            return Err(PluginError::InvalidSettings(format!(
                "graph_url: \"{}\" is not an http or https address",
                self.graph_url
            )));
        }
        if !self.api_version.starts_with('v') || self.api_version.len() > 10 {
            return Err(PluginError::InvalidSettings(format!(
                "api_version: \"{}\" is not a version such as v21.0",
                self.api_version
            )));
        }
        Ok(())
    }

    /// `{graph_url}/{api_version}/{path}`.
    pub fn graph(&self, path: &str) -> String {
        format!("{}/{}/{path}", self.graph_url.trim_end_matches('/'), self.api_version)
    }
}
