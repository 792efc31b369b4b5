//! The typed error every fallible call returns.

/// Why a call failed; the WIT `plugin-error` variant.
pub use crate::bindings::switchboard::plugin::types::PluginError;

impl PluginError {
    /// The settings are wrong.
    pub fn invalid_settings(why: impl Into<String>) -> Self {
        PluginError::InvalidSettings(why.into())
    }

    /// A failure that retrying will not fix.
    pub fn permanent(why: impl Into<String>) -> Self {
        PluginError::Permanent(why.into())
    }

    /// A failure that may go away.
    pub fn transient(why: impl Into<String>) -> Self {
        PluginError::Transient(why.into())
    }

    /// The kind, as words: `invalid settings`, `denied`, …
    pub fn kind(&self) -> &'static str {
        match self {
            PluginError::InvalidSettings(_) => "invalid settings",
            PluginError::Denied(_) => "denied",
            PluginError::NotFound(_) => "not found",
            PluginError::RateLimited(_) => "rate limited",
            PluginError::Transient(_) => "transient",
            PluginError::Permanent(_) => "permanent",
        }
    }

    /// The text inside, whatever the kind.
    pub fn message(&self) -> &str {
        match self {
            PluginError::InvalidSettings(m)
            | PluginError::Denied(m)
            | PluginError::NotFound(m)
            | PluginError::RateLimited(m)
            | PluginError::Transient(m)
            | PluginError::Permanent(m) => m,
        }
    }
}
