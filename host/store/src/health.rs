//! Whether the store can still be trusted with writes.

use tokio::sync::watch;

/// A store that meets a fault after which acknowledged writes could be lost
/// (an fsync that failed, a writer that panicked mid-transaction) stops
/// accepting writes, as PostgreSQL does since "fsyncgate": it does not
/// retry the fsync, because the kernel may have dropped the dirty pages
/// already. It reports the fault here, and the server exits so that a
/// supervisor restarts it from what is on disk.
pub trait Health: Send + Sync {
    /// `None` while healthy; the reason once the store has stopped.
    fn fault(&self) -> watch::Receiver<Option<String>>;
}
