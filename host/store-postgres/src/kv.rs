//! Plugin storage, with each installation's key count in a row that every
//! writer adding a key locks, so the limit holds under concurrent writers.

use async_trait::async_trait;
use deadpool_postgres::Transaction;
use switchboard_store::{Committed, KvScope, KvStore, StoreError};

use crate::convert::column;
use crate::store::PgStore;
use crate::tx::{TxError, execute, into_store, row, rows, transact};

/// Whether `key` holds a value, locking it if it does.
async fn exists(tx: &Transaction<'_>, scope: KvScope<'_>, key: &str) -> Result<bool, TxError> {
    let sql = "SELECT 1 FROM plugin_kv WHERE team = $1 AND plugin = $2 AND key = $3 FOR UPDATE";
    Ok(row(tx, sql, &[&scope.team, &scope.plugin, &key]).await?.is_some())
}

/// How [`put`] treats a key that holds a value already.
#[derive(Clone, Copy, PartialEq)]
enum Existing {
    /// Replace its value.
    Replace,
    /// Leave it as it is: a claim that another caller won.
    Keep,
}

/// Stores a value, counting a new key against `max_keys`. Returns whether
/// the key was new.
async fn put(
    tx: &Transaction<'_>,
    scope: KvScope<'_>,
    key: &str,
    value: &[u8],
    max_keys: u64,
    existing: Existing,
) -> Result<bool, TxError> {
    let (team, plugin) = (scope.team, scope.plugin);
    if exists(tx, scope, key).await? {
        if existing == Existing::Keep {
            return Ok(false);
        }
        let sql = "UPDATE plugin_kv SET value = $4 WHERE team = $1 AND plugin = $2 AND key = $3";
        execute(tx, sql, &[&team, &plugin, &key, &value]).await?;
        return Ok(false);
    }
    let sql = "INSERT INTO plugin_kv_counts (team, plugin, keys) VALUES ($1, $2, 0) ON CONFLICT DO NOTHING";
    execute(tx, sql, &[&team, &plugin]).await?;
    let sql = "SELECT keys FROM plugin_kv_counts WHERE team = $1 AND plugin = $2 FOR UPDATE";
    let count: i64 = match row(tx, sql, &[&team, &plugin]).await? {
        Some(found) => column(&found, 0)?,
        None => 0,
    };
    if count as u64 >= max_keys {
        return Err(StoreError::StorageFull { limit: max_keys }.into());
    }
    let sql = "INSERT INTO plugin_kv (team, plugin, key, value) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING";
    if execute(tx, sql, &[&team, &plugin, &key, &value]).await? == 0 {
        return Err(TxError::Retry(format!("storage key \"{key}\" was added meanwhile")));
    }
    let sql = "UPDATE plugin_kv_counts SET keys = keys + 1 WHERE team = $1 AND plugin = $2";
    execute(tx, sql, &[&team, &plugin]).await?;
    Ok(true)
}

async fn delete_attempt(tx: &Transaction<'_>, scope: KvScope<'_>, key: &str) -> Result<(), TxError> {
    let sql = "DELETE FROM plugin_kv WHERE team = $1 AND plugin = $2 AND key = $3";
    if execute(tx, sql, &[&scope.team, &scope.plugin, &key]).await? > 0 {
        let sql = "UPDATE plugin_kv_counts SET keys = greatest(keys - 1, 0) WHERE team = $1 AND plugin = $2";
        execute(tx, sql, &[&scope.team, &scope.plugin]).await?;
    }
    Ok(())
}

#[async_trait]
impl KvStore for PgStore {
    async fn kv_get(&self, scope: KvScope<'_>, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        let client = self.client().await.map_err(into_store)?;
        let sql = "SELECT value FROM plugin_kv WHERE team = $1 AND plugin = $2 AND key = $3";
        let found = row(&client, sql, &[&scope.team, &scope.plugin, &key]).await.map_err(into_store)?;
        found.map(|r| column(&r, 0)).transpose()
    }

    async fn kv_set(
        &self,
        scope: KvScope<'_>,
        key: &str,
        value: Vec<u8>,
        max_keys: u64,
    ) -> Result<Committed<()>, StoreError> {
        transact!(self, |tx| put(&tx, scope, key, &value, max_keys, Existing::Replace))
            .map(|_| Committed::durable_now(()))
    }

    async fn kv_set_if_absent(
        &self,
        scope: KvScope<'_>,
        key: &str,
        value: Vec<u8>,
        max_keys: u64,
    ) -> Result<Committed<bool>, StoreError> {
        transact!(self, |tx| put(&tx, scope, key, &value, max_keys, Existing::Keep)).map(Committed::durable_now)
    }

    async fn kv_delete(&self, scope: KvScope<'_>, key: &str) -> Result<Committed<()>, StoreError> {
        transact!(self, |tx| delete_attempt(&tx, scope, key)).map(Committed::durable_now)
    }

    async fn kv_keys(&self, scope: KvScope<'_>, prefix: &str, limit: usize) -> Result<Vec<String>, StoreError> {
        let client = self.client().await.map_err(into_store)?;
        // `starts_with` on the "C"-collated key keeps byte order and needs
        // no escaping of `%` or `_` in the prefix.
        let sql = "SELECT key FROM plugin_kv WHERE team = $1 AND plugin = $2 AND starts_with(key, $3)
                   ORDER BY key LIMIT $4";
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let found = rows(&client, sql, &[&scope.team, &scope.plugin, &prefix, &limit]).await.map_err(into_store)?;
        found.iter().map(|r| column(r, 0)).collect()
    }
}
