//! Installed plugins, their components, and their installations per team.

use async_trait::async_trait;
use switchboard_core::{Installation, PluginRecord};

use crate::{Committed, StoreError};

/// Plugins and where they are enabled.
#[async_trait]
pub trait PluginStore: Send + Sync {
    /// Installs a plugin or replaces its manifest and component, keeping
    /// when it was first installed and where it is enabled.
    async fn put_plugin(&self, record: PluginRecord, code: Vec<u8>) -> Result<Committed<PluginRecord>, StoreError>;

    /// The installed plugin with this id.
    async fn plugin(&self, id: &str) -> Result<PluginRecord, StoreError>;

    /// Every installed plugin, by id.
    async fn plugins(&self) -> Result<Vec<PluginRecord>, StoreError>;

    /// A plugin's component.
    async fn plugin_code(&self, id: &str) -> Result<Vec<u8>, StoreError>;

    /// Uninstalls a plugin that no team has enabled.
    async fn remove_plugin(&self, id: &str) -> Result<Committed<()>, StoreError>;

    /// Enables a plugin for a team, or replaces its settings and grants.
    /// Grants must have been requested by the plugin's manifest.
    async fn put_installation(&self, installation: Installation) -> Result<Committed<Installation>, StoreError>;

    /// A team's installation of a plugin.
    async fn installation(&self, slug: &str, plugin: &str) -> Result<Installation, StoreError>;

    /// Every plugin enabled for a team.
    async fn installations(&self, slug: &str) -> Result<Vec<Installation>, StoreError>;

    /// Disables a plugin for a team. Its storage is kept for a re-enable.
    async fn remove_installation(&self, slug: &str, plugin: &str) -> Result<Committed<()>, StoreError>;
}
