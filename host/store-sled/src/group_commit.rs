//! Group commit: many writers, one flush.
//!
//! A write is durable only after sled has written its log and the disk has
//! made it stable. That costs about the same for one record as for a
//! hundred, so writers do not flush for themselves. Each one, after its
//! transaction, queues a waiter here; a single flusher thread takes every
//! queued waiter, flushes once, and answers them all. Writers that arrive
//! during a flush are served by the next one.
//!
//! sled's own flush is not enough for a power cut: on Linux it makes its
//! log stable with `sync_file_range`, which flushes neither the disk's
//! write cache nor the file's metadata, and it never syncs the blob files
//! it writes values over 128 KiB to. So after each `Db::flush` the flusher
//! syncs new blob files and their directory, then `fdatasync`s the log
//! (see `sync`), before any waiter is answered.
//!
//! A failed flush is a fault the store does not recover from: after a
//! failed fsync the kernel may already have dropped the dirty pages, so a
//! retry can report success for data that is gone ("fsyncgate"). The
//! flusher reports the fault, refuses every later waiter, and the store
//! refuses every later write; the server then exits.

use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use switchboard_store::StoreError;
use tokio::sync::{oneshot, watch};

use crate::load::{InProgress, Load};
use crate::sync::Syncer;
use crate::visibility::Pending;

/// A write waiting for the flush that makes it durable.
pub(crate) struct Waiter {
    /// Where the outcome goes.
    pub(crate) reply: oneshot::Sender<Result<(), StoreError>>,
    /// Keeps the write counted as in progress until it is on disk.
    pub(crate) _load: Option<InProgress>,
    /// Keeps readers of the trees it wrote waiting until it is on disk.
    pub(crate) _visible: Option<Pending>,
}

#[derive(Default)]
struct Queue {
    waiters: Vec<Waiter>,
    closing: bool,
    /// The flusher is asleep waiting for a first writer. Only then does a
    /// writer wake it (or when it is gathering and the writer completes
    /// the batch): otherwise it is flushing and will look at the queue
    /// anyway, and a wake-up per write would be a futex call and a context
    /// switch per write.
    idle: bool,
    /// While the flusher gathers a batch: how many waiters it waits for.
    gathering: Option<usize>,
    /// The flusher is flushing: a write committed now waits for the next
    /// flush, so the writer thread may as well gather until this one ends
    /// (see [`GroupCommit::wait_out_flush`]).
    flushing: bool,
}

/// How long the flusher may gather a batch, counted from the start of the
/// previous flush. After a flush that carried `n` writes the flusher waits
/// until `n` writers are queued again, or until this much time has passed
/// since that flush started: writers come in waves, and a wave is flushed
/// once, not in pieces. A lone writer (`n` = 1) is never held back. The
/// measurements behind it are in `benches/README.md`.
const MAX_GATHER: Duration = Duration::from_millis(2);

/// How long writes may be in progress without any of them becoming
/// durable before the disk counts as failing. sled 0.34's own periodic
/// flusher can meet a write error (a full disk) first; its log then never
/// finishes another flush, and its transactions (and even reads) may block
/// for ever, so neither our flush nor the writes waiting on it would ever
/// report the fault. A store this stuck is failing either way.
const STALL: Duration = Duration::from_secs(10);

struct Shared {
    queue: Mutex<Queue>,
    wake: Condvar,
    /// Signalled when a flush ends, for [`GroupCommit::wait_out_flush`].
    flushed: Condvar,
    flushes: AtomicU64,
    writes: AtomicU64,
    fault: watch::Sender<Option<String>>,
}

/// The flusher thread and its queue.
pub(crate) struct GroupCommit {
    shared: Arc<Shared>,
    thread: Option<JoinHandle<()>>,
}

impl GroupCommit {
    /// Starts the flusher thread for `db`, whose files are in `dir`, and a
    /// thread that stops the store when the writes counted in `load` make
    /// no progress (see [`STALL`]).
    pub(crate) fn start(db: sled::Db, dir: &Path, load: Arc<Load>) -> std::io::Result<GroupCommit> {
        let (fault, _) = watch::channel(None);
        let shared = Arc::new(Shared {
            queue: Mutex::default(),
            wake: Condvar::new(),
            flushed: Condvar::new(),
            flushes: AtomicU64::new(0),
            writes: AtomicU64::new(0),
            fault,
        });
        let worker = Arc::clone(&shared);
        let mut syncer = Syncer::open(dir)?;
        let thread = std::thread::Builder::new()
            .name("sled-group-commit".into())
            .spawn(move || flush_loop(&worker, &db, &mut syncer))?;
        let watched = Arc::downgrade(&shared);
        std::thread::Builder::new().name("sled-flush-watch".into()).spawn(move || watch_stalls(&watched, &load))?;
        Ok(GroupCommit { shared, thread: Some(thread) })
    }

    /// Queues waiters for the next flush. Call it after their writes'
    /// transaction has committed, so that the flush covers them.
    pub(crate) fn queue(&self, waiters: impl IntoIterator<Item = Waiter>) {
        if let Some(reason) = self.fault_reason() {
            for waiter in waiters {
                let _ = waiter.reply.send(Err(StoreError::Unavailable(reason.clone())));
            }
            return;
        }
        let mut queue = self.shared.queue.lock().unwrap_or_else(PoisonError::into_inner);
        queue.waiters.extend(waiters);
        let wake = queue.idle || queue.gathering.is_some_and(|wanted| queue.waiters.len() >= wanted);
        drop(queue);
        if wake {
            self.shared.wake.notify_one();
        }
    }

