//! How a write is made: one sled transaction over every tree, run on the
//! caller's thread or handed to the writer thread, then queued for the
//! group flush.

use std::cell::RefCell;
use std::sync::Arc;

use sled::transaction::{ConflictableTransactionError, TransactionError, Transactional, TransactionalTree};
use switchboard_store::{Committed, Durability, StoreError};
use tokio::sync::oneshot;

use crate::batch::{self, Batch, Broken};
use crate::group_commit::Waiter;
use crate::load::InProgress;
use crate::store::{Inner, SledStore};
use crate::trees::Tree;
use crate::tx::{Tx, TxResult};
use crate::visibility::{Pending, Trees};

/// A batch attempt that must not commit.
struct BatchFailed;

/// What a write holds until it is durable: its place in the load count,
/// from its call, and its registration with the readers of its trees, from
/// just before its transaction. A write retried after its batch was given
/// up finds both gone with the batch's waiters; it registers with the
/// readers again before it commits (see `Token::registered`) and goes on
/// uncounted, which only makes the load look lighter for a moment.
#[derive(Default)]
pub(crate) struct Token {
    load: Option<InProgress>,
    visible: Option<Pending>,
}

impl Token {
    /// This token, registered with the readers of `trees` if it is not.
    fn registered(mut self, inner: &Inner, trees: Trees) -> Token {
        if self.visible.is_none() {
            self.visible = Some(inner.visibility.register(trees));
        }
        self
    }

    /// The flush waiter that carries the token until the write is durable.
    fn waiter(self, reply: oneshot::Sender<Result<(), StoreError>>) -> Waiter {
        Waiter { reply, _load: self.load, _visible: self.visible }
    }
}

impl SledStore {
    /// Makes a write: `f` runs in one transaction over every tree, on this
    /// thread while few writes are in progress, or on the writer thread
    /// (batched with others) while many are. `f` may run more than once (a
    /// retried or given-up batch), so it must make the same writes each
    /// time. The write counts as in progress until it is on disk.
    ///
    /// `trees` are the trees the write may touch: readers of them wait for
    /// it from just before it commits until it is durable. It registers
    /// with the readers when its transaction is about to run (see
    /// `Inner::write_now`), not when it is handed over: a read need not
    /// wait for a write that is still queued, which it cannot have seen.
    pub(crate) async fn write<T, F>(&self, trees: Trees, f: F) -> Result<Committed<T>, StoreError>
    where
        T: Send + 'static,
        F: Fn(&Tx<'_>) -> TxResult<T> + Send + Sync + 'static,
    {
        self.inner.check_healthy()?;
        let token = Token { load: Some(self.inner.load.enter()), visible: None };
        if self.inner.load.hand_over() {
            let mut token = Some(token);
            self.writer.run(move |inner| inner.write_now(trees, &f, token.take().unwrap_or_default())).await
        } else {
            self.inner.write_now(trees, &f, token)
        }
    }
}

impl SledStore {
    /// Finishes a read of `trees` that gave `value`: waits until the writes
    /// in them that the read could have seen are durable (see
    /// `visibility`), and refuses if the store stopped meanwhile.
    pub(crate) async fn read<T>(&self, trees: Trees, value: Result<T, StoreError>) -> Result<T, StoreError> {
        let value = value?;
        self.inner.settled(trees).await?;
        Ok(value)
    }

