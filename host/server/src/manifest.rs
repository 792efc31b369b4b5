//! Reading plugin manifests (`plugin.toml`, or the same as JSON).

use serde::Deserialize;
use switchboard_core::{Capability, Manifest, PluginKind};

use crate::settings_schema::SettingsSchema;

/// A manifest as written in `plugin.toml`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ManifestFile {
    id: String,
    name: String,
    version: String,
    kind: PluginKind,
    vendor: String,
    wit: String,
    #[serde(default)]
    capabilities: Vec<String>,
    #[serde(default)]
    settings_schema: Option<serde_json::Value>,
}

/// Parses a manifest from TOML or JSON text and checks its fields. The
/// error names the field at fault.
pub fn parse_manifest(text: &str) -> Result<Manifest, (String, String)> {
    let file: ManifestFile = match serde_json::from_str(text) {
        Ok(file) => file,
        Err(_) => toml::from_str(text).map_err(|e| ("manifest".to_owned(), e.message().to_owned()))?,
    };
    let capabilities = file
        .capabilities
        .iter()
        .map(|c| Capability::parse(c))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| ("manifest.capabilities".to_owned(), e.to_string()))?;
    let settings_schema = match file.settings_schema {
        None => String::new(),
        Some(schema @ serde_json::Value::Object(_)) => schema.to_string(),
        Some(_) => {
            return Err(("manifest.settings_schema".into(), "must be a JSON Schema object".into()));
        }
    };
    let manifest = Manifest {
        id: file.id,
        name: file.name,
        version: file.version,
        kind: file.kind,
        vendor: file.vendor,
        wit: file.wit,
        capabilities,
        settings_schema,
    };
    // A schema that cannot be used would refuse every team's settings, or
    // none; it is the vendor's mistake, found at install.
    let schema = SettingsSchema::compile(&manifest.settings_schema).map_err(|e| match e {
        switchboard_core::CoreError::Invalid { field, reason } => (format!("manifest.{field}"), reason),
        other => ("manifest".into(), other.to_string()),
    })?;
    // A grant that follows a setting must name a plain string setting: a
    // secret's value is never read outside the call that uses it.
    for capability in &manifest.capabilities {
        if let Capability::HttpSetting { setting } = capability
            && (!schema.has_string_property(setting) || schema.secrets().contains(setting))
        {
            return Err((
                "manifest.capabilities".into(),
                format!("\"{capability}\" must name a string property of settings_schema that is not writeOnly"),
            ));
        }
    }
    manifest.validate().map_err(|e| match e {
        switchboard_core::CoreError::Invalid { field, reason } => (format!("manifest.{field}"), reason),
        other => ("manifest".into(), other.to_string()),
    })?;
    Ok(manifest)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The reference in `docs/plugin-toml.md` lists every key the parser
    /// takes, and its example is a manifest the server accepts.
    #[test]
    fn the_reference_lists_every_key_and_its_example_installs() {
        let reference = include_str!("../../../docs/plugin-toml.md");
        let example = reference
            .split("```toml\n")
            .nth(1)
            .and_then(|rest| rest.split("```").next())
            .expect("the reference has a TOML example");
        let manifest = parse_manifest(example).expect("the example is a valid manifest");
        assert_eq!(manifest.capabilities.len(), 3);
        let listed: Vec<&str> = reference
            .lines()
            .filter_map(|line| line.strip_prefix("| `")?.split('`').next())
            .take_while(|key| !key.starts_with("wasi:"))
            .collect();
        let table: toml::Table = toml::from_str(example).expect("toml");
        for key in table.keys() {
            assert!(listed.contains(&key.as_str()), "key {key} of the example is not in the reference's table");
        }
        // The table lists exactly the keys the parser knows, which refuses
        // any other.
        let known = ["id", "name", "version", "kind", "vendor", "wit", "capabilities", "settings_schema"];
        assert_eq!(listed, known);
        let unknown = parse_manifest(&format!("homepage = \"x\"\n{example}")).expect_err("unknown key");
        assert!(unknown.1.contains("homepage"), "{unknown:?}");
    }

    #[test]
    fn reads_toml_and_json_and_names_bad_fields() {
        let toml = "id = \"x\"\nname = \"X\"\nversion = \"1.0.0\"\nkind = \"robot\"\nvendor = \"V\"\nwit = \"0.1.1\"\ncapabilities = [\"tickets\"]\n[settings_schema]\ntype = \"object\"\n";
        let m = parse_manifest(toml).expect("toml");
        assert_eq!((m.id.as_str(), m.kind, m.capabilities.len()), ("x", PluginKind::Robot, 1));
        assert_eq!(m.settings_schema, r#"{"type":"object"}"#);
        let json = r#"{"id": "y", "name": "Y", "version": "0.1.0", "kind": "channel", "vendor": "V", "wit": "0.1.0"}"#;
        assert_eq!(parse_manifest(json).expect("json").id, "y");
        let bad = parse_manifest(&toml.replace("tickets", "mail")).expect_err("bad capability");
        assert_eq!(bad.0, "manifest.capabilities");
        let bad = parse_manifest(&toml.replace("\"x\"", "\"X Y\"")).expect_err("bad id");
        assert_eq!(bad.0, "manifest.id");
        let bad = parse_manifest(&toml.replace("kind = \"robot\"", "kind = \"bot\"")).expect_err("bad kind");
        assert!(bad.1.contains("bot"), "{bad:?}");
    }

    #[test]
    fn a_grant_that_follows_a_setting_names_a_plain_string_setting() {
        let with = |props: &str| {
            format!(
                "id = \"x\"\nname = \"X\"\nversion = \"1.0.0\"\nkind = \"channel\"\nvendor = \"V\"\nwit = \"0.1.11\"\n\
                 capabilities = [\"http:setting:graph_url\"]\n[settings_schema]\ntype = \"object\"\n{props}"
            )
        };
        let fine = parse_manifest(&with("[settings_schema.properties.graph_url]\ntype = \"string\"\n")).expect("fine");
        assert_eq!(fine.capabilities[0].to_string(), "http:setting:graph_url");
        for props in [
            "",
            "[settings_schema.properties.graph_url]\ntype = \"integer\"\n",
            "[settings_schema.properties.graph_url]\ntype = \"string\"\nwriteOnly = true\n",
        ] {
            let bad = parse_manifest(&with(props)).expect_err(props);
            assert_eq!(bad.0, "manifest.capabilities", "{bad:?}");
            assert!(bad.1.contains("http:setting:graph_url"), "{bad:?}");
        }
    }
}
