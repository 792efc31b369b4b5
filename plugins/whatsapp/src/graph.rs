//! The Graph API as the channel uses it: sending a text or a template to a
//! customer (`POST {graph}/{version}/{phone-number-id}/messages`), and
//! fetching a customer's file (its media id, then its URL, then its
//! bytes). Every request carries the access token, which the host reveals
//! for the request and the plugin never logs.

use serde_json::{Value, json};
use switchboard_sdk::PluginError;
use switchboard_sdk::host::{digest, http, secrets};

use crate::settings::{Settings, Template};
use crate::webhook::clip;

/// A Graph API client for one call.
pub struct Graph<'a> {
    settings: &'a Settings,
    token: String,
}

/// A file fetched, or why it was not kept.
pub enum Fetched {
    /// Its bytes and media type.
    Kept(Vec<u8>, String),
    /// Its size as far as known, and why it was not kept.
    Dropped(u64, String),
}

/// Why the Graph API refused, as one line with its error code: what an
/// operator reads on the thread.
fn refusal(status: u16, body: &[u8]) -> PluginError {
    let parsed: Value = serde_json::from_slice(body).unwrap_or_default();
    let error = parsed.get("error").unwrap_or(&Value::Null);
    let code = error.get("code").and_then(Value::as_i64);
    let message = error.get("message").and_then(Value::as_str).unwrap_or("no error message");
    let details = error.pointer("/error_data/details").and_then(Value::as_str);
    let what = match (code, details) {
        (Some(code), Some(d)) => format!("WhatsApp refused it ({code}): {message}. {d}"),
        (Some(code), None) => format!("WhatsApp refused it ({code}): {message}"),
        (None, _) => format!("the Graph API answered {status}: {message}"),
    };
    let what = clip(&what, 1_000);
    match code {
        // Throughput and spam-rate limits: the same request passes later.
        Some(4 | 80007 | 130429 | 131048 | 131056) => PluginError::RateLimited(what),
        Some(190) => {
            PluginError::Permanent(format!("{what} (the access token has expired or is wrong: set a new one)"))
        }
        _ if status == 429 => PluginError::RateLimited(what),
        _ if status >= 500 => PluginError::Transient(what),
        _ => PluginError::Permanent(what),
    }
}

impl<'a> Graph<'a> {
    /// A client with the installation's access token.
    pub fn open(settings: &'a Settings) -> Result<Graph<'a>, PluginError> {
        if !secrets::is_set("access_token") {
            return Err(PluginError::InvalidSettings("access_token: is not set; replies cannot be sent".into()));
        }
        Ok(Graph { settings, token: secrets::reveal("access_token")? })
    }

    fn bearer(&self) -> (String, String) {
        ("authorization".into(), format!("Bearer {}", self.token))
    }

    /// Sends a message body; returns its `wamid`.
    fn send(&self, body: &Value) -> Result<String, PluginError> {
        if self.settings.phone_number_id.is_empty() {
            return Err(PluginError::InvalidSettings("phone_number_id: is not set; replies cannot be sent".into()));
        }
        let request = http::Request {
            method: "POST".into(),
            url: self.settings.graph(&format!("{}/messages", self.settings.phone_number_id)),
            headers: vec![self.bearer(), ("content-type".into(), "application/json".into())],
            body: body.to_string().into_bytes(),
        };
        let response = http::send(&request)?;
        if !(200..300).contains(&response.status) {
            return Err(refusal(response.status, &response.body));
        }
        let answer: Value = serde_json::from_slice(&response.body).unwrap_or_default();
        match answer.pointer("/messages/0/id").and_then(Value::as_str) {
            Some(id) if !id.is_empty() && id.len() <= 200 => Ok(id.to_owned()),
            _ => Err(PluginError::Permanent("the Graph API accepted the message but gave no message id".into())),
        }
    }

    /// Sends free text to `wa_id`; returns its `wamid`.
    pub fn send_text(&self, wa_id: &str, text: &str) -> Result<String, PluginError> {
        self.send(&json!({
            "messaging_product": "whatsapp",
            "recipient_type": "individual",
            "to": wa_id,
            "type": "text",
            "text": {"preview_url": false, "body": text},
        }))
    }

    /// Sends an approved template with its body's parameters.
    pub fn send_template(
        &self,
        wa_id: &str,
        template: &Template,
        parameters: &[String],
    ) -> Result<String, PluginError> {
        let mut body = json!({
            "messaging_product": "whatsapp",
            "recipient_type": "individual",
            "to": wa_id,
            "type": "template",
            "template": {"name": template.name, "language": {"code": template.language}},
        });
        if !parameters.is_empty() {
            let parameters: Vec<Value> = parameters.iter().map(|p| json!({"type": "text", "text": p})).collect();
            body["template"]["components"] = json!([{"type": "body", "parameters": parameters}]);
        }
        self.send(&body)
    }

    fn get(&self, url: String) -> Result<http::Response, PluginError> {
        http::send(&http::Request { method: "GET".into(), url, headers: vec![self.bearer()], body: Vec::new() })
    }

    /// Fetches a customer's file by its media id, keeping it when it is at
    /// most `max` bytes and its checksum holds. A failure that may pass
    /// is an error, so that the notification is delivered again later.
    pub fn media(&self, id: &str, max: u64) -> Result<Fetched, PluginError> {
        if id.contains(['/', '?', '#']) {
            return Ok(Fetched::Dropped(0, format!("media id \"{}\" is not valid", clip(id, 60))));
        }
        let meta = self.get(self.settings.graph(id))?;
        if !(200..300).contains(&meta.status) {
            return match refusal(meta.status, &meta.body) {
                PluginError::Permanent(why) => Ok(Fetched::Dropped(0, why)),
                other => Err(other),
            };
        }
        let meta: Value = serde_json::from_slice(&meta.body).unwrap_or_default();
        let size = meta
            .get("file_size")
            .and_then(|s| s.as_u64().or_else(|| s.as_str().and_then(|s| s.parse().ok())))
            .unwrap_or(0);
        if size > max {
            return Ok(Fetched::Dropped(size, format!("larger than the {max}-byte cap")));
        }
        let Some(url) = meta.get("url").and_then(Value::as_str) else {
            return Ok(Fetched::Dropped(size, "the Graph API gave no URL for it".into()));
        };
        let mime_type = meta.get("mime_type").and_then(Value::as_str).unwrap_or("application/octet-stream");
        let file = self.get(url.to_owned())?;
        if !(200..300).contains(&file.status) {
            return match refusal(file.status, &file.body) {
                PluginError::Permanent(why) => Ok(Fetched::Dropped(size, why)),
                other => Err(other),
            };
        }
        let length = file.body.len() as u64;
        if length > max {
            return Ok(Fetched::Dropped(length, format!("larger than the {max}-byte cap")));
        }
        if let Some(expected) = meta.get("sha256").and_then(Value::as_str) {
            let got: String = digest::sha256(&file.body).iter().map(|b| format!("{b:02x}")).collect();
            if !got.eq_ignore_ascii_case(expected) {
                return Ok(Fetched::Dropped(length, "its content does not match the checksum WhatsApp gave".into()));
            }
        }
        let mime_type = mime_type.split(';').next().unwrap_or_default().trim().to_ascii_lowercase();
        Ok(Fetched::Kept(file.body, mime_type))
    }
}
