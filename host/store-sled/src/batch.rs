//! Several writes in one sled transaction.
//!
//! Every sled 0.34 transaction seals the log buffer it writes to and hands
//! that buffer to sled's IO thread pool, which wakes all of its idle threads
//! to take it; the transaction itself also takes sled's process-wide lock
//! and sets up a view of every tree. That fixed cost is most of a small
//! write (the probe that showed it is in `benches/README.md`).
//!
//! So the store writer (see `crate::writer`) runs the writes queued
//! behind each other as one transaction. While a batch runs, the thread
//! that runs it has a [`Batch`] set here, and each write method of the
//! store joins it instead of opening a transaction of its own. A write that
//! joins learns its value at once but is not committed yet: its flush
//! waiter and the cache entries it outdated are kept here and handed on
//! only when the whole batch has committed.

use std::cell::RefCell;

use crate::group_commit::Waiter;
use crate::trees::Tree;
use sled::transaction::TransactionalTree;

/// Why an attempt at a batch must not commit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Broken {
    /// sled saw a conflict; the whole batch runs again.
    Conflict,
    /// A write failed, and failing it alone would mean undoing only its
    /// part of the transaction, which sled cannot do. The batch is dropped
    /// and its writes run one by one.
    Failed,
}

/// The shared transaction of the batch this thread is running.
pub(crate) struct Batch {
    /// Which store the batch belongs to (see `Inner::id`).
    pub(crate) store: u64,
    /// The transaction's view of every tree.
    pub(crate) trees: Vec<TransactionalTree>,
    /// Set once this attempt must not commit.
    pub(crate) broken: Option<Broken>,
    /// Keys of cached records the batch wrote, to forget once it commits.
    pub(crate) cached: Vec<(Tree, Vec<u8>)>,
    /// One flush waiter per joined write, to queue once it commits: queued
    /// earlier, a flush could report a write durable before it existed.
    pub(crate) waiters: Vec<Waiter>,
}

impl Batch {
    /// A batch of `store` over `trees`, with no writes yet.
    pub(crate) fn new(store: u64, trees: Vec<TransactionalTree>) -> Self {
        Batch { store, trees, broken: None, cached: Vec::new(), waiters: Vec::new() }
    }
}

thread_local! {
    static CURRENT: RefCell<Option<Batch>> = const { RefCell::new(None) };
}

/// Runs `f` on the batch this thread is running for `store`, if any.
pub(crate) fn with_current<R>(store: u64, f: impl FnOnce(&mut Batch) -> R) -> Option<R> {
    CURRENT.with_borrow_mut(|current| current.as_mut().filter(|b| b.store == store).map(f))
}

/// While alive, makes a batch this thread's current one. Dropping it (also
/// when a write panics) ends the batch, so that no later write joins a
/// transaction that is gone.
pub(crate) struct Scope(());

impl Scope {
    /// Makes `batch` current.
    pub(crate) fn enter(batch: Batch) -> Scope {
        CURRENT.with_borrow_mut(|current| *current = Some(batch));
        Scope(())
    }

    /// Ends the batch and returns what its writes left.
    pub(crate) fn leave(self) -> Option<Batch> {
        CURRENT.with_borrow_mut(Option::take)
    }
}

impl Drop for Scope {
    fn drop(&mut self) {
        CURRENT.with_borrow_mut(|current| *current = None);
    }
}
