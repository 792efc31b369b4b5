//! What an admin pastes into a website to offer a chat channel: the one
//! script tag for the site's `<head>`, and the direct chat link to share
//! where no script can run (an e-mail signature, a QR code).

use axum::http::HeaderMap;
use axum::http::header::HOST;
use serde::Serialize;
use utoipa::ToSchema;

use crate::state::AppState;

/// Most channels listed in one answer; a plugin's settings schema caps
/// them well below this, so it only bounds a hostile store.
const MAX_CHANNELS: usize = 100;

/// How a website shows a chat plugin's channels.
#[derive(Debug, Serialize, ToSchema)]
pub struct ChatEmbed {
    /// The script tag for any site's `<head>`, showing the first channel.
    pub snippet: String,
    /// The direct chat page of the first channel.
    pub link: String,
    /// The same for each channel the settings name (`channels[].name`, as
    /// the shipped live-chat plugin keeps them), in their order; empty
    /// while the settings name none and the plugin's default channel is
    /// the only one.
    pub channels: Vec<ChannelEmbed>,
}

/// The snippet and link of one named channel.
#[derive(Debug, Serialize, ToSchema)]
pub struct ChannelEmbed {
    /// The channel's name.
    pub name: String,
    /// Its script tag, with the channel named in `data-channel`.
    pub snippet: String,
    /// Its direct chat page.
    pub link: String,
}

/// The address the public reaches this server at: the configured one, or
/// else the one the admin's request came to (over plain HTTP, as this
/// server serves; a TLS proxy in front should set `--public-url`). `None`
/// when the request named no usable host, and the links are then paths.
pub fn public_base(state: &AppState, headers: &HeaderMap) -> Option<String> {
    if let Some(url) = &state.public_url {
        return Some(url.to_string());
    }
    let host = headers.get(HOST)?.to_str().ok()?;
    let usable = !host.is_empty()
        && host.len() <= 255
        && host.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b':' | b'[' | b']'));
    usable.then(|| format!("http://{host}"))
}

/// The embed of plugin `plugin` in team `team`, with the channel names its
/// settings list.
pub fn chat_embed(base: Option<&str>, team: &str, plugin: &str, settings: &serde_json::Value) -> ChatEmbed {
    let root = format!("{}/c/{team}/{plugin}", base.unwrap_or(""));
    let snippet = |channel: Option<&str>| {
        let named = channel.map(|name| format!(" data-channel=\"{}\"", escape_html(name))).unwrap_or_default();
        format!("<script src=\"{}/widget.js\"{named} async></script>", escape_html(&root))
    };
    let link = |channel: Option<&str>| match channel {
        Some(name) => format!("{root}/chat?channel={}", percent_encode(name)),
        None => format!("{root}/chat"),
    };
    let names = settings["channels"].as_array().into_iter().flatten().filter_map(|c| c["name"].as_str());
    let channels = names
        .take(MAX_CHANNELS)
        .map(|name| ChannelEmbed { name: name.to_owned(), snippet: snippet(Some(name)), link: link(Some(name)) })
        .collect();
    ChatEmbed { snippet: snippet(None), link: link(None), channels }
}

/// Escapes text for an HTML attribute or element.
fn escape_html(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Percent-encodes a query value: every byte but the unreserved ones.
fn percent_encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_snippet_and_link_name_the_channel_and_escape_what_an_admin_typed() {
        let settings = serde_json::json!({"channels": [{"name": "Care"}, {"name": "Sales \"EU\" & <more>"}]});
        let embed = chat_embed(Some("https://help.example.com"), "care", "live-chat", &settings);
        assert_eq!(
            embed.snippet,
            "<script src=\"https://help.example.com/c/care/live-chat/widget.js\" async></script>"
        );
        assert_eq!(embed.link, "https://help.example.com/c/care/live-chat/chat");
        assert_eq!(embed.channels.len(), 2);
        let sales = &embed.channels[1];
        assert_eq!(
            sales.snippet,
            "<script src=\"https://help.example.com/c/care/live-chat/widget.js\" \
             data-channel=\"Sales &quot;EU&quot; &amp; &lt;more&gt;\" async></script>"
        );
        assert_eq!(
            sales.link,
            "https://help.example.com/c/care/live-chat/chat?channel=Sales%20%22EU%22%20%26%20%3Cmore%3E"
        );
        assert_eq!(percent_encode("Підтримка"), "%D0%9F%D1%96%D0%B4%D1%82%D1%80%D0%B8%D0%BC%D0%BA%D0%B0");
    }

    #[test]
    fn without_channels_in_the_settings_only_the_default_is_offered() {
        let embed = chat_embed(None, "care", "live-chat", &serde_json::json!({}));
        assert_eq!(embed.link, "/c/care/live-chat/chat");
        assert!(embed.channels.is_empty());
    }
}
