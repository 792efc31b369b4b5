//! Group commit: many writers, one flush.
//!
//! A write is durable only after sled has flushed and fsynced its log. An
//! fsync costs about the same for one record as for a hundred, so writers
//! do not flush for themselves. Each one, after its transaction, queues a
//! waiter here; a single flusher thread takes every queued waiter, flushes
//! once, and answers them all. Writers that arrive during a flush are served
//! by the next one. Under load the flush rate stays near the disk's fsync
//! rate while the write rate grows with the number of writers.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use tokio::sync::oneshot;

/// What a flush reports to each waiter: `Err` carries sled's message.
pub(crate) type FlushResult = Result<(), String>;

#[derive(Default)]
struct Queue {
    waiters: Vec<oneshot::Sender<FlushResult>>,
    closing: bool,
    /// The flusher is asleep waiting for a first writer. Only then does a
    /// writer wake it (or when it is gathering and the writer completes
    /// the batch): otherwise it is flushing and will look at the queue
    /// anyway, and a wake-up per write would be a futex call and a context
    /// switch per write.
    idle: bool,
    /// While the flusher gathers a batch: how many waiters it waits for.
    gathering: Option<usize>,
}

/// How long the flusher may gather a batch, counted from the start of the
/// previous flush.
///
/// A flush costs sled a wake-up of its IO threads, a write and a
/// `sync_file_range`: about 130 us of CPU however few records it carries,
/// plus about 40 us per record (measured from the IO threads' CPU time at
/// several batch sizes). Writers come in waves: the writers a flush
/// answers go off to answer their clients and come back with the next
/// write. So after a flush that carried `n` writes the flusher waits until
/// `n` writers are queued again, or until this much time has passed since
/// that flush started, and then flushes them together instead of one flush
/// for the first few and another for the rest. A lone writer (`n` = 1) is
/// never held back, and no batch waits long for writers that are not
/// coming.
///
/// Measured with the API (`ticket_load`, 4 s x 2 rounds) at 2, 4, 8, 16 and
/// 64 clients, in tickets/s: no gathering 3366, 4779, 6224, 6744, 8165; a
/// fixed 1 ms between flushes 1859, 3566, 6244, 7471, 8481 (a few clients
/// wait for the timer instead of the disk); this 3210, 5606, 7003, 8338,
/// 9453.
const MAX_GATHER: Duration = Duration::from_millis(2);

#[derive(Default)]
struct Shared {
    queue: Mutex<Queue>,
    wake: Condvar,
    flushes: AtomicU64,
    writes: AtomicU64,
}

/// The flusher thread and its queue.
pub(crate) struct GroupCommit {
    shared: Arc<Shared>,
    thread: Option<JoinHandle<()>>,
}

impl GroupCommit {
    /// Starts the flusher thread for `db`.
    pub(crate) fn start(db: sled::Db) -> std::io::Result<GroupCommit> {
        let shared = Arc::new(Shared::default());
        let worker = Arc::clone(&shared);
        let thread =
            std::thread::Builder::new().name("sled-group-commit".into()).spawn(move || flush_loop(&worker, &db))?;
        Ok(GroupCommit { shared, thread: Some(thread) })
    }

    /// Queues a waiter for the next flush. Call it after the write's
    /// transaction has committed, so that the flush covers the write.
    pub(crate) fn wait(&self) -> oneshot::Receiver<FlushResult> {
        let (tx, rx) = oneshot::channel();
        self.queue([tx]);
        rx
    }

    /// Queues waiters made earlier for the next flush: those of a batch of
    /// writes, once the batch has committed.
    pub(crate) fn queue(&self, waiters: impl IntoIterator<Item = oneshot::Sender<FlushResult>>) {
        let mut queue = self.shared.queue.lock().unwrap_or_else(PoisonError::into_inner);
        queue.waiters.extend(waiters);
        let wake = queue.idle || queue.gathering.is_some_and(|wanted| queue.waiters.len() >= wanted);
        drop(queue);
        if wake {
            self.shared.wake.notify_one();
        }
    }

    /// How many flushes have run, and how many writes they made durable.
    pub(crate) fn counts(&self) -> (u64, u64) {
        (self.shared.flushes.load(Ordering::Relaxed), self.shared.writes.load(Ordering::Relaxed))
    }
}

fn flush_loop(shared: &Shared, db: &sled::Db) {
    // When the last flush started and how many writes it carried.
    let mut last: Option<(Instant, usize)> = None;
    loop {
        let batch = {
            let mut queue = shared.queue.lock().unwrap_or_else(PoisonError::into_inner);
            while queue.waiters.is_empty() && !queue.closing {
                queue.idle = true;
                queue = shared.wake.wait(queue).unwrap_or_else(PoisonError::into_inner);
            }
            queue.idle = false;
            if let Some((started, carried)) = last.filter(|&(_, carried)| carried > 1) {
                let deadline = started + MAX_GATHER;
                while queue.waiters.len() < carried && !queue.closing {
                    let now = Instant::now();
                    if now >= deadline {
                        break;
                    }
                    queue.gathering = Some(carried);
                    queue = shared.wake.wait_timeout(queue, deadline - now).unwrap_or_else(PoisonError::into_inner).0;
                }
                queue.gathering = None;
            }
            if queue.waiters.is_empty() {
                // Closing with nobody waiting: one last flush for writes
                // that did not ask for durability, then stop.
                if let Err(e) = db.flush() {
                    tracing::error!(error = %e, "final flush failed");
                }
                return;
            }
            std::mem::take(&mut queue.waiters)
        };
        last = Some((Instant::now(), batch.len()));
        let result = db.flush().map(drop).map_err(|e| e.to_string());
        if let Err(e) = &result {
            tracing::error!(error = %e, waiters = batch.len(), "group commit flush failed");
        }
        shared.flushes.fetch_add(1, Ordering::Relaxed);
        if result.is_ok() {
            // Counted here, not when queued, so that the figure is what is
            // on disk.
            shared.writes.fetch_add(batch.len() as u64, Ordering::Relaxed);
        }
        for waiter in batch {
            // A waiter whose request was dropped no longer cares.
            let _ = waiter.send(result.clone());
        }
    }
}

impl Drop for GroupCommit {
    fn drop(&mut self) {
        self.shared.queue.lock().unwrap_or_else(PoisonError::into_inner).closing = true;
        self.shared.wake.notify_one();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}
