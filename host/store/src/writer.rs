//! Where a write runs: on the caller's thread, or on a writer thread that
//! commits the writes queued behind each other as one transaction.
//!
//! sled 0.34 runs every transaction under one process-wide lock, and each
//! transaction seals its log buffer and wakes all of sled's IO threads (see
//! `batch`): most of a small write's cost is per transaction, not per
//! record. When many requests are writing, [`Writer::write`] hands the
//! write to this thread. The caller's task waits without holding its tokio
//! worker (a plugin's guest fiber suspends with it), and the writer runs
//! whatever queued up meanwhile as one transaction.
//!
//! With few requests in progress a hand-over would only add two thread
//! wake-ups, with nothing to batch with, so the write runs inline (see
//! `load`). Measured with `ticket_load` on 2 CPUs before batching: handing
//! a plugin's writes over lifted the plugin path at 64 clients from 0.74x
//! of the direct API to 0.82-0.86x, and sending the API's writes over too
//! dropped it from 8804 to 6527 tickets/s. With batching both gain, and
//! both now hand over (same run, medians of 3 x 5 s): the API went from
//! 7852 to 10366 tickets/s at 16 clients and from 9278 to 13203 at 64, and
//! hello-channel from 6109-8942 to 8886 at 16 and from 7800 to 14590 at 64.
//! At 1 and 4 clients nothing changed, as nothing is handed over there.

use std::future::Future;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, mpsc};
use std::thread::JoinHandle;

use tokio::sync::oneshot;

use crate::load::{InProgress, Load};
use crate::{Committed, Store, StoreError};

/// The most writes run as one transaction. A batch's writes all wait for
/// the last of them, so this bounds what one write can wait behind.
const MAX_BATCH: usize = 32;

/// A write waiting for the writer thread.
trait Job: Send {
    /// Makes the write, keeping its result. Returns false if it panicked.
    /// A batch that is retried runs it again.
    fn run(&mut self, store: &dyn Store) -> bool;

    /// Sends the last run's result to the caller.
    fn answer(self: Box<Self>);
}

/// A caller's write, its last result, and where the result goes.
struct Call<F, T> {
    write: F,
    result: Option<Result<T, ()>>,
    reply: oneshot::Sender<Result<T, ()>>,
}

impl<F: FnMut(&dyn Store) -> T + Send, T: Send> Job for Call<F, T> {
    fn run(&mut self, store: &dyn Store) -> bool {
        let result = catch_unwind(AssertUnwindSafe(|| (self.write)(store))).map_err(|_| ());
        let made = result.is_ok();
        self.result = Some(result);
        made
    }

    fn answer(self: Box<Self>) {
        if let Some(result) = self.result {
            // The caller may have gone; its write has still been made.
            let _ = self.reply.send(result);
        }
    }
}

/// Runs writes against a store on a dedicated thread, in the order they
/// arrive. Writes that queue up while it works run together as one
/// transaction (see [`Store::write_batch`]). Dropping the writer finishes
/// the queued writes and ends the thread, which then no longer holds the
/// store: a server that stops releases its data directory.
pub struct Writer {
    /// For writes made on the caller's thread.
    store: Arc<dyn Store>,
    jobs: Option<mpsc::Sender<Box<dyn Job>>>,
    thread: Option<JoinHandle<()>>,
    counts: Arc<Counts>,
    load: Load,
}

/// How much the writer has done.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct WriterStats {
    /// Writes [`Writer::write`] handed to the thread because the server
    /// was busy.
    pub handed_over: u64,
    /// Transactions that committed more than one write.
    pub batches: u64,
    /// The writes those transactions committed.
    pub batched_writes: u64,
}

#[derive(Debug, Default)]
struct Counts {
    batches: AtomicU64,
    batched_writes: AtomicU64,
}

impl Writer {
    /// Starts the thread, named `store-writer`.
    pub fn spawn(store: Arc<dyn Store>) -> Result<Writer, StoreError> {
        let threads_store = Arc::clone(&store);
        let (jobs, queue) = mpsc::channel::<Box<dyn Job>>();
        let counts = Arc::new(Counts::default());
        let counted = Arc::clone(&counts);
        let thread = std::thread::Builder::new()
            .name("store-writer".into())
            .spawn(move || {
                while let Ok(first) = queue.recv() {
                    let mut batch = vec![first];
                    while batch.len() < MAX_BATCH
                        && let Ok(next) = queue.try_recv()
                    {
                        batch.push(next);
                    }
                    run_batch(&*threads_store, batch, &counted);
                }
            })
            .map_err(|e| StoreError::Writer(format!("cannot start the writer thread: {e}")))?;
        Ok(Writer { store, jobs: Some(jobs), thread: Some(thread), counts, load: Load::new() })
    }

