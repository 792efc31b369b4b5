//! Files that come with a thread entry, such as an e-mail's attachments
//! and the images its HTML shows inline.
//!
//! A thread entry lists every file that came with it. The content of a
//! kept file is stored apart from the entry (a thread is read often, its
//! files seldom); a file the channel did not keep, because it was larger
//! than the channel's cap, is listed with the reason, so an agent knows it
//! existed and can ask for it another way.

use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::CoreError;
use crate::text::line_problem;

/// The most files one thread entry lists, kept or dropped.
pub const MAX_ATTACHMENTS: usize = 100;

/// The most bytes the kept files of one thread entry hold together: the
/// size of the largest e-mail the SMTP listener takes by default.
pub const MAX_ATTACHMENT_BYTES: u64 = 25 * 1024 * 1024;

/// The longest file name, in characters.
const MAX_FILE_NAME_LEN: usize = 255;

/// The longest content type or Content-ID, in bytes.
const MAX_TOKEN_LEN: usize = 255;

/// A file of a thread entry, as the thread lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Attachment {
    /// The file's name, as the sender gave it.
    pub name: String,
    /// Its media type, lowercase, such as `image/png`.
    pub content_type: String,
    /// Its size in bytes.
    pub size: u64,
    /// The Content-ID an HTML body refers to it by (`cid:…`), if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content_id: Option<String>,
    /// Whether it was shown inside the message (an inline image) rather
    /// than attached to it.
    #[serde(default)]
    pub inline: bool,
    /// Why it was not kept, if it was not; its content cannot be fetched.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dropped: Option<String>,
}

/// A file a caller gives with a new thread entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttachmentDraft {
    /// The file's name.
    pub name: String,
    /// Its media type.
    pub content_type: String,
    /// The Content-ID an HTML body refers to it by, if any.
    pub content_id: Option<String>,
    /// Whether it was shown inside the message.
    pub inline: bool,
    /// What became of its content: kept, or dropped with a reason.
    pub content: AttachmentContent,
}

/// The content of a file given with a thread entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AttachmentContent {
    /// The bytes, kept with the entry. Shared, because a store may run a
    /// write more than once and must not copy megabytes each time.
    Kept(Arc<[u8]>),
    /// Not kept: its size and why.
    Dropped {
        /// Its size in bytes, as far as the caller knows it.
        size: u64,
        /// Why it was not kept, such as "larger than the 10000000-byte cap".
        reason: String,
    },
}

impl AttachmentDraft {
    /// The bytes to keep, if the file is kept.
    pub fn data(&self) -> Option<&Arc<[u8]>> {
        match &self.content {
            AttachmentContent::Kept(data) => Some(data),
            AttachmentContent::Dropped { .. } => None,
        }
    }
}

/// Checks the files of a new entry and lists them as the thread will.
/// Every rule is checked before anything is stored, and names where it
/// failed (`attachments: [2].name must not be empty`).
pub fn check_attachments(drafts: &[AttachmentDraft]) -> Result<Vec<Attachment>, CoreError> {
    if drafts.len() > MAX_ATTACHMENTS {
        return Err(CoreError::invalid("attachments", format!("lists more than {MAX_ATTACHMENTS} files")));
    }
    let kept: u64 = drafts.iter().filter_map(|d| d.data()).map(|d| d.len() as u64).sum();
    if kept > MAX_ATTACHMENT_BYTES {
        return Err(CoreError::invalid(
            "attachments",
            format!("keep {kept} bytes in all, more than the {MAX_ATTACHMENT_BYTES} allowed"),
        ));
    }
    drafts.iter().enumerate().map(|(i, d)| check_one(i, d)).collect()
}

