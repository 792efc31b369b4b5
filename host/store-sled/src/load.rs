//! How busy the store is: the writes in progress, from their call until
//! they are on disk, and when that is enough to hand them to the writer
//! thread.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

/// Counts writes in progress, including those waiting for the disk.
#[derive(Debug)]
pub(crate) struct Load {
    active: AtomicUsize,
    /// From this many writes in progress on, writes are handed over.
    busy_from: usize,
    /// From this many writes in progress on, the writer thread waits out
    /// a running flush before it commits (see `writer.rs`).
    wait_out_from: AtomicUsize,
    /// Writes handed over so far, for `/metrics`.
    handed_over: AtomicU64,
}

impl Load {
    /// Writes are handed over once more than two per CPU are in progress:
    /// then each tokio worker (one per CPU) has other requests to serve
    /// while a transaction runs elsewhere, and the writes that queue up on
    /// the writer meanwhile commit together. With one or two there is
    /// nothing to batch with, and a hand-over only adds two wake-ups (the
    /// measurements are in `benches/README.md`).
    ///
    /// The writer thread waits out a running flush only from twelve writes
    /// in progress per CPU. Waiting makes the writes of one flush one
    /// transaction instead of several small ones, but puts their commit
    /// after the flush instead of during it, on the next flush's way. At
    /// 64 clients on the API the fewer transactions won (1.27x tickets/s);
    /// at 16 the later commit cost 12-19% (see `benches/README.md`).
    pub(crate) fn new() -> Self {
        let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
        Load::with_thresholds(2 * cpus + 1, 12 * cpus)
    }

    fn with_thresholds(busy_from: usize, wait_out_from: usize) -> Self {
        Load {
            active: AtomicUsize::new(0),
            busy_from,
            wait_out_from: AtomicUsize::new(wait_out_from),
            handed_over: AtomicU64::new(0),
        }
    }

    /// Whether enough writes are in progress for the writer thread to wait
    /// out a running flush.
    pub(crate) fn waits_out_flushes(&self) -> bool {
        self.active.load(Ordering::Relaxed) >= self.wait_out_from.load(Ordering::Relaxed)
    }

    /// Sets how many writes in progress make the writer wait out flushes.
    #[cfg(test)]
    pub(crate) fn set_wait_out_from(&self, writes: usize) {
        self.wait_out_from.store(writes, Ordering::Relaxed);
    }

    /// Whether enough writes are in progress to hand one over; counts it as
    /// handed over if so.
    pub(crate) fn hand_over(&self) -> bool {
        let busy = self.active.load(Ordering::Relaxed) >= self.busy_from;
        if busy {
            self.handed_over.fetch_add(1, Ordering::Relaxed);
        }
        busy
    }

    /// How many writes are in progress now.
    pub(crate) fn in_progress(&self) -> usize {
        self.active.load(Ordering::Relaxed)
    }

    /// How many writes were handed over so far.
    pub(crate) fn handed_over(&self) -> u64 {
        self.handed_over.load(Ordering::Relaxed)
    }

    /// Counts a write as in progress until the returned token is dropped:
    /// by the flusher once the write is on disk, or at once if it fails.
    pub(crate) fn enter(self: &Arc<Self>) -> InProgress {
        self.active.fetch_add(1, Ordering::Relaxed);
        InProgress(Arc::clone(self))
    }
}

/// A write in progress; see [`Load::enter`].
#[derive(Debug)]
pub(crate) struct InProgress(Arc<Load>);

impl Drop for InProgress {
    fn drop(&mut self) {
        self.0.active.fetch_sub(1, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hands_over_only_while_enough_writes_are_in_progress() {
        let load = Arc::new(Load::with_thresholds(5, 100));
        let writes: Vec<_> = (0..4).map(|_| load.enter()).collect();
        assert!(!load.hand_over());
        let fifth = load.enter();
        assert!(load.hand_over());
        drop(fifth);
        assert!(!load.hand_over());
        drop(writes);
        assert_eq!(load.active.load(Ordering::Relaxed), 0);
        assert_eq!(load.handed_over(), 1);
    }
}
