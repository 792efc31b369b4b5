//! How busy the server is: the requests in progress that write (API writes
//! and plugin calls), and when that is enough to hand their writes to the
//! writer thread.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

/// Counts writing requests in progress, including those waiting for the
/// disk.
#[derive(Debug)]
pub(crate) struct Load {
    active: AtomicUsize,
    /// From this many requests in progress on, writes are handed over.
    busy_from: usize,
    /// Writes handed over so far, for `/metrics`.
    handed_over: AtomicU64,
}

impl Load {
    /// Writes are handed over once more than two requests per CPU are in
    /// progress: then each tokio worker (one per CPU) has other requests
    /// to serve while a transaction runs elsewhere, and the writes that
    /// queue up on the writer meanwhile commit together.
    ///
    /// Measured with `ticket_load` on 2 CPUs, before writes were batched,
    /// plugin path against the direct API in the same run: always handing
    /// over gave 0.84x at 1 client, 0.78x at 4 and 0.88x at 64; never,
    /// 0.85x, 0.81x and 0.74x; this rule (more than 4 calls), 0.85-0.87x,
    /// 0.84-0.89x and 0.82-0.86x. With one or two requests there is
    /// nothing to batch with, and a hand-over only adds two wake-ups.
    pub(crate) fn new() -> Self {
        let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
        Load { active: AtomicUsize::new(0), busy_from: 2 * cpus + 1, handed_over: AtomicU64::new(0) }
    }

    /// Whether enough requests are in progress to hand a write over;
    /// counts the write as handed over if so.
    pub(crate) fn hand_over(&self) -> bool {
        let busy = self.active.load(Ordering::Relaxed) >= self.busy_from;
        if busy {
            self.handed_over.fetch_add(1, Ordering::Relaxed);
        }
        busy
    }

    /// How many writes were handed over so far.
    pub(crate) fn handed_over(&self) -> u64 {
        self.handed_over.load(Ordering::Relaxed)
    }

    /// Counts a request as in progress until the returned guard is
    /// dropped, so that a cancelled request stops counting too.
    pub(crate) fn enter(&self) -> InProgress<'_> {
        self.active.fetch_add(1, Ordering::Relaxed);
        InProgress(&self.active)
    }
}

/// A writing request in progress; see [`crate::Writer::enter`].
#[must_use = "the request counts as in progress only while this is alive"]
#[derive(Debug)]
pub struct InProgress<'a>(&'a AtomicUsize);

impl Drop for InProgress<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hands_over_only_while_more_than_two_requests_per_cpu_are_in_progress() {
        let load = Load { active: AtomicUsize::new(0), busy_from: 5, handed_over: AtomicU64::new(0) };
        let requests: Vec<_> = (0..4).map(|_| load.enter()).collect();
        assert!(!load.hand_over());
        let fifth = load.enter();
        assert!(load.hand_over());
        drop(fifth);
        assert!(!load.hand_over());
        drop(requests);
        assert_eq!(load.active.load(Ordering::Relaxed), 0);
        assert_eq!(load.handed_over(), 1);
    }
}
