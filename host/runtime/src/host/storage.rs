//! `storage`: a key-value space private to the installation.

use std::sync::Arc;

use switchboard_core::Capability;
use switchboard_store::KvScope;

use crate::bindings::channel::switchboard::plugin::storage::Host;
use crate::bindings::wit::PluginError;
use crate::host::{HostState, plugin_error};

/// The longest key, in bytes.
const MAX_KEY: usize = 256;
/// The largest value, in bytes.
const MAX_VALUE: usize = 64 * 1024;
/// The most keys one installation may hold.
const MAX_KEYS: u64 = 10_000;

fn check_key(key: &str) -> Result<(), PluginError> {
    if key.is_empty() || key.len() > MAX_KEY {
        return Err(PluginError::Permanent(format!("storage key must be 1 to {MAX_KEY} bytes, not {}", key.len())));
    }
    Ok(())
}

fn check_value(key: &str, value: &[u8]) -> Result<(), PluginError> {
    if value.len() > MAX_VALUE {
        return Err(PluginError::Permanent(format!(
            "storage value for \"{key}\" is {} bytes; the limit is {MAX_VALUE}",
            value.len()
        )));
    }
    Ok(())
}

impl HostState {
    /// This installation's storage.
    fn kv_scope(&self) -> KvScope<'_> {
        KvScope { team: &self.scope.team, plugin: &self.scope.plugin }
    }
}

impl Host for HostState {
    async fn get(&mut self, key: String) -> Result<Option<Vec<u8>>, PluginError> {
        self.scope.require(&Capability::Storage)?;
        check_key(&key)?;
        self.services.kv.kv_get(self.kv_scope(), &key).await.map_err(plugin_error)
    }

    async fn set(&mut self, key: String, value: Vec<u8>) -> Result<(), PluginError> {
        self.scope.require(&Capability::Storage)?;
        check_key(&key)?;
        check_value(&key, &value)?;
        let (kv, scope) = (Arc::clone(&self.services.kv), Arc::clone(&self.scope));
        let scope = KvScope { team: &scope.team, plugin: &scope.plugin };
        self.write(kv.kv_set(scope, &key, value, MAX_KEYS)).await
    }

    async fn set_if_absent(&mut self, key: String, value: Vec<u8>) -> Result<bool, PluginError> {
        self.scope.require(&Capability::Storage)?;
        check_key(&key)?;
        check_value(&key, &value)?;
        let (kv, scope) = (Arc::clone(&self.services.kv), Arc::clone(&self.scope));
        let scope = KvScope { team: &scope.team, plugin: &scope.plugin };
        self.write(kv.kv_set_if_absent(scope, &key, value, MAX_KEYS)).await
    }

    async fn delete(&mut self, key: String) -> Result<(), PluginError> {
        self.scope.require(&Capability::Storage)?;
        check_key(&key)?;
        let (kv, scope) = (Arc::clone(&self.services.kv), Arc::clone(&self.scope));
        let scope = KvScope { team: &scope.team, plugin: &scope.plugin };
        self.write(kv.kv_delete(scope, &key)).await
    }

    async fn keys(&mut self, prefix: String) -> Result<Vec<String>, PluginError> {
        self.scope.require(&Capability::Storage)?;
        let limit = usize::try_from(MAX_KEYS).unwrap_or(usize::MAX);
        self.services.kv.kv_keys(self.kv_scope(), &prefix, limit).await.map_err(plugin_error)
    }
}
