//! Mail that must never open a ticket: automatic replies (which would
//! start a loop with our own automatic mails) and bounces.

use mail_parser::{Message, MimeHeaders};

/// Why a message is an automatic reply or list traffic, if it is one.
pub fn automatic(message: &Message<'_>) -> Option<String> {
    let header = |name: &str| message.header_raw(name).map(|v| v.trim().to_ascii_lowercase());
    if let Some(value) = header("Auto-Submitted")
        && value != "no"
    {
        return Some(format!("Auto-Submitted: {value}"));
    }
    if let Some(value) = header("Precedence")
        && matches!(value.as_str(), "bulk" | "junk" | "list")
    {
        return Some(format!("Precedence: {value}"));
    }
    for name in ["X-Autoreply", "X-Autorespond", "List-Id"] {
        if message.header_raw(name).is_some() {
            return Some(format!("{name} present"));
        }
    }
    None
}

/// Whether a message is a bounce: from the null sender or a mailer
/// daemon, or a delivery status report.
pub fn is_bounce(message: &Message<'_>, mail_from: &str) -> bool {
    if mail_from.trim().is_empty() {
        return true;
    }
    let local = mail_from.split('@').next().unwrap_or("").to_ascii_lowercase();
    if local == "mailer-daemon" || local == "postmaster" {
        return true;
    }
    message.root_part().content_type().is_some_and(|ct| {
        ct.ctype().eq_ignore_ascii_case("multipart")
            && ct.subtype().is_some_and(|s| s.eq_ignore_ascii_case("report"))
            && ct.attribute("report-type").is_some_and(|t| t.eq_ignore_ascii_case("delivery-status"))
    })
}

/// The Message-IDs a bounce names for the mail that bounced: those of an
/// attached original (`message/rfc822` or its headers), then the bounce's
/// own In-Reply-To and References.
pub fn bounced_ids(message: &Message<'_>) -> Vec<String> {
    let mut ids = Vec::new();
    for part in message.parts.iter() {
        if let Some(inner) = part.message() {
            ids.extend(inner.message_id().map(|id| format!("<{id}>")));
            continue;
        }
        let is_headers = part
            .content_type()
            .is_some_and(|ct| ct.subtype().is_some_and(|s| s.eq_ignore_ascii_case("rfc822-headers")));
        if is_headers && let Some(text) = part.text_contents() {
            ids.extend(message_id_line(text));
        }
    }
    ids
}

/// The Message-ID in a block of raw headers.
fn message_id_line(headers: &str) -> Option<String> {
    headers.lines().find_map(|line| {
        let (name, value) = line.split_once(':')?;
        if !name.trim().eq_ignore_ascii_case("message-id") {
            return None;
        }
        let id = value.trim().trim_start_matches('<').trim_end_matches('>');
        (!id.is_empty()).then(|| format!("<{id}>"))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use mail_parser::MessageParser;

    fn parsed(raw: &str) -> Message<'_> {
        MessageParser::default().parse(raw.as_bytes()).expect("message")
    }

    #[test]
    fn auto_replies_and_lists_are_named() {
        let base = "From: a@x.example\r\nSubject: Out of office\r\n";
        let auto = format!("{base}Auto-Submitted: auto-replied\r\n\r\nAway\r\n");
        assert_eq!(automatic(&parsed(&auto)).as_deref(), Some("Auto-Submitted: auto-replied"));
        let no = format!("{base}Auto-Submitted: no\r\n\r\nHello\r\n");
        assert_eq!(automatic(&parsed(&no)), None);
        let bulk = format!("{base}Precedence: Bulk\r\n\r\nNews\r\n");
        assert_eq!(automatic(&parsed(&bulk)).as_deref(), Some("Precedence: bulk"));
        let list = format!("{base}List-Id: <news.x.example>\r\n\r\nNews\r\n");
        assert_eq!(automatic(&parsed(&list)).as_deref(), Some("List-Id present"));
    }

    #[test]
    fn bounces_are_found_by_sender_and_by_report() {
        let plain = parsed("From: a@x.example\r\nSubject: hi\r\n\r\nHello\r\n");
        assert!(is_bounce(&plain, ""));
        assert!(is_bounce(&plain, "MAILER-DAEMON@mx.example"));
        assert!(!is_bounce(&plain, "a@x.example"));
        let report = parsed(
            "From: mx@x.example\r\nContent-Type: multipart/report; report-type=delivery-status; boundary=b\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\nfailed\r\n--b\r\nContent-Type: text/rfc822-headers\r\n\r\nMessage-ID: <orig@switchboard>\r\nSubject: x\r\n--b--\r\n",
        );
        assert!(is_bounce(&report, "mx@x.example"));
        assert_eq!(bounced_ids(&report), ["<orig@switchboard>"]);
    }
}
