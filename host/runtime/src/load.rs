//! How busy the runtime is: the plugin calls in progress, and when that is
//! enough to hand a call's store writes to the writer thread.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

/// Counts plugin calls in progress (including those waiting for the disk).
#[derive(Debug)]
pub(crate) struct CallLoad {
    active: AtomicUsize,
    /// From this many calls in progress on, writes are handed over.
    busy_from: usize,
    /// Writes handed over so far, for `/metrics`.
    handed_over: AtomicU64,
}

impl CallLoad {
    /// Writes are handed over once more than two calls per CPU are in
    /// progress: then each tokio worker (one per CPU) has other requests
    /// to serve while a transaction runs elsewhere.
    ///
    /// Measured with `ticket_load` on 2 CPUs, plugin path against the
    /// direct API in the same run: always handing over gave 0.84x at 1
    /// client, 0.78x at 4 and 0.88x at 64; never, 0.85x, 0.81x and 0.74x;
    /// this rule (more than 4 calls), 0.85-0.87x, 0.84-0.89x and
    /// 0.82-0.86x. At 16 clients it gave 0.75x where never handing over
    /// gave 0.72x.
    pub(crate) fn new() -> Self {
        let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
        CallLoad { active: AtomicUsize::new(0), busy_from: 2 * cpus + 1, handed_over: AtomicU64::new(0) }
    }

    /// Whether enough calls are in progress to hand a write over; counts
    /// the write as handed over if so.
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

    /// Counts a call as in progress until the returned guard is dropped,
    /// so that a cancelled call stops counting too.
    pub(crate) fn enter(&self) -> ActiveCall<'_> {
        self.active.fetch_add(1, Ordering::Relaxed);
        ActiveCall(&self.active)
    }
}

/// A call in progress; see [`CallLoad::enter`].
pub(crate) struct ActiveCall<'a>(&'a AtomicUsize);

impl Drop for ActiveCall<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hands_over_only_while_more_than_two_calls_per_cpu_are_in_progress() {
        let load = CallLoad { active: AtomicUsize::new(0), busy_from: 5, handed_over: AtomicU64::new(0) };
        let calls: Vec<_> = (0..4).map(|_| load.enter()).collect();
        assert!(!load.hand_over());
        let fifth = load.enter();
        assert!(load.hand_over());
        drop(fifth);
        assert!(!load.hand_over());
        drop(calls);
        assert_eq!(load.active.load(Ordering::Relaxed), 0);
        assert_eq!(load.handed_over(), 1);
    }
}
