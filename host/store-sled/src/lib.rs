//! Switchboard's embedded storage backend: every trait of
//! `switchboard-store` on sled 0.34, in one directory, with no server to
//! run beside it.
//!
//! Each use case is one sled transaction over every tree (see `write`), so
//! a record and its indexes change together. A write is acknowledged only
//! once it is durable: a group-commit flusher syncs the log for everyone
//! waiting at once, and makes it stable against a power cut, not only a
//! killed process (see `group_commit`). Under load, writes go to a writer
//! thread that commits those queued behind each other as one transaction
//! (see `writer` and `batch`), because sled's cost is mostly per
//! transaction. After a fault that could lose acknowledged writes, the
//! store stops and says so through `switchboard_store::Health`.

mod batch;
mod codec;
mod contacts;
mod conversations;
mod delivery;
mod failpoint;
mod group_commit;
mod idempotency;
mod jobs;
mod keys;
mod kv;
mod load;
mod migrate;
mod plugins;
mod presence;
mod record_cache;
mod robot_runs;
mod sequences;
mod sessions;
mod store;
mod sync;
mod teams;
mod tickets;
mod trees;
mod tx;
mod users;
mod visibility;
mod write;
mod writer;
#[cfg(test)]
mod writer_tests;

pub use store::{SCHEMA_VERSION, SledConfig, SledStats, SledStore};

use switchboard_store::StoreError;

/// Turns sled's errors into the store's, whose text is for the log.
pub(crate) trait SledResult<T> {
    /// The value, or [`StoreError::Backend`] with sled's message.
    fn backend(self) -> Result<T, StoreError>;
}

impl<T> SledResult<T> for Result<T, sled::Error> {
    fn backend(self) -> Result<T, StoreError> {
        self.map_err(|e| StoreError::Backend(e.to_string()))
    }
}
