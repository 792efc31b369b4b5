//! A thread that runs store writes one after another, for callers whose own
//! thread should not run a transaction.
//!
//! sled 0.34 runs every transaction under one process-wide lock, and the
//! transaction itself (reads, encoding, log reservation) is tens of
//! microseconds of CPU. A plugin's host call that ran its transaction on a
//! tokio worker held that worker for all of it, with the guest's instance
//! live around it, and competed with the other workers for sled's lock.
//! Handing the transaction to this thread lets the guest's fiber suspend and
//! the worker go on with other requests; the transactions run in turn with
//! warm caches and without contending with each other.
//!
//! Measured with `ticket_load` at 64 clients (medians, same run): the
//! plugin path went from 0.74-0.76x of the direct API's tickets/s with its
//! transactions on the workers to 0.82-0.86x (7434 against 9121, 7443
//! against 8680), and its tokio workers' CPU per ticket from 103-110 to
//! 60-62 us. The direct API path was tried the same way and lost (8804 to
//! 6527 tickets/s): its workers have so little else to do that they sleep
//! between requests, and each hand-off then costs a wake-up on both sides.
//! It runs its transactions inline, and the runtime hands a plugin's writes
//! over only when many calls are in progress.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::{Arc, mpsc};
use std::thread::JoinHandle;

use tokio::sync::oneshot;

use crate::{Store, StoreError};

type Job = Box<dyn FnOnce(&dyn Store) + Send>;

/// Runs writes against a store on a dedicated thread, in the order they
/// arrive. Dropping the writer finishes the queued writes and ends the
/// thread, which then no longer holds the store: a server that stops
/// releases its data directory.
pub struct Writer {
    jobs: Option<mpsc::Sender<Job>>,
    thread: Option<JoinHandle<()>>,
}

impl Writer {
    /// Starts the thread, named `store-writer`.
    pub fn spawn(store: Arc<dyn Store>) -> Result<Writer, StoreError> {
        let (jobs, queue) = mpsc::channel::<Job>();
        let thread = std::thread::Builder::new()
            .name("store-writer".into())
            .spawn(move || {
                while let Ok(job) = queue.recv() {
                    job(&*store);
                }
            })
            .map_err(|e| StoreError::Writer(format!("cannot start the writer thread: {e}")))?;
        Ok(Writer { jobs: Some(jobs), thread: Some(thread) })
    }

    /// Runs `write` on the writer thread and returns its result.
    ///
    /// If the caller stops waiting, the write still runs: it was handed
    /// over whole, so it is either done or not started, never half done.
    /// A write that panics is reported as an error and the thread goes on.
    pub async fn run<T: Send + 'static>(
        &self,
        write: impl FnOnce(&dyn Store) -> T + Send + 'static,
    ) -> Result<T, StoreError> {
        let (answer, answered) = oneshot::channel();
        let job: Job = Box::new(move |store| {
            let done = catch_unwind(AssertUnwindSafe(|| write(store)));
            // The caller may have gone; its write has still been made.
            let _ = answer.send(done.map_err(|_| ()));
        });
        let sent = self.jobs.as_ref().map(|jobs| jobs.send(job));
        if !matches!(sent, Some(Ok(()))) {
            return Err(StoreError::Writer("the writer thread has stopped".into()));
        }
        match answered.await {
            Ok(Ok(value)) => Ok(value),
            Ok(Err(())) => Err(StoreError::Writer("a write panicked".into())),
            Err(_) => Err(StoreError::Writer("the writer thread has stopped".into())),
        }
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
        assert_eq!(Arc::strong_count(&store), 2);
        drop(writer);
        assert_eq!(Arc::strong_count(&store), 1);
    }
}
