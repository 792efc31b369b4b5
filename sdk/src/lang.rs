//! The languages Switchboard's own texts come in, and how a plugin finds
//! a visitor's: from a language tag (`uk`, `es-AR`), or from a browser's
//! `Accept-Language` header by weight. Plugins that speak to customers
//! (the web form, the chat widget) keep their texts per [`Lang`].

/// A language Switchboard's texts come in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    /// English, the default.
    En,
    /// Ukrainian.
    Uk,
    /// Spanish.
    Es,
}

impl Lang {
    /// The language of a tag such as `uk`, `es-AR` or `en_GB` (by its
    /// primary subtag), if it is one of these.
    pub fn of(tag: &str) -> Option<Lang> {
        match tag.trim().split(['-', '_']).next().unwrap_or("").to_ascii_lowercase().as_str() {
            "en" => Some(Lang::En),
            "uk" => Some(Lang::Uk),
            "es" => Some(Lang::Es),
            _ => None,
        }
    }

    /// The best of these languages for an `Accept-Language` header: the
    /// one with the highest weight, the first of equals; `None` when the
    /// header names none of them (or only with weight 0). At most 32
    /// entries are read, so a long header costs no more than a short one.
    pub fn from_accept_language(header: &str) -> Option<Lang> {
        let mut best: Option<(u16, Lang)> = None;
        for item in header.split(',').take(32) {
            let mut parts = item.split(';');
            let Some(lang) = parts.next().and_then(Lang::of) else { continue };
            let weight = match parts.find_map(|p| p.trim().strip_prefix("q=")) {
                None => 1000,
                Some(q) => match q.trim().parse::<f32>() {
                    Ok(q) => (q.clamp(0.0, 1.0) * 1000.0) as u16,
                    Err(_) => continue,
                },
            };
            if weight > 0 && best.is_none_or(|(w, _)| weight > w) {
                best = Some((weight, lang));
            }
        }
        best.map(|(_, lang)| lang)
    }

    /// Its tag, as in `<html lang>`.
    pub fn tag(self) -> &'static str {
        match self {
            Lang::En => "en",
            Lang::Uk => "uk",
            Lang::Es => "es",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_are_read_by_their_primary_subtag() {
        assert_eq!(Lang::of("uk-UA"), Some(Lang::Uk));
        assert_eq!(Lang::of("ES_ar"), Some(Lang::Es));
        assert_eq!(Lang::of("de"), None);
    }

    #[test]
    fn a_browser_header_is_read_by_weight() {
        assert_eq!(Lang::from_accept_language("de, es;q=0.5, uk;q=0.8"), Some(Lang::Uk));
        assert_eq!(Lang::from_accept_language("uk;q=0, es-MX"), Some(Lang::Es));
        assert_eq!(Lang::from_accept_language("es;q=abc, uk;q=0.5"), Some(Lang::Uk));
        assert_eq!(Lang::from_accept_language("fr, de"), None);
        assert_eq!(Lang::from_accept_language(""), None);
    }
}
