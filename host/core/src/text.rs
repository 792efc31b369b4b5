//! Rules for the one-line texts people read in lists: names and titles.
//!
//! A name or title is shown in boards, notifications and e-mail subjects,
//! next to other text. Control characters (NUL, ESC, TAB) break terminals,
//! logs and CSV exports, and the bidirectional formatting characters
//! (U+202A to U+202E, U+2066 to U+2069) let a name display as something
//! else than it is ("gnp.exe" shown as "exe.png"). Both are refused.
//! Letters from any script stay allowed, including look-alikes such as a
//! Cyrillic "ѕ": telling those apart is the reader's job, as everywhere else.

use crate::error::CoreError;

/// The longest name, in characters.
pub const MAX_NAME_LEN: usize = 200;

/// True for the characters that change the display direction of the text
/// that follows them: embeddings, overrides and isolates.
pub fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

/// Why a one-line text is refused, if it is: the text to put after the
/// field's name.
pub fn line_problem(text: &str, max_len: usize) -> Option<String> {
    let mut count = 0;
    for c in text.chars() {
        count += 1;
        if c.is_control() {
            return Some(format!("must not contain control characters (found U+{:04X})", u32::from(c)));
        }
        if is_bidi_control(c) {
            return Some(format!(
                "must not contain bidirectional formatting characters (found U+{:04X})",
                u32::from(c)
            ));
        }
    }
    (count > max_len).then(|| format!("is longer than {max_len} characters"))
}

/// Checks a display name and returns it trimmed.
pub fn clean_name(field: &'static str, name: &str) -> Result<String, CoreError> {
    let name = name.trim();
    if name.is_empty() {
        return Err(CoreError::invalid(field, "must not be empty"));
    }
    match line_problem(name, MAX_NAME_LEN) {
        Some(problem) => Err(CoreError::invalid(field, problem)),
        None => Ok(name.to_owned()),
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn control_and_direction_characters_are_refused_with_their_code() {
        for (name, code) in
            [("a\0b", "U+0000"), ("a\u{1b}[31m", "U+001B"), ("a\tb", "U+0009"), ("gnp\u{202E}exe", "U+202E")]
        {
            let err = clean_name("name", name).expect_err(name);
            assert!(err.to_string().contains(code), "{err}");
        }
        assert!(clean_name("name", "\u{2067}x").is_err());
    }

    #[test]
    fn other_scripts_and_look_alikes_are_names() {
        // A Cyrillic "ѕ" looks like a Latin "s". It is a letter, and a
        // name may use it; the slug made from it differs visibly.
        assert_eq!(clean_name("name", " ѕupport ").as_deref(), Ok("ѕupport"));
        assert_eq!(clean_name("name", "دعم العملاء").as_deref(), Ok("دعم العملاء"));
    }

    #[test]
    fn length_counts_characters_not_bytes() {
        assert!(clean_name("name", &"é".repeat(MAX_NAME_LEN)).is_ok());
        assert!(clean_name("name", &"é".repeat(MAX_NAME_LEN + 1)).is_err());
    }

    proptest! {
        #[test]
        fn a_kept_name_has_no_control_or_direction_character(name in "\\PC{0,20}[\\x00-\\x1f\\u{202a}-\\u{202e}]?\\PC{0,20}") {
            if let Ok(kept) = clean_name("name", &name) {
                prop_assert!(!kept.chars().any(|c| c.is_control() || is_bidi_control(c)));
                prop_assert_eq!(kept.as_str(), name.trim());
            }
        }
    }
}
