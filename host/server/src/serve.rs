//! Running the server on a listener until told to stop.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use switchboard_runtime::{Runtime, RuntimeConfig, RuntimeError};
use switchboard_store::{SledStore, Store, StoreError, Writer};
use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::auth::{BootstrapError, bootstrap_admin};
use crate::config::Config;
use crate::rate_limit::RateLimiter;
use crate::state::AppState;

/// Why the server could not start or stopped with an error.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// The data directory could not be created.
    #[error("cannot create data directory \"{0}\": {1}")]
    DataDir(String, std::io::Error),
    /// The store could not be opened.
    #[error("cannot open the store: {0}")]
    Store(#[from] StoreError),
    /// The first admin could not be set up.
    #[error(transparent)]
    Bootstrap(#[from] BootstrapError),
    /// The plugin runtime could not start.
    #[error(transparent)]
    Runtime(#[from] RuntimeError),
    /// Serving failed.
    #[error("serving failed: {0}")]
    Io(#[from] std::io::Error),
}

/// Opens the store in `config.data_dir`, makes sure an admin exists, and
/// serves HTTP on `listener` until `shutdown` resolves. In-flight requests
/// finish, and the store is flushed, before this returns.
pub async fn serve(
    listener: TcpListener,
    config: Config,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), ServeError> {
    std::fs::create_dir_all(&config.data_dir)
        .map_err(|e| ServeError::DataDir(config.data_dir.display().to_string(), e))?;
    let store: Arc<dyn Store> = Arc::new(SledStore::open(&config.data_dir.join("db"))?);
    let now = config.clock.now();
    if let Some(path) = bootstrap_admin(&*store, &config.data_dir, config.admin_token.as_deref(), now).await? {
        tracing::info!(path = %path.display(), "generated the first admin token");
    }
    if config.demo {
        crate::demo::ensure_demo_team(&*store, now).await?;
    }
    let clock = Arc::clone(&config.clock);
    let mut runtime_config = RuntimeConfig::new(config.data_dir.join("plugin-cache"));
    runtime_config.pooling = config.pooling;
    // One writer for the API's writes and the plugins': they count towards
    // the same load and batch together.
    let writer = Arc::new(Writer::spawn(Arc::clone(&store))?);
    let runtime = Runtime::new(runtime_config, Arc::clone(&writer), Arc::new(move || clock.now()))?;
    crate::plugins::load_installed(&store, &runtime).await?;
    crate::plugins::install_bundled(&store, &runtime, &config.bundled, now).await;
    let state = AppState {
        store: Arc::clone(&store),
        writer,
        clock: Arc::clone(&config.clock),
        mail_domain: config.mail_domain.as_str().into(),
        runtime,
        public_limiter: Arc::new(RateLimiter::new(config.public_rate, config.public_burst)),
        trusted_proxies: config.trusted_proxies.clone().into(),
        plugin_upload_limit: config.plugin_upload_limit,
        public_body_limit: config.public_body_limit,
    };
    let (stop, stopped) = watch::channel(false);
    let sweeper = tokio::spawn(crate::sla_sweeper::run(
        Arc::clone(&store),
        Arc::clone(&config.clock),
        config.sla_sweep_interval,
        stopped,
    ));
    tracing::info!(addr = ?listener.local_addr().ok(), "serving");
    let app = crate::app::app(state, config.body_limit);
    let served = axum::serve(listener, app.into_make_service_with_connect_info::<SocketAddr>())
        .with_graceful_shutdown(shutdown)
        .await;
    let _ = stop.send(true);
    let _ = sweeper.await;
    // axum reports the connections closed a moment before their tasks have
    // dropped the state they hold. Wait for the last of them, so that when
    // serve returns the database is flushed and its lock released, and a
    // restart on the same directory can open it.
    let closing = std::time::Instant::now();
    while Arc::strong_count(&store) > 1 && closing.elapsed() < std::time::Duration::from_secs(10) {
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    if Arc::strong_count(&store) > 1 {
        tracing::warn!("the store is still in use after shutdown; closing without waiting for it");
    }
    drop(store);
    served?;
    Ok(())
}