    /// Waits while a flush is running, for at most `limit`. The writer
    /// thread calls it before committing a batch: a transaction committed
    /// during a flush is not covered by it and waits for the next flush
    /// anyway, so committing the writes that arrive meanwhile as one
    /// transaction when it ends costs them nothing, and saves a
    /// transaction per write. Each sled transaction rolls its log buffer
    /// twice, and each roll wakes every idle sled IO thread: under load
    /// that was a third of the server's CPU (see `benches/README.md`).
    pub(crate) fn wait_out_flush(&self, limit: Duration) {
        let deadline = Instant::now() + limit;
        let mut queue = self.shared.queue.lock().unwrap_or_else(PoisonError::into_inner);
        while queue.flushing {
            let now = Instant::now();
            if now >= deadline {
                return;
            }
            queue = self.shared.flushed.wait_timeout(queue, deadline - now).unwrap_or_else(PoisonError::into_inner).0;
        }
    }

    /// The fault that stopped the store, if one did.
    pub(crate) fn fault_reason(&self) -> Option<String> {
        self.shared.fault.borrow().clone()
    }

    /// Stops the store for good, as a failed flush does.
    pub(crate) fn stop(&self, reason: String) {
        tracing::error!(reason = %reason, "the store stopped accepting writes");
        self.shared.fault.send_replace(Some(reason));
    }

    /// Follows the fault state.
    pub(crate) fn watch_fault(&self) -> watch::Receiver<Option<String>> {
        self.shared.fault.subscribe()
    }

    /// How many flushes have run, and how many writes they made durable.
    pub(crate) fn counts(&self) -> (u64, u64) {
        (self.shared.flushes.load(Ordering::Relaxed), self.shared.writes.load(Ordering::Relaxed))
    }
}

/// Stops the store when writes have been in progress for [`STALL`] and no
/// flush finished meanwhile; ends with the store. It is a thread of its
/// own, not a task, because a stuck sled blocks the threads that call it,
/// tokio's workers among them.
fn watch_stalls(shared: &std::sync::Weak<Shared>, load: &Load) {
    let mut progress = (0, Instant::now());
    loop {
        std::thread::sleep(Duration::from_millis(500));
        let Some(shared) = shared.upgrade() else { return };
        let flushes = shared.flushes.load(Ordering::Relaxed);
        let waiting = load.in_progress();
        if waiting == 0 || flushes != progress.0 {
            progress = (flushes, Instant::now());
        } else if progress.1.elapsed() > STALL && shared.fault.borrow().is_none() {
            let reason = format!(
                "no write became durable in {} s while {waiting} were in progress; the disk is failing",
                STALL.as_secs()
            );
            tracing::error!(reason = %reason, "the store stops");
            shared.fault.send_replace(Some(reason));
        }
    }
}

fn flush_loop(shared: &Shared, db: &sled::Db, syncer: &mut Syncer) {
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
                if shared.fault.borrow().is_none()
                    && let Err(e) = db
                        .flush()
                        .map(drop)
                        .map_err(|e| e.to_string())
                        .and_then(|()| syncer.sync().map_err(|e| e.to_string()))
                {
                    tracing::error!(error = %e, "final flush failed");
                }
                return;
            }
            queue.flushing = true;
            std::mem::take(&mut queue.waiters)
        };
        last = Some((Instant::now(), batch.len()));
        let fault = shared.fault.borrow().clone();
        let result = match fault {
            Some(reason) => Err(reason),
            None => db
                .flush()
                .map(drop)
                .map_err(|e| format!("flush failed: {e}"))
                .and_then(|()| syncer.sync().map_err(|e| format!("sync failed: {e}"))),
        };
        shared.flushes.fetch_add(1, Ordering::Relaxed);
        shared.queue.lock().unwrap_or_else(PoisonError::into_inner).flushing = false;
        shared.flushed.notify_all();
        match &result {
            Ok(()) => {
                // Counted here, not when queued, so that the figure is what
                // is on disk.
                shared.writes.fetch_add(batch.len() as u64, Ordering::Relaxed);
            }
            Err(reason) => {
                if shared.fault.borrow().is_none() {
                    tracing::error!(error = %reason, waiters = batch.len(), "group commit failed; the store stops");
                    shared.fault.send_replace(Some(reason.clone()));
                }
            }
        }
        for waiter in batch {
            let outcome = result.clone().map_err(StoreError::Unavailable);
            // A waiter whose request was dropped no longer cares. Dropping
            // the waiter lets readers of its trees go on: after a failed
            // flush they find the store stopped.
            let _ = waiter.reply.send(outcome);
        }
    }
}

#[cfg(test)]
impl GroupCommit {
    /// Marks a flush as running until the returned guard is dropped, as
    /// the flusher does while it flushes.
    pub(crate) fn pretend_flushing(&self) -> impl Drop + use<> {
        struct Flushing(Arc<Shared>);
        impl Drop for Flushing {
            fn drop(&mut self) {
                self.0.queue.lock().unwrap_or_else(PoisonError::into_inner).flushing = false;
                self.0.flushed.notify_all();
            }
        }
        self.shared.queue.lock().unwrap_or_else(PoisonError::into_inner).flushing = true;
        Flushing(Arc::clone(&self.shared))
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
