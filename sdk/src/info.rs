//! What a plugin says about itself.

/// A plugin's name, summary and settings schema.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Info {
    /// A display name.
    pub name: String,
    /// One sentence on what it does.
    pub summary: String,
    /// Empty, or the manifest's `settings_schema` again. The manifest's is
    /// the one schema the host enforces; put the schema in `plugin.toml`.
    pub settings_schema: String,
}

impl Info {
    /// Name and summary, with no settings schema.
    pub fn new(name: &str, summary: &str) -> Self {
        Info { name: name.into(), summary: summary.into(), settings_schema: String::new() }
    }

    /// Repeats the settings schema of `plugin.toml`. The host enforces the
    /// manifest's schema and refuses to install a plugin whose `describe`
    /// returns a different one, so there is nothing to gain from this.
    #[deprecated(note = "put the settings schema in plugin.toml's settings_schema; the host enforces that one")]
    pub fn with_schema(mut self, schema: serde_json::Value) -> Self {
        self.settings_schema = schema.to_string();
        self
    }
}
