//! Decoding the Cloud API's webhook notifications (`entry[].changes[].value`)
//! into what the channel acts on, and rendering each message type as the
//! text an operator reads. Pure: no host calls, so the fuzz target and the
//! unit tests run it natively.
//!
//! The decoding is lenient where Meta may add things (unknown fields and
//! message types are kept, as text saying what they were) and strict where
//! a value reaches the store (ids and numbers have a shape and a length).

use serde_json::Value;

/// The longest text a conversation message holds, in characters.
pub const MAX_TEXT: usize = 4_000;
/// The longest id kept (a `wamid` is about 60 bytes).
const MAX_ID: usize = 200;

/// A webhook notification: what each change carried.
#[derive(Debug, Default, PartialEq)]
pub struct Notification {
    /// The changes, in order.
    pub changes: Vec<Change>,
    /// What could not be read, for the log; the rest is still acted on.
    pub skipped: Vec<String>,
}

/// One `changes[].value`.
#[derive(Debug, Default, PartialEq)]
pub struct Change {
    /// `metadata.phone_number_id`: the business number it is for.
    pub phone_number_id: String,
    /// `contacts[]`: each customer's `wa_id` and profile name.
    pub profiles: Vec<(String, String)>,
    /// `messages[]`.
    pub messages: Vec<Incoming>,
    /// `statuses[]`.
    pub statuses: Vec<Status>,
}

/// A customer's message.
#[derive(Debug, Clone, PartialEq)]
pub struct Incoming {
    /// The sender's `wa_id`: their number without `+`.
    pub from: String,
    /// Its `wamid`.
    pub id: String,
    /// When it was sent, in Unix seconds.
    pub timestamp: i64,
    /// Its `type`.
    pub kind: String,
    /// What an operator reads.
    pub text: String,
    /// The file it carries, to fetch.
    pub media: Option<Media>,
}

/// A file a message refers to by its media id.
#[derive(Debug, Clone, PartialEq)]
pub struct Media {
    /// The media id.
    pub id: String,
    /// Its media type, such as `image/jpeg`.
    pub mime_type: String,
    /// A file name: the document's own, or one made of the type.
    pub filename: String,
}

/// A delivery report on a message the business sent.
#[derive(Debug, Clone, PartialEq)]
pub struct Status {
    /// The `wamid` of the message it is about.
    pub id: String,
    /// `sent`, `delivered`, `read` or `failed` (others are kept as given).
    pub status: String,
    /// Why it failed: each error's code, title and details.
    pub error: String,
}

fn text(value: &Value, pointer: &str) -> Option<String> {
    value.pointer(pointer).and_then(Value::as_str).map(str::to_owned)
}

/// A non-empty string of at most [`MAX_ID`] bytes without control
/// characters.
fn id_like(value: Option<&Value>) -> Option<String> {
    let s = value?.as_str()?;
    (!s.is_empty() && s.len() <= MAX_ID && !s.chars().any(char::is_control)).then(|| s.to_owned())
}

/// A `wa_id`: 5 to 20 digits.
pub fn is_wa_id(s: &str) -> bool {
    (5..=20).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_digit())
}

/// Decodes a notification body. Only a body that is not a JSON object of
/// the WhatsApp Business Account kind is refused; a malformed part of it
/// is skipped and listed.
pub fn decode(body: &[u8]) -> Result<Notification, String> {
    let root: Value = serde_json::from_slice(body).map_err(|e| format!("the body is not JSON: {e}"))?;
    match root.get("object").and_then(Value::as_str) {
        Some("whatsapp_business_account") => {}
        Some(other) => return Err(format!("object \"{}\" is not whatsapp_business_account", clip(other, 60))),
        None => return Err("the body has no \"object\"".into()),
    }
    let mut n = Notification::default();
    let entries = root.get("entry").and_then(Value::as_array).map_or(&[][..], Vec::as_slice);
    for (e, entry) in entries.iter().enumerate() {
        let changes = entry.get("changes").and_then(Value::as_array).map_or(&[][..], Vec::as_slice);
        for (c, change) in changes.iter().enumerate() {
            let Some(value) = change.get("value").filter(|v| v.is_object()) else {
                n.skipped.push(format!("entry[{e}].changes[{c}] has no value"));
                continue;
            };
            n.changes.push(decode_value(value, &format!("entry[{e}].changes[{c}].value"), &mut n.skipped));
        }
    }
    Ok(n)
}

