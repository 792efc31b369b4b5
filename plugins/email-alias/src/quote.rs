//! Folding the quoted history below a reply.
//!
//! Mail clients append the conversation so far below a reply: Gmail,
//! Thunderbird and Apple Mail as an attribution line ("On … wrote:") and
//! `>` lines, Outlook as a separator ("-----Original Message-----", or a
//! rule of underscores) and a header block (From:, Sent:, To:, Subject:).
//! The thread already has that history, so the entry shows the new text
//! only; the whole text stays with the entry for whoever needs it.
//!
//! The rules only fold what is below the new text. Answers written between
//! quoted lines (inline replies) are kept: a quote is folded only when
//! nothing but quotes follows it. A forwarded message is not a quote, and
//! a message that is all quote is shown whole.

/// Phrases that end an attribution line, in the languages of the seeds'
/// users and the common clients.
const ATTRIBUTIONS: [&str; 9] =
    ["wrote:", "escribió:", "пише:", "написав:", "написала:", "написал(а):", "schrieb:", "a écrit :", "a écrit:"];

/// Separators Outlook and others put above the original message.
const SEPARATORS: [&str; 5] = [
    "-----original message-----",
    "-----mensaje original-----",
    "-----ursprüngliche nachricht-----",
    "-----вихідне повідомлення-----",
    "-----исходное сообщение-----",
];

/// Markers above a forwarded message, whose text is the point of the mail.
const FORWARDS: [&str; 6] = [
    "forwarded message",
    "begin forwarded message",
    "mensaje reenviado",
    "пересланий лист",
    "переслане повідомлення",
    "пересланное сообщение",
];

/// Header names that start the block Outlook puts above the original.
const FROM_HEADERS: [&str; 4] = ["from:", "de:", "від:", "от:"];
/// Header names that follow From: in that block.
const DATE_HEADERS: [&str; 5] = ["sent:", "date:", "enviado:", "fecha:", "надіслано:"];

/// `text` split into what the thread shows and, when something was
/// folded away, the whole text.
pub fn fold(text: &str) -> (String, Option<String>) {
    let lines: Vec<&str> = text.lines().collect();
    let Some(start) = history_start(&lines) else {
        return (text.to_owned(), None);
    };
    let shown = lines[..start].join("\n").trim_end().to_owned();
    if shown.trim().is_empty() {
        return (text.to_owned(), None);
    }
    (shown, Some(text.to_owned()))
}

/// The first line of the quoted history, if the text ends with one.
fn history_start(lines: &[&str]) -> Option<usize> {
    let quoted = |l: &str| l.trim_start().starts_with('>');
    let blank = |l: &str| l.trim().is_empty();
    // Only quotes (and blank lines) from `i` on.
    let mut only_quotes_from = vec![false; lines.len() + 1];
    only_quotes_from[lines.len()] = true;
    let mut any_quote_from = vec![false; lines.len() + 1];
    for i in (0..lines.len()).rev() {
        only_quotes_from[i] = only_quotes_from[i + 1] && (quoted(lines[i]) || blank(lines[i]));
        any_quote_from[i] = any_quote_from[i + 1] || quoted(lines[i]);
    }
    for (i, line) in lines.iter().enumerate() {
        let lower = line.trim().to_lowercase();
        // What follows a forward marker is the forwarded message itself.
        if FORWARDS.iter().any(|f| lower.contains(f)) {
            return None;
        }
        if is_separator(&lower, lines.get(i + 1..).unwrap_or(&[])) {
            return Some(i);
        }
        if is_header_block(lines, i) {
            return Some(i);
        }
        // An attribution, on one line or wrapped onto the next, with only
        // quotes below it.
        if ATTRIBUTIONS.iter().any(|a| lower.ends_with(a)) && any_quote_from[i + 1] && only_quotes_from[i + 1] {
            let wrapped = i > 0 && !blank(lines[i - 1]) && !quoted(lines[i - 1]) && is_attribution_head(lines[i - 1]);
            return Some(if wrapped { i - 1 } else { i });
        }
        if quoted(line) && only_quotes_from[i] {
            return Some(i);
        }
    }
    None
}

