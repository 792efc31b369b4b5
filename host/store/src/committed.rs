//! A write that has been applied and is on its way to disk.
//!
//! A backend that makes a write durable before it returns (PostgreSQL with
//! `synchronous_commit` on) answers [`Committed::durable_now`]. One that
//! commits first and syncs a group of writes later (sled with group commit)
//! answers [`Committed::pending`] with a channel its flusher answers. Either
//! way the caller awaits [`Committed::durable`] before it tells anyone the
//! write succeeded.

use tokio::sync::oneshot;

use crate::StoreError;

/// The result of a write. Its value may be visible to other readers of the
/// same backend at once; await [`Committed::durable`] before telling anyone
/// outside the server that the write succeeded.
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
    flush: Option<oneshot::Receiver<Result<(), StoreError>>>,
}

impl Durability {
    /// Nothing to wait for: the write is durable already, or nothing was
    /// written.
    pub fn done() -> Self {
        Durability { flush: None }
    }

    /// Durable once the backend answers on `flushed`. If the sender is
    /// dropped unanswered, the wait fails: the write may not be on disk.
    pub fn pending(flushed: oneshot::Receiver<Result<(), StoreError>>) -> Self {
        Durability { flush: Some(flushed) }
    }

    /// Waits until the write is on disk.
    pub async fn wait(self) -> Result<(), StoreError> {
        match self.flush {
            None => Ok(()),
            Some(flush) => flush.await.unwrap_or_else(|_| {
                Err(StoreError::Unavailable("the store stopped before the write was flushed".into()))
            }),
        }
    }
}

impl<T> Committed<T> {
    /// A write whose durability comes later, as `durability` reports.
    pub fn pending(value: T, durability: Durability) -> Self {
        Committed { value, durability }
    }

    /// A write that is durable already, or a call that changed nothing.
    pub fn durable_now(value: T) -> Self {
        Committed { value, durability: Durability::done() }
    }

    /// Waits until the write is on disk and returns its value.
    pub async fn durable(self) -> Result<T, StoreError> {
        self.durability.wait().await?;
        Ok(self.value)
    }

    /// The value, before the write is durable: for telling this server's
    /// own readers about it (they wait for the flush when they read), never
    /// for telling anyone outside.
    pub fn value(&self) -> &T {
        &self.value
    }

    /// The value now, and the flush to wait for before reporting success.
    pub fn split(self) -> (T, Durability) {
        (self.value, self.durability)
    }

    /// Changes the value, keeping the durability.
    pub fn map<U>(self, f: impl FnOnce(T) -> U) -> Committed<U> {
        Committed { value: f(self.value), durability: self.durability }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn pending_writes_wait_for_their_flush_and_a_lost_flush_is_an_error() {
        let (tx, rx) = oneshot::channel();
        let committed = Committed::pending(7, Durability::pending(rx));
        tx.send(Ok(())).expect("send");
        assert_eq!(committed.durable().await.expect("durable"), 7);

        let (tx, rx) = oneshot::channel::<Result<(), StoreError>>();
        drop(tx);
        let lost = Committed::pending((), Durability::pending(rx)).durable().await;
        assert!(matches!(lost, Err(StoreError::Unavailable(_))), "{lost:?}");
        assert_eq!(Committed::durable_now("x").map(str::len).durable().await.expect("done"), 1);
    }
}
