//! Plain-text e-mail as RFC 5322 bytes, for the `mail` import: headers
//! (display names and subjects as RFC 2047 encoded words when they are not
//! ASCII), then the text as UTF-8 in base64 lines. Any plugin that sends
//! mail composes with it: a mail channel's replies, a robot's mail.

use crate::PluginError;

/// A message to compose.
pub struct Message<'a> {
    /// The team's name, shown with its address.
    pub from_name: &'a str,
    /// The team's address.
    pub from: &'a str,
    /// The customer's address.
    pub to: &'a str,
    /// The subject, with the ticket's tag.
    pub subject: &'a str,
    /// The Message-ID, in angle brackets.
    pub message_id: &'a str,
    /// The ids it answers, oldest first, in angle brackets.
    pub references: &'a [String],
    /// When it was written, RFC 3339.
    pub date: &'a str,
    /// The text.
    pub body: &'a str,
    /// Whether a person wrote it (`false` marks it `Auto-Submitted`).
    pub automatic: bool,
}

/// The message's bytes: headers, then the text as UTF-8 in base64 lines.
pub fn compose(m: &Message<'_>) -> Result<Vec<u8>, PluginError> {
    for (name, value) in [("from", m.from), ("to", m.to)] {
        if value.is_empty() || value.chars().any(|c| c.is_control() || c.is_whitespace() || c == '<' || c == '>') {
            return Err(PluginError::Permanent(format!("{name} address \"{value}\" is not usable in a mail")));
        }
    }
    let mut out = String::new();
    let mut header = |name: &str, value: &str| {
        out.push_str(name);
        out.push_str(": ");
        out.push_str(value);
        out.push_str("\r\n");
    };
    header("From", &format!("{} <{}>", encode_phrase(m.from_name), m.from));
    header("To", &format!("<{}>", m.to));
    header("Subject", &encode_words(m.subject));
    header("Date", &rfc2822(m.date));
    header("Message-ID", m.message_id);
    if let Some(last) = m.references.last() {
        header("In-Reply-To", last);
        header("References", &m.references.join("\r\n "));
    }
    if m.automatic {
        header("Auto-Submitted", "auto-replied");
    }
    header("MIME-Version", "1.0");
    header("Content-Type", "text/plain; charset=utf-8");
    header("Content-Transfer-Encoding", "base64");
    out.push_str("\r\n");
    let body = m.body.replace("\r\n", "\n").replace('\n', "\r\n");
    let encoded = base64(body.as_bytes());
    for line in encoded.as_bytes().chunks(76) {
        out.push_str(std::str::from_utf8(line).unwrap_or_default());
        out.push_str("\r\n");
    }
    Ok(out.into_bytes())
}

/// A display name as a quoted string, or as encoded words when it is not
/// plain ASCII.
fn encode_phrase(name: &str) -> String {
    let name: String = name.chars().filter(|c| !c.is_control()).collect();
    if name.is_ascii() {
        format!("\"{}\"", name.replace('\\', "\\\\").replace('"', "\\\""))
    } else {
        encode_words(&name)
    }
}

/// A header text as RFC 2047 encoded words when it is not plain ASCII,
/// each word short enough for a header line.
fn encode_words(text: &str) -> String {
    let text: String = text.chars().filter(|c| !c.is_control()).collect();
    if text.is_ascii() {
        return text;
    }
    let mut words = Vec::new();
    let mut chunk = String::new();
    for c in text.chars() {
        if chunk.len() + c.len_utf8() > 45 {
            words.push(format!("=?UTF-8?B?{}?=", base64(chunk.as_bytes())));
            chunk.clear();
        }
        chunk.push(c);
    }
    if !chunk.is_empty() {
        words.push(format!("=?UTF-8?B?{}?=", base64(chunk.as_bytes())));
    }
    words.join("\r\n ")
}

/// Standard base64 with padding.
pub fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [chunk[0], *chunk.get(1).unwrap_or(&0), *chunk.get(2).unwrap_or(&0)];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// An RFC 3339 UTC time (`2026-12-02T21:05:09.123Z`) as RFC 2822's date
/// (`Wed, 02 Dec 2026 21:05:09 +0000`); the text as it is if it is not one.
pub fn rfc2822(rfc3339: &str) -> String {
    let parse = |from: usize, len: usize| rfc3339.get(from..from + len).and_then(|s| s.parse::<i64>().ok());
    let (Some(y), Some(mo), Some(d), Some(h), Some(mi), Some(s)) =
        (parse(0, 4), parse(5, 2), parse(8, 2), parse(11, 2), parse(14, 2), parse(17, 2))
    else {
        return rfc3339.to_owned();
    };
    if !(1..=12).contains(&mo) {
        return rfc3339.to_owned();
    }
    // Days since 1970-01-01 by the civil-from-days inverse (H. Hinnant).
    let (yy, mm) = if mo <= 2 { (y - 1, mo + 9) } else { (y, mo - 3) };
    let era = yy.div_euclid(400);
    let yoe = yy - era * 400;
    let doy = (153 * mm + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    const WEEKDAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
    const MONTHS: [&str; 12] = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
    let weekday = WEEKDAYS[days.rem_euclid(7) as usize];
    format!("{weekday}, {d:02} {} {y} {h:02}:{mi:02}:{s:02} +0000", MONTHS[(mo - 1) as usize])
}

/// A time as RFC 3339 UTC (`2026-12-02T21:05:09Z`), from seconds since
/// 1970: what [`Message::date`] takes. `now_rfc3339()` gives the present.
pub fn rfc3339(unix_seconds: u64) -> String {
    let days = i64::try_from(unix_seconds / 86_400).unwrap_or(i64::MAX / 2);
    let secs = unix_seconds % 86_400;
    // Civil date from days since 1970-01-01 (H. Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!("{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z", secs / 3600, secs / 60 % 60, secs % 60)
}

/// The present as RFC 3339 UTC, from the clock the host gives the plugin.
pub fn now_rfc3339() -> String {
    let since = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
    rfc3339(since.as_secs())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_become_rfc_2822() {
        assert_eq!(rfc2822("2026-12-02T21:05:09.123Z"), "Wed, 02 Dec 2026 21:05:09 +0000");
        assert_eq!(rfc2822("2000-02-29T00:00:00Z"), "Tue, 29 Feb 2000 00:00:00 +0000");
        assert_eq!(rfc2822("1970-01-01T00:00:00Z"), "Thu, 01 Jan 1970 00:00:00 +0000");
        assert_eq!(rfc2822("garbage"), "garbage");
    }

    #[test]
    fn seconds_become_rfc_3339_and_back_to_rfc_2822() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(rfc3339(1_796_245_509), "2026-12-02T21:05:09Z");
        assert_eq!(rfc2822(&rfc3339(1_796_245_509)), "Wed, 02 Dec 2026 21:05:09 +0000");
    }

    #[test]
    fn base64_matches_rfc_4648_vectors() {
        let cases = [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("fooba", "Zm9vYmE="),
            ("foobar", "Zm9vYmFy"),
        ];
        for (plain, encoded) in cases {
            assert_eq!(base64(plain.as_bytes()), encoded);
        }
    }

    #[test]
    fn a_bad_address_is_refused() {
        let m = Message {
            from_name: "Care",
            from: "care@help.example",
            to: "a b@x.example",
            subject: "Hi",
            message_id: "<1@help.example>",
            references: &[],
            date: "2026-12-02T21:05:09Z",
            body: "Hi",
            automatic: true,
        };
        assert_eq!(
            compose(&m),
            Err(PluginError::Permanent("to address \"a b@x.example\" is not usable in a mail".into()))
        );
    }
}
