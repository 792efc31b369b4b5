//! Readers never see a write of another caller that is not yet durable.
//!
//! sled makes a write visible when its transaction commits, but durable
//! only when the group flush has synced it, a moment later. A reader that
//! saw the write in between and told a client (a GET, a plugin's
//! `tickets.get`) would have shown data that a power cut can take back, and
//! whose ids a restarted server hands out again. So each write registers,
//! before it commits, in the trees it may touch, and stays registered until
//! its flush has synced it; a read of a tree with registered writes waits
//! until every write that was registered when it read is durable. A read of
//! a tree nobody is writing (users, teams, installations: almost every
//! read a request makes besides its own) costs an atomic load per tree.
//!
//! Which trees a write may touch is stated per use case (a [`Trees`]
//! mask); in debug builds every transaction checks that it touched no tree
//! outside its mask, so that the whole test suite keeps the masks honest.

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use tokio::sync::watch;

use crate::trees::Tree;

/// A set of trees, one bit per [`Tree`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct Trees(u64);

// Every tree needs its bit: a tree past the mask's width would share one
// and make readers skip writes to it.
const _: () = assert!(Tree::ALL.len() <= u64::BITS as usize, "more trees than a Trees mask holds");

impl Trees {
    /// The set of `trees`.
    pub(crate) const fn of(trees: &[Tree]) -> Trees {
        let mut bits = 0;
        let mut i = 0;
        while i < trees.len() {
            bits |= 1u64 << trees[i] as u32;
            i += 1;
        }
        Trees(bits)
    }

    /// This set and `other`.
    pub(crate) const fn and(self, other: Trees) -> Trees {
        Trees(self.0 | other.0)
    }

    /// Adds `tree`.
    pub(crate) fn insert(&mut self, tree: Tree) {
        self.0 |= 1u64 << tree as u32;
    }

    /// Whether every tree of `other` is in this set.
    pub(crate) fn covers(self, other: Trees) -> bool {
        other.0 & !self.0 == 0
    }

    fn iter(self) -> impl Iterator<Item = usize> {
        (0..Tree::ALL.len()).filter(move |i| self.0 & (1u64 << i) != 0)
    }
}

/// The writes not yet durable, per tree.
pub(crate) struct Visibility {
    next: AtomicU64,
    /// How many writes are registered per tree: the readers' fast path.
    counts: [AtomicUsize; Tree::ALL.len()],
    registered: Mutex<Vec<BTreeSet<u64>>>,
    /// Bumped whenever a write leaves, so that waiting readers look again.
    left: watch::Sender<u64>,
}

impl Visibility {
    pub(crate) fn new() -> Arc<Visibility> {
        Arc::new(Visibility {
            next: AtomicU64::new(0),
            counts: std::array::from_fn(|_| AtomicUsize::new(0)),
            registered: Mutex::new(vec![BTreeSet::new(); Tree::ALL.len()]),
            left: watch::channel(0).0,
        })
    }

    /// Registers a write that may touch `trees`, until the returned token
    /// is dropped: by the flusher once the write is durable, or at once if
    /// the write fails.
    pub(crate) fn register(self: &Arc<Self>, trees: Trees) -> Pending {
        let seq = self.next.fetch_add(1, Ordering::SeqCst);
        let mut registered = self.registered.lock().unwrap_or_else(PoisonError::into_inner);
        for i in trees.iter() {
            registered[i].insert(seq);
            self.counts[i].fetch_add(1, Ordering::SeqCst);
        }
        Pending { seq, trees, visibility: Arc::clone(self) }
    }

    /// Waits until every write registered in `trees` before this call is
    /// durable (or has failed). Call it after reading.
    pub(crate) async fn settled(&self, trees: Trees) {
        if let Some(horizon) = self.horizon(trees) {
            self.settled_before(trees, horizon).await;
        }
    }

    /// What a read made before this call could have seen: `None` when no
    /// write is registered in `trees`, else the writes registered before
    /// the returned number. Call it after reading.
    pub(crate) fn horizon(&self, trees: Trees) -> Option<u64> {
        if trees.iter().all(|i| self.counts[i].load(Ordering::SeqCst) == 0) {
            return None;
        }
        Some(self.next.load(Ordering::SeqCst))
    }

    /// Waits until every write registered in `trees` before `need` is
    /// durable (or has failed).
    pub(crate) async fn settled_before(&self, trees: Trees, need: u64) {
        let mut left = self.left.subscribe();
        loop {
            let clear = {
                let registered = self.registered.lock().unwrap_or_else(PoisonError::into_inner);
                trees.iter().all(|i| registered[i].first().is_none_or(|&first| first >= need))
            };
            if clear || left.changed().await.is_err() {
                return;
            }
        }
    }
}

/// A registered write; dropping it unregisters the write.
pub(crate) struct Pending {
    seq: u64,
    trees: Trees,
    visibility: Arc<Visibility>,
}

impl Drop for Pending {
    fn drop(&mut self) {
        let v = &self.visibility;
        {
            let mut registered = v.registered.lock().unwrap_or_else(PoisonError::into_inner);
            for i in self.trees.iter() {
                registered[i].remove(&self.seq);
                v.counts[i].fetch_sub(1, Ordering::SeqCst);
            }
        }
        v.left.send_modify(|n| *n = n.wrapping_add(1));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_read_waits_for_the_writes_registered_before_it_in_its_trees() {
        let v = Visibility::new();
        let tickets = Trees::of(&[Tree::Tickets]);
        let users = Trees::of(&[Tree::Users]);
        let first = v.register(tickets);
        // Another tree is not held up.
        tokio::time::timeout(std::time::Duration::from_secs(1), v.settled(users)).await.expect("no wait");
        let reader = tokio::spawn({
            let v = Arc::clone(&v);
            async move { v.settled(tickets).await }
        });
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        // A write registered after the read does not hold it up.
        let later = v.register(tickets);
        assert!(!reader.is_finished(), "the read waits for the earlier write");
        drop(first);
        tokio::time::timeout(std::time::Duration::from_secs(1), reader).await.expect("woken").expect("task");
        // A horizon taken now waits for `later` only, even when waited on
        // after a write registered since.
        assert_eq!(v.horizon(users), None);
        let horizon = v.horizon(tickets).expect("a write in flight");
        let since = v.register(tickets);
        let waiter = tokio::spawn({
            let v = Arc::clone(&v);
            async move { v.settled_before(tickets, horizon).await }
        });
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        assert!(!waiter.is_finished(), "waits for the write registered before its horizon");
        drop(later);
        tokio::time::timeout(std::time::Duration::from_secs(1), waiter)
            .await
            .expect("not held by a later write")
            .expect("task");
        drop(since);
        assert!(Trees::of(&[Tree::Tickets, Tree::Users]).covers(users));
        assert!(!users.covers(tickets));
    }
}
