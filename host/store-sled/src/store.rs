//! The sled store: opening it, its parts, and closing it.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use switchboard_core::{Installation, Team};
use switchboard_store::{Health, StoreError};
use tokio::sync::watch;

use crate::codec::decode;
use crate::group_commit::GroupCommit;
use crate::load::Load;
use crate::record_cache::RecordCache;
use crate::sequences::Sequences;
use crate::trees::Tree;
use crate::visibility::{Trees, Visibility};
use crate::writer::Writer;
use crate::{SledResult, migrate};

/// The layout version this build reads and writes. Opening data of an
/// older version upgrades it (see `migrate`); a newer one is refused.
pub const SCHEMA_VERSION: u32 = 3;

/// The key of the schema version in [`Tree::Meta`].
pub(crate) const SCHEMA_KEY: &[u8] = b"schema_version";

/// Settings of the sled store.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SledConfig {
    /// The most memory sled's page cache may use, in bytes.
    pub cache_bytes: u64,
}

impl Default for SledConfig {
    /// A 128 MiB page cache: sled's own default of 1 GiB lets a busy server
    /// grow by hundreds of megabytes for data it rarely reads again, and
    /// 64 MiB cost a single client about 4% of its tickets/s (the
    /// measurements are in `benches/README.md`).
    fn default() -> Self {
        SledConfig { cache_bytes: 128 * 1024 * 1024 }
    }
}

/// The store on sled 0.34: every capability of `switchboard-store`, with
/// group commit. Opening it checks (and upgrades) the schema and starts the
/// flusher and the writer thread; dropping it finishes queued writes,
/// flushes and stops them.
pub struct SledStore {
    // Declared first so that it is dropped first: its thread holds `inner`.
    pub(crate) writer: Writer,
    pub(crate) inner: Arc<Inner>,
}

/// What the store's methods and its writer thread share.
pub(crate) struct Inner {
    /// Tells this store's batches from another's (see `batch`).
    pub(crate) id: u64,
    trees: Vec<sled::Tree>,
    /// Decoded teams, by slug.
    pub(crate) teams: RecordCache<Team>,
    /// Decoded installations, by their key.
    pub(crate) installations: RecordCache<Installation>,
    /// Writes in progress, which decide where a write runs.
    pub(crate) load: Arc<Load>,
    /// Writes that panicked on the writer thread.
    pub(crate) panics: AtomicU64,
    /// Writes not yet durable, which readers of their trees wait for.
    pub(crate) visibility: Arc<Visibility>,
    /// The next id of each sequence.
    pub(crate) sequences: Sequences,
    // Declared last so that it is dropped after the trees it flushes.
    pub(crate) commit: GroupCommit,
    pub(crate) db: sled::Db,
}

impl std::fmt::Debug for SledStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SledStore").finish_non_exhaustive()
    }
}

/// Numbers the stores opened in this process.
static NEXT_STORE_ID: AtomicU64 = AtomicU64::new(1);

/// Counters that show group commit and the writer at work.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SledStats {
    /// Group flushes (each a sync of the log) done so far.
    pub flushes: u64,
    /// Writes those flushes made durable.
    pub durable_writes: u64,
    /// Writes handed to the writer thread because many were in progress.
    pub handed_over: u64,
    /// Transactions of the writer thread that committed several writes.
    pub batches: u64,
    /// The writes those transactions committed.
    pub batched_writes: u64,
    /// Writes that panicked on the writer thread (each failed alone).
    pub write_panics: u64,
}

impl SledStore {
    /// Opens (or creates) the store in directory `path`.
    pub fn open(path: &Path, config: SledConfig) -> Result<SledStore, StoreError> {
        let db = sled::Config::new().path(path).cache_capacity(config.cache_bytes).open().backend()?;
        let trees = Tree::ALL.iter().map(|t| db.open_tree(t.name())).collect::<Result<Vec<_>, _>>().backend()?;
        migrate::to_current(&db, &trees)?;
        let sequences = Sequences::load(&trees[Tree::Meta.index()])?;
        let load = Arc::new(Load::new());
        let commit =
            GroupCommit::start(db.clone(), path, Arc::clone(&load)).map_err(|e| StoreError::Backend(e.to_string()))?;
        let inner = Arc::new(Inner {
            id: NEXT_STORE_ID.fetch_add(1, Ordering::Relaxed),
            trees,
            teams: RecordCache::default(),
            installations: RecordCache::default(),
            load,
            panics: AtomicU64::new(0),
            visibility: Visibility::new(),
            sequences,
            commit,
            db,
        });
        let writer = Writer::spawn(Arc::clone(&inner))
            .map_err(|e| StoreError::Backend(format!("cannot start the writer thread: {e}")))?;
        Ok(SledStore { writer, inner })
    }

    /// What group commit and the writer have done so far.
    pub fn stats(&self) -> SledStats {
        let (flushes, durable_writes) = self.inner.commit.counts();
        SledStats {
            flushes,
            durable_writes,
            handed_over: self.inner.load.handed_over(),
            batches: self.writer.counts.batches.load(Ordering::Relaxed),
            batched_writes: self.writer.counts.batched_writes.load(Ordering::Relaxed),
            write_panics: self.inner.panics.load(Ordering::Relaxed),
        }
    }
}

impl Inner {
    /// The sled tree `tree`.
    pub(crate) fn tree(&self, tree: Tree) -> &sled::Tree {
        &self.trees[tree.index()]
    }

    /// Every tree, in [`Tree::ALL`] order, for a transaction.
    pub(crate) fn all_trees(&self) -> Vec<&sled::Tree> {
        self.trees.iter().collect()
    }

    /// Decodes the record at `key` of `tree`.
    pub(crate) fn get<T: serde::de::DeserializeOwned>(
        &self,
        tree: Tree,
        key: &[u8],
        what: &str,
    ) -> Result<Option<T>, StoreError> {
        self.tree(tree).get(key).backend()?.map(|v| decode(what, &v)).transpose()
    }

    /// Refuses work once the store has stopped after a fault.
    pub(crate) fn check_healthy(&self) -> Result<(), StoreError> {
        match self.commit.fault_reason() {
            None => Ok(()),
            Some(reason) => Err(StoreError::Unavailable(reason)),
        }
    }

    /// Finishes a read of `trees`: waits until the writes in them that the
    /// read could have seen are durable (see `visibility`), and refuses if
    /// the store stopped meanwhile.
    pub(crate) async fn settled(&self, trees: Trees) -> Result<(), StoreError> {
        self.visibility.settled(trees).await;
        self.check_healthy()
    }

    /// As [`Inner::settled`], for the writes registered before `need`.
    pub(crate) async fn settled_before(&self, trees: Trees, need: u64) -> Result<(), StoreError> {
        self.visibility.settled_before(trees, need).await;
        self.check_healthy()
    }

    /// Stops the store for good after a fault.
    pub(crate) fn stop(&self, reason: String) {
        self.commit.stop(reason);
    }
}

impl Health for SledStore {
    fn fault(&self) -> watch::Receiver<Option<String>> {
        self.inner.commit.watch_fault()
    }
}

impl Drop for Inner {
    fn drop(&mut self) {
        // The group-commit thread flushes on its way out (it is dropped
        // after this); a store that stopped after a fault writes nothing
        // more.
        if self.commit.fault_reason().is_none()
            && let Err(e) =
                self.sequences.release(self.tree(Tree::Meta)).and_then(|()| self.db.flush().backend().map(drop))
        {
            tracing::error!(error = %e, "flush on close failed");
        }
    }
}
