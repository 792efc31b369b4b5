//! Arbitrary bytes as a WhatsApp webhook notification: decoding must not
//! panic, and whatever it keeps must have the shape the channel relies on
//! (a sender of digits, an id, a text no longer than a message holds).
#![no_main]

#[allow(dead_code, missing_docs)]
#[path = "../../plugins/whatsapp/src/webhook.rs"]
mod webhook;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let Ok(notification) = webhook::decode(data) else { return };
    for change in &notification.changes {
        for m in &change.messages {
            assert!(webhook::is_wa_id(&m.from), "sender {:?}", m.from);
            assert!(!m.id.is_empty() && m.id.len() <= 200);
            assert!(m.text.chars().count() <= webhook::MAX_TEXT);
            if let Some(media) = &m.media {
                assert!(!media.filename.contains(['/', '\\']), "file name {:?}", media.filename);
            }
        }
        for (wa_id, _) in &change.profiles {
            assert!(webhook::is_wa_id(wa_id));
        }
    }
});
