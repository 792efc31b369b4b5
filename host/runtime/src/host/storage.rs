//! `storage`: a key-value space private to the installation.

use switchboard_core::Capability;

use crate::bindings::channel::switchboard::plugin::storage::Host;
use crate::bindings::wit::PluginError;
use crate::host::{HostState, plugin_error};

/// The longest key, in bytes.
const MAX_KEY: usize = 256;
/// The largest value, in bytes.
const MAX_VALUE: usize = 64 * 1024;
/// The most keys one installation may hold.
const MAX_KEYS: usize = 10_000;

fn check_key(key: &str) -> Result<(), PluginError> {
    if key.is_empty() || key.len() > MAX_KEY {
        return Err(PluginError::Permanent(format!("storage key must be 1 to {MAX_KEY} bytes, not {}", key.len())));
    }
    Ok(())
}

impl Host for HostState {
    async fn get(&mut self, key: String) -> Result<Option<Vec<u8>>, PluginError> {
        self.scope.require(&Capability::Storage)?;
        check_key(&key)?;
        self.services.store.kv_get(&self.scope.team, &self.scope.plugin, &key).map_err(plugin_error)
    }

    async fn set(&mut self, key: String, value: Vec<u8>) -> Result<(), PluginError> {
        self.scope.require(&Capability::Storage)?;
        check_key(&key)?;
        if value.len() > MAX_VALUE {
            return Err(PluginError::Permanent(format!(
                "storage value for \"{key}\" is {} bytes; the limit is {MAX_VALUE}",
                value.len()
            )));
        }
        let (store, team, plugin) = (&self.services.store, &self.scope.team, &self.scope.plugin);
        if store.kv_get(team, plugin, &key).map_err(plugin_error)?.is_none()
            && store.kv_keys(team, plugin, "").map_err(plugin_error)?.len() >= MAX_KEYS
        {
            return Err(PluginError::Permanent(format!("storage is full: {MAX_KEYS} keys")));
        }
        let (team, plugin) = (team.clone(), plugin.clone());
        self.write(move |store, _| store.kv_set(&team, &plugin, &key, value.clone())).await
    }

    async fn delete(&mut self, key: String) -> Result<(), PluginError> {
        self.scope.require(&Capability::Storage)?;
        check_key(&key)?;
        let (team, plugin) = (self.scope.team.clone(), self.scope.plugin.clone());
        self.write(move |store, _| store.kv_delete(&team, &plugin, &key)).await
    }

    async fn keys(&mut self, prefix: String) -> Result<Vec<String>, PluginError> {
        self.scope.require(&Capability::Storage)?;
        self.services.store.kv_keys(&self.scope.team, &self.scope.plugin, &prefix).map_err(plugin_error)
    }
}
