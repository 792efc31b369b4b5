//! Where a write runs: on the caller's thread, or on a writer thread that
//! commits the writes queued behind each other as one transaction.
//!
//! sled 0.34 runs every transaction under one process-wide lock, and each
//! transaction seals its log buffer and wakes all of sled's IO threads (see
//! `batch`): most of a small write's cost is per transaction, not per
//! record. When many writes are in progress (see `load`), the store hands
//! a write to this thread. The caller's task waits without holding its
//! tokio worker (a plugin's guest fiber suspends with it), and the writer
//! runs whatever queued up meanwhile as one transaction. While the
//! group-commit thread is flushing, the writer waits for it to finish
//! before committing: a transaction committed during a flush is not in it
//! and waits for the next one anyway, so gathering costs the writes
//! nothing and saves transactions (each rolls sled's log buffer, which
//! wakes every idle sled IO thread).
//!
//! A write that panics fails alone and the thread goes on: the panic
//! unwound through sled's transaction before it could commit, so nothing of
//! it is kept. A panic outside any one write (while committing a batch) is
//! a bug whose damage is unknown, so the store stops (see `group_commit`)
//! rather than go on half working.

use std::future::Future;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, mpsc};
use std::thread::JoinHandle;

use switchboard_store::StoreError;
use tokio::sync::oneshot;

use crate::store::Inner;

/// The most writes run as one transaction. A batch's writes all wait for
/// the last of them, so this bounds what one write can wait behind.
const MAX_BATCH: usize = 32;

/// The longest the writer waits for a running flush to end before it
/// commits what it has. (Tests hold a pretended flush for longer than a
/// noisy machine may stall.)
#[cfg(not(test))]
const FLUSH_WAIT: std::time::Duration = std::time::Duration::from_millis(20);
#[cfg(test)]
const FLUSH_WAIT: std::time::Duration = std::time::Duration::from_secs(5);

/// A write waiting for the writer thread.
trait Job: Send {
    /// Makes the write, keeping its result. Returns false if it panicked.
    /// A batch that is retried runs it again.
    fn run(&mut self, inner: &Inner) -> bool;

    /// Sends the last run's result to the caller.
    fn answer(self: Box<Self>);

    /// Tells the caller the write could not be made.
    fn fail(self: Box<Self>, reason: &str);
}

/// A caller's write, its last result, and where the result goes.
struct Call<F, T> {
    write: F,
    result: Option<Result<T, StoreError>>,
    reply: oneshot::Sender<Result<T, StoreError>>,
}

impl<F: FnMut(&Inner) -> Result<T, StoreError> + Send, T: Send> Job for Call<F, T> {
    fn run(&mut self, inner: &Inner) -> bool {
        let outcome = catch_unwind(AssertUnwindSafe(|| {
            crate::failpoint::check("writer").map_err(|e| StoreError::Backend(e.to_string()))?;
            (self.write)(inner)
        }));
        let made = outcome.is_ok();
        if !made {
            inner.panics.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            tracing::error!("a write panicked on the writer thread; it fails alone");
        }
        self.result = Some(outcome.unwrap_or_else(|_| Err(StoreError::Backend("a write panicked".into()))));
        made
    }

    fn answer(self: Box<Self>) {
        if let Some(result) = self.result {
            // The caller may have gone; its write has still been made.
            let _ = self.reply.send(result);
        }
    }

    fn fail(self: Box<Self>, reason: &str) {
        let _ = self.reply.send(Err(StoreError::Unavailable(reason.to_owned())));
    }
}

/// Runs writes on a dedicated thread, in the order they arrive. Writes that
/// queue up while it works run together as one transaction. Dropping the
/// writer finishes the queued writes and ends the thread.
pub(crate) struct Writer {
    jobs: Option<mpsc::Sender<Box<dyn Job>>>,
    thread: Option<JoinHandle<()>>,
    pub(crate) counts: Arc<Counts>,
}

