//! What the channel needs from a raw message: subject, sender, the ids
//! that thread it, its text, and the headers that mark it as automatic.

use mail_parser::{Message, MessageParser};

/// The longest title the host keeps, in characters.
const MAX_TITLE: usize = 300;
/// The longest description or thread entry the host keeps, in characters.
const MAX_TEXT: usize = 100_000;
/// The most thread ids read from In-Reply-To and References: a thread
/// deeper than this still matches on its latest ids, which come last.
const MAX_REFS: usize = 50;
/// The longest Message-ID kept as a key (the host's key limit).
const MAX_ID: usize = 512;

/// Who wrote a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sender {
    /// The display name, if any.
    pub name: Option<String>,
    /// The address, lowercase.
    pub address: String,
}

/// A parsed message.
pub struct Parsed<'a> {
    /// The parser's view, for the checks in `noise`.
    pub message: Message<'a>,
    /// The subject, cleaned for a title; may be empty.
    pub subject: String,
    /// The sender from From, else the envelope's reverse path.
    pub sender: Option<Sender>,
    /// The Message-ID, in angle brackets.
    pub message_id: Option<String>,
    /// The ids this message answers (In-Reply-To, then References, newest
    /// first), in angle brackets.
    pub refs: Vec<String>,
    /// The text body; an HTML-only body turned into text.
    pub text: String,
}

/// Parses `raw`; `None` when it is not a message at all.
pub fn parse<'a>(raw: &'a [u8], mail_from: &str) -> Option<Parsed<'a>> {
    let message = MessageParser::default().parse(raw)?;
    if message.headers().is_empty() {
        return None;
    }
    let subject = clean_line(message.subject().unwrap_or(""), MAX_TITLE);
    let sender = sender(&message, mail_from);
    let message_id = message.message_id().and_then(bracketed);
    let mut refs: Vec<String> = Vec::new();
    let answered = message.in_reply_to().as_text_list().map(<[_]>::to_vec).unwrap_or_default();
    let mut thread = message.references().as_text_list().map(<[_]>::to_vec).unwrap_or_default();
    if let Some(single) = message.in_reply_to().as_text() {
        refs.extend(bracketed(single));
    }
    if let Some(single) = message.references().as_text() {
        thread.push(single.to_owned().into());
    }
    refs.extend(answered.iter().filter_map(|id| bracketed(id)));
    refs.extend(thread.iter().rev().filter_map(|id| bracketed(id)));
    let mut seen = std::collections::HashSet::new();
    refs.retain(|id| seen.insert(id.clone()));
    refs.truncate(MAX_REFS);
    let text = body_text(&message);
    Some(Parsed { message, subject, sender, message_id, refs, text })
}

/// The text body. An HTML-only body is turned into text here, not by the
/// parser, which leaves some character references encoded.
fn body_text(message: &Message<'_>) -> String {
    let html_only = message.text_part(0).is_some_and(|p| p.is_text_html());
    let text = if html_only {
        message.body_html(0).map(|html| super::html::to_text(&html))
    } else {
        message.body_text(0).map(|t| t.into_owned())
    };
    text.map(|t| clean_text(&t)).unwrap_or_default()
}

fn sender(message: &Message<'_>, mail_from: &str) -> Option<Sender> {
    let from = message.from().and_then(|a| a.first());
    let address = from.and_then(|a| a.address()).map(str::to_owned).or_else(|| {
        let envelope = mail_from.trim();
        (!envelope.is_empty()).then(|| envelope.to_owned())
    })?;
    let address = address.trim().to_lowercase();
    if !address.contains('@') || address.len() > 320 {
        return None;
    }
    let name = from.and_then(|a| a.name()).map(|n| clean_line(n, 200)).filter(|n| !n.is_empty());
    Some(Sender { name, address })
}

/// An id in angle brackets, as it appears in headers; `None` for an empty
/// or oversized one.
fn bracketed(id: &str) -> Option<String> {
    let id = id.trim().trim_start_matches('<').trim_end_matches('>');
    if id.is_empty() || id.len() + 2 > MAX_ID || id.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return None;
    }
    Some(format!("<{id}>"))
}

/// Whether `c` is a bidirectional formatting character, which could make
/// a title read differently from what it holds.
pub fn is_bidi(c: char) -> bool {
    matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' | '\u{200e}' | '\u{200f}' | '\u{061c}')
}

/// One line for a title or a name: control and direction characters
/// dropped, runs of white space made one space, at most `max` characters.
pub fn clean_line(text: &str, max: usize) -> String {
    let mut out = String::new();
    for word in text.split(|c: char| c.is_whitespace() || c.is_control()) {
        let word: String = word.chars().filter(|c| !is_bidi(*c) && !c.is_control()).collect();
        if word.is_empty() {
            continue;
        }
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(&word);
    }
    out.chars().take(max).collect()
}

/// Text for the thread: line breaks kept, other control and direction
/// characters dropped, at most the host's length.
pub fn clean_text(text: &str) -> String {
    let text = text.replace("\r\n", "\n");
    text.chars()
        .filter(|c| (*c == '\n' || *c == '\t' || !c.is_control()) && !is_bidi(*c))
        .take(MAX_TEXT)
        .collect::<String>()
        .trim()
        .to_owned()
}

/// The ticket number a subject names as `[#123]`, if any.
pub fn subject_tag(subject: &str) -> Option<u64> {
    let mut rest = subject;
    while let Some(at) = rest.find("[#") {
        rest = &rest[at + 2..];
        let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
        if !digits.is_empty() && rest[digits.len()..].starts_with(']') {
            return digits.parse().ok();
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_subject_tag_is_found_anywhere_and_only_when_well_formed() {
        assert_eq!(subject_tag("Re: Broken printer [#42]"), Some(42));
        assert_eq!(subject_tag("[#x] [#7] [#8]"), Some(7));
        assert_eq!(subject_tag("[#12 missing"), None);
        assert_eq!(subject_tag("#12"), None);
        assert_eq!(subject_tag("[#99999999999999999999999]"), None);
    }

    #[test]
    fn titles_lose_control_and_direction_characters() {
        assert_eq!(clean_line("  Hello\r\n\tworld\u{202e}!  ", 300), "Hello world!");
        assert_eq!(clean_line(&"é".repeat(400), 300).chars().count(), 300);
    }

    #[test]
    fn thread_ids_come_newest_first_without_repeats() {
        let raw = b"From: a@x.example\r\nSubject: Re: hi\r\nMessage-ID: <3@x>\r\nIn-Reply-To: <2@x>\r\nReferences: <1@x> <2@x>\r\n\r\nbody\r\n";
        let parsed = parse(raw, "").expect("parsed");
        assert_eq!(parsed.refs, ["<2@x>", "<1@x>"]);
        assert_eq!(parsed.message_id.as_deref(), Some("<3@x>"));
        assert_eq!(parsed.sender.map(|s| s.address).as_deref(), Some("a@x.example"));
    }
}
