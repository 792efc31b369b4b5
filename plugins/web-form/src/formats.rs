//! Format checks for e-mail addresses, phone numbers and web addresses.
//! They are deliberately forgiving about what people really type and
//! strict about what cannot be delivered to.

/// Whether `text` looks like a deliverable e-mail address:
/// `local@domain.tld` with no spaces, and a domain of labels made of
/// letters, digits and `-`.
pub fn is_email(text: &str) -> bool {
    let Some((local, domain)) = text.rsplit_once('@') else {
        return false;
    };
    let local_ok = !local.is_empty()
        && local.len() <= 64
        && !local.starts_with('.')
        && !local.ends_with('.')
        && !local.contains("..")
        && local.chars().all(|c| c.is_alphanumeric() || "!#$%&'*+-/=?^_`{|}~.".contains(c));
    local_ok && is_domain(domain) && domain.contains('.')
}

/// Whether `text` is a host name of dot-separated labels.
fn is_domain(text: &str) -> bool {
    !text.is_empty()
        && text.len() <= 253
        && text.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label.chars().all(|c| c.is_alphanumeric() || c == '-')
        })
}

/// Whether `text` looks like an international phone number: `+` or `00`,
/// then 6 to 15 digits, with spaces, dots, dashes and parentheses allowed
/// between them as people write them. The host keeps numbers in E.164 and
/// cannot tell which country a national number (`020 7946 0958`) is in,
/// so the form asks for the country code.
pub fn is_phone(text: &str) -> bool {
    let Some(rest) = text.strip_prefix('+').or_else(|| text.strip_prefix("00")) else {
        return false;
    };
    let digits = rest.chars().filter(char::is_ascii_digit).count();
    (6..=15).contains(&digits) && rest.chars().all(|c| c.is_ascii_digit() || " .-()".contains(c))
}

/// Whether `text` is an `http` or `https` address with a host.
pub fn is_url(text: &str) -> bool {
    let lower = text.to_ascii_lowercase();
    let Some(rest) = lower.strip_prefix("https://").or_else(|| lower.strip_prefix("http://")) else {
        return false;
    };
    if text.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return false;
    }
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let host_port = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    let host = match host_port.rsplit_once(':') {
        Some((host, port)) if !host.ends_with(']') && port.chars().all(|c| c.is_ascii_digit()) => host,
        _ => host_port,
    };
    let bracketed_ip = host.starts_with('[') && host.ends_with(']') && host.len() > 2;
    bracketed_ip || is_domain(host)
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn emails() {
        for good in ["ann@example.com", "a.b+tag@mail.example.co.uk", "élan@exemple.fr"] {
            assert!(is_email(good), "{good}");
        }
        for bad in [
            "",
            "ann",
            "ann@",
            "@example.com",
            "ann@example",
            "a nn@example.com",
            "ann@exa mple.com",
            "ann..b@example.com",
            "ann@-example.com",
            "<script>@x.com",
            "ann@example..com",
        ] {
            assert!(!is_email(bad), "{bad}");
        }
    }

    #[test]
    fn phones() {
        for good in ["+380 44 123 4567", "+1 (201) 555-0123", "0044 20 7946 0958", "+1.201.555.0123"] {
            assert!(is_phone(good), "{good}");
        }
        let national = ["(201) 555-0123", "0441234567"];
        for bad in
            ["", "12345", "call me", "+", "555-CALL-NOW", "+1234567890123456", "++123456789"].iter().chain(&national)
        {
            assert!(!is_phone(bad), "{bad}");
        }
    }

    #[test]
    fn urls() {
        for good in ["https://example.com", "http://shop.example.com:8080/a?b=c#d", "https://[::1]/x"] {
            assert!(is_url(good), "{good}");
        }
        for bad in [
            "",
            "example.com",
            "javascript:alert(1)",
            "ftp://example.com",
            "https://",
            "https://exa mple.com",
            "https://<script>/",
        ] {
            assert!(!is_url(bad), "{bad}");
        }
    }

    proptest! {
        #[test]
        fn a_valid_email_never_has_spaces_or_angle_brackets(text in "\\PC{0,40}") {
            if is_email(&text) {
                prop_assert!(!text.contains(char::is_whitespace) && !text.contains(['<', '>']));
                prop_assert_eq!(text.matches('@').count(), 1);
            }
        }

        #[test]
        fn built_addresses_are_emails(local in "[a-z0-9]{1,20}", host in "[a-z0-9]{1,20}", tld in "[a-z]{2,6}") {
            let address = format!("{local}@{host}.{tld}");
            prop_assert!(is_email(&address));
        }

        #[test]
        fn phones_count_digits(digits in "[0-9]{6,15}", sep in "[ .-]?") {
            let spaced: String = digits.chars().flat_map(|c| [c].into_iter().chain(sep.chars())).collect();
            let international = format!("+{}", spaced.trim_end_matches(['.', '-', ' ']));
            prop_assert!(is_phone(&international), "{}", international);
        }
    }
}
