//! HTML turned into plain text for the thread, in one linear pass: tags
//! dropped (script, style and head with their content), block ends made
//! line breaks, and character references decoded. The text is never
//! rendered as HTML, so nothing in it can run.

/// Elements whose content is not text a reader sees.
const HIDDEN: &[&str] = &["script", "style", "head", "title", "template", "noscript"];

/// Elements that end a line.
const BLOCKS: &[&str] = &[
    "p",
    "div",
    "br",
    "li",
    "tr",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "blockquote",
    "pre",
    "table",
    "ul",
    "ol",
    "hr",
    "section",
    "article",
    "header",
    "footer",
];

/// The text of `html`.
pub fn to_text(html: &str) -> String {
    let mut out = String::with_capacity(html.len() / 2);
    let mut rest = html;
    while let Some(at) = rest.find(['<', '&']) {
        out.push_str(&rest[..at]);
        rest = &rest[at..];
        if rest.starts_with('&') {
            let (text, used) = reference(rest);
            out.push_str(&text);
            rest = &rest[used..];
            continue;
        }
        // A comment ends at "-->", anything else at the next '>'.
        if let Some(comment) = rest.strip_prefix("<!--") {
            rest = comment.find("-->").map_or("", |end| &comment[end + 3..]);
            continue;
        }
        let Some(end) = rest.find('>') else {
            break;
        };
        let tag = &rest[1..end];
        rest = &rest[end + 1..];
        let closing = tag.starts_with('/');
        let name: String = tag
            .trim_start_matches('/')
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric())
            .map(|c| c.to_ascii_lowercase())
            .collect();
        if !closing && HIDDEN.contains(&name.as_str()) {
            rest = end_tag(rest, &name).map_or("", |at| &rest[at..]);
            continue;
        }
        // An image the mail carries inline is kept as a file of the entry;
        // the text says where it was.
        if !closing && name == "img" && attribute(tag, "src").is_some_and(|src| src.starts_with("cid:")) {
            match attribute(tag, "alt").map(str::trim).filter(|alt| !alt.is_empty()) {
                Some(alt) => out.push_str(&format!("[image: {alt}]")),
                None => out.push_str("[image]"),
            }
            continue;
        }
        if BLOCKS.contains(&name.as_str()) {
            out.push('\n');
        }
    }
    out.push_str(rest);
    tidy(&out)
}

/// Where the end tag of `name` starts in `text`, found without regard to
/// case. Each call reads only up to that tag, and the caller goes on from
/// there, so that a page of many hidden elements is still read once.
fn end_tag(text: &str, name: &str) -> Option<usize> {
    text.match_indices("</").map(|(at, _)| at).find(|&at| {
        text.as_bytes().get(at + 2..at + 2 + name.len()).is_some_and(|n| n.eq_ignore_ascii_case(name.as_bytes()))
    })
}

/// The value of attribute `name` in the text of a start tag, quoted or
/// not.
fn attribute<'t>(tag: &'t str, name: &str) -> Option<&'t str> {
    let bytes = tag.as_bytes();
    let mut from = 0;
    while let Some(found) = tag.get(from..).and_then(|t| find_ignoring_case(t, name)) {
        let at = from + found;
        from = at + name.len();
        // The name must stand alone: after white space, before '='.
        let before_ok = at > 0 && bytes[at - 1].is_ascii_whitespace();
        let value = tag[from..].trim_start();
        let Some(value) = value.strip_prefix('=').filter(|_| before_ok) else { continue };
        let value = value.trim_start();
        return Some(match value.chars().next() {
            Some(q @ ('"' | '\'')) => value[1..].split(q).next().unwrap_or(""),
            _ => value.split(|c: char| c.is_whitespace() || c == '/').next().unwrap_or(""),
        });
    }
    None
}

/// Where `needle` (ASCII) first occurs in `hay`, without regard to case.
fn find_ignoring_case(hay: &str, needle: &str) -> Option<usize> {
    hay.as_bytes().windows(needle.len()).position(|w| w.eq_ignore_ascii_case(needle.as_bytes()))
}

