//! A local stand-in for the WhatsApp Cloud API's Graph endpoints, started
//! by the WhatsApp tests, and a signer for the webhook notifications Meta
//! sends.
//!
//! It checks each request as the Graph API would: the path
//! (`/{version}/{phone-number-id}/messages`, `/{version}/{media-id}`), the
//! bearer token, the content type, and the JSON body exactly (the keys of
//! a text or a template message and their types). It answers as Graph
//! does: a message id on success, the media's URL, type, checksum and size,
//! and error bodies with Meta's codes (131047 re-engagement, 131026
//! undeliverable, 190 expired token) for what it is told to refuse.
//! Whatever the channel gets wrong is kept in `violations`, which a test
//! checks is empty.

#![allow(dead_code)]

use std::collections::{BTreeMap, VecDeque};
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

/// The API version the channel is configured with.
pub const VERSION: &str = "v21.0";
/// The business number's id.
pub const NUMBER_ID: &str = "106540352242922";
/// The access token the stand-in accepts.
pub const TOKEN: &str = "EAAGstandin0token";
/// The app secret notifications are signed with.
pub const APP_SECRET: &str = "stand-in-app-secret";
/// The verify token of the webhook.
pub const VERIFY_TOKEN: &str = "stand-in-verify-token";

/// A message the stand-in accepted.
#[derive(Debug, Clone, PartialEq)]
pub struct Accepted {
    /// The `wamid` it answered with.
    pub id: String,
    /// The body as sent.
    pub body: Value,
}

/// A refusal to give to the next message: Meta's error for it.
#[derive(Debug, Clone, Copy)]
pub enum Refusal {
    /// 131047: more than 24 hours since the customer wrote.
    ReEngagement,
    /// 131026: the message could not be delivered.
    Undeliverable,
    /// 190: the access token expired.
    ExpiredToken,
}

#[derive(Default)]
struct Inner {
    accepted: Vec<Accepted>,
    violations: Vec<String>,
    refusals: VecDeque<Refusal>,
    media: BTreeMap<String, (String, Vec<u8>)>,
    requests: u64,
}

/// The running stand-in.
#[derive(Clone)]
pub struct Graph {
    /// Its base URL, for the channel's `graph_url`.
    pub base: String,
    inner: Arc<Mutex<Inner>>,
}

