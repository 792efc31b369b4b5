//! Opening the configured store, and what the server needs of it beyond
//! the store traits: its counters for `/metrics`, and closing it.

use std::sync::Arc;

use switchboard_store::{Store, StoreError, Stores};
use switchboard_store_postgres::{PgConfig, PgStore};
use switchboard_store_sled::{SledConfig, SledStore};

use crate::config::Config;
use crate::metrics::Counter;
use crate::store_location::StoreLocation;

/// The open store, of whichever kind the configuration names. Nothing
/// above this module knows which one runs.
#[derive(Clone)]
pub(crate) enum Backend {
    /// The embedded store.
    Sled(Arc<SledStore>),
    /// A database shared with other servers.
    Postgres(Arc<PgStore>),
}

impl Backend {
    /// Opens the store `config.store` names.
    pub(crate) async fn open(config: &Config) -> Result<Backend, StoreError> {
        match &config.store {
            StoreLocation::Sled(dir) => {
                let sled_config = SledConfig { cache_bytes: config.store_cache_bytes };
                Ok(Backend::Sled(Arc::new(SledStore::open(dir, sled_config)?)))
            }
            StoreLocation::Postgres(url) => {
                let store = PgStore::open(&PgConfig::new(url.as_str())).await?;
                tracing::info!(store = ?config.store, "opened the PostgreSQL store");
                Ok(Backend::Postgres(Arc::new(store)))
            }
        }
    }

    /// Every capability of the store.
    pub(crate) fn stores(&self) -> Stores {
        match self {
            Backend::Sled(store) => Stores::new(Arc::clone(store)),
            Backend::Postgres(store) => Stores::new(Arc::clone(store)),
        }
    }

    /// The store as one object, for start-up code that uses several
    /// capabilities.
    pub(crate) fn store(&self) -> Arc<dyn Store> {
        match self {
            Backend::Sled(store) => Arc::clone(store) as Arc<dyn Store>,
            Backend::Postgres(store) => Arc::clone(store) as Arc<dyn Store>,
        }
    }

    /// The store's counters as `/metrics` shows them.
    pub(crate) fn counters(&self) -> Vec<Counter> {
        match self {
            Backend::Sled(store) => sled_counters(store.stats()),
            // PostgreSQL keeps its own statistics (pg_stat_database); these
            // are what only the server sees.
            Backend::Postgres(store) => {
                let stats = store.stats();
                vec![
                    Counter::new("switchboard_store_commits", "Write transactions committed.", stats.commits),
                    Counter::new(
                        "switchboard_store_conflict_retries",
                        "Write transactions run again after meeting another server's or request's write.",
                        stats.retries,
                    ),
                ]
            }
        }
    }

    /// Whether anything besides this handle still uses the store.
    pub(crate) fn in_use(&self) -> bool {
        match self {
            Backend::Sled(store) => Arc::strong_count(store) > 1,
            Backend::Postgres(store) => Arc::strong_count(store) > 1,
        }
    }

    /// Closes the store: sled flushes and releases its directory when its
    /// last handle drops; the pool's connections close.
    pub(crate) fn close(self) {
        if let Backend::Postgres(store) = &self {
            store.close();
        }
    }
}

/// The sled backend's counters.
fn sled_counters(stats: switchboard_store_sled::SledStats) -> Vec<Counter> {
    vec![
        Counter::new("switchboard_store_flushes", "Group-commit flushes (fsyncs) of the store.", stats.flushes),
        Counter::new("switchboard_store_durable_writes", "Writes made durable by those flushes.", stats.durable_writes),
        Counter::new(
            "switchboard_store_handed_over_writes",
            "Writes run on the store's writer thread because the server was busy.",
            stats.handed_over,
        ),
        Counter::new(
            "switchboard_store_write_batches",
            "Transactions in which the store writer committed several writes.",
            stats.batches,
        ),
        Counter::new(
            "switchboard_store_batched_writes",
            "Writes committed in those transactions.",
            stats.batched_writes,
        ),
        Counter::new(
            "switchboard_store_write_panics",
            "Writes that panicked on the writer thread and failed alone.",
            stats.write_panics,
        ),
    ]
}
