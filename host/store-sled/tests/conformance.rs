//! The store conformance suite, run against the sled backend.

use std::sync::Arc;

use switchboard_store::Store;
use switchboard_store::conformance::Harness;
use switchboard_store_sled::{SledConfig, SledStore};

/// A sled store in a temporary directory.
struct Sled {
    dir: tempfile::TempDir,
    store: Option<Arc<SledStore>>,
}

#[async_trait::async_trait]
impl Harness for Sled {
    async fn new() -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = SledStore::open(dir.path(), SledConfig::default()).expect("open");
        Sled { dir, store: Some(Arc::new(store)) }
    }

    fn store(&self) -> Arc<dyn Store> {
        self.store.clone().expect("open")
    }

    async fn restart(&mut self) {
        let store = self.store.take().expect("open");
        // The last handle closes the store: its writer and flusher stop and
        // sled releases the directory.
        assert_eq!(Arc::strong_count(&store), 1, "a test still holds the store");
        drop(store);
        let store = SledStore::open(self.dir.path(), SledConfig::default()).expect("reopen");
        self.store = Some(Arc::new(store));
    }
}

switchboard_store::conformance_tests!(Sled);
