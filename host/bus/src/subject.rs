//! Subjects and patterns, with NATS's rules, so that the in-process bus
//! matches exactly what NATS would.

use crate::BusError;

/// Checks a subject (`wildcards` false) or pattern (`wildcards` true):
/// non-empty dot-separated tokens without spaces; in a pattern, `*` as a
/// token and `>` as the last token.
pub(crate) fn check(subject: &str, wildcards: bool) -> Result<(), BusError> {
    let invalid = |reason| Err(BusError::InvalidSubject { subject: subject.to_owned(), reason });
    if subject.is_empty() {
        return invalid("is empty");
    }
    let tokens: Vec<&str> = subject.split('.').collect();
    for (i, token) in tokens.iter().enumerate() {
        if token.is_empty() {
            return invalid("has an empty token");
        }
        if token.chars().any(|c| c.is_whitespace()) {
            return invalid("contains whitespace");
        }
        let wild = *token == "*" || *token == ">";
        if wild && !wildcards {
            return invalid("a published subject cannot hold wildcards");
        }
        if *token == ">" && i + 1 != tokens.len() {
            return invalid("\">\" must be the last token");
        }
        if !wild && (token.contains('*') || token.contains('>')) {
            return invalid("a wildcard must be a token of its own");
        }
    }
    Ok(())
}

/// Whether `subject` matches `pattern`.
pub fn matches(pattern: &str, subject: &str) -> bool {
    let mut subject_tokens = subject.split('.');
    for token in pattern.split('.') {
        match token {
            ">" => return subject_tokens.next().is_some(),
            "*" => {
                if subject_tokens.next().is_none() {
                    return false;
                }
            }
            literal => {
                if subject_tokens.next() != Some(literal) {
                    return false;
                }
            }
        }
    }
    subject_tokens.next().is_none()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns_match_as_nats_matches_them() {
        assert!(matches("plugins.changed", "plugins.changed"));
        assert!(!matches("plugins.changed", "plugins.changed.x"));
        assert!(matches("plugins.*", "plugins.changed"));
        assert!(!matches("plugins.*", "plugins"));
        assert!(!matches("plugins.*", "plugins.a.b"));
        assert!(matches("chat.>", "chat.7.message"));
        assert!(!matches("chat.>", "chat"));
        assert!(matches("*.x.>", "a.x.b.c"));
    }

    #[test]
    fn bad_subjects_are_named() {
        assert!(check("plugins.changed", false).is_ok());
        assert!(check("plugins.*", true).is_ok());
        for (bad, wildcards) in
            [("", true), ("a..b", true), ("a.*", false), ("a.>.b", true), ("a b", true), ("a*", true)]
        {
            let err = check(bad, wildcards).expect_err(bad).to_string();
            assert!(err.starts_with(&format!("invalid subject \"{bad}\"")), "{err}");
        }
    }
}
