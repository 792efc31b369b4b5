//! Which rule of a channel applies to a visitor: rules with countries are
//! tried first, then the others, each group in the admin's order; the
//! first whose URL pattern, countries and operator condition all hold
//! wins. A channel without rules shows its button everywhere; one whose
//! rules all miss shows nothing.

use crate::settings::{ChatChannelSettings, Display, Rule, compile_pattern};

/// Where a visitor is.
#[derive(Debug, Clone, Default)]
pub struct Visit<'a> {
    /// The page's path (and query), such as `/shop/cart`.
    pub path: &'a str,
    /// Their country, ISO 3166 alpha-2, if known.
    pub country: Option<&'a str>,
}

/// The rule that applies, or a rule that hides the chat. `operators_online`
/// is asked only when a rule depends on it.
pub fn applicable(channel: &ChatChannelSettings, visit: &Visit<'_>, operators_online: impl FnOnce() -> bool) -> Rule {
    if channel.rules.is_empty() {
        return Rule::default();
    }
    let mut online = Some(operators_online);
    let mut known: Option<bool> = None;
    let with_countries = channel.rules.iter().filter(|r| !r.countries.is_empty());
    let without = channel.rules.iter().filter(|r| r.countries.is_empty());
    for rule in with_countries.chain(without) {
        if !matches_page(rule, visit) {
            continue;
        }
        if rule.only_if_no_operator {
            let someone = *known.get_or_insert_with(|| online.take().is_some_and(|ask| ask()));
            if someone {
                continue;
            }
        }
        return rule.clone();
    }
    Rule { display: Display::Hide, ..Rule::default() }
}

/// Whether a rule's countries and URL pattern hold for a visit. A pattern
/// that does not compile (settings are checked when saved, so only a
/// change of limits could cause it) matches nothing.
fn matches_page(rule: &Rule, visit: &Visit<'_>) -> bool {
    if !rule.countries.is_empty() {
        let Some(country) = visit.country else { return false };
        if !rule.countries.iter().any(|c| c.eq_ignore_ascii_case(country)) {
            return false;
        }
    }
    match &rule.url {
        None => true,
        Some(pattern) => compile_pattern(pattern).is_ok_and(|re| re.is_match(visit.path)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::settings::Settings;

    fn channel(rules: &str) -> ChatChannelSettings {
        let json =
            format!(r#"{{"channels": [{{"name": "Care", "rules": {rules}}}], "scripts": {{"a": [], "b": []}}}}"#);
        let settings: Settings = serde_json::from_str(&json).expect("parse");
        settings.check().expect("valid");
        settings.channels[0].clone()
    }

    fn display(c: &ChatChannelSettings, path: &str, country: Option<&str>, online: bool) -> Display {
        applicable(c, &Visit { path, country }, || online).display
    }

    #[test]
    fn the_first_matching_rule_in_order_wins() {
        let c = channel(
            r#"[{"url": "^/shop", "display": "open_automatically", "open_after": 5},
                {"url": "^/shop/cart", "display": "hide"},
                {"display": "show_with_notification"}]"#,
        );
        assert_eq!(display(&c, "/shop/cart", None, true), Display::OpenAutomatically);
        assert_eq!(applicable(&c, &Visit { path: "/shop", country: None }, || true).open_after, 5);
        assert_eq!(display(&c, "/blog", None, true), Display::ShowWithNotification);
    }

    #[test]
    fn rules_with_countries_are_tried_first() {
        let c = channel(
            r#"[{"display": "show"},
                {"countries": ["UA"], "display": "open_automatically", "script": "a"},
                {"countries": ["es"], "url": "^/tienda", "display": "hide"}]"#,
        );
        let ua = applicable(&c, &Visit { path: "/", country: Some("UA") }, || true);
        assert_eq!((ua.display, ua.script.as_deref()), (Display::OpenAutomatically, Some("a")));
        assert_eq!(display(&c, "/tienda/x", Some("ES"), true), Display::Hide, "country codes match in any case");
        assert_eq!(display(&c, "/other", Some("ES"), true), Display::Show, "the URL must match too");
        assert_eq!(display(&c, "/", None, true), Display::Show, "an unknown country matches no country rule");
    }

    #[test]
    fn only_if_no_operator_asks_once_and_only_when_needed() {
        let c = channel(r#"[{"only_if_no_operator": true, "script": "b"}, {"display": "show", "script": "a"}]"#);
        assert_eq!(applicable(&c, &Visit::default(), || false).script.as_deref(), Some("b"));
        assert_eq!(applicable(&c, &Visit::default(), || true).script.as_deref(), Some("a"));
        let plain = channel(r#"[{"display": "show"}]"#);
        let asked = std::cell::Cell::new(false);
        applicable(&plain, &Visit::default(), || {
            asked.set(true);
            true
        });
        assert!(!asked.get(), "no rule needed to know");
    }

    #[test]
    fn no_rules_show_everywhere_and_rules_that_miss_hide() {
        assert_eq!(display(&channel("[]"), "/anything", None, false), Display::Show);
        assert_eq!(display(&channel(r#"[{"url": "^/help"}]"#), "/shop", None, false), Display::Hide);
    }

    proptest::proptest! {
        /// Whatever the path, matching ends and answers one of the rules'
        /// displays or hides.
        #[test]
        fn any_path_gets_an_answer(path in "\\PC{0,300}", country in proptest::option::of("[A-Z]{2}")) {
            let c = channel(r#"[{"url": "^/(a|b)+$", "display": "hide"}, {"countries": ["UA"]}, {"url": "x"}]"#);
            let got = display(&c, &path, country.as_deref(), false);
            proptest::prop_assert!(matches!(got, Display::Hide | Display::Show));
        }
    }
}
