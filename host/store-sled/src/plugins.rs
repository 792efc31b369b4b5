//! Installed plugins, their components, and their installations per team.

use async_trait::async_trait;
use switchboard_core::{Installation, PluginRecord};
use switchboard_store::{Committed, PluginStore, StoreError};

use crate::SledResult;
use crate::codec::decode;
use crate::keys;
use crate::store::SledStore;
use crate::trees::Tree;
use crate::tx::{OrAbort, abort};
use crate::visibility::Trees;

/// What plugin and installation writes touch.
const WRITE: Trees = Trees::of(&[Tree::Plugins, Tree::PluginCode, Tree::Installations]);
/// What plugin reads look at.
const READ: Trees = Trees::of(&[Tree::Plugins, Tree::PluginCode, Tree::Installations]);

#[async_trait]
impl PluginStore for SledStore {
    async fn put_plugin(&self, record: PluginRecord, code: Vec<u8>) -> Result<Committed<PluginRecord>, StoreError> {
        self.write(WRITE, move |tx| {
            let id = record.manifest.id.as_bytes();
            let mut record = record.clone();
            if let Some(old) = tx.get::<PluginRecord>(Tree::Plugins, id, "plugin")? {
                record.installed_at = old.installed_at;
                record.enabled_in = old.enabled_in;
            }
            tx.put(Tree::Plugins, id, &record)?;
            tx.put_raw(Tree::PluginCode, id, code.as_slice())?;
            Ok(record)
        })
        .await
    }

    async fn plugin(&self, id: &str) -> Result<PluginRecord, StoreError> {
        let plugin = self.inner.get(Tree::Plugins, id.as_bytes(), "plugin");
        self.read(READ, plugin).await?.ok_or_else(|| StoreError::UnknownPlugin(id.to_owned()))
    }

    async fn plugins(&self) -> Result<Vec<PluginRecord>, StoreError> {
        let plugins = self.inner.tree(Tree::Plugins).iter().values().map(|v| decode("plugin", &v.backend()?)).collect();
        self.read(READ, plugins).await
    }

    async fn plugin_code(&self, id: &str) -> Result<Vec<u8>, StoreError> {
        let code = self.inner.tree(Tree::PluginCode).get(id.as_bytes()).backend();
        let code = self.read(READ, code).await?;
        code.map(|v| v.to_vec()).ok_or_else(|| StoreError::UnknownPlugin(id.to_owned()))
    }

    async fn remove_plugin(&self, id: &str) -> Result<Committed<()>, StoreError> {
        let id = id.to_owned();
        self.write(WRITE, move |tx| {
            let Some(record) = tx.get::<PluginRecord>(Tree::Plugins, id.as_bytes(), "plugin")? else {
                return abort(StoreError::UnknownPlugin(id.clone()));
            };
            if record.enabled_in > 0 {
                return abort(StoreError::PluginInUse { plugin: id.clone(), teams: record.enabled_in });
            }
            tx.remove(Tree::Plugins, id.as_bytes())?;
            tx.remove(Tree::PluginCode, id.as_bytes())?;
            Ok(())
        })
        .await
    }

    async fn put_installation(&self, installation: Installation) -> Result<Committed<Installation>, StoreError> {
        self.write(WRITE, move |tx| {
            tx.team(&installation.team)?;
            let plugin_key = installation.plugin.as_bytes();
            let Some(mut plugin) = tx.get::<PluginRecord>(Tree::Plugins, plugin_key, "plugin")? else {
                return abort(StoreError::UnknownPlugin(installation.plugin.clone()));
            };
            installation.check(&plugin.manifest).or_abort()?;
            let key = keys::installation(&installation.team, &installation.plugin);
            let mut installation = installation.clone();
            match tx.get::<Installation>(Tree::Installations, &key, "installation")? {
                Some(old) => installation.enabled_at = old.enabled_at,
                None => {
                    plugin.enabled_in += 1;
                    tx.put(Tree::Plugins, plugin_key, &plugin)?;
                }
            }
            tx.put(Tree::Installations, &key, &installation)?;
            Ok(installation)
        })
        .await
    }

    async fn installation(&self, slug: &str, plugin: &str) -> Result<Installation, StoreError> {
        let key = keys::installation(slug, plugin);
        let inner = &self.inner;
        let found = inner.installations.get_or_load(&key, || inner.get(Tree::Installations, &key, "installation"));
        self.read(READ, found)
            .await?
            .ok_or_else(|| StoreError::NotEnabled { team: slug.to_owned(), plugin: plugin.to_owned() })
    }

    async fn installations(&self, slug: &str) -> Result<Vec<Installation>, StoreError> {
        let found = self.inner.tree(Tree::Installations).scan_prefix(keys::team_prefix(slug));
        let installations = found.values().map(|v| decode("installation", &v.backend()?)).collect();
        self.read(READ, installations).await
    }

    async fn remove_installation(&self, slug: &str, plugin: &str) -> Result<Committed<()>, StoreError> {
        let (slug, plugin) = (slug.to_owned(), plugin.to_owned());
        self.write(WRITE, move |tx| {
            let key = keys::installation(&slug, &plugin);
            if !tx.remove(Tree::Installations, &key)? {
                return abort(StoreError::NotEnabled { team: slug.clone(), plugin: plugin.clone() });
            }
            if let Some(mut record) = tx.get::<PluginRecord>(Tree::Plugins, plugin.as_bytes(), "plugin")? {
                record.enabled_in = record.enabled_in.saturating_sub(1);
                tx.put(Tree::Plugins, plugin.as_bytes(), &record)?;
            }
            Ok(())
        })
        .await
    }
}
