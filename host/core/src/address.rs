//! E-mail addresses and phone numbers: the keys a customer is found by.
//!
//! Every channel must turn one person's address into one key, whatever
//! spelling it arrived in, or one person becomes two contacts. A phone
//! number is kept in E.164 (`+442079460958`), read with the `phonenumber`
//! crate (libphonenumber's rules and metadata); an e-mail address keeps its
//! local part and gets its domain lowercased and in Unicode, so that
//! `ann@BÜCHER.de` and `ann@xn--bcher-kva.de` are one address.

use phonenumber::Mode;

use crate::error::CoreError;

/// The longest phone number text read; a longer one is refused before it
/// is parsed.
const MAX_PHONE_TEXT: usize = 64;

/// The longest e-mail address (RFC 5321 path limit).
const MAX_EMAIL_LEN: usize = 254;

/// Normalizes an e-mail address for storage and lookup: trimmed, one `@`,
/// a non-empty local part without spaces, and a dotted domain that is a
/// valid international domain name. The domain is lowercased and shown in
/// Unicode; the local part is lowercased too, as every mail system in use
/// treats it.
pub fn normalize_email(address: &str) -> Result<String, CoreError> {
    normalize(address, true)
}

/// Normalizes a mailbox of this server's own: as [`normalize_email`], but
/// the domain may be a single label, as the default mail domain
/// `localhost` is. For senders of mail and the `mail:` capability, which
/// name the server's own aliases, not customers' addresses.
pub fn normalize_mailbox(address: &str) -> Result<String, CoreError> {
    normalize(address, false)
}

fn normalize(address: &str, dotted: bool) -> Result<String, CoreError> {
    let trimmed = address.trim();
    let bad = |why: &str| CoreError::invalid("email", format!("\"{trimmed}\" {why}"));
    if trimmed.len() > MAX_EMAIL_LEN {
        return Err(bad(&format!("is longer than {MAX_EMAIL_LEN} bytes")));
    }
    let Some((local, domain)) = trimmed.rsplit_once('@') else {
        return Err(bad("has no @"));
    };
    if local.is_empty() || local.len() > 64 {
        return Err(bad("has an empty or too long local part"));
    }
    if local.chars().any(|c| c.is_whitespace() || c.is_control() || c == '@' || c == '<' || c == '>') {
        return Err(bad("has a space or a forbidden character before the @"));
    }
    let ascii = idna::domain_to_ascii(domain).map_err(|_| bad("does not have a valid domain"))?;
    let labels_ok = ascii.split('.').all(|label| {
        !label.is_empty()
            && label.len() <= 63
            && !label.starts_with('-')
            && !label.ends_with('-')
            && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
    });
    if (dotted && !ascii.contains('.')) || !labels_ok || ascii.len() > 253 {
        return Err(bad("does not have a valid domain"));
    }
    let (unicode, _) = idna::domain_to_unicode(&ascii);
    Ok(format!("{}@{unicode}", local.to_lowercase()))
}

