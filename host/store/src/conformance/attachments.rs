//! Files of thread entries: listed with the entry, their content kept
//! apart and read back byte for byte, dropped ones listed but not stored.

use switchboard_core::{AttachmentContent, AttachmentDraft, Author, MessageDraft, MessageKind};

use super::{Harness, at, durable, open_ticket, with_team};
use crate::StoreError;

/// A file kept with its content.
fn kept(name: &str, content_type: &str, data: Vec<u8>) -> AttachmentDraft {
    AttachmentDraft {
        name: name.into(),
        content_type: content_type.into(),
        content_id: None,
        inline: false,
        content: AttachmentContent::Kept(data.into()),
    }
}

/// A customer message with a folded quote, a PDF, an inline image and a
/// file the channel dropped.
fn mail_entry(pdf: &[u8]) -> MessageDraft {
    let mut draft = MessageDraft::new(MessageKind::Customer, Author::System, "Thanks, see the scan.");
    draft.full_body = Some("Thanks, see the scan.\n\n> On Monday you wrote:\n> hello".into());
    let mut image = kept("logo.png", "image/png", vec![0x89, b'P', b'N', b'G']);
    image.content_id = Some("logo@example.com".into());
    image.inline = true;
    let mut dropped = kept("huge.iso", "application/octet-stream", Vec::new());
    dropped.content =
        AttachmentContent::Dropped { size: 40_000_000, reason: "larger than the 10000000-byte cap".into() };
    draft.attachments = vec![kept("scan.pdf", "application/pdf", pdf.to_vec()), image, dropped];
    draft
}

/// The entry lists its files (the dropped one with why) and keeps its
/// whole text; each kept file's content comes back byte for byte, also
/// after a restart; a dropped file, a place past the list and another
/// ticket's entry are told apart.
pub async fn attachments_are_listed_and_read_back<H: Harness>() {
    let mut h = H::new().await;
    // Every byte value, and more than one page of them.
    let pdf: Vec<u8> = (0..70_000u32).map(|i| (i % 251) as u8).collect();
    let (ticket, other, message) = {
        let store = h.store();
        with_team(&*store, "Ops").await;
        let ticket = open_ticket(&*store, "ops", "t").await.id;
        let other = open_ticket(&*store, "ops", "u").await.id;
        let message = durable(store.append_message(ticket, mail_entry(&pdf), at(1), None).await).await;
        let listed: Vec<_> = message.attachments.iter().map(|a| (a.name.as_str(), a.size, a.inline)).collect();
        assert_eq!(listed, [("scan.pdf", 70_000, false), ("logo.png", 4, true), ("huge.iso", 40_000_000, false)]);
        assert_eq!(message.attachments[2].dropped.as_deref(), Some("larger than the 10000000-byte cap"));
        assert_eq!(message.attachments[1].content_id.as_deref(), Some("logo@example.com"));
        (ticket, other, message.id)
    };
    h.restart().await;
    let store = h.store();
    let thread = store.messages(ticket).await.expect("thread");
    let entry = thread.iter().find(|m| m.id == message).expect("entry after restart");
    assert_eq!(entry.body, "Thanks, see the scan.");
    assert!(entry.full_body.as_deref().is_some_and(|f| f.contains("On Monday you wrote")));
    assert_eq!(entry.attachments.len(), 3);
    let (listed, data) = store.attachment(ticket, message, 0).await.expect("pdf");
    assert_eq!((listed.name.as_str(), data.len()), ("scan.pdf", 70_000));
    assert!(data == pdf, "the content differs from what was stored");
    assert_eq!(store.attachment(ticket, message, 1).await.expect("image").1, [0x89, b'P', b'N', b'G']);
    for index in [2, 3] {
        let err = store.attachment(ticket, message, index).await.expect_err("no content");
        assert!(matches!(err, StoreError::UnknownAttachment { index: i, .. } if i == index), "{err}");
    }
    let err = store.attachment(other, message, 0).await.expect_err("another ticket's entry");
    assert!(matches!(err, StoreError::UnknownMessage { .. }), "{err}");
    let err = store.attachment(other + 100, message, 0).await.expect_err("no such ticket");
    assert!(matches!(err, StoreError::UnknownTicket(_)), "{err}");
}

/// A file that breaks a rule refuses the whole entry: no entry, no
/// content, and the error names the file and the field.
pub async fn a_bad_file_refuses_the_whole_entry<H: Harness>() {
    let h = H::new().await;
    let store = h.store();
    with_team(&*store, "Ops").await;
    let ticket = open_ticket(&*store, "ops", "t").await.id;
    let before = store.messages(ticket).await.expect("thread").len();
    let mut draft = mail_entry(b"%PDF");
    draft.attachments[1].name = "../../etc/passwd".into();
    let err = store.append_message(ticket, draft, at(1), None).await.expect_err("bad name");
    assert!(err.to_string().contains("[1].name"), "{err}");
    assert_eq!(store.messages(ticket).await.expect("thread").len(), before);
}