impl Graph {
    /// Starts it on a loopback port.
    pub async fn start() -> Graph {
        let inner = Arc::new(Mutex::new(Inner::default()));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let base = format!("http://{}", listener.local_addr().expect("addr"));
        let app = Router::new()
            .route("/{version}/{number}/messages", axum::routing::post(send))
            .route("/{version}/{media}", axum::routing::get(media_meta))
            .route("/whatsapp_business/attachments/{media}", axum::routing::get(media_bytes))
            .with_state((Arc::clone(&inner), base.clone()));
        tokio::spawn(async move { axum::serve(listener, app).await });
        Graph { base, inner }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// What it accepted, in order.
    pub fn accepted(&self) -> Vec<Accepted> {
        self.lock().accepted.clone()
    }

    /// What the channel got wrong.
    pub fn violations(&self) -> Vec<String> {
        self.lock().violations.clone()
    }

    /// How many requests reached it.
    pub fn requests(&self) -> u64 {
        self.lock().requests
    }

    /// Refuses the next message with `refusal`.
    pub fn refuse_next(&self, refusal: Refusal) {
        self.lock().refusals.push_back(refusal);
    }

    /// Serves a file under media id `id`.
    pub fn media(&self, id: &str, mime_type: &str, bytes: Vec<u8>) {
        self.lock().media.insert(id.to_owned(), (mime_type.to_owned(), bytes));
    }
}

type Shared = (Arc<Mutex<Inner>>, String);

fn graph_error(status: StatusCode, code: u32, message: &str, details: Option<&str>) -> Response {
    let mut error = json!({"message": message, "type": "OAuthException", "code": code, "fbtrace_id": "AbCdEfGh"});
    if let Some(details) = details {
        error["error_data"] = json!({"messaging_product": "whatsapp", "details": details});
    }
    (status, [("content-type", "application/json")], json!({"error": error}).to_string()).into_response()
}

fn authorized(headers: &HeaderMap) -> bool {
    headers.get("authorization").and_then(|v| v.to_str().ok()) == Some(&format!("Bearer {TOKEN}"))
}

fn keys(v: &Value) -> Vec<&str> {
    let mut k: Vec<&str> = v.as_object().map(|o| o.keys().map(String::as_str).collect()).unwrap_or_default();
    k.sort_unstable();
    k
}

/// What is wrong with a message body, by the Cloud API's reference.
fn check_message(body: &Value) -> Result<(), String> {
    let top = keys(body);
    let wanted_top = |kind: &'static str| {
        let mut k = vec!["messaging_product", "recipient_type", "to", "type", kind];
        k.sort_unstable();
        k
    };
    if body["messaging_product"] != "whatsapp" || body["recipient_type"] != "individual" {
        return Err(format!("messaging_product and recipient_type must be whatsapp and individual: {body}"));
    }
    let to = body["to"].as_str().unwrap_or_default();
    if !(5..=20).contains(&to.len()) || !to.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!("to {to:?} is not a wa_id"));
    }
    match body["type"].as_str() {
        Some("text") => {
            if top != wanted_top("text") || keys(&body["text"]) != ["body", "preview_url"] {
                return Err(format!("a text message has other keys: {body}"));
            }
            let text = body["text"]["body"].as_str().unwrap_or_default();
            if text.is_empty() || text.chars().count() > 4096 || !body["text"]["preview_url"].is_boolean() {
                return Err(format!("text.body must be 1 to 4096 characters and preview_url a boolean: {body}"));
            }
        }
        Some("template") => {
            let t = &body["template"];
            let template_keys = keys(t);
            if top != wanted_top("template")
                || !(template_keys == ["language", "name"] || template_keys == ["components", "language", "name"])
                || keys(&t["language"]) != ["code"]
            {
                return Err(format!("a template message has other keys: {body}"));
            }
            for component in t["components"].as_array().into_iter().flatten() {
                let fine = component["type"] == "body"
                    && component["parameters"].as_array().is_some_and(|ps| {
                        ps.iter().all(|p| keys(p) == ["text", "type"] && p["type"] == "text" && p["text"].is_string())
                    });
                if !fine {
                    return Err(format!("a template component is not a body of text parameters: {component}"));
                }
            }
        }
        other => return Err(format!("type {other:?} is not text or template")),
    }
    Ok(())
}