    /// Queues `write` for the writer thread at once, and returns a future
    /// of its result.
    ///
    /// `write` may run more than once: when it shares a transaction with
    /// other writes and that transaction has to be retried or given up
    /// (see [`Store::write_batch`]). Only its last run's writes are kept
    /// and only that run's result comes back, so it must make the same
    /// writes each time.
    ///
    /// If the caller stops waiting, the write still runs: it was handed
    /// over whole, so it is either done or not started, never half done.
    /// A write that panics is reported as an error and the thread goes on.
    pub fn run<T, W>(&self, write: W) -> impl Future<Output = Result<T, StoreError>> + use<T, W>
    where
        T: Send + 'static,
        W: FnMut(&dyn Store) -> T + Send + 'static,
    {
        let (reply, answered) = oneshot::channel();
        let job: Box<dyn Job> = Box::new(Call { write, result: None, reply });
        let sent = self.jobs.as_ref().is_some_and(|jobs| jobs.send(job).is_ok());
        async move {
            if !sent {
                return Err(StoreError::Writer("the writer thread has stopped".into()));
            }
            match answered.await {
                Ok(Ok(value)) => Ok(value),
                Ok(Err(())) => Err(StoreError::Writer("a write panicked".into())),
                Err(_) => Err(StoreError::Writer("the writer thread has stopped".into())),
            }
        }
    }

    /// Counts a request that writes as in progress until the returned
    /// guard is dropped. Hold it for the whole request, the wait for the
    /// disk included: how many are in progress decides where
    /// [`Writer::write`] runs a write.
    pub fn enter(&self) -> InProgress<'_> {
        self.load.enter()
    }

    /// Makes a write where it is cheapest. With few requests in progress
    /// (see [`Writer::enter`]) it runs here, on the caller's thread, which
    /// would otherwise have nothing to do. With more than two per CPU it
    /// goes to the writer thread: the caller's task waits without holding
    /// its thread, and the writes that queue up meanwhile commit together.
    /// Like [`Writer::run`], `write` may run more than once.
    pub async fn write<T, W>(&self, mut write: W) -> Result<Committed<T>, StoreError>
    where
        T: Send + 'static,
        W: FnMut(&dyn Store) -> Result<Committed<T>, StoreError> + Send + 'static,
    {
        if self.load.hand_over() { self.run(write).await? } else { write(&*self.store) }
    }

    /// Makes a write as [`Writer::write`] does and waits until it is on
    /// disk, counting the request as in progress meanwhile (see
    /// [`Writer::enter`]). For callers that answer once their write is
    /// durable, such as API routes.
    pub async fn write_durable<T, W>(&self, write: W) -> Result<T, StoreError>
    where
        T: Send + 'static,
        W: FnMut(&dyn Store) -> Result<Committed<T>, StoreError> + Send + 'static,
    {
        let _busy = self.enter();
        self.write(write).await?.durable().await
    }

    /// The store this writer writes to.
    pub fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }

    /// What the writer has done so far.
    pub fn stats(&self) -> WriterStats {
        WriterStats {
            handed_over: self.load.handed_over(),
            batches: self.counts.batches.load(Ordering::Relaxed),
            batched_writes: self.counts.batched_writes.load(Ordering::Relaxed),
        }
    }
}

/// Runs the writes of `batch` as one transaction, or one by one when that
/// is not possible.
fn run_batch(store: &dyn Store, mut batch: Vec<Box<dyn Job>>, counts: &Counts) {
    if batch.len() > 1 {
        match store.write_batch(&mut |store| batch.iter_mut().all(|job| job.run(store))) {
            Ok(true) => {
                counts.batches.fetch_add(1, Ordering::Relaxed);
                counts.batched_writes.fetch_add(batch.len() as u64, Ordering::Relaxed);
                batch.into_iter().for_each(|job| job.answer());
                return;
            }
            // A write failed or panicked: each runs alone below and gets
            // its own answer.
            Ok(false) => {}
            Err(e) => {
                tracing::warn!(error = %e, writes = batch.len(), "a batch of writes failed; writing them one by one")
            }
        }
    }
    for mut job in batch {
        job.run(store);
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
            // A panic in a write was caught in the thread, so joining can
            // only fail if the loop itself panicked; there is nothing left
            // to clean up then.
            let _ = thread.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::SledStore;

    fn store() -> (tempfile::TempDir, Arc<dyn Store>) {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = SledStore::open(dir.path()).expect("open");
        (dir, Arc::new(store))
    }

    #[tokio::test]
    async fn runs_writes_in_order_on_its_own_thread() {
        let (_dir, store) = store();
        let writer = Writer::spawn(store).expect("writer");
        let mut names = Vec::new();
        for i in 0..3 {
            names.push(writer.run(move |_| (i, std::thread::current().name().map(str::to_owned))).await.expect("run"));
        }
        assert_eq!(names, (0..3).map(|i| (i, Some("store-writer".to_owned()))).collect::<Vec<_>>());
    }

    #[tokio::test]
    async fn a_panicking_write_is_an_error_and_the_writer_goes_on() {
        let (_dir, store) = store();
        let writer = Writer::spawn(store).expect("writer");
        let failed = writer.run(|_| -> u32 { panic!("boom") }).await;
        assert!(matches!(&failed, Err(StoreError::Writer(m)) if m == "a write panicked"), "{failed:?}");
        assert_eq!(writer.run(|_| 7).await.expect("next write"), 7);
    }

    #[tokio::test]
    async fn dropping_the_writer_releases_the_store() {
        let (_dir, store) = store();
        let writer = Writer::spawn(Arc::clone(&store)).expect("writer");
        writer.run(|_| ()).await.expect("run");
        // The thread holds one reference, the writer one for writes made on
        // the caller's thread.
        assert_eq!(Arc::strong_count(&store), 3);
        drop(writer);
        assert_eq!(Arc::strong_count(&store), 1);
    }
}
