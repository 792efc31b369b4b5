//! Opening the store: the connection pool, the schema, and the settings
//! every connection runs with.

use std::str::FromStr;
use std::sync::atomic::{AtomicU64, Ordering};

use deadpool_postgres::{Manager, ManagerConfig, Object, Pool, RecyclingMethod};
use switchboard_store::{Health, StoreError};
use tokio::sync::watch;
use tokio_postgres::NoTls;

use crate::tx::TxError;

/// How to reach the database.
#[derive(Debug, Clone)]
pub struct PgConfig {
    /// A libpq-style URL, such as `postgres://switchboard@db/helpdesk`.
    pub url: String,
    /// How many connections the pool keeps open at most.
    pub pool_size: usize,
}

impl PgConfig {
    /// The database at `url`, with a pool of 16 connections: enough to
    /// keep a 2-core database busy, few enough for several servers to
    /// share its connection limit.
    pub fn new(url: impl Into<String>) -> Self {
        PgConfig { url: url.into(), pool_size: 16 }
    }
}

/// What the store has done since it opened, for `/metrics`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PgStats {
    /// Write transactions committed.
    pub commits: u64,
    /// Attempts run again after meeting another transaction's write.
    pub retries: u64,
}

/// Every store trait on one PostgreSQL database.
pub struct PgStore {
    pool: Pool,
    commits: AtomicU64,
    retries: AtomicU64,
    // The database keeps its own promises about the disk (a failed fsync
    // makes PostgreSQL itself stop), so this never reports a fault; it is
    // kept so that `Health` has a channel to hand out.
    fault: watch::Sender<Option<String>>,
}

impl std::fmt::Debug for PgStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgStore").field("pool", &self.pool.status()).finish_non_exhaustive()
    }
}

impl PgStore {
    /// Connects to the database, brings its schema to this build's
    /// version (refusing a newer one), and checks the connection works.
    pub async fn open(config: &PgConfig) -> Result<PgStore, StoreError> {
        let mut pg = tokio_postgres::Config::from_str(&config.url)
            .map_err(|e| StoreError::Unavailable(format!("invalid database url: {e}")))?;
        // A 2xx means the transaction is on the database's disk: every
        // connection commits synchronously, whatever the server's default.
        pg.options("-c synchronous_commit=on");
        if pg.get_application_name().is_none() {
            pg.application_name("switchboard");
        }
        let manager = Manager::from_config(pg, NoTls, ManagerConfig { recycling_method: RecyclingMethod::Fast });
        let pool = Pool::builder(manager)
            .max_size(config.pool_size.max(1))
            .build()
            .map_err(|e| StoreError::Unavailable(format!("cannot make a connection pool: {e}")))?;
        let store = PgStore { pool, commits: 0.into(), retries: 0.into(), fault: watch::channel(None).0 };
        let mut client = store.client().await.map_err(crate::tx::into_store)?;
        crate::schema::migrate(&mut client).await?;
        Ok(store)
    }

    /// A connection from the pool.
    pub(crate) async fn client(&self) -> Result<Object, TxError> {
        Ok(self.pool.get().await?)
    }

    /// The value of a server setting as the store's connections see it,
    /// for checking how they are set up.
    pub async fn setting(&self, name: &str) -> Result<String, StoreError> {
        let client = self.client().await.map_err(crate::tx::into_store)?;
        let found =
            client.query_one("SELECT current_setting($1)", &[&name]).await.map_err(|e| crate::tx::backend_error(&e))?;
        crate::convert::column(&found, 0)
    }

    /// What the store has done since it opened.
    pub fn stats(&self) -> PgStats {
        PgStats { commits: self.commits.load(Ordering::Relaxed), retries: self.retries.load(Ordering::Relaxed) }
    }

    /// Counts a committed write transaction.
    pub(crate) fn count_commit(&self) {
        self.commits.fetch_add(1, Ordering::Relaxed);
    }

    /// Counts an attempt that runs again.
    pub(crate) fn count_retry(&self) {
        self.retries.fetch_add(1, Ordering::Relaxed);
    }

    /// Closes the pool: connections in use close when they are returned.
    pub fn close(&self) {
        self.pool.close();
    }
}

impl Health for PgStore {
    fn fault(&self) -> watch::Receiver<Option<String>> {
        self.fault.subscribe()
    }
}
