//! What a plugin says about itself.

/// A plugin's name, summary and settings schema.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Info {
    /// A display name.
    pub name: String,
    /// One sentence on what it does.
    pub summary: String,
    /// A JSON Schema of the settings, or empty.
    pub settings_schema: String,
}

impl Info {
    /// Name and summary, with no settings schema.
    pub fn new(name: &str, summary: &str) -> Self {
        Info { name: name.into(), summary: summary.into(), settings_schema: String::new() }
    }

    /// Adds a JSON Schema of the settings.
    pub fn with_schema(mut self, schema: serde_json::Value) -> Self {
        self.settings_schema = schema.to_string();
        self
    }
}
