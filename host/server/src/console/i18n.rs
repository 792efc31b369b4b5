//! The consoles' texts in English, Ukrainian and Spanish.
//!
//! Each language is one flat JSON catalog, key to text, with `{name}`
//! for values filled in at run time. English is the reference: a test
//! fails when another catalog misses one of its keys or has one it lacks,
//! and when a page or script uses a key English lacks. The language is
//! the user's choice (the `sb_lang` cookie the language picker sets), or
//! else the first the browser asks for that a catalog exists for.

use std::collections::BTreeMap;
use std::sync::OnceLock;

use axum::http::HeaderMap;

/// A language the consoles speak.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Lang {
    /// English, the reference catalog.
    En,
    /// Ukrainian.
    Uk,
    /// Spanish.
    Es,
}

/// Every language, in the order the picker lists them.
pub(crate) const LANGS: [Lang; 3] = [Lang::En, Lang::Uk, Lang::Es];

/// The cookie a user's choice of language is kept in.
pub(crate) const LANG_COOKIE: &str = "sb_lang";

impl Lang {
    /// Its code, as in `lang="…"`.
    pub(crate) fn code(self) -> &'static str {
        match self {
            Lang::En => "en",
            Lang::Uk => "uk",
            Lang::Es => "es",
        }
    }

    /// The language a code names (`uk`, `es-MX`), if there is a catalog.
    pub(crate) fn from_code(code: &str) -> Option<Lang> {
        let primary = code.split(['-', '_']).next().unwrap_or("").trim().to_ascii_lowercase();
        LANGS.into_iter().find(|l| l.code() == primary)
    }

    /// The catalog's source text.
    fn source(self) -> &'static str {
        match self {
            Lang::En => include_str!("i18n/en.json"),
            Lang::Uk => include_str!("i18n/uk.json"),
            Lang::Es => include_str!("i18n/es.json"),
        }
    }

    /// The catalog. The files are part of the build and checked by the
    /// tests, so one that does not parse is a build mistake; it would show
    /// keys in place of texts rather than fail a request.
    pub(crate) fn catalog(self) -> &'static BTreeMap<String, String> {
        &loaded()[self as usize].0
    }

    /// The catalog as compact JSON, for the pages' scripts: made once, not
    /// for every page.
    pub(crate) fn catalog_json(self) -> &'static str {
        &loaded()[self as usize].1
    }

    /// The text of `key`, or the key itself if the catalog lacks it.
    pub(crate) fn text(self, key: &str) -> &str {
        self.catalog().get(key).map_or(key, String::as_str)
    }
}

/// Every catalog, parsed, with its JSON for the scripts.
fn loaded() -> &'static [(BTreeMap<String, String>, String); 3] {
    static CATALOGS: OnceLock<[(BTreeMap<String, String>, String); 3]> = OnceLock::new();
    CATALOGS.get_or_init(|| {
        LANGS.map(|l| {
            let catalog: BTreeMap<String, String> = serde_json::from_str(l.source()).unwrap_or_default();
            let json = serde_json::to_string(&catalog).unwrap_or_default();
            (catalog, json)
        })
    })
}

/// The language for a request: the user's choice, else the browser's
/// first acceptable one by weight, else English.
pub(crate) fn negotiate(headers: &HeaderMap) -> Lang {
    if let Some(chosen) = super::session::cookie(headers, LANG_COOKIE).and_then(Lang::from_code) {
        return chosen;
    }
    let accept = headers.get(axum::http::header::ACCEPT_LANGUAGE).and_then(|h| h.to_str().ok()).unwrap_or("");
    let mut offers: Vec<(u16, usize, Lang)> = accept
        .split(',')
        .take(32)
        .enumerate()
        .filter_map(|(place, item)| {
            let mut parts = item.split(';');
            let lang = Lang::from_code(parts.next()?)?;
            let weight = parts
                .find_map(|p| p.trim().strip_prefix("q="))
                .map_or(Some(1000), |q| q.trim().parse::<f32>().ok().map(|q| (q.clamp(0.0, 1.0) * 1000.0) as u16))?;
            (weight > 0).then_some((weight, place, lang))
        })
        .collect();
    offers.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
    offers.first().map_or(Lang::En, |o| o.2)
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::super::session::tests::headers;
    use super::*;

    #[test]
    fn every_catalog_parses_and_has_exactly_the_english_keys() {
        for lang in LANGS {
            let parsed: Result<BTreeMap<String, String>, _> = serde_json::from_str(lang.source());
            let parsed = parsed.unwrap_or_else(|e| panic!("catalog {} does not parse: {e}", lang.code()));
            let english: BTreeSet<&String> = Lang::En.catalog().keys().collect();
            let keys: BTreeSet<&String> = parsed.keys().collect();
            let missing: Vec<_> = english.difference(&keys).collect();
            let extra: Vec<_> = keys.difference(&english).collect();
            assert!(missing.is_empty(), "catalog {} misses {missing:?}", lang.code());
            assert!(extra.is_empty(), "catalog {} has keys English lacks: {extra:?}", lang.code());
            for (key, text) in &parsed {
                assert!(!text.trim().is_empty(), "catalog {} has an empty text for {key}", lang.code());
                let wanted: BTreeSet<&str> = placeholders(Lang::En.text(key)).collect();
                let have: BTreeSet<&str> = placeholders(text).collect();
                assert_eq!(have, wanted, "catalog {}: {key} must use the same {{values}} as English", lang.code());
            }
        }
    }

    fn placeholders(text: &str) -> impl Iterator<Item = &str> {
        text.split('{').skip(1).filter_map(|rest| rest.split_once('}').map(|(name, _)| name))
    }

    #[test]
    fn every_key_the_pages_and_scripts_use_is_in_the_english_catalog() {
        let used = super::super::assets::used_keys();
        assert!(used.len() > 50, "the scan found only {} keys: is it still reading the pages?", used.len());
        let missing: Vec<&String> = used.iter().filter(|k| !Lang::En.catalog().contains_key(*k)).collect();
        assert!(missing.is_empty(), "keys used but not in en.json: {missing:?}");
    }

    #[test]
    fn the_users_choice_wins_then_the_browsers_weights_then_english() {
        assert_eq!(negotiate(&headers(&[])), Lang::En);
        assert_eq!(negotiate(&headers(&[("accept-language", "de-DE, es-MX;q=0.8, uk;q=0.9")])), Lang::Uk);
        assert_eq!(negotiate(&headers(&[("accept-language", "uk;q=0, es")])), Lang::Es);
        assert_eq!(negotiate(&headers(&[("accept-language", "fr, de")])), Lang::En);
        let chosen = headers(&[("accept-language", "uk"), ("cookie", "sb_lang=es")]);
        assert_eq!(negotiate(&chosen), Lang::Es);
        assert_eq!(negotiate(&headers(&[("accept-language", "es;q=abc, uk;q=0.5")])), Lang::Uk);
    }
}