fn check_one(index: usize, draft: &AttachmentDraft) -> Result<Attachment, CoreError> {
    let at = |what: &str, problem: String| CoreError::invalid("attachments", format!("[{index}].{what} {problem}"));
    let name = draft.name.trim();
    if name.is_empty() {
        return Err(at("name", "must not be empty".to_owned()));
    }
    if let Some(problem) = line_problem(name, MAX_FILE_NAME_LEN) {
        return Err(at("name", problem));
    }
    if name.contains(['/', '\\']) {
        return Err(at("name", format!("must not contain a path separator (\"{name}\")")));
    }
    let content_type = draft.content_type.trim().to_ascii_lowercase();
    if !is_media_type(&content_type) {
        return Err(at("content_type", format!("\"{}\" is not a media type such as image/png", draft.content_type)));
    }
    if let Some(id) = &draft.content_id
        && (id.is_empty() || id.len() > MAX_TOKEN_LEN || !id.bytes().all(|b| b.is_ascii_graphic()))
    {
        return Err(at("content_id", format!("\"{id}\" is not 1 to {MAX_TOKEN_LEN} printable ASCII characters")));
    }
    let (size, dropped) = match &draft.content {
        AttachmentContent::Kept(data) => (data.len() as u64, None),
        AttachmentContent::Dropped { size, reason } => {
            let reason = reason.trim();
            if reason.is_empty() {
                return Err(at("dropped", "needs a reason".to_owned()));
            }
            if let Some(problem) = line_problem(reason, MAX_FILE_NAME_LEN) {
                return Err(at("dropped", problem));
            }
            (*size, Some(reason.to_owned()))
        }
    };
    Ok(Attachment {
        name: name.to_owned(),
        content_type,
        size,
        content_id: draft.content_id.clone(),
        inline: draft.inline,
        dropped,
    })
}

/// True for `type/subtype` made of RFC 6838 name characters, without
/// parameters.
fn is_media_type(s: &str) -> bool {
    let token = |t: &str| {
        !t.is_empty() && t.len() <= 127 && t.bytes().all(|b| b.is_ascii_alphanumeric() || b"!#$&-^_.+".contains(&b))
    };
    matches!(s.split_once('/'), Some((kind, sub)) if token(kind) && token(sub))
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn kept(name: &str, content_type: &str, data: &[u8]) -> AttachmentDraft {
        AttachmentDraft {
            name: name.to_owned(),
            content_type: content_type.to_owned(),
            content_id: None,
            inline: false,
            content: AttachmentContent::Kept(data.into()),
        }
    }

    #[test]
    fn kept_files_are_listed_with_their_size_and_dropped_ones_with_why() {
        let mut dropped = kept("big.iso", "application/octet-stream", b"");
        dropped.content = AttachmentContent::Dropped { size: 90_000_000, reason: "too big".to_owned() };
        let listed = check_attachments(&[kept(" a.pdf ", "Application/PDF", b"%PDF-1.4"), dropped]).expect("accepted");
        assert_eq!(
            (listed[0].name.as_str(), listed[0].content_type.as_str(), listed[0].size),
            ("a.pdf", "application/pdf", 8)
        );
        assert_eq!(listed[0].dropped, None);
        assert_eq!((listed[1].size, listed[1].dropped.as_deref()), (90_000_000, Some("too big")));
    }

    #[test]
    fn each_rule_names_the_file_and_the_field() {
        let cases = [
            (kept("", "text/plain", b"x"), "attachments: [0].name must not be empty"),
            (kept("../etc/passwd", "text/plain", b"x"), "path separator"),
            (kept("gnp\u{202E}exe", "image/png", b"x"), "U+202E"),
            (kept("a.txt", "text", b"x"), "\"text\" is not a media type"),
            (kept("a.txt", "text/plain; charset=utf-8", b"x"), "attachments: [0].content_type"),
        ];
        for (draft, expected) in cases {
            let err = check_attachments(&[draft]).expect_err("refused").to_string();
            assert!(err.contains(expected), "{err} lacks {expected}");
        }
        let mut with_id = kept("a.png", "image/png", b"x");
        with_id.content_id = Some("has space".to_owned());
        assert!(check_attachments(&[with_id]).expect_err("refused").to_string().contains("content_id"));
    }

    #[test]
    fn the_count_and_the_kept_bytes_are_capped() {
        let many: Vec<_> = (0..=MAX_ATTACHMENTS).map(|i| kept(&format!("{i}.txt"), "text/plain", b"x")).collect();
        assert!(check_attachments(&many).expect_err("refused").to_string().contains("more than 100 files"));
        let half = vec![0u8; (MAX_ATTACHMENT_BYTES / 2 + 1) as usize];
        let err = check_attachments(&[kept("a", "a/b", &half), kept("b", "a/b", &half)]).expect_err("refused");
        assert!(err.to_string().contains("more than the 26214400 allowed"), "{err}");
    }

    proptest! {
        #[test]
        fn a_checked_name_is_one_clean_line(name in "\\PC{0,300}") {
            if let Ok(listed) = check_attachments(&[kept(&name, "text/plain", b"")]) {
                let n = &listed[0].name;
                prop_assert!(!n.is_empty() && n.chars().count() <= MAX_FILE_NAME_LEN);
                prop_assert!(!n.chars().any(|c| c.is_control() || c == '/' || c == '\\'));
            }
        }
    }
}
