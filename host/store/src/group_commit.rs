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
    /// writer wake it: otherwise it is flushing or gathering and will look
    /// at the queue anyway, and a wake-up per write would be a futex call
    /// and a context switch per write.
    idle: bool,
}

/// After a flush that carried more than one write, the next flush starts
/// no sooner than this many times that flush's duration after its start.
///
/// A flush costs sled a wake-up of its IO threads, a write and a
/// `sync_file_range`, some of it per flush however few records it carries.
/// When the CPU is saturated, flushes take longer (sled's IO threads wait
/// for a core), and spacing them by their own duration lets each carry more
/// writes, which frees CPU for the writers themselves. When the machine has
/// room, flushes are quick and so is the spacing, so a few clients in a
/// loop are not held back. A fixed spacing of 1 ms, measured against this
/// with the API at 2, 4, 8, 16 and 64 clients: it halved 2 clients (3366 ->
/// 1859 tickets/s) and cost 4 clients a quarter; this keeps 2 to 8 clients
/// within noise of no spacing and gives 64 clients 8165 -> 8820.
const SPACING_FACTOR: u32 = 3;

/// The longest spacing, so that latency stays bounded whatever a slow
/// flush took.
const MAX_SPACING: Duration = Duration::from_millis(2);

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
        let mut queue = self.shared.queue.lock().unwrap_or_else(PoisonError::into_inner);
        queue.waiters.push(tx);
        let wake = queue.idle;
        drop(queue);
        if wake {
            self.shared.wake.notify_one();
        }
        rx
    }

    /// How many flushes have run, and how many writes they made durable.
    pub(crate) fn counts(&self) -> (u64, u64) {
        (self.shared.flushes.load(Ordering::Relaxed), self.shared.writes.load(Ordering::Relaxed))
    }
}

fn flush_loop(shared: &Shared, db: &sled::Db) {
    // When the last flush started and how long it took, if it carried more
    // than one write: the next one waits for the spacing.
    let mut spaced_from: Option<(Instant, Duration)> = None;
    loop {
        let batch = {
            let mut queue = shared.queue.lock().unwrap_or_else(PoisonError::into_inner);
            while queue.waiters.is_empty() && !queue.closing {
                queue.idle = true;
                queue = shared.wake.wait(queue).unwrap_or_else(PoisonError::into_inner);
            }
            queue.idle = false;
            let due = spaced_from.map(|(start, took)| start + (took * SPACING_FACTOR).min(MAX_SPACING));
            if let Some(due) = due.filter(|_| !queue.closing) {
                let now = Instant::now();
                if due > now {
                    drop(queue);
                    std::thread::sleep(due - now);
                    queue = shared.queue.lock().unwrap_or_else(PoisonError::into_inner);
                }
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
        let start = Instant::now();
        let result = db.flush().map(drop).map_err(|e| e.to_string());
        spaced_from = (batch.len() > 1).then(|| (start, start.elapsed()));
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