/// Decodes the character reference at the start of `text`; returns its
/// text and how many bytes it took. An unknown one stays as it is.
fn reference(text: &str) -> (String, usize) {
    let end = text.char_indices().take(12).find(|(_, c)| *c == ';').map(|(i, _)| i);
    let Some(end) = end else {
        return ("&".into(), 1);
    };
    let name = &text[1..end];
    let decoded = if let Some(number) = name.strip_prefix('#') {
        let code = match number.strip_prefix(['x', 'X']) {
            Some(hex) => u32::from_str_radix(hex, 16).ok(),
            None => number.parse().ok(),
        };
        code.and_then(char::from_u32).filter(|c| !c.is_control() || *c == '\n').map(String::from)
    } else {
        named(name).map(String::from)
    };
    match decoded {
        Some(text) => (text, end + 1),
        None => ("&".into(), 1),
    }
}

fn named(name: &str) -> Option<&'static str> {
    Some(match name {
        "lt" => "<",
        "gt" => ">",
        "amp" => "&",
        "quot" => "\"",
        "apos" => "'",
        "nbsp" => " ",
        "euro" => "€",
        "copy" => "©",
        "reg" => "®",
        "trade" => "™",
        "hellip" => "…",
        "mdash" => "—",
        "ndash" => "–",
        "laquo" => "«",
        "raquo" => "»",
        "lsquo" => "‘",
        "rsquo" => "’",
        "ldquo" => "“",
        "rdquo" => "”",
        "bull" => "•",
        "middot" => "·",
        "deg" => "°",
        "iexcl" => "¡",
        "iquest" => "¿",
        "ntilde" => "ñ",
        "Ntilde" => "Ñ",
        "aacute" => "á",
        "eacute" => "é",
        "iacute" => "í",
        "oacute" => "ó",
        "uacute" => "ú",
        "uuml" => "ü",
        _ => return None,
    })
}

/// Runs of spaces made one, lines trimmed, at most one empty line in a row.
fn tidy(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut blank = 0;
    for line in text.lines() {
        let line = line.split_whitespace().collect::<Vec<_>>().join(" ");
        if line.is_empty() {
            blank += 1;
            if blank > 1 || out.is_empty() {
                continue;
            }
        } else {
            blank = 0;
        }
        out.push_str(&line);
        out.push('\n');
    }
    out.trim_end().to_owned()
}

#[cfg(test)]
mod tests {
    use super::to_text;

    #[test]
    fn tags_go_and_blocks_break_lines() {
        assert_eq!(
            to_text("<p>Hello <b>team</b>,</p><p>the <i>checkout</i> fails.</p>"),
            "Hello team,\n\nthe checkout fails."
        );
    }

    #[test]
    fn scripts_styles_and_comments_leave_nothing() {
        let html = "<style>p{color:red}</style><p>Look</p><SCRIPT>alert(1)</SCRIPT><!-- <b>hidden</b> --><img src=x onerror=\"alert(2)\">";
        assert_eq!(to_text(html), "Look");
    }

    #[test]
    fn inline_images_leave_a_mark_and_others_nothing() {
        let html = "<p>Stamp: <IMG SRC=\"cid:stamp@x\" alt='Company stamp'> and <img src=cid:y> <img src=\"https://t.example/p.gif\"></p>";
        assert_eq!(to_text(html), "Stamp: [image: Company stamp] and [image]");
    }

    #[test]
    fn many_hidden_elements_are_read_in_one_pass() {
        // Each element is skipped from where the last one ended; reading
        // the rest of the page again for each would take minutes here.
        let html = "<STYLE>x</style>".repeat(30_000);
        let started = std::time::Instant::now();
        assert_eq!(to_text(&html), "");
        assert!(started.elapsed() < std::time::Duration::from_secs(5), "{:?}", started.elapsed());
    }

    #[test]
    fn references_are_decoded_once() {
        assert_eq!(
            to_text("Price &lt; 10 &amp; shipping &gt; 2 &euro; &#8364; &#x20AC; &amp;lt; &bogus; & x"),
            "Price < 10 & shipping > 2 € € € &lt; &bogus; & x"
        );
    }

    #[test]
    fn unclosed_markup_does_not_hang_or_panic() {
        // A '<' that never closes is text, shown as such.
        assert_eq!(to_text("a <b"), "a <b");
        assert_eq!(to_text("<script>never closed"), "");
        assert_eq!(to_text("&#99999999999;"), "&#99999999999;");
    }
}