/// How much the writer has done.
#[derive(Debug, Default)]
pub(crate) struct Counts {
    /// Transactions that committed more than one write.
    pub(crate) batches: AtomicU64,
    /// The writes those transactions committed.
    pub(crate) batched_writes: AtomicU64,
}

impl Writer {
    /// Starts the thread, named `store-writer`.
    pub(crate) fn spawn(inner: Arc<Inner>) -> std::io::Result<Writer> {
        let (jobs, queue) = mpsc::channel::<Box<dyn Job>>();
        let counts = Arc::new(Counts::default());
        let counted = Arc::clone(&counts);
        let thread = std::thread::Builder::new().name("store-writer".into()).spawn(move || {
            while let Ok(first) = queue.recv() {
                // Writes committed during a flush wait for the next one
                // anyway: gather those that come meanwhile into one
                // transaction. A flush slower than `FLUSH_WAIT` (a failing
                // disk) does not hold the writer up for longer.
                // Only when the store is busy: see `Load::new`.
                if inner.load.waits_out_flushes() {
                    inner.commit.wait_out_flush(FLUSH_WAIT);
                }
                let mut batch = vec![first];
                while batch.len() < MAX_BATCH
                    && let Ok(next) = queue.try_recv()
                {
                    batch.push(next);
                }
                run_batch(&inner, batch, &counted);
            }
        })?;
        Ok(Writer { jobs: Some(jobs), thread: Some(thread), counts })
    }

    /// Queues `write` for the writer thread at once, and returns a future
    /// of its result. `write` may run more than once (its batch was retried
    /// or given up); only its last run's writes are kept. If the caller
    /// stops waiting, the write still runs: it was handed over whole.
    pub(crate) fn run<T, W>(&self, write: W) -> impl Future<Output = Result<T, StoreError>> + use<T, W>
    where
        T: Send + 'static,
        W: FnMut(&Inner) -> Result<T, StoreError> + Send + 'static,
    {
        let (reply, answered) = oneshot::channel();
        let job: Box<dyn Job> = Box::new(Call { write, result: None, reply });
        let sent = self.jobs.as_ref().is_some_and(|jobs| jobs.send(job).is_ok());
        async move {
            if !sent {
                return Err(StoreError::Unavailable("the store's writer thread has stopped".into()));
            }
            answered
                .await
                .unwrap_or_else(|_| Err(StoreError::Unavailable("the store's writer thread has stopped".into())))
        }
    }
}

/// Runs the writes of `batch` as one transaction, or one by one when that
/// is not possible. A panic outside the writes stops the store.
fn run_batch(inner: &Inner, mut batch: Vec<Box<dyn Job>>, counts: &Counts) {
    if batch.len() > 1 {
        let committed =
            catch_unwind(AssertUnwindSafe(|| inner.write_batch(&mut |inner| batch.iter_mut().all(|j| j.run(inner)))));
        match committed {
            Ok(Ok(true)) => {
                counts.batches.fetch_add(1, Ordering::Relaxed);
                counts.batched_writes.fetch_add(batch.len() as u64, Ordering::Relaxed);
                batch.into_iter().for_each(|job| job.answer());
                return;
            }
            // A write failed or panicked: each runs alone below and gets
            // its own answer.
            Ok(Ok(false)) => {}
            Ok(Err(e)) => {
                tracing::warn!(error = %e, writes = batch.len(), "a batch of writes failed; writing them one by one")
            }
            Err(_) => {
                inner.stop("the store writer panicked while committing a batch".into());
                batch.into_iter().for_each(|job| job.fail("the store stopped after an internal error"));
                return;
            }
        }
    }
    for mut job in batch {
        job.run(inner);
        job.answer();
    }
}

impl Drop for Writer {
    fn drop(&mut self) {
        // Closing the queue ends the thread's loop once it is empty.
        drop(self.jobs.take());
        if let Some(thread) = self.thread.take()
            && thread.thread().id() != std::thread::current().id()
        {
            // Panics are caught in the thread, so joining can only fail if
            // the loop itself panicked; there is nothing left to clean up.
            let _ = thread.join();
        }
    }
}
