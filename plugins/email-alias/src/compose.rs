//! Outgoing mail: the subject that threads an answer onto its ticket. The
//! message itself is composed by the SDK's `compose`.

pub use switchboard_sdk::compose::{Message as Outgoing, compose};

/// The subject of a mail on ticket `id`: its title, with `Re: ` and the
/// `[#id]` tag that threads the customer's answer even without headers.
pub fn subject(title: &str, id: u64) -> String {
    let tag = format!("[#{id}]");
    let title = if title.contains(&tag) { title.to_owned() } else { format!("{title} {tag}") };
    if title.to_ascii_lowercase().starts_with("re:") { title } else { format!("Re: {title}") }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subjects_get_re_and_the_tag_once() {
        assert_eq!(subject("Printer", 7), "Re: Printer [#7]");
        assert_eq!(subject("Re: Printer [#7]", 7), "Re: Printer [#7]");
    }

    #[test]
    fn a_reply_has_threading_headers_and_parses_back() {
        let refs = vec!["<a@x>".to_owned(), "<b@x>".to_owned()];
        let raw = compose(&Outgoing {
            from_name: "Служба підтримки",
            from: "care@help.example.com",
            to: "olena@customer.example",
            subject: "Re: Не працює принтер [#7]",
            message_id: "<reply-9.7@help.example.com>",
            references: &refs,
            date: "2026-12-02T21:05:09Z",
            body: "Добрий день!\nВже лагодимо.",
            automatic: false,
        })
        .expect("composed");
        let parsed = mail_parser::MessageParser::default().parse(&raw).expect("parses");
        assert_eq!(parsed.subject(), Some("Re: Не працює принтер [#7]"));
        assert_eq!(parsed.message_id(), Some("reply-9.7@help.example.com"));
        assert_eq!(parsed.in_reply_to().as_text(), Some("b@x"));
        assert_eq!(parsed.from().and_then(|a| a.first()).and_then(|a| a.name()), Some("Служба підтримки"));
        assert_eq!(parsed.body_text(0).as_deref(), Some("Добрий день!\r\nВже лагодимо."));
        assert!(parsed.header_raw("Auto-Submitted").is_none());
    }
}
