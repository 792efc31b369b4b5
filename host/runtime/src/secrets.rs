//! An installation's secrets in plain text, as the runtime hands them to
//! the `secrets` import for one call. The server opens them from the store
//! (where they are sealed) just before a call; the runtime never writes
//! them anywhere.

use std::collections::BTreeMap;
use std::sync::Arc;

/// The first WIT version whose plugins receive their settings without
/// secrets and use the `secrets` import instead.
const SECRETS_IMPORT_SINCE: (u64, u64, u64) = (0, 1, 4);

/// An installation's secrets by name. Cheap to clone; its `Debug` shows the
/// names only, so that logging a call's scope cannot print a value. The
/// default (no secrets, the common case) allocates nothing.
#[derive(Clone, Default)]
pub struct Secrets(Option<Arc<BTreeMap<String, String>>>);

impl Secrets {
    /// Secrets from names and plain-text values.
    pub fn new(values: BTreeMap<String, String>) -> Secrets {
        Secrets((!values.is_empty()).then(|| Arc::new(values)))
    }

    /// The value of the secret `name`, if it is set.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0.as_ref()?.get(name).map(String::as_str)
    }

    /// Whether no secret is set.
    pub fn is_empty(&self) -> bool {
        self.0.is_none()
    }

    fn iter(&self) -> impl Iterator<Item = (&String, &String)> {
        self.0.iter().flat_map(|map| map.iter())
    }

    /// The settings a plugin built against `wit` receives. Plugins built
    /// before the `secrets` import (WIT 0.1.3 and older) get their secrets
    /// inside the settings, as the host always gave them, since they have
    /// no other way to read them; newer plugins get the settings as stored,
    /// without secrets.
    pub(crate) fn settings_for(&self, wit: &str, settings: &str) -> String {
        if self.is_empty() || !needs_inline(wit) {
            return settings.to_owned();
        }
        let Ok(serde_json::Value::Object(mut object)) = serde_json::from_str::<serde_json::Value>(settings) else {
            return settings.to_owned();
        };
        for (name, value) in self.iter() {
            object.insert(name.clone(), serde_json::Value::String(value.clone()));
        }
        serde_json::Value::Object(object).to_string()
    }
}

/// Whether a plugin built against `wit` predates the `secrets` import.
fn needs_inline(wit: &str) -> bool {
    switchboard_core::parse_version("wit", wit).is_ok_and(|v| v < SECRETS_IMPORT_SINCE)
}

impl std::fmt::Debug for Secrets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_set().entries(self.iter().map(|(name, _)| name)).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one() -> Secrets {
        Secrets::new(BTreeMap::from([("signing_key".to_owned(), "hunter2".to_owned())]))
    }

    #[test]
    fn only_plugins_built_before_the_import_see_secrets_in_their_settings() {
        let settings = r#"{"title":"Hi"}"#;
        assert_eq!(one().settings_for("0.1.4", settings), settings);
        assert_eq!(one().settings_for("0.1.3", settings), r#"{"signing_key":"hunter2","title":"Hi"}"#);
        assert_eq!(Secrets::default().settings_for("0.1.0", settings), settings);
    }

    #[test]
    fn debug_shows_names_not_values() {
        let shown = format!("{:?}", one());
        assert!(shown.contains("signing_key") && !shown.contains("hunter2"), "{shown}");
    }
}