fn decode_value(value: &Value, at: &str, skipped: &mut Vec<String>) -> Change {
    let mut change =
        Change { phone_number_id: text(value, "/metadata/phone_number_id").unwrap_or_default(), ..Change::default() };
    for contact in value.get("contacts").and_then(Value::as_array).into_iter().flatten() {
        let wa_id = id_like(contact.get("wa_id")).filter(|w| is_wa_id(w));
        let name = text(contact, "/profile/name").unwrap_or_default();
        if let Some(wa_id) = wa_id {
            change.profiles.push((wa_id, clip(name.trim(), 200)));
        }
    }
    for (i, message) in value.get("messages").and_then(Value::as_array).into_iter().flatten().enumerate() {
        match incoming(message) {
            Ok(m) => change.messages.push(m),
            Err(why) => skipped.push(format!("{at}.messages[{i}] {why}")),
        }
    }
    for (i, status) in value.get("statuses").and_then(Value::as_array).into_iter().flatten().enumerate() {
        let (Some(id), Some(state)) = (id_like(status.get("id")), id_like(status.get("status"))) else {
            skipped.push(format!("{at}.statuses[{i}] has no id or status"));
            continue;
        };
        let errors = status.get("errors").and_then(Value::as_array).map_or(&[][..], Vec::as_slice);
        change.statuses.push(Status { id, status: state, error: describe_errors(errors) });
    }
    change
}

/// Errors as one line: `131026 Message undeliverable: details`.
pub fn describe_errors(errors: &[Value]) -> String {
    let described: Vec<String> = errors
        .iter()
        .take(5)
        .map(|e| {
            let code = e.get("code").map(|c| c.to_string()).unwrap_or_default();
            let title = text(e, "/title").or_else(|| text(e, "/message")).unwrap_or_default();
            match text(e, "/error_data/details").filter(|d| *d != title) {
                Some(details) => format!("{code} {title}: {details}"),
                None => format!("{code} {title}"),
            }
        })
        .collect();
    clip(described.join("; ").trim(), 1_000)
}

fn incoming(m: &Value) -> Result<Incoming, &'static str> {
    let from = id_like(m.get("from")).filter(|f| is_wa_id(f)).ok_or("has no sender (\"from\" as digits)")?;
    let id = id_like(m.get("id")).ok_or("has no id")?;
    let timestamp = m
        .get("timestamp")
        .and_then(|t| t.as_str().and_then(|s| s.parse().ok()).or_else(|| t.as_i64()))
        .ok_or("has no timestamp")?;
    let kind = id_like(m.get("type")).unwrap_or_else(|| "unknown".into());
    let (text, media) = render(&kind, m);
    Ok(Incoming { from, id, timestamp, kind, text: clip(text.trim(), MAX_TEXT), media })
}

