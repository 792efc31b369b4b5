//! Typed settings: the host passes JSON, plugins get their own struct.

use serde::de::DeserializeOwned;

use crate::PluginError;

/// Parses settings JSON into `T`. An empty document counts as `{}`, so
/// settings with defaults work without any. Errors are `invalid-settings`
/// naming the field path and what was wrong, such as
/// `settings.fields[2].type: unknown variant "colour"`.
pub fn parse<T: DeserializeOwned>(json: &str) -> Result<T, PluginError> {
    let json = if json.trim().is_empty() { "{}" } else { json };
    let mut de = serde_json::Deserializer::from_str(json);
    serde_path_to_error::deserialize(&mut de).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        let at = if path == "." { "settings".to_owned() } else { format!("settings.{path}") };
        PluginError::InvalidSettings(format!("{at}: {inner}"))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, serde::Deserialize, PartialEq)]
    #[serde(deny_unknown_fields)]
    struct S {
        #[serde(default)]
        title: String,
        #[serde(default)]
        items: Vec<Item>,
    }

    #[derive(Debug, serde::Deserialize, PartialEq)]
    struct Item {
        size: u8,
    }

    #[test]
    fn empty_is_defaults_and_errors_name_the_path() {
        assert_eq!(parse::<S>(""), Ok(S { title: String::new(), items: vec![] }));
        let err = parse::<S>(r#"{"items": [{"size": 1}, {"size": "big"}]}"#).expect_err("bad size");
        assert!(err.message().starts_with("settings.items[1].size: invalid type"), "{err}");
        let err = parse::<S>(r#"{"colour": 1}"#).expect_err("unknown field");
        assert!(err.message().contains("unknown field `colour`"), "{err}");
    }
}
