//! A write that has been applied and is on its way to disk.

use tokio::sync::oneshot;

use crate::StoreError;
use crate::group_commit::FlushResult;

/// The result of a write. Its value is visible to readers at once; await
/// [`Committed::durable`] before telling anyone the write succeeded.
#[must_use = "a write is durable only once `durable().await` returns"]
#[derive(Debug)]
pub struct Committed<T> {
    value: T,
    flush: Option<oneshot::Receiver<FlushResult>>,
}

impl<T> Committed<T> {
    /// A write waiting for the flush that `flush` reports.
    pub(crate) fn pending(value: T, flush: oneshot::Receiver<FlushResult>) -> Self {
        Committed { value, flush: Some(flush) }
    }

    /// A call that changed nothing and so has nothing to wait for.
    pub(crate) fn unchanged(value: T) -> Self {
        Committed { value, flush: None }
    }

    /// Waits until the write is on disk and returns its value.
    pub async fn durable(self) -> Result<T, StoreError> {
        if let Some(flush) = self.flush {
            match flush.await {
                Ok(Ok(())) => {}
                Ok(Err(e)) => return Err(StoreError::Flush(e)),
                Err(_) => {
                    return Err(StoreError::Flush("the store was closed before the flush".into()));
                }
            }
        }
        Ok(self.value)
    }

    /// Waits for the flush on the current thread. For callers outside an
    /// async runtime, such as command-line tools and tests.
    pub fn durable_blocking(self) -> Result<T, StoreError> {
        if let Some(flush) = self.flush {
            match flush.blocking_recv() {
                Ok(Ok(())) => {}
                Ok(Err(e)) => return Err(StoreError::Flush(e)),
                Err(_) => {
                    return Err(StoreError::Flush("the store was closed before the flush".into()));
                }
            }
        }
        Ok(self.value)
    }
}
