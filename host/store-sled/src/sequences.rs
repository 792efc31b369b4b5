//! Id sequences, handed out from memory and reserved on disk in blocks.
//!
//! Each id sequence keeps, in [`Tree::Meta`], the first id not yet
//! reserved. Ids are handed out from an in-memory counter; a write whose id
//! reaches the reserved limit moves the limit on by [`BLOCK`] in its own
//! transaction. Writing the limit with every id cost two more log records
//! per ticket (its number and its "created" event's), a third of what a
//! ticket writes, for nothing the disk needed to know.
//!
//! An id is never handed out twice, also across a crash: every committed
//! id is below the limit that was committed with it or before it (a write
//! checks the limit it reads in its own transaction, so a reservation that
//! rolled back is made again by the next write), and a reopened store
//! starts counting at the limit. Ids are increasing but not dense: an
//! attempt that rolls back leaves its id unused, and after a crash the rest
//! of the last block is skipped. A store that closes cleanly gives the
//! unused rest of its block back (see [`Sequences::release`]), so a plain
//! restart skips nothing.

use std::sync::atomic::{AtomicU64, Ordering};

use switchboard_store::StoreError;

use crate::SledResult;
use crate::keys;
use crate::trees::{Sequence, Tree};
use crate::tx::{Tx, TxResult};

/// How many ids a write reserves at once.
pub(crate) const BLOCK: u64 = 32;

/// The next id of each sequence, in memory.
#[derive(Debug)]
pub(crate) struct Sequences {
    next: [AtomicU64; Sequence::ALL.len()],
}

impl Sequences {
    /// Starts every sequence at its reserved limit in `meta`: ids below it
    /// may have been handed out before the store was last closed.
    pub(crate) fn load(meta: &sled::Tree) -> Result<Sequences, StoreError> {
        let mut next = [1; Sequence::ALL.len()];
        for (slot, sequence) in next.iter_mut().zip(Sequence::ALL) {
            *slot = stored_limit(meta, sequence)?;
        }
        Ok(Sequences { next: next.map(AtomicU64::new) })
    }

    /// Takes the next id of `sequence` from memory.
    fn take(&self, sequence: Sequence) -> u64 {
        self.next[sequence as usize].fetch_add(1, Ordering::SeqCst)
    }

    /// Gives the unused rest of each reserved block back, so that the next
    /// opening of the store goes on from the last id handed out. Only for
    /// a store that no write can reach any more.
    pub(crate) fn release(&self, meta: &sled::Tree) -> Result<(), StoreError> {
        for sequence in Sequence::ALL {
            let next = self.next[sequence as usize].load(Ordering::SeqCst);
            if next < stored_limit(meta, sequence)? {
                meta.insert(sequence.key(), &keys::id(next)).backend()?;
            }
        }
        Ok(())
    }
}

/// The limit of `sequence` stored in `meta`; 1 if none was reserved yet.
fn stored_limit(meta: &sled::Tree, sequence: Sequence) -> Result<u64, StoreError> {
    Ok(meta.get(sequence.key()).backend()?.as_deref().and_then(keys::read_id).unwrap_or(1))
}

impl Tx<'_> {
    /// Hands out the next id of `sequence`, reserving a new block in this
    /// transaction when the id reaches the reserved limit.
    pub(crate) fn next_id(&self, sequence: Sequence) -> TxResult<u64> {
        let limit = self.id_at(Tree::Meta, sequence.key())?.unwrap_or(1);
        let id = self.sequences().take(sequence);
        if id >= limit {
            self.put_raw(Tree::Meta, sequence.key(), &keys::id(id + BLOCK))?;
        }
        Ok(id)
    }
}

#[cfg(test)]
mod tests {
    use sled::transaction::{ConflictableTransactionError, TransactionError, Transactional, TransactionalTree};

    use super::*;

    fn limit(meta: &sled::Tree) -> Option<u64> {
        meta.get(Sequence::Ticket.key()).expect("read").as_deref().and_then(keys::read_id)
    }

    /// Runs `f` as a transaction over every tree; `abort` rolls it back.
    fn run(trees: &[sled::Tree], seqs: &Sequences, abort: bool) -> Option<u64> {
        let outcome = trees.transaction(|t: &Vec<TransactionalTree>| {
            let id = Tx::new(t, seqs).next_id(Sequence::Ticket)?;
            if abort {
                Err(ConflictableTransactionError::Abort(StoreError::Backend("rolled back".into())))
            } else {
                Ok(id)
            }
        });
        match outcome {
            Ok(id) => Some(id),
            Err(TransactionError::Abort(_)) => None,
            Err(TransactionError::Storage(e)) => panic!("storage: {e}"),
        }
    }

    #[test]
    fn ids_are_reserved_in_blocks_and_a_rolled_back_reservation_is_made_again() {
        let dir = tempfile::tempdir().expect("tempdir");
        let db = sled::open(dir.path()).expect("open");
        let trees: Vec<sled::Tree> = Tree::ALL.iter().map(|t| db.open_tree(t.name()).expect("tree")).collect();
        let meta = &trees[Tree::Meta.index()];
        let seqs = Sequences::load(meta).expect("load");
        assert_eq!(run(&trees, &seqs, false), Some(1));
        assert_eq!(limit(meta), Some(1 + BLOCK), "the first id reserves a block");
        for expected in 2..BLOCK {
            assert_eq!(run(&trees, &seqs, false), Some(expected));
        }
        assert_eq!(limit(meta), Some(1 + BLOCK), "ids inside the block write nothing");
        // The id that reaches the limit reserves the next block; if its
        // write rolls back, so does the reservation, and the next write
        // makes it again.
        assert_eq!(run(&trees, &seqs, false), Some(BLOCK));
        assert_eq!(run(&trees, &seqs, true), None);
        assert_eq!(limit(meta), Some(1 + BLOCK), "a rolled-back reservation is not kept");
        assert_eq!(run(&trees, &seqs, false), Some(BLOCK + 2), "the rolled-back id stays unused");
        assert_eq!(limit(meta), Some(BLOCK + 2 + BLOCK));
        // A store opened on what a crash left starts at the limit: no id
        // handed out before can come again.
        let reopened = Sequences::load(meta).expect("load");
        assert_eq!(run(&trees, &reopened, false), Some(BLOCK + 2 + BLOCK));
        // A clean close gives the rest of the block back.
        reopened.release(meta).expect("release");
        assert_eq!(limit(meta), Some(BLOCK + 2 + BLOCK + 1));
    }

    #[test]
    fn every_sequence_is_listed_once_at_its_index() {
        for (i, sequence) in Sequence::ALL.iter().enumerate() {
            assert_eq!(*sequence as usize, i, "{sequence:?}");
        }
    }
}
