//! Plugin storage: a small key-value space per installation.

use async_trait::async_trait;

use crate::{Committed, StoreError};

/// Which installation's storage: a plugin in a team.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KvScope<'a> {
    /// The team's slug.
    pub team: &'a str,
    /// The plugin's id.
    pub plugin: &'a str,
}

/// Each installation's key-value space. The key limit is checked in the
/// same write that adds a key, so concurrent writers cannot pass it.
#[async_trait]
pub trait KvStore: Send + Sync {
    /// The value stored under `key`.
    async fn kv_get(&self, scope: KvScope<'_>, key: &str) -> Result<Option<Vec<u8>>, StoreError>;

    /// Stores `value` under `key`. A new key is refused with
    /// [`StoreError::StorageFull`] when the installation already holds
    /// `max_keys`.
    async fn kv_set(
        &self,
        scope: KvScope<'_>,
        key: &str,
        value: Vec<u8>,
        max_keys: u64,
    ) -> Result<Committed<()>, StoreError>;

    /// Stores `value` under `key` only if the key is absent, and says
    /// whether it did. Of concurrent callers with one key, exactly one
    /// gets `true`.
    async fn kv_set_if_absent(
        &self,
        scope: KvScope<'_>,
        key: &str,
        value: Vec<u8>,
        max_keys: u64,
    ) -> Result<Committed<bool>, StoreError>;

    /// Removes `key`; removing a missing key is not an error.
    async fn kv_delete(&self, scope: KvScope<'_>, key: &str) -> Result<Committed<()>, StoreError>;

    /// The keys that start with `prefix`, in byte order, at most `limit`.
    async fn kv_keys(&self, scope: KvScope<'_>, prefix: &str, limit: usize) -> Result<Vec<String>, StoreError>;
}