/// A separator line: Outlook's "Original Message", or a long rule of
/// underscores followed by a From: header.
fn is_separator(lower: &str, below: &[&str]) -> bool {
    let squeezed: String = lower.chars().filter(|c| !c.is_whitespace()).collect();
    if SEPARATORS.iter().any(|s| squeezed.contains(&s.replace(' ', ""))) {
        return true;
    }
    lower.len() >= 20
        && lower.chars().all(|c| c == '_')
        && below.iter().take(2).any(|l| FROM_HEADERS.iter().any(|h| l.trim().to_lowercase().starts_with(h)))
}

/// Outlook's header block without a separator: a From: line with a Sent:
/// or Date: line right below.
fn is_header_block(lines: &[&str], i: usize) -> bool {
    let starts = |l: &str, names: &[&str]| {
        let l = l.trim().to_lowercase();
        names.iter().any(|n| l.starts_with(n))
    };
    i > 0
        && starts(lines[i], &FROM_HEADERS)
        && lines.get(i + 1).is_some_and(|l| starts(l, &DATE_HEADERS))
        && lines[..i].iter().any(|l| !l.trim().is_empty())
}

/// The first half of an attribution a client wrapped: "On Mon, 1 Jan
/// 2026 at 10:00, Ann <ann@example.com>" above "wrote:".
fn is_attribution_head(line: &str) -> bool {
    let lower = line.trim().to_lowercase();
    ["on ", "el ", "am ", "le "].iter().any(|p| lower.starts_with(p)) || lower.contains('@')
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn shown(text: &str) -> String {
        fold(text).0
    }

    #[test]
    fn gmail_style_history_is_folded_and_kept() {
        let text =
            "Still broken.\n\nOn Mon, 1 Dec 2026 at 10:00, Care <care@help.example> wrote:\n> Try again\n>\n> > older";
        let (body, full) = fold(text);
        assert_eq!(body, "Still broken.");
        assert_eq!(full.as_deref(), Some(text));
    }

    #[test]
    fn a_wrapped_attribution_goes_with_its_quote() {
        let text = "Thanks\n\nOn Mon, 1 Dec 2026 at 10:00, Care Team <care@help.example>\nwrote:\n> Try again";
        assert_eq!(shown(text), "Thanks");
    }

    #[test]
    fn spanish_and_ukrainian_attributions_fold() {
        assert_eq!(shown("Gracias\n\nEl lun, 1 dic 2026, Soporte escribió:\n> Hola"), "Gracias");
        assert_eq!(shown("Дякую\n\n1 груд. 2026 о 10:00 Підтримка <care@help.example> пише:\n> Вітаємо"), "Дякую");
    }

    #[test]
    fn outlook_separators_and_header_blocks_fold() {
        assert_eq!(
            shown("Works now\n\n-----Original Message-----\nFrom: Care\nSent: Monday\n\nTry again"),
            "Works now"
        );
        assert_eq!(shown("Ya funciona\n-----Mensaje original-----\nDe: Soporte"), "Ya funciona");
        assert_eq!(shown("Ok\n\n________________________________\nFrom: Care <care@help.example>\nSent: Monday"), "Ok");
        assert_eq!(shown("Ok\n\nFrom: Care <care@help.example>\nSent: Monday, 1 December\nTo: Ann"), "Ok");
    }

    #[test]
    fn inline_answers_forwards_and_all_quote_messages_stay_whole() {
        let inline = "On Mon, Care wrote:\n> What model?\nA T-1000.\n> Which year?\n2026.";
        assert_eq!(fold(inline), (inline.to_owned(), None));
        let forward = "FYI\n\n---------- Forwarded message ---------\nFrom: Ann <ann@x.example>\nDate: Mon\n\nHello";
        assert_eq!(fold(forward), (forward.to_owned(), None));
        let all_quote = "> just a quote\n> nothing else";
        assert_eq!(fold(all_quote), (all_quote.to_owned(), None));
        assert_eq!(fold("plain text\nno history"), ("plain text\nno history".to_owned(), None));
    }

    proptest! {
        /// Folding never invents text: what is shown is the start of the
        /// text, and the whole text is kept whenever anything was folded.
        #[test]
        fn the_shown_text_is_a_prefix_and_the_whole_is_kept(
            lines in proptest::collection::vec("(> ?)?[a-zA-Z:@ -]{0,30}", 0..30)
        ) {
            let text = lines.join("\n");
            let (body, full) = fold(&text);
            match full {
                Some(full) => {
                    prop_assert_eq!(&full, &text);
                    prop_assert!(text.starts_with(&body));
                    prop_assert!(!body.trim().is_empty());
                }
                None => prop_assert_eq!(body, text),
            }
        }
    }
}
