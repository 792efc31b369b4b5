//! A transaction's view of every tree, with typed helpers.

use std::cell::RefCell;

use sled::transaction::{ConflictableTransactionError, ConflictableTransactionResult, TransactionalTree};
use switchboard_core::{Team, Ticket, TicketId};
use switchboard_store::StoreError;

use crate::codec::{decode, encode};
use crate::keys;
use crate::sequences::Sequences;
use crate::trees::Tree;
use crate::visibility::Trees;

/// What a transaction's closure returns: a value, or why to abort.
pub(crate) type TxResult<T> = ConflictableTransactionResult<T, StoreError>;

/// Aborts a transaction with a store or domain error.
pub(crate) fn abort<T>(e: impl Into<StoreError>) -> TxResult<T> {
    Err(ConflictableTransactionError::Abort(e.into()))
}

/// Lets `?` abort a transaction with a store or domain error.
pub(crate) trait OrAbort<T> {
    /// The value, or an abort with the error.
    fn or_abort(self) -> TxResult<T>;
}

impl<T, E: Into<StoreError>> OrAbort<T> for Result<T, E> {
    fn or_abort(self) -> TxResult<T> {
        self.or_else(abort)
    }
}

/// A transaction over every tree.
pub(crate) struct Tx<'a> {
    trees: &'a [TransactionalTree],
    /// Keys of cached trees (teams, installations) this attempt wrote, to
    /// forget once it commits.
    pub(crate) cached: RefCell<Vec<(Tree, Vec<u8>)>>,
    /// Every tree this attempt wrote, to check against its use case's mask.
    pub(crate) touched: std::cell::Cell<Trees>,
    sequences: &'a Sequences,
}

impl<'a> Tx<'a> {
    /// A view of `trees`, which are in [`Tree::ALL`] order, handing out
    /// ids from `sequences`.
    pub(crate) fn new(trees: &'a [TransactionalTree], sequences: &'a Sequences) -> Self {
        Tx { trees, cached: RefCell::default(), touched: std::cell::Cell::default(), sequences }
    }

    /// The store's id sequences.
    pub(crate) fn sequences(&self) -> &Sequences {
        self.sequences
    }

    fn tree(&self, tree: Tree) -> &TransactionalTree {
        &self.trees[tree.index()]
    }

    /// Decodes the record at `key`, naming `what` it is if it is corrupt.
    pub(crate) fn get<T: serde::de::DeserializeOwned>(
        &self,
        tree: Tree,
        key: &[u8],
        what: &str,
    ) -> TxResult<Option<T>> {
        match self.tree(tree).get(key)? {
            Some(v) => decode(what, &v).map(Some).or_abort(),
            None => Ok(None),
        }
    }

    /// The raw bytes at `key`.
    pub(crate) fn get_raw(&self, tree: Tree, key: &[u8]) -> TxResult<Option<sled::IVec>> {
        Ok(self.tree(tree).get(key)?)
    }

    /// Encodes and stores a record.
    pub(crate) fn put<T: serde::Serialize>(&self, tree: Tree, key: &[u8], value: &T) -> TxResult<()> {
        self.put_raw(tree, key, encode(value))
    }

    /// Stores raw bytes.
    pub(crate) fn put_raw(&self, tree: Tree, key: &[u8], value: impl Into<sled::IVec>) -> TxResult<()> {
        self.tree(tree).insert(key, value)?;
        self.touched(tree, key);
        Ok(())
    }

    /// Removes the entry at `key`, returning whether there was one.
    pub(crate) fn remove(&self, tree: Tree, key: &[u8]) -> TxResult<bool> {
        let removed = self.tree(tree).remove(key)?.is_some();
        self.touched(tree, key);
        Ok(removed)
    }

    /// Notes a write to a tree whose records the store caches.
    fn touched(&self, tree: Tree, key: &[u8]) {
        let mut touched = self.touched.get();
        touched.insert(tree);
        self.touched.set(touched);
        if matches!(tree, Tree::Teams | Tree::Installations) {
            self.cached.borrow_mut().push((tree, key.to_vec()));
        }
    }

    /// Ends the attempt: returns the cached keys it wrote to forget, and in
    /// debug builds checks that it wrote no tree outside `mask`, the trees
    /// its use case declared (see `visibility`).
    pub(crate) fn finish(self, mask: Trees) -> Vec<(Tree, Vec<u8>)> {
        debug_assert!(
            mask.covers(self.touched.get()),
            "a write touched trees outside its mask: {:?} not within {mask:?}",
            self.touched.get()
        );
        self.cached.into_inner()
    }

    /// The big-endian id or count stored at `key`.
    pub(crate) fn id_at(&self, tree: Tree, key: &[u8]) -> TxResult<Option<u64>> {
        Ok(self.tree(tree).get(key)?.and_then(|v| keys::read_id(&v)))
    }

    /// The team with this slug, or an abort naming it.
    pub(crate) fn team(&self, slug: &str) -> TxResult<Team> {
        match self.get(Tree::Teams, slug.as_bytes(), "team")? {
            Some(team) => Ok(team),
            None => abort(StoreError::UnknownTeam(slug.to_owned())),
        }
    }

    /// The ticket with this id, or an abort naming it.
    pub(crate) fn ticket(&self, id: TicketId) -> TxResult<Ticket> {
        match self.get(Tree::Tickets, &keys::id(id), "ticket")? {
            Some(ticket) => Ok(ticket),
            None => abort(StoreError::UnknownTicket(id)),
        }
    }
}
