//! Plugin storage, with a key count per installation kept in the same
//! transaction as the keys, so the limit check is one read.

use async_trait::async_trait;
use switchboard_store::{Committed, KvScope, KvStore, StoreError};

use crate::SledResult;
use crate::keys;
use crate::store::SledStore;
use crate::trees::Tree;
use crate::tx::{Tx, TxResult, abort};
use crate::visibility::Trees;

/// What storage writes touch.
const WRITE: Trees = Trees::of(&[Tree::PluginKv, Tree::KvCounts]);
/// What storage reads look at.
const READ: Trees = Trees::of(&[Tree::PluginKv]);

impl Tx<'_> {
    /// Stores a value, counting a new key against `max_keys`. Returns
    /// whether the key was new.
    fn kv_put(&self, scope: KvScope<'_>, key: &str, value: &[u8], max_keys: u64) -> TxResult<bool> {
        let entry = keys::plugin_kv(scope.team, scope.plugin, key);
        let new = self.get_raw(Tree::PluginKv, &entry)?.is_none();
        if new {
            let count_key = keys::installation(scope.team, scope.plugin);
            let count = self.id_at(Tree::KvCounts, &count_key)?.unwrap_or(0);
            if count >= max_keys {
                return abort(StoreError::StorageFull { limit: max_keys });
            }
            self.put_raw(Tree::KvCounts, &count_key, keys::id(count + 1).as_slice())?;
        }
        self.put_raw(Tree::PluginKv, &entry, value)?;
        Ok(new)
    }
}

#[async_trait]
impl KvStore for SledStore {
    async fn kv_get(&self, scope: KvScope<'_>, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        let value = self.inner.tree(Tree::PluginKv).get(keys::plugin_kv(scope.team, scope.plugin, key)).backend();
        Ok(self.read(READ, value).await?.map(|v| v.to_vec()))
    }

    async fn kv_set(
        &self,
        scope: KvScope<'_>,
        key: &str,
        value: Vec<u8>,
        max_keys: u64,
    ) -> Result<Committed<()>, StoreError> {
        let (team, plugin, key) = (scope.team.to_owned(), scope.plugin.to_owned(), key.to_owned());
        self.write(WRITE, move |tx| {
            tx.kv_put(KvScope { team: &team, plugin: &plugin }, &key, &value, max_keys).map(drop)
        })
        .await
    }

    async fn kv_set_if_absent(
        &self,
        scope: KvScope<'_>,
        key: &str,
        value: Vec<u8>,
        max_keys: u64,
    ) -> Result<Committed<bool>, StoreError> {
        let (team, plugin, key) = (scope.team.to_owned(), scope.plugin.to_owned(), key.to_owned());
        self.write(WRITE, move |tx| {
            let scope = KvScope { team: &team, plugin: &plugin };
            if tx.get_raw(Tree::PluginKv, &keys::plugin_kv(&team, &plugin, &key))?.is_some() {
                return Ok(false);
            }
            tx.kv_put(scope, &key, &value, max_keys)
        })
        .await
    }

    async fn kv_delete(&self, scope: KvScope<'_>, key: &str) -> Result<Committed<()>, StoreError> {
        let (team, plugin, key) = (scope.team.to_owned(), scope.plugin.to_owned(), key.to_owned());
        self.write(WRITE, move |tx| {
            if tx.remove(Tree::PluginKv, &keys::plugin_kv(&team, &plugin, &key))? {
                let count_key = keys::installation(&team, &plugin);
                let count = tx.id_at(Tree::KvCounts, &count_key)?.unwrap_or(1);
                tx.put_raw(Tree::KvCounts, &count_key, keys::id(count.saturating_sub(1)).as_slice())?;
            }
            Ok(())
        })
        .await
    }

    async fn kv_keys(&self, scope: KvScope<'_>, prefix: &str, limit: usize) -> Result<Vec<String>, StoreError> {
        let start = keys::plugin_kv(scope.team, scope.plugin, "").len();
        let keys = self
            .inner
            .tree(Tree::PluginKv)
            .scan_prefix(keys::plugin_kv(scope.team, scope.plugin, prefix))
            .keys()
            .take(limit)
            .map(|k| Ok(String::from_utf8_lossy(&k.backend()?[start..]).into_owned()))
            .collect();
        self.read(READ, keys).await
    }
}
