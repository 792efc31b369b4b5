//! `/api/tickets/{id}/messages/{message}/attachments/{index}`: the content
//! of a file that came with a thread entry, such as an e-mail attachment;
//! `/api/conversations/{id}/messages/{seq}/attachments/{index}`: one that
//! came with a conversation message, such as a WhatsApp photo.
//!
//! Files come from customers, so whatever they hold must not run in the
//! agent's browser under Switchboard's origin: every file is served as a
//! download (raster images, which cannot hold script, may show inline),
//! with `nosniff` so that the declared type is the only one a browser
//! uses, and with a sandboxing content security policy in case one is
//! opened anyway.

use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use switchboard_core::{Attachment, Message};
use utoipa::ToSchema;

use super::tickets::{parse_id, require_visible};
use crate::auth::Caller;
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::extract::Path;
use crate::state::AppState;

/// Types a browser may show inline: raster images, which cannot run
/// script. Everything else is a download.
const INLINE_TYPES: [&str; 4] = ["image/png", "image/jpeg", "image/gif", "image/webp"];

/// A file of a thread entry, as the API lists it.
#[derive(Debug, Serialize, ToSchema)]
pub struct AttachmentOut {
    /// Its place in the entry's list, which its `url` uses.
    pub index: usize,
    /// The file's name, as the sender gave it.
    pub name: String,
    /// Its media type, such as `application/pdf`.
    pub content_type: String,
    /// Its size in bytes.
    pub size: u64,
    /// Whether it was shown inside the message (an inline image).
    pub inline: bool,
    /// The Content-ID the message's HTML referred to it by, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub content_id: Option<String>,
    /// Why it was not kept (larger than the channel's cap, say). A dropped
    /// file has no `url`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dropped: Option<String>,
    /// Where its content is fetched, for a kept file.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
}

impl AttachmentOut {
    /// File `index` of entry `m` as the API lists it.
    pub fn new(m: &Message, index: usize, a: &Attachment) -> AttachmentOut {
        AttachmentOut {
            index,
            name: a.name.clone(),
            content_type: a.content_type.clone(),
            size: a.size,
            inline: a.inline,
            content_id: a.content_id.clone(),
            dropped: a.dropped.clone(),
            url: a
                .dropped
                .is_none()
                .then(|| format!("/api/tickets/{}/messages/{}/attachments/{index}", m.ticket, m.id)),
        }
    }
}

/// The content of a kept file of a thread entry, with its type and name.
/// Served as a download, except raster images, which may show inline.
#[utoipa::path(get, path = "/tickets/{id}/messages/{message}/attachments/{index}", tag = "tickets",
    params(("id" = u64, Path, description = "ticket number"), ("message" = u64, Path, description = "the entry's id"),
        ("index" = usize, Path, description = "the file's place in the entry's `attachments`")),
    responses((status = 200, description = "the file's content", content_type = "application/octet-stream", body = Vec<u8>),
        (status = 404, body = ErrorBody)))]
pub async fn get_attachment(
    State(state): State<AppState>,
    caller: Caller,
    Path((id, message, index)): Path<(String, String, String)>,
) -> ApiResult<Response> {
    let id = parse_id(&id)?;
    require_visible(&state, &caller, id).await?;
    let message = path_number(&message, "message", "message ids are positive integers")?;
    let index = path_number(&index, "file", "files are numbered from 0")?;
    let (file, data) = state.stores.tickets.attachment(id, message, index).await?;
    Ok(serve(&file, data))
}

/// The content of a kept file of a conversation message, such as a photo
/// a customer sent on WhatsApp, for an operator of the conversation's
/// team (another team's conversation is "not found", like one that does
/// not exist). Served as [`get_attachment`] serves a thread entry's.
#[utoipa::path(get, path = "/conversations/{id}/messages/{seq}/attachments/{index}", tag = "chat",
    params(("id" = u64, Path, description = "conversation number"), ("seq" = u64, Path, description = "the message's number"),
        ("index" = usize, Path, description = "the file's place in the message's `attachments`")),
    responses((status = 200, description = "the file's content", content_type = "application/octet-stream", body = Vec<u8>),
        (status = 404, body = ErrorBody)))]
pub async fn get_chat_attachment(
    State(state): State<AppState>,
    caller: Caller,
    Path((id, seq, index)): Path<(String, String, String)>,
) -> ApiResult<Response> {
    let id = path_number(&id, "conversation", "conversations are positive integers")?;
    let seq = path_number(&seq, "message", "messages are positive integers")?;
    let index = path_number(&index, "file", "files are numbered from 0")?;
    let conversation = state.stores.conversations.conversation(id).await?;
    if !caller.0.works_in(&conversation.team) {
        return Err(ApiError::not_found(format!("unknown conversation {id}")));
    }
    let (file, data) = state.stores.conversations.chat_attachment(id, seq, index).await?;
    Ok(serve(&file, data))
}

/// A number from the path, or "not found" naming what it was for and the
/// rule it broke: a path that cannot name anything names nothing.
fn path_number<T: std::str::FromStr>(text: &str, what: &str, rule: &str) -> ApiResult<T> {
    text.parse().map_err(|_| ApiError::not_found(format!("unknown {what} \"{text}\": {rule}")))
}

/// A file's content with the headers that keep it from running as a page.
fn serve(file: &Attachment, data: Vec<u8>) -> Response {
    let inline = INLINE_TYPES.contains(&file.content_type.as_str());
    let headers = [
        (header::CONTENT_TYPE, HeaderValue::from_str(&file.content_type).unwrap_or(OCTET_STREAM)),
        (header::CONTENT_DISPOSITION, disposition(inline, &file.name)),
        (header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff")),
        (header::CONTENT_SECURITY_POLICY, HeaderValue::from_static("sandbox; default-src 'none'")),
        (header::CACHE_CONTROL, HeaderValue::from_static("private, no-cache")),
    ];
    (headers, data).into_response()
}

/// The type of a file whose declared type cannot be a header, which core's
/// rules make impossible but a stored record might hold.
const OCTET_STREAM: HeaderValue = HeaderValue::from_static("application/octet-stream");

/// `Content-Disposition` for a file named `name` (RFC 6266): an ASCII
/// fallback for old clients and the exact name in UTF-8 (RFC 8187).
fn disposition(inline: bool, name: &str) -> HeaderValue {
    let kind = if inline { "inline" } else { "attachment" };
    let fallback: String =
        name.chars().map(|c| if c.is_ascii_graphic() && c != '"' && c != '\\' || c == ' ' { c } else { '_' }).collect();
    let mut encoded = String::with_capacity(name.len() * 3);
    for b in name.bytes() {
        if b.is_ascii_alphanumeric() || b"!#$&+-.^_`|~".contains(&b) {
            encoded.push(char::from(b));
        } else {
            encoded.push_str(&format!("%{b:02X}"));
        }
    }
    let value = format!("{kind}; filename=\"{fallback}\"; filename*=UTF-8''{encoded}");
    // Every character is visible ASCII by construction.
    HeaderValue::from_str(&value).unwrap_or(HeaderValue::from_static("attachment"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_quoted_safely_and_kept_exactly_in_utf8() {
        let value = disposition(false, "звіт \"Q1\".pdf");
        assert_eq!(
            value.to_str().expect("ascii"),
            "attachment; filename=\"____ _Q1_.pdf\"; filename*=UTF-8''%D0%B7%D0%B2%D1%96%D1%82%20%22Q1%22.pdf"
        );
        assert!(disposition(true, "a.png").to_str().expect("ascii").starts_with("inline; "));
    }
}