/// The text an operator reads for a message of type `kind`, and the file
/// it carries.
pub fn render(kind: &str, m: &Value) -> (String, Option<Media>) {
    let part = m.get(kind).unwrap_or(&Value::Null);
    let caption = text(part, "/caption").map(|c| format!(" {c}")).unwrap_or_default();
    match kind {
        "text" => (text(part, "/body").unwrap_or_default(), None),
        "image" | "video" | "sticker" | "audio" | "document" => {
            let label = match kind {
                "audio" if part.get("voice") == Some(&Value::Bool(true)) => "voice message".to_owned(),
                "document" => match text(part, "/filename") {
                    Some(name) => format!("document: {}", clip(&name, 200)),
                    None => "document".into(),
                },
                other => other.to_owned(),
            };
            let media = id_like(part.get("id")).map(|id| {
                let mime_type = text(part, "/mime_type").unwrap_or_else(|| "application/octet-stream".into());
                let filename = text(part, "/filename")
                    .map(|f| safe_filename(&f))
                    .filter(|f| !f.is_empty())
                    .unwrap_or_else(|| format!("{kind}{}", extension(&mime_type)));
                Media { id, mime_type, filename }
            });
            (format!("[{label}]{caption}"), media)
        }
        "location" => {
            let (lat, long) = (part.get("latitude"), part.get("longitude"));
            let coordinates = match (lat.and_then(Value::as_f64), long.and_then(Value::as_f64)) {
                (Some(lat), Some(long)) => format!(" ({lat}, {long}) https://maps.google.com/?q={lat},{long}"),
                _ => String::new(),
            };
            let named: Vec<String> = ["/name", "/address"].iter().filter_map(|p| text(part, p)).collect();
            let named = if named.is_empty() { String::new() } else { format!(" {}", named.join(", ")) };
            (format!("[location]{named}{coordinates}"), None)
        }
        "contacts" => {
            let cards: Vec<String> = m
                .get("contacts")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .take(20)
                .map(|card| {
                    let name = text(card, "/name/formatted_name").unwrap_or_else(|| "(no name)".into());
                    let mut ways: Vec<String> = Vec::new();
                    for phone in card.get("phones").and_then(Value::as_array).into_iter().flatten().take(10) {
                        ways.extend(text(phone, "/phone"));
                    }
                    for email in card.get("emails").and_then(Value::as_array).into_iter().flatten().take(10) {
                        ways.extend(text(email, "/email"));
                    }
                    if ways.is_empty() { name } else { format!("{name}: {}", ways.join(", ")) }
                })
                .collect();
            (format!("[contact] {}", cards.join("; ")), None)
        }
        "interactive" => {
            let reply = ["button_reply", "list_reply"].iter().find_map(|k| part.get(*k).map(|r| (*k, r)));
            match reply {
                Some(("button_reply", r)) => (format!("[button] {}", text(r, "/title").unwrap_or_default()), None),
                Some((_, r)) => {
                    let title = text(r, "/title").unwrap_or_default();
                    match text(r, "/description") {
                        Some(d) => (format!("[list] {title} ({d})"), None),
                        None => (format!("[list] {title}"), None),
                    }
                }
                None => ("[interactive message]".into(), None),
            }
        }
        "button" => (format!("[button] {}", text(part, "/text").unwrap_or_default()), None),
        "reaction" => match text(part, "/emoji").filter(|e| !e.is_empty()) {
            Some(emoji) => {
                let to = text(part, "/message_id").map(|id| format!(" to message {}", clip(&id, MAX_ID)));
                (format!("[reaction] {emoji}{}", to.unwrap_or_default()), None)
            }
            None => ("[reaction removed]".into(), None),
        },
        other => {
            let errors = m.get("errors").and_then(Value::as_array).map_or(&[][..], Vec::as_slice);
            let why = describe_errors(errors);
            let why = if why.is_empty() { String::new() } else { format!(": {why}") };
            (format!("[unsupported message of type \"{}\"{why}]", clip(other, 40)), None)
        }
    }
}

/// A file name without path separators or control characters.
fn safe_filename(name: &str) -> String {
    let cleaned: String =
        name.chars().filter(|c| !c.is_control()).map(|c| if matches!(c, '/' | '\\') { '_' } else { c }).collect();
    clip(cleaned.trim(), 200)
}

/// A file extension for a media type, with its dot; none when unknown.
fn extension(mime_type: &str) -> &'static str {
    match mime_type.split(';').next().unwrap_or_default().trim() {
        "image/jpeg" => ".jpg",
        "image/png" => ".png",
        "image/webp" => ".webp",
        "video/mp4" => ".mp4",
        "video/3gpp" => ".3gp",
        "audio/ogg" => ".ogg",
        "audio/mpeg" => ".mp3",
        "audio/mp4" | "audio/aac" => ".m4a",
        "application/pdf" => ".pdf",
        _ => "",
    }
}

/// At most `max` characters of `s`, marked with `…` when cut.
pub fn clip(s: &str, max: usize) -> String {
    match s.char_indices().nth(max) {
        None => s.to_owned(),
        Some((at, _)) => {
            let mut cut: String = s[..at].chars().take(max.saturating_sub(1)).collect();
            cut.push('…');
            cut
        }
    }
}
