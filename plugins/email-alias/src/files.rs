//! A message's attachments and inline images, as the thread entry keeps
//! them: each listed with its name, type and size; its content kept up to
//! the installation's cap, and listed as dropped, with why, past it.

use mail_parser::{Message, MimeHeaders, PartType};
use switchboard_sdk::types::{AttachmentContent, DroppedFile, NewAttachment};

/// The most files the host lists on one entry.
const MAX_FILES: usize = 100;
/// The most bytes the host keeps for one entry's files together.
pub const MAX_KEPT_BYTES: u64 = 25 * 1024 * 1024;
/// The longest file name the host takes, in characters.
const MAX_NAME: usize = 255;

/// What became of a message's files.
#[derive(Default)]
pub struct Files {
    /// The files for the entry, kept or dropped.
    pub listed: Vec<NewAttachment>,
    /// How many files were past the host's count and left off the list.
    pub unlisted: usize,
}

/// Takes the files out of `message` (their content moves into the entry
/// rather than being copied: a large mail must fit the plugin's memory
/// once, not twice). A file larger than `cap` bytes, or one that would
/// take the entry past what the host keeps, is listed as dropped.
pub fn take(message: &mut Message<'_>, cap: u64) -> Files {
    take_within(message, cap, MAX_KEPT_BYTES)
}

/// [`take`], keeping at most `total` bytes in all.
fn take_within(message: &mut Message<'_>, cap: u64, total: u64) -> Files {
    let mut files = Files::default();
    let mut kept_bytes = 0u64;
    let ids = message.attachments.clone();
    for (n, id) in ids.into_iter().enumerate() {
        let Some(part) = message.parts.get_mut(id as usize) else { continue };
        if files.listed.len() == MAX_FILES {
            files.unlisted += 1;
            continue;
        }
        let nested = match &part.body {
            PartType::Message(inner) => Some(inner.subject().unwrap_or("").to_owned()),
            _ => None,
        };
        let content_type = match (&nested, part.content_type()) {
            (Some(_), _) => "message/rfc822".to_owned(),
            (None, Some(ct)) => media_type(ct.ctype(), ct.subtype()),
            (None, None) => "application/octet-stream".to_owned(),
        };
        let name = name(part.attachment_name(), nested.as_deref(), n, &content_type);
        let content_id = part.content_id().and_then(content_id);
        let inline = match part.content_disposition() {
            Some(d) => d.is_inline(),
            None => content_id.is_some(),
        };
        let data = match std::mem::take(&mut part.body) {
            PartType::Text(t) | PartType::Html(t) => t.into_owned().into_bytes(),
            PartType::Binary(b) | PartType::InlineBinary(b) => b.into_owned(),
            // A nested message shares the outer one's buffer; its own
            // bytes are the span of its first part.
            PartType::Message(inner) => inner.raw_message().to_vec(),
            PartType::Multipart(_) => Vec::new(),
        };
        let size = data.len() as u64;
        let content = match keep_up_to(data, cap) {
            AttachmentContent::Kept(_) if kept_bytes + size > total => {
                dropped(size, format!("the message's kept attachments would pass {total} bytes"))
            }
            AttachmentContent::Kept(data) => {
                kept_bytes += size;
                AttachmentContent::Kept(data)
            }
            over_cap => over_cap,
        };
        files.listed.push(NewAttachment { name, content_type, content_id, inline, content });
    }
    files
}

/// `data` kept, or listed as dropped when it is larger than `cap` bytes.
pub fn keep_up_to(data: Vec<u8>, cap: u64) -> AttachmentContent {
    let size = data.len() as u64;
    if size > cap {
        dropped(size, format!("larger than the {cap}-byte cap for attachments"))
    } else {
        AttachmentContent::Kept(data)
    }
}

fn dropped(size: u64, reason: String) -> AttachmentContent {
    AttachmentContent::Dropped(DroppedFile { size, reason })
}

/// `type/subtype`, lowercase, or `application/octet-stream` when the
/// header's is not one.
fn media_type(kind: &str, sub: Option<&str>) -> String {
    let token = |t: &str| {
        !t.is_empty() && t.len() <= 127 && t.bytes().all(|b| b.is_ascii_alphanumeric() || b"!#$&-^_.+".contains(&b))
    };
    match sub {
        Some(sub) if token(kind) && token(sub) => format!("{kind}/{sub}").to_ascii_lowercase(),
        _ => "application/octet-stream".to_owned(),
    }
}

/// A file name the host takes: one line without path separators or
/// direction characters, at most 255 characters. A part without one is
/// named by its place and type (`attachment-2.png`); a forwarded message
/// by its subject.
fn name(given: Option<&str>, nested_subject: Option<&str>, n: usize, content_type: &str) -> String {
    let from = given.or(nested_subject.map(|s| s.trim()).filter(|s| !s.is_empty()));
    let mut cleaned: String = from
        .unwrap_or("")
        .chars()
        .filter(|c| !c.is_control() && !super::parse::is_bidi(*c))
        .map(|c| if c == '/' || c == '\\' { '_' } else { c })
        .collect::<String>()
        .trim()
        .chars()
        .take(MAX_NAME - 4)
        .collect();
    if cleaned.is_empty() {
        let ext = content_type.rsplit('/').next().filter(|e| e.len() <= 8).unwrap_or("bin");
        return format!("attachment-{}.{ext}", n + 1);
    }
    if nested_subject.is_some() && given.is_none() && !cleaned.to_ascii_lowercase().ends_with(".eml") {
        cleaned.push_str(".eml");
    }
    cleaned
}

