//! The answers kept for `Idempotency-Key`s of API writes.

use async_trait::async_trait;
use switchboard_core::Timestamp;

use crate::{Committed, IdempotencyRecord, StoreError};

/// Idempotency records. They are written by the write use cases themselves
/// (see [`crate::Idempotency`]); this trait reads and expires them.
#[async_trait]
pub trait IdempotencyStore: Send + Sync {
    /// The record kept for `key` in `scope`, unless it expired by `now`.
    async fn idempotency_record(
        &self,
        scope: &str,
        key: &str,
        now: Timestamp,
    ) -> Result<Option<IdempotencyRecord>, StoreError>;

    /// Removes the records that expired by `now` and says how many.
    async fn expire_idempotency(&self, now: Timestamp) -> Result<Committed<u64>, StoreError>;
}
