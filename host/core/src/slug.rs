//! Team slugs and e-mail alias local parts.

use crate::CoreError;

/// The longest slug, so that the default alias stays a valid local part.
pub const MAX_SLUG_LEN: usize = 63;

/// Turns a team name into a slug: lowercase ASCII letters and digits joined
/// by single hyphens. Letters outside ASCII are transliterated first, so
/// "Atención al cliente" gives `atencion-al-cliente` and "Підтримка" gives
/// `pidtrimka`. The result may be empty when the name has no letters or
/// digits at all; callers must refuse that.
pub fn slugify(name: &str) -> String {
    let ascii = deunicode::deunicode(name);
    let mut slug = String::with_capacity(ascii.len());
    let mut pending_hyphen = false;
    for c in ascii.chars() {
        if c.is_ascii_alphanumeric() {
            if pending_hyphen && !slug.is_empty() {
                slug.push('-');
            }
            pending_hyphen = false;
            slug.push(c.to_ascii_lowercase());
        } else {
            pending_hyphen = true;
        }
    }
    if slug.len() > MAX_SLUG_LEN {
        slug.truncate(MAX_SLUG_LEN);
        while slug.ends_with('-') {
            slug.pop();
        }
    }
    slug
}

/// Checks that `slug` is already in the form [`slugify`] produces.
pub fn validate_slug(slug: &str) -> Result<(), CoreError> {
    if slug.is_empty() {
        return Err(CoreError::invalid("slug", "must not be empty"));
    }
    if slugify(slug) != slug {
        return Err(CoreError::invalid(
            "slug",
            format!(
                "\"{slug}\" is not a slug; use lowercase letters, digits and single hyphens, at most {MAX_SLUG_LEN} characters"
            ),
        ));
    }
    Ok(())
}

/// Checks that `alias` is a valid e-mail local part (RFC 5322 dot-atom, at
/// most 64 characters) and returns it lowercased, because aliases are
/// compared without regard to case.
pub fn validate_local_part(alias: &str) -> Result<String, CoreError> {
    let invalid = |why: &str| CoreError::invalid("alias", format!("\"{alias}\" {why}"));
    if alias.is_empty() {
        return Err(CoreError::invalid("alias", "must not be empty"));
    }
    if alias.len() > 64 {
        return Err(invalid("is longer than 64 characters"));
    }
    if alias.starts_with('.') || alias.ends_with('.') || alias.contains("..") {
        return Err(invalid("has a dot at the start, at the end or twice in a row"));
    }
    if let Some(bad) = alias.chars().find(|&c| !is_atext(c) && c != '.') {
        return Err(invalid(&format!("contains '{bad}', which is not allowed in an e-mail local part")));
    }
    Ok(alias.to_ascii_lowercase())
}

/// RFC 5322 `atext`: the characters allowed in a dot-atom besides the dot.
fn is_atext(c: char) -> bool {
    c.is_ascii_alphanumeric() || "!#$%&'*+-/=?^_`{|}~".contains(c)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn slug_from_name() {
        assert_eq!(slugify("Customer Care"), "customer-care");
        assert_eq!(slugify("  Billing & Payments!! "), "billing-payments");
        assert_eq!(slugify("Atención al cliente"), "atencion-al-cliente");
        assert_eq!(slugify("Підтримка"), "pidtrimka");
        assert_eq!(slugify("!!!"), "");
    }

    #[test]
    fn local_part_rules() {
        assert_eq!(validate_local_part("Support.Team"), Ok("support.team".into()));
        assert!(validate_local_part("a..b").is_err());
        assert!(validate_local_part(".a").is_err());
        assert!(validate_local_part("a b").is_err());
        assert!(validate_local_part("a@b").is_err());
        assert!(validate_local_part(&"a".repeat(65)).is_err());
        assert!(validate_local_part("").is_err());
        let err = validate_local_part("sales team").expect_err("space").to_string();
        assert!(err.contains("\"sales team\""), "{err}");
    }

    proptest! {
        #[test]
        fn slugs_are_well_formed(name in "\\PC{0,80}") {
            let slug = slugify(&name);
            prop_assert!(slug.len() <= MAX_SLUG_LEN);
            prop_assert!(!slug.starts_with('-') && !slug.ends_with('-') && !slug.contains("--"));
            prop_assert!(slug.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-'));
            // Slugifying is idempotent, and every non-empty slug is a valid alias.
            prop_assert_eq!(slugify(&slug), slug.clone());
            if !slug.is_empty() {
                prop_assert_eq!(validate_local_part(&slug), Ok(slug.clone()));
                prop_assert!(validate_slug(&slug).is_ok());
            }
        }
    }
}