/// A Content-ID without its angle brackets, when the host can keep it.
fn content_id(id: &str) -> Option<String> {
    let id = id.trim().trim_start_matches('<').trim_end_matches('>');
    (!id.is_empty() && id.len() <= 255 && id.bytes().all(|b| b.is_ascii_graphic())).then(|| id.to_owned())
}

#[cfg(test)]
mod tests {
    use mail_parser::MessageParser;

    use super::*;

    fn kept(a: &NewAttachment) -> Option<&[u8]> {
        match &a.content {
            AttachmentContent::Kept(d) => Some(d),
            AttachmentContent::Dropped(_) => None,
        }
    }

    const MIXED: &[u8] = b"From: a@x.example\r\nSubject: files\r\nMIME-Version: 1.0\r\n\
Content-Type: multipart/mixed; boundary=b1\r\n\r\n\
--b1\r\nContent-Type: multipart/related; boundary=b2\r\n\r\n\
--b2\r\nContent-Type: text/html; charset=utf-8\r\n\r\n<p>Look <img src=\"cid:logo@x\"></p>\r\n\
--b2\r\nContent-Type: image/png\r\nContent-ID: <logo@x>\r\nContent-Transfer-Encoding: base64\r\n\r\niVBORw0KGgo=\r\n--b2--\r\n\
--b1\r\nContent-Type: application/pdf; name=\"=?utf-8?B?0LfQstGW0YIucGRm?=\"\r\nContent-Disposition: attachment\r\nContent-Transfer-Encoding: base64\r\n\r\nJVBERi0xLjQK\r\n\
--b1\r\nContent-Type: application/zip\r\nContent-Disposition: attachment; filename=\"../../big.zip\"\r\n\r\n0123456789\r\n--b1--\r\n";

    #[test]
    fn attachments_and_inline_images_are_listed_and_big_ones_dropped() {
        let mut message = MessageParser::default().parse(MIXED).expect("parsed");
        let files = take(&mut message, 9);
        let names: Vec<_> = files.listed.iter().map(|a| a.name.as_str()).collect();
        assert_eq!(names, ["attachment-1.png", "звіт.pdf", ".._.._big.zip"]);
        let image = &files.listed[0];
        assert_eq!(
            (image.content_type.as_str(), image.inline, image.content_id.as_deref()),
            ("image/png", true, Some("logo@x"))
        );
        assert_eq!(kept(image), Some(&b"\x89PNG\r\n\x1a\n"[..]));
        assert_eq!(kept(&files.listed[1]), Some(&b"%PDF-1.4\n"[..]));
        assert!(!files.listed[1].inline);
        match &files.listed[2].content {
            AttachmentContent::Dropped(d) => {
                assert_eq!(d.size, 10);
                assert_eq!(d.reason, "larger than the 9-byte cap for attachments");
            }
            AttachmentContent::Kept(_) => panic!("over the cap and kept"),
        }
    }

    #[test]
    fn files_past_what_the_host_keeps_in_all_are_dropped_in_order() {
        let mut message = MessageParser::default().parse(MIXED).expect("parsed");
        // The image (8 bytes) and the PDF (9) fit in 20; the zip (10) not.
        let files = take_within(&mut message, 1000, 20);
        assert!(kept(&files.listed[0]).is_some() && kept(&files.listed[1]).is_some());
        match &files.listed[2].content {
            AttachmentContent::Dropped(d) => assert_eq!(d.reason, "the message's kept attachments would pass 20 bytes"),
            AttachmentContent::Kept(_) => panic!("past the total and kept"),
        }
    }

    #[test]
    fn files_past_the_hosts_count_are_counted_not_listed() {
        let mut raw = String::from("From: a@x.example\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n");
        for i in 0..=MAX_FILES {
            raw.push_str(&format!(
                "--b\r\nContent-Type: text/csv\r\nContent-Disposition: attachment; filename=\"{i}.csv\"\r\n\r\n{i}\r\n"
            ));
        }
        raw.push_str("--b--\r\n");
        let mut message = MessageParser::default().parse(raw.as_bytes()).expect("parsed");
        let files = take(&mut message, 1000);
        assert_eq!((files.listed.len(), files.unlisted), (MAX_FILES, 1));
        assert_eq!(files.listed[99].name, "99.csv");
    }

    #[test]
    fn a_forwarded_message_is_kept_whole_and_named_by_its_subject() {
        let raw = b"From: a@x.example\r\nSubject: fwd\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n\
--b\r\nContent-Type: text/plain\r\n\r\nSee below\r\n\
--b\r\nContent-Type: message/rfc822\r\n\r\nFrom: c@y.example\r\nSubject: Order 7\r\n\r\nHello\r\n--b--\r\n";
        let mut message = MessageParser::default().parse(&raw[..]).expect("parsed");
        let files = take(&mut message, 1000);
        assert_eq!(files.listed.len(), 1);
        assert_eq!(
            (files.listed[0].name.as_str(), files.listed[0].content_type.as_str()),
            ("Order 7.eml", "message/rfc822")
        );
        let data = kept(&files.listed[0]).expect("kept");
        assert!(data.starts_with(b"From: c@y.example"), "{:?}", String::from_utf8_lossy(data));
    }

    #[test]
    fn names_are_made_safe_for_the_host() {
        assert_eq!(name(Some(" a\u{202e}b/c\\d\t.txt "), None, 0, "text/plain"), "ab_c_d.txt");
        assert_eq!(name(Some("   "), None, 4, "image/jpeg"), "attachment-5.jpeg");
        assert_eq!(name(Some(&"x".repeat(400)), None, 0, "text/plain").chars().count(), 251);
        assert_eq!(media_type("Image", Some("PNG")), "image/png");
        assert_eq!(media_type("image", Some("png;x")), "application/octet-stream");
        assert_eq!(content_id("<a b>"), None);
    }
}