/// Normalizes a phone number to E.164 for storage and lookup.
///
/// A number with `+` or `00` in front is read as international. A number
/// without either is read as international digits, as WhatsApp's `wa_id`
/// and many SMS gateways send them (`15551234567`), but only when that
/// makes a valid number: a national number such as `020 7946 0958` cannot
/// be told apart from a foreign one, so it is refused with a request for
/// its country code.
pub fn normalize_phone(number: &str) -> Result<String, CoreError> {
    let raw = number.trim();
    let bad = |why: &str| CoreError::invalid("phone", format!("\"{raw}\" {why}"));
    if raw.len() > MAX_PHONE_TEXT {
        return Err(bad(&format!("is longer than {MAX_PHONE_TEXT} bytes")));
    }
    let ask_for_country = "needs its country code after a +, such as +44 20 7946 0958";
    let (text, explicit) = match raw.strip_prefix("00") {
        Some(rest) => (format!("+{rest}"), true),
        None if raw.starts_with('+') || raw.starts_with("tel:") => (raw.to_owned(), true),
        None if raw.starts_with('0') => return Err(bad(ask_for_country)),
        None => (format!("+{raw}"), false),
    };
    // Letters are refused, although libphonenumber reads "1-800-FLOWERS":
    // a customer's number is stored as digits, never as a word.
    let after_scheme = text.strip_prefix("tel:").unwrap_or(&text);
    if let Some(c) = after_scheme.chars().find(|c| c.is_alphabetic() && !matches!(c, 'x' | 'X')) {
        return Err(bad(&format!("contains '{c}'")));
    }
    let parsed = phonenumber::parse(None, &text).map_err(|_| bad(ask_for_country))?;
    if !explicit && !phonenumber::is_valid(&parsed) {
        return Err(bad(ask_for_country));
    }
    let e164 = parsed.format().mode(Mode::E164).to_string();
    let digits = e164.trim_start_matches('+').len();
    if !(5..=15).contains(&digits) {
        return Err(bad("must have 5 to 15 digits"));
    }
    Ok(e164)
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn emails_are_normalized_and_checked() {
        assert_eq!(normalize_email("  Ann@Example.COM "), Ok("ann@example.com".into()));
        for bad in ["ann", "@example.com", "ann@", "ann@example", "a b@example.com", "ann@exa_mple.com", "a@-x.com"] {
            assert!(normalize_email(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn international_domains_are_one_address_in_any_spelling() {
        assert_eq!(normalize_email("Ann@Bücher.DE"), Ok("ann@bücher.de".into()));
        assert_eq!(normalize_email("ann@xn--bcher-kva.de"), Ok("ann@bücher.de".into()));
        assert_eq!(normalize_email("олена@приклад.укр"), Ok("олена@приклад.укр".into()));
    }

    #[test]
    fn phones_become_e164() {
        assert_eq!(normalize_phone("+1 (201) 555-0123"), Ok("+12015550123".into()));
        assert_eq!(normalize_phone("0044 20 7946 0958"), Ok("+442079460958".into()));
        assert_eq!(normalize_phone("+44 (0)20 7946 0958"), Ok("+442079460958".into()), "the trunk 0 goes");
        assert_eq!(normalize_phone("tel:+380-44-123-4567"), Ok("+380441234567".into()));
        for bad in ["12", "555-CALL-NOW", "1+2345678", "+999 1234567", "020 7946 0958", ""] {
            assert!(normalize_phone(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_whatsapp_id_and_the_same_number_with_a_plus_are_one_key() {
        // WhatsApp's wa_id is the number's digits without the +.
        assert_eq!(normalize_phone("12015550123"), normalize_phone("+1 (201) 555-0123"));
        assert_eq!(normalize_phone("12015550123"), Ok("+12015550123".into()));
        // Digits that make no valid number are not guessed at.
        assert!(normalize_phone("15551234567").is_err());
        assert_eq!(normalize_phone("380441234567"), normalize_phone("+380 44 123 4567"));
        assert_eq!(normalize_phone("447911123456"), Ok("+447911123456".into()));
    }

    #[test]
    fn the_refusal_says_what_to_do() {
        let err = normalize_phone("020 7946 0958").expect_err("national");
        assert!(err.to_string().contains("needs its country code after a +"), "{err}");
    }

    proptest! {
        #[test]
        fn phone_normalization_is_idempotent(raw in "[+]?[0-9 ().-]{0,24}") {
            if let Ok(once) = normalize_phone(&raw) {
                prop_assert_eq!(normalize_phone(&once), Ok(once.clone()));
            }
        }

        #[test]
        fn email_normalization_is_idempotent(local in "[A-Za-z0-9._+-]{1,20}", domain in "[A-Za-z0-9]{1,10}\\.[A-Za-z]{2,6}") {
            let once = normalize_email(&format!("{local}@{domain}")).expect("valid");
            prop_assert_eq!(normalize_email(&once), Ok(once.clone()));
        }
    }

    #[test]
    fn a_mailbox_of_our_own_may_have_a_single_label_domain() {
        assert_eq!(normalize_mailbox("Care@LocalHost").expect("mailbox"), "care@localhost");
        assert!(normalize_email("care@localhost").is_err(), "a customer's address needs a dotted domain");
        assert!(normalize_mailbox("care@").is_err());
        assert!(normalize_mailbox("ca re@localhost").is_err());
    }
}