async fn send(
    State((inner, _)): State<Shared>,
    Path((version, number)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let mut inner = inner.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    inner.requests += 1;
    if version != VERSION || number != NUMBER_ID {
        inner.violations.push(format!("POST /{version}/{number}/messages"));
        return graph_error(StatusCode::BAD_REQUEST, 100, "Unsupported post request.", None);
    }
    if !authorized(&headers) {
        inner.violations.push("a message without the bearer token".into());
        return graph_error(
            StatusCode::UNAUTHORIZED,
            190,
            "Invalid OAuth access token - Cannot parse access token",
            None,
        );
    }
    if headers.get("content-type").and_then(|v| v.to_str().ok()) != Some("application/json") {
        inner.violations.push("a message that is not application/json".into());
        return graph_error(StatusCode::BAD_REQUEST, 100, "Invalid parameter", None);
    }
    let body: Value = match serde_json::from_slice(&body) {
        Ok(b) => b,
        Err(e) => {
            inner.violations.push(format!("a body that is not JSON: {e}"));
            return graph_error(StatusCode::BAD_REQUEST, 100, "Invalid parameter", None);
        }
    };
    if let Err(why) = check_message(&body) {
        inner.violations.push(why);
        return graph_error(StatusCode::BAD_REQUEST, 100, "Invalid parameter", None);
    }
    if let Some(refusal) = inner.refusals.pop_front() {
        return match refusal {
            Refusal::ReEngagement => graph_error(
                StatusCode::BAD_REQUEST,
                131047,
                "(#131047) Re-engagement message",
                Some(
                    "Message failed to send because more than 24 hours have passed since the customer last replied to this number.",
                ),
            ),
            Refusal::Undeliverable => graph_error(
                StatusCode::BAD_REQUEST,
                131026,
                "(#131026) Message undeliverable",
                Some("Message Undeliverable."),
            ),
            Refusal::ExpiredToken => graph_error(
                StatusCode::UNAUTHORIZED,
                190,
                "Error validating access token: Session has expired on Tuesday, 01-Dec-26 10:00:00 PST.",
                None,
            ),
        };
    }
    let id = format!("wamid.HBgM{:020}", inner.accepted.len() + 1);
    let to = body["to"].clone();
    inner.accepted.push(Accepted { id: id.clone(), body });
    let answer =
        json!({"messaging_product": "whatsapp", "contacts": [{"input": to, "wa_id": to}], "messages": [{"id": id}]});
    (StatusCode::OK, [("content-type", "application/json")], answer.to_string()).into_response()
}

async fn media_meta(
    State((inner, base)): State<Shared>,
    Path((version, media)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    let mut inner = inner.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    inner.requests += 1;
    if version != VERSION || !authorized(&headers) {
        inner.violations.push(format!("GET /{version}/{media} with the wrong version or token"));
        return graph_error(StatusCode::UNAUTHORIZED, 190, "Invalid OAuth access token", None);
    }
    let Some((mime_type, bytes)) = inner.media.get(&media) else {
        return graph_error(StatusCode::BAD_REQUEST, 100, "Unsupported get request.", None);
    };
    let sha256: String = {
        use sha2::Digest;
        sha2::Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect()
    };
    let answer = json!({
        "messaging_product": "whatsapp",
        "url": format!("{base}/whatsapp_business/attachments/{media}"),
        "mime_type": mime_type,
        "sha256": sha256,
        "file_size": bytes.len(),
        "id": media,
    });
    (StatusCode::OK, [("content-type", "application/json")], answer.to_string()).into_response()
}

async fn media_bytes(State((inner, _)): State<Shared>, Path(media): Path<String>, headers: HeaderMap) -> Response {
    let mut inner = inner.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    inner.requests += 1;
    if !authorized(&headers) {
        inner.violations.push(format!("media {media} fetched without the bearer token"));
        return (StatusCode::UNAUTHORIZED, "").into_response();
    }
    match inner.media.get(&media) {
        Some((mime_type, bytes)) => {
            (StatusCode::OK, [("content-type", mime_type.clone())], bytes.clone()).into_response()
        }
        None => (StatusCode::NOT_FOUND, "").into_response(),
    }
}

/// The `X-Hub-Signature-256` of `body` under the app secret, as Meta signs.
pub fn signature(body: &[u8]) -> String {
    let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, APP_SECRET.as_bytes());
    let tag = ring::hmac::sign(&key, body);
    let hex: String = tag.as_ref().iter().map(|b| format!("{b:02x}")).collect();
    format!("sha256={hex}")
}

/// A notification carrying `messages` from `wa_id`, whose profile name is
/// `name`.
pub fn messages(wa_id: &str, name: &str, messages: Value) -> Value {
    json!({"object": "whatsapp_business_account", "entry": [{"id": "102290129340398", "changes": [{"field": "messages", "value": {
        "messaging_product": "whatsapp",
        "metadata": {"display_phone_number": "15550783881", "phone_number_id": NUMBER_ID},
        "contacts": [{"profile": {"name": name}, "wa_id": wa_id}],
        "messages": messages,
    }}]}]})
}

/// A notification carrying `statuses`.
pub fn statuses(statuses: Value) -> Value {
    json!({"object": "whatsapp_business_account", "entry": [{"id": "102290129340398", "changes": [{"field": "messages", "value": {
        "messaging_product": "whatsapp",
        "metadata": {"display_phone_number": "15550783881", "phone_number_id": NUMBER_ID},
        "statuses": statuses,
    }}]}]})
}
