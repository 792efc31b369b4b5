//! The plugin's public routes: the widget script, the rule a page gets,
//! and the direct chat page.

use serde_json::json;
use switchboard_sdk::PluginError;
use switchboard_sdk::host::conversations;
use switchboard_sdk::http::{Request, Response, escape_html};

use crate::path_of;
use crate::rules::{Visit, applicable};
use crate::settings::{ChatChannelSettings, DEFAULT_BUTTON_COLOR, DEFAULT_HEADER_COLOR, Display, Settings};
use crate::texts;

/// The widget: one script for any site's `<head>`.
const WIDGET_JS: &str = include_str!("../assets/widget.js");

/// The direct chat page may load only its own script and talk only to its
/// own server; nothing may frame it.
const PAGE_CSP: &str = "default-src 'none'; script-src 'self'; connect-src 'self'; img-src 'self'; \
                        base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/// Answers a request on the plugin's route.
pub fn handle(settings: &Settings, request: &Request) -> Result<Response, PluginError> {
    match (request.method.as_str(), request.path.as_str()) {
        ("GET" | "HEAD", "/widget.js") => Ok(Response::new(200, "text/javascript; charset=utf-8", WIDGET_JS)
            .with_header("cache-control", "public, max-age=300")
            .with_header("access-control-allow-origin", "*")),
        ("GET", "/rule") => Ok(rule(settings, request)),
        ("GET" | "HEAD", "/" | "/chat") => Ok(chat_page(settings, request)),
        ("OPTIONS", _) => Ok(Response::new(204, "text/plain", "")
            .with_header("access-control-allow-origin", "*")
            .with_header("access-control-allow-methods", "GET")
            .with_header("access-control-max-age", "86400")),
        _ => Ok(error(404, "not_found", &format!("no page \"{}\" here", request.path))),
    }
}

fn error(status: u16, error: &str, detail: &str) -> Response {
    Response::json(status, &json!({"error": error, "detail": detail})).with_header("access-control-allow-origin", "*")
}

/// The channel a request names (`?channel=`), or the first.
fn chosen_channel(settings: &Settings, request: &Request) -> Result<ChatChannelSettings, Response> {
    let channels = settings.channels(conversations::team_name);
    match request.query_param("channel").filter(|n| !n.is_empty()) {
        None => Ok(channels.into_iter().next().unwrap_or_default()),
        Some(name) => channels
            .into_iter()
            .find(|c| c.name == name)
            .ok_or_else(|| error(404, "not_found", &format!("there is no chat channel \"{name}\""))),
    }
}

/// What the widget needs for a page: the rule's display, the channel's
/// options with their defaults, and its own texts in the page's language.
fn rule(settings: &Settings, request: &Request) -> Response {
    let channel = match chosen_channel(settings, request) {
        Ok(channel) => channel,
        Err(response) => return response,
    };
    let url = request.query_param("url").unwrap_or_default();
    let country = conversations::country_of(&request.client_addr);
    let visit = Visit { path: path_of(&url), country: country.as_deref() };
    let rule = applicable(&channel, &visit, || {
        conversations::online_operators(&channel.name).is_ok_and(|online| !online.is_empty())
    });
    let lang = texts::lang_of(request.query_param("lang").as_deref());
    let words = texts::widget(lang);
    let options = &channel.options;
    let display = match rule.display {
        Display::Show => "show",
        Display::ShowWithNotification => "show_with_notification",
        Display::OpenAutomatically => "open_automatically",
        Display::Hide => "hide",
    };
    let body = json!({
        "channel": channel.name,
        "display": display,
        "open_after": rule.open_after,
        "country": country,
        "options": {
            "notification_text": options.notification_text.clone().unwrap_or_else(|| words["notification"].as_str().unwrap_or_default().into()),
            "button_color": options.button_color.as_deref().unwrap_or(DEFAULT_BUTTON_COLOR),
            "header_color": options.header_color.as_deref().unwrap_or(DEFAULT_HEADER_COLOR),
            "welcome_message": options.welcome_message,
            "input_placeholder": options.input_placeholder.clone().unwrap_or_else(|| words["placeholder"].as_str().unwrap_or_default().into()),
        },
        "texts": words,
    });
    Response::json(200, &body).with_header("access-control-allow-origin", "*").with_header("cache-control", "no-store")
}

/// The direct chat link (`/chat`, and the plugin's root): a page that is
/// only the chat window.
fn chat_page(settings: &Settings, request: &Request) -> Response {
    let channel = match chosen_channel(settings, request) {
        Ok(channel) => channel,
        Err(response) => return response,
    };
    let lang = texts::lang_of(request.query_param("lang").as_deref().or(request.header("accept-language")));
    let title = texts::widget(lang)["title"].as_str().unwrap_or_default().to_owned();
    let body = format!(
        "<!doctype html>\n<html lang=\"{lang}\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{title} · {name}</title>\
         <script src=\"widget.js\" data-mode=\"page\" data-channel=\"{name}\"></script>\
         </head><body></body></html>\n",
        lang = lang.tag(),
        title = escape_html(&title),
        name = escape_html(&channel.name),
    );
    Response::html(200, body)
        .with_header("content-security-policy", PAGE_CSP)
        .with_header("referrer-policy", "same-origin")
        .with_header("cache-control", "no-store")
}
