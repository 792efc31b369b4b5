//! Switchboard's WhatsApp channel.
//!
//! Customers write to the team's WhatsApp Business number. Meta calls this
//! plugin's webhook (`/c/<team>/whatsapp/`): a `GET` verifies it with the
//! verify token, and each `POST` carries notifications signed with the app
//! secret (`X-Hub-Signature-256`), which the host checks without the
//! secret entering the plugin. Each customer message joins the customer's
//! open conversation in the team's chat channel (one per number), with its
//! photo, voice note, video or document fetched from the Graph API; a
//! message Meta delivers twice is kept once. Operators answer in the
//! operator console: each answer goes out through the Graph API, as free
//! text within WhatsApp's 24-hour window and as the configured template
//! outside it, and the delivery reports (sent, delivered, read, failed)
//! land on the answer. `/ticket [title]` makes a ticket of the
//! conversation, and agents' replies on that ticket go back over WhatsApp.

pub mod graph;
mod inbound;
mod outbound;
pub mod settings;
pub mod webhook;
pub mod window;

use switchboard_sdk::chat::{ChatEvent, ChatTicket, Conversation, Reply};
use switchboard_sdk::host::{conversations, digest, secrets};
use switchboard_sdk::http::{Request, Response};
use switchboard_sdk::{Channel, ChatChannel, Info, PluginError};

pub use crate::settings::Settings;

/// The plugin.
pub struct WhatsApp;

/// Answers Meta's verification request: the challenge, as plain text, when
/// the mode is `subscribe` and the token is the installation's; 403 to
/// anything else.
fn verify(request: &Request) -> Response {
    let mode = request.query_param("hub.mode");
    let token = request.query_param("hub.verify_token").unwrap_or_default();
    let challenge = request.query_param("hub.challenge").unwrap_or_default();
    let expected = if secrets::is_set("verify_token") { secrets::reveal("verify_token").ok() } else { None };
    let matches = expected.is_some_and(|e| digest::constant_time_equal(e.as_bytes(), token.as_bytes()));
    // Meta's challenge is a number; anything else is not echoed back.
    let plain = !challenge.is_empty() && challenge.len() <= 100 && challenge.bytes().all(|b| b.is_ascii_alphanumeric());
    if mode.as_deref() == Some("subscribe") && matches && plain {
        Response::new(200, "text/plain; charset=utf-8", challenge)
    } else {
        Response::text(403, "verification refused")
    }
}

/// Whether the body carries a valid `X-Hub-Signature-256` under the app
/// secret: the check every notification must pass before anything is read.
fn signed(request: &Request) -> Result<(), Response> {
    let refuse = |why: &str| Err(Response::text(401, why));
    let Some(header) = request.header("x-hub-signature-256") else {
        return refuse("missing X-Hub-Signature-256");
    };
    let Some(hex) = header.trim().strip_prefix("sha256=") else {
        return refuse("X-Hub-Signature-256 must be sha256=<hex>");
    };
    let Some(mac) = decode_hex(hex) else {
        return refuse("X-Hub-Signature-256 must be sha256= and 64 hexadecimal digits");
    };
    match secrets::verify_hmac_sha256("app_secret", &request.body, &mac) {
        Ok(true) => Ok(()),
        Ok(false) => refuse("the signature does not match the body"),
        Err(PluginError::NotFound(_)) => refuse("the app secret is not set, so no notification can be checked"),
        Err(e) => Err(Response::text(503, format!("the signature could not be checked: {e}"))),
    }
}

fn decode_hex(hex: &str) -> Option<Vec<u8>> {
    if hex.len() != 64 {
        return None;
    }
    (0..32).map(|i| u8::from_str_radix(hex.get(2 * i..2 * i + 2)?, 16).ok()).collect()
}

impl Channel for WhatsApp {
    type Settings = Settings;

    fn describe() -> Info {
        Info::new("WhatsApp", "Talk with customers on the team's WhatsApp Business number")
    }

    fn validate(settings: &Settings) -> Result<(), PluginError> {
        settings.check()
    }

    fn handle_http(settings: Settings, request: Request) -> Result<Response, PluginError> {
        if request.path != "/" && !request.path.is_empty() {
            return Ok(Response::text(404, "the webhook is at the channel's root path"));
        }
        match request.method.as_str() {
            "GET" => Ok(verify(&request)),
            "POST" => {
                if let Err(refused) = signed(&request) {
                    return Ok(refused);
                }
                inbound::notification(&settings, &request.body)
            }
            _ => Ok(Response::text(405, "the webhook takes GET and POST").with_header("allow", "GET, POST")),
        }
    }
}

impl ChatChannel for WhatsApp {
    fn handle_chat(settings: Settings, c: Conversation, event: ChatEvent) -> Result<(), PluginError> {
        match event {
            ChatEvent::OperatorMessage(message) => outbound::operator_message(&settings, &c, &message),
            ChatEvent::Command(command) if command.name == "ticket" => {
                conversations::to_ticket(c.id, &ChatTicket { title: command.args, priority: None }).map(drop)
            }
            ChatEvent::Command(command) => {
                Err(PluginError::Permanent(format!("unknown command \"/{}\"; try /ticket [title]", command.name)))
            }
            _ => Ok(()),
        }
    }

    fn deliver_reply(settings: Settings, reply: Reply) -> Result<(), PluginError> {
        outbound::ticket_reply(&settings, &reply)
    }
}

switchboard_sdk::export_chat_channel!(WhatsApp);

/// Runs arbitrary bytes through the webhook as a signed notification,
/// natively against the SDK's fake host: the fuzz target's body. It must
/// not panic, and delivering the same bytes again must add nothing.
#[cfg(not(target_arch = "wasm32"))]
pub fn fuzz_notification(data: &[u8]) {
    let host = switchboard_sdk::testing::FakeHost::start();
    host.secret("app_secret", "fuzz").secret("access_token", "token");
    let settings: Settings = serde_json::from_str(r#"{"phone_number_id": "106540352242922"}"#).expect("settings");
    let mac = switchboard_sdk::host::secrets::hmac_sha256("app_secret", data).expect("mac");
    let signature: String = mac.iter().map(|b| format!("{b:02x}")).collect();
    let request = Request {
        method: "POST".into(),
        path: "/".into(),
        query: String::new(),
        headers: vec![("x-hub-signature-256".into(), format!("sha256={signature}"))],
        body: data.to_vec(),
        client_addr: "127.0.0.1".into(),
    };
    let first = WhatsApp::handle_http(settings.clone(), request.clone());
    let kept: usize = host.chats().iter().map(|c| host.chat_messages(c.id).len()).sum();
    let again = WhatsApp::handle_http(settings, request);
    let after: usize = host.chats().iter().map(|c| host.chat_messages(c.id).len()).sum();
    assert_eq!(first.is_ok(), again.is_ok());
    assert_eq!(kept, after, "a notification delivered twice adds nothing the second time");
}

#[cfg(test)]
mod tests;
