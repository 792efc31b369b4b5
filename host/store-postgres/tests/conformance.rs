//! The store conformance suite on PostgreSQL: a private server shared by
//! the tests of this binary, with a fresh database for each test.

use std::sync::Arc;

use async_trait::async_trait;
use switchboard_store::Store;
use switchboard_store::conformance::Harness;
use switchboard_store_postgres::throwaway::TempPostgres;
use switchboard_store_postgres::{PgConfig, PgStore};

/// A fresh database on a private server, and the store on it.
struct PgHarness {
    // Held so that the shared server outlives this test's database.
    _server: &'static TempPostgres,
    url: String,
    store: Option<Arc<PgStore>>,
}

async fn open(url: &str) -> Arc<PgStore> {
    Arc::new(PgStore::open(&PgConfig::new(url)).await.expect("open the store"))
}

#[async_trait]
impl Harness for PgHarness {
    async fn new() -> Self {
        let server = tokio::task::spawn_blocking(TempPostgres::shared).await.expect("join").expect("start postgres");
        let url = server.new_database().expect("create a database");
        let store = open(&url).await;
        PgHarness { _server: server, url, store: Some(store) }
    }

    fn store(&self) -> Arc<dyn Store> {
        self.store.clone().expect("open")
    }

    async fn restart(&mut self) {
        if let Some(store) = self.store.take() {
            store.close();
        }
        self.store = Some(open(&self.url).await);
    }
}

switchboard_store::conformance_tests!(PgHarness);
