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
    durability: Durability,
}

/// The flush a write waits for, apart from its value: for callers that go
/// on working with the value and wait for the disk once, later, before
/// anything leaves the server.
#[must_use = "a write is durable only once `wait().await` returns"]
#[derive(Debug)]
pub struct Durability {
    flush: Option<oneshot::Receiver<FlushResult>>,
}

impl Durability {
    /// Waits until the write is on disk.
    pub async fn wait(self) -> Result<(), StoreError> {
        match self.flush {
            None => Ok(()),
            Some(flush) => Self::check(flush.await),
        }
    }

    /// Waits for the flush on the current thread. For callers outside an
    /// async runtime, such as command-line tools and tests.
    pub fn wait_blocking(self) -> Result<(), StoreError> {
        match self.flush {
            None => Ok(()),
            Some(flush) => Self::check(flush.blocking_recv()),
        }
    }

    fn check(outcome: Result<FlushResult, oneshot::error::RecvError>) -> Result<(), StoreError> {
        match outcome {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => Err(StoreError::Flush(e)),
            Err(_) => Err(StoreError::Flush("the store was closed before the flush".into())),
        }
    }
}

impl<T> Committed<T> {
    /// A write waiting for the flush that `flush` reports.
    pub(crate) fn pending(value: T, flush: oneshot::Receiver<FlushResult>) -> Self {
        Committed { value, durability: Durability { flush: Some(flush) } }
    }

    /// A call that changed nothing and so has nothing to wait for.
    pub(crate) fn unchanged(value: T) -> Self {
        Committed { value, durability: Durability { flush: None } }
    }

    /// Waits until the write is on disk and returns its value.
    pub async fn durable(self) -> Result<T, StoreError> {
        self.durability.wait().await?;
        Ok(self.value)
    }

    /// Waits for the flush on the current thread. For callers outside an
    /// async runtime, such as command-line tools and tests.
    pub fn durable_blocking(self) -> Result<T, StoreError> {
        self.durability.wait_blocking()?;
        Ok(self.value)
    }

    /// The value now, and the flush to wait for before reporting success.
    pub fn split(self) -> (T, Durability) {
        (self.value, self.durability)
    }
}