    /// A read of `trees` that gave `value`, whose wait is left to the
    /// caller: the value at once, with a durability answered once the
    /// writes the read could have seen are durable. For a caller that
    /// tells nobody outside what it read before that wait.
    pub(crate) fn read_unsettled<T>(
        &self,
        trees: Trees,
        value: Result<T, StoreError>,
    ) -> Result<Committed<T>, StoreError> {
        let value = value?;
        self.inner.check_healthy()?;
        let Some(horizon) = self.inner.visibility.horizon(trees) else {
            return Ok(Committed::durable_now(value));
        };
        let (answer, settled) = oneshot::channel();
        let inner = Arc::clone(&self.inner);
        tokio::spawn(async move {
            let _gone = answer.send(inner.settled_before(trees, horizon).await);
        });
        Ok(Committed::pending(value, Durability::pending(settled)))
    }
}

impl Inner {
    /// Makes a write on this thread: it joins the batch this thread is
    /// running, if any, or runs as a transaction of its own.
    pub(crate) fn write_now<T>(
        &self,
        trees: Trees,
        f: &dyn Fn(&Tx<'_>) -> TxResult<T>,
        token: Token,
    ) -> Result<Committed<T>, StoreError> {
        let mut token = Some(token.registered(self, trees));
        if let Some(joined) =
            batch::with_current(self.id, |batch| self.join(batch, trees, f, token.take().unwrap_or_default()))
        {
            return joined;
        }
        let token = token.unwrap_or_default();
        crate::failpoint::check("commit").map_err(|e| self.storage_fault(e.to_string()))?;
        let mask = trees;
        let trees = self.all_trees();
        let (value, cached) = trees
            .as_slice()
            .transaction(|trees: &Vec<TransactionalTree>| {
                let tx = Tx::new(trees, &self.sequences);
                let value = f(&tx)?;
                Ok((value, tx.finish(mask)))
            })
            .map_err(|e| match e {
                TransactionError::Abort(e) => e,
                TransactionError::Storage(e) => self.storage_fault(e.to_string()),
            })?;
        // Only now is the new value what readers see, so only now may the
        // old copies go.
        self.forget_cached(cached);
        let (reply, flushed) = oneshot::channel();
        self.commit.queue([token.waiter(reply)]);
        Ok(Committed::pending(value, Durability::pending(flushed)))
    }

    /// Runs `f` in `batch`'s transaction. Its value comes back at once; its
    /// flush waiter is queued only when the batch commits.
    fn join<T>(
        &self,
        batch: &mut Batch,
        mask: Trees,
        f: &dyn Fn(&Tx<'_>) -> TxResult<T>,
        token: Token,
    ) -> Result<Committed<T>, StoreError> {
        if batch.broken.is_some() {
            // This attempt will be thrown away: do not build on it.
            return Err(StoreError::Backend("an earlier write of its batch failed".into()));
        }
        let tx = Tx::new(&batch.trees, &self.sequences);
        let outcome = f(&tx);
        let cached = tx.finish(mask);
        match outcome {
            Ok(value) => {
                batch.cached.extend(cached);
                let (reply, flushed) = oneshot::channel();
                batch.waiters.push(token.waiter(reply));
                Ok(Committed::pending(value, Durability::pending(flushed)))
            }
            Err(ConflictableTransactionError::Conflict) => {
                batch.broken = Some(Broken::Conflict);
                Err(StoreError::Backend("its batch met a conflict".into()))
            }
            Err(ConflictableTransactionError::Abort(e)) => {
                batch.broken = Some(Broken::Failed);
                Err(e)
            }
            Err(ConflictableTransactionError::Storage(e)) => {
                batch.broken = Some(Broken::Failed);
                Err(StoreError::Backend(e.to_string()))
            }
        }
    }

    /// Runs `writes`, whose store writes all join one transaction. Returns
    /// `Ok(false)`, keeping nothing, if a write failed or `writes` says not
    /// all were made: the caller then makes them one by one, so that one
    /// write's failure stays its own. `writes` may run more than once,
    /// after a conflict; only its last run counts. Reads made outside a
    /// write do not see the batch's writes until it has committed.
    pub(crate) fn write_batch(&self, writes: &mut dyn FnMut(&Inner) -> bool) -> Result<bool, StoreError> {
        crate::failpoint::check("commit").map_err(|e| self.storage_fault(e.to_string()))?;
        let writes = RefCell::new(writes);
        let trees = self.all_trees();
        let outcome = trees.as_slice().transaction(|trees: &Vec<TransactionalTree>| {
            let scope = batch::Scope::enter(Batch::new(self.id, trees.clone()));
            let all_made = (writes.borrow_mut())(self);
            let batch = scope.leave().ok_or(ConflictableTransactionError::Abort(BatchFailed))?;
            match batch.broken {
                Some(Broken::Conflict) => Err(ConflictableTransactionError::Conflict),
                Some(Broken::Failed) => Err(ConflictableTransactionError::Abort(BatchFailed)),
                None if !all_made => Err(ConflictableTransactionError::Abort(BatchFailed)),
                None => Ok((batch.cached, batch.waiters)),
            }
        });
        match outcome {
            Ok((cached, waiters)) => {
                self.forget_cached(cached);
                self.commit.queue(waiters);
                Ok(true)
            }
            Err(TransactionError::Abort(BatchFailed)) => Ok(false),
            Err(TransactionError::Storage(e)) => Err(self.storage_fault(e.to_string())),
        }
    }

    /// A transaction that failed in sled's storage, not in our rules,
    /// leaves sled in a state nobody vouches for (sled keeps the error and
    /// fails what follows): the store stops, as after a failed flush.
    fn storage_fault(&self, reason: String) -> StoreError {
        self.stop(format!("a transaction failed in storage: {reason}"));
        StoreError::Unavailable(reason)
    }

    /// Forgets the cached copies of records a committed write changed.
    fn forget_cached(&self, cached: Vec<(Tree, Vec<u8>)>) {
        for (tree, key) in cached {
            match tree {
                Tree::Teams => self.teams.forget(&key),
                Tree::Installations => self.installations.forget(&key),
                _ => {}
            }
        }
    }
}
