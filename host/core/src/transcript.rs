//! The text of a conversation as a ticket keeps it: one line per message,
//! with the time and who spoke, cut to what a ticket's description holds.

use crate::conversation::{ChatMessage, Speaker};

/// The most characters a transcript takes: a ticket's description limit,
/// less room for the note that says what was left out.
pub const MAX_TRANSCRIPT_LEN: usize = 99_000;

/// The longest title taken from the visitor's first message, in
/// characters.
const MAX_TITLE_FROM_MESSAGE: usize = 80;

/// Who a transcript line names as the speaker.
fn speaker_name(speaker: &Speaker) -> &str {
    match speaker {
        Speaker::Visitor => "Visitor",
        Speaker::Operator { name, .. } => name,
        Speaker::Bot => "Bot",
        Speaker::System => "System",
    }
}

/// The transcript of `messages`, oldest first: `[2026-12-03 10:15 UTC]
/// Anna: How can I help?`, a message's further lines indented under it.
/// When the whole does not fit in [`MAX_TRANSCRIPT_LEN`] characters, the
/// first messages are kept and a last line says how many were left out.
pub fn transcript(messages: &[ChatMessage]) -> String {
    let mut out = String::new();
    let mut used = 0;
    for (i, m) in messages.iter().enumerate() {
        let at = m.at.strftime("%Y-%m-%d %H:%M UTC");
        let body = m.body.replace('\n', "\n    ");
        let line = format!("[{at}] {}: {body}\n", speaker_name(&m.speaker));
        let len = line.chars().count();
        if used + len > MAX_TRANSCRIPT_LEN {
            let left = messages.len() - i;
            out.push_str(&format!("… {left} more message{} not shown\n", if left == 1 { "" } else { "s" }));
            break;
        }
        used += len;
        out.push_str(&line);
    }
    out
}

/// A ticket title for a conversation: `given` when it has text, else the
/// visitor's first message (its first line, cut short), else a title with
/// the conversation's number.
pub fn chat_title(given: &str, messages: &[ChatMessage], conversation: u64) -> String {
    let given = given.trim();
    if !given.is_empty() {
        return given.to_owned();
    }
    let first = messages.iter().find(|m| m.speaker == Speaker::Visitor).and_then(|m| m.body.lines().next());
    match first.map(str::trim).filter(|l| !l.is_empty()) {
        Some(line) if line.chars().count() > MAX_TITLE_FROM_MESSAGE => {
            let cut: String = line.chars().take(MAX_TITLE_FROM_MESSAGE - 1).collect();
            format!("{}…", cut.trim_end())
        }
        Some(line) => line.to_owned(),
        None => format!("Chat conversation #{conversation}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Expect, Timestamp};

    fn said(seq: u64, speaker: Speaker, body: &str) -> ChatMessage {
        let at = Timestamp::from_second(1_796_292_900 + seq as i64 * 60).expect("time");
        ChatMessage {
            conversation: 7,
            seq,
            speaker,
            body: body.into(),
            expect: Expect::Text,
            at,
            attachments: Vec::new(),
            delivery: None,
        }
    }

    #[test]
    fn each_message_is_a_line_with_time_and_speaker() {
        let messages = [
            said(1, Speaker::Bot, "Hello! What is it about?"),
            said(2, Speaker::Visitor, "My parcel\nis lost"),
            said(3, Speaker::Operator { id: 3, name: "Anna".into() }, "Let me look"),
        ];
        let text = transcript(&messages);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 4, "{text}");
        assert!(lines[0].ends_with("] Bot: Hello! What is it about?"), "{}", lines[0]);
        assert!(lines[0].starts_with("[2026-12-03 "), "{}", lines[0]);
        assert!(lines[1].ends_with("] Visitor: My parcel"));
        assert_eq!(lines[2], "    is lost");
        assert!(lines[3].ends_with("] Anna: Let me look"));
    }

    #[test]
    fn a_long_conversation_keeps_its_start_and_counts_the_rest() {
        let body = "x".repeat(3_900);
        let messages: Vec<ChatMessage> = (1..=40).map(|i| said(i, Speaker::Visitor, &body)).collect();
        let text = transcript(&messages);
        assert!(text.chars().count() <= MAX_TRANSCRIPT_LEN + 100);
        let kept = text.lines().filter(|l| l.contains("Visitor:")).count();
        assert!(text.ends_with(&format!("… {} more messages not shown\n", 40 - kept)), "{}", &text[text.len() - 60..]);
    }

    #[test]
    fn the_title_is_given_or_the_visitors_first_line() {
        let messages = [said(1, Speaker::Bot, "Hi"), said(2, Speaker::Visitor, "  Refund please \nfor order 7")];
        assert_eq!(chat_title(" Order 7 ", &messages, 7), "Order 7");
        assert_eq!(chat_title("", &messages, 7), "Refund please");
        assert_eq!(chat_title("", &messages[..1], 7), "Chat conversation #7");
        let long = [said(1, Speaker::Visitor, &"word ".repeat(40))];
        let title = chat_title("", &long, 7);
        assert!(title.ends_with('…') && title.chars().count() <= 80, "{title}");
    }
}
