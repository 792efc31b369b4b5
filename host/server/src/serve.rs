//! Running the server on a listener until told to stop.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use switchboard_chat::Hub;
use switchboard_runtime::{ChatLink, CountryFn, Runtime, RuntimeConfig, RuntimeError};
use switchboard_store::StoreError;

use switchboard_bus::{Bus, LocalBus, NatsBus};

use crate::backend::Backend;
use tokio::net::TcpListener;
use tokio::sync::{mpsc, watch};

use crate::auth::{BootstrapError, bootstrap_admin};
use crate::config::Config;
use crate::rate_limit::RateLimiter;
use crate::state::{AppState, Shared};

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
    /// The bus to the other servers could not be reached.
    #[error(transparent)]
    Bus(#[from] switchboard_bus::BusError),
    /// The chat hub could not start.
    #[error(transparent)]
    Chat(#[from] switchboard_chat::ChatError),
    /// The configured country database could not be opened.
    #[error(transparent)]
    CountryDb(#[from] crate::chat::CountryError),
    /// Serving failed.
    #[error("serving failed: {0}")]
    Io(#[from] std::io::Error),
    /// The key that seals plugin secrets could not be read.
    #[error(transparent)]
    SecretKey(#[from] crate::secret_key::SecretKeyError),
    /// The SMTP listener could not start.
    #[error(transparent)]
    Smtp(#[from] crate::mail::SmtpError),
    /// The mail relay settings cannot be used.
    #[error(transparent)]
    Relay(#[from] crate::mail::RelayError),
    /// The store stopped after a fault that could lose acknowledged writes.
    #[error("the store stopped after a fault: {0}")]
    StoreFault(String),
}

/// Opens the store in `config.data_dir`, makes sure an admin exists, and
/// serves HTTP on `listener` until `shutdown` resolves. In-flight requests
/// finish, and the store is flushed and closed, before this returns.
///
/// If the store stops after a fault that could lose acknowledged writes
/// (see `switchboard_store::Health`), the server stops taking requests and
/// this returns [`ServeError::StoreFault`], so that the binary exits with
/// an error and a supervisor restarts it from what is on disk.
pub async fn serve(
    listener: TcpListener,
    config: Config,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), ServeError> {
    std::fs::create_dir_all(&config.data_dir)
        .map_err(|e| ServeError::DataDir(config.data_dir.display().to_string(), e))?;
    let secret_key = Arc::new(crate::secret_key::SecretKey::open(&config.secret_key_file)?);
    let backend = Backend::open(&config).await?;
    let bus: Arc<dyn Bus> = match &config.bus {
        Some(url) => Arc::new(NatsBus::connect(url).await?),
        None => Arc::new(LocalBus::new()),
    };
    let mut stores = backend.stores();
    stores.tickets = Arc::new(crate::announce::Announcing::new(Arc::clone(&stores.tickets), Arc::clone(&bus)));
    let now = config.clock.now();
    if let Some(path) = bootstrap_admin(&*stores.users, &config.data_dir, config.admin_token.as_deref(), now).await? {
        tracing::info!(path = %path.display(), "generated the first admin token");
    }
    if config.demo {
        crate::demo::ensure_demo_team(&*backend.store(), now).await?;
    }
    let clock = Arc::clone(&config.clock);
    let mut runtime_config = RuntimeConfig::new(config.data_dir.join("plugin-cache"));
    runtime_config.pooling = config.pooling;
    runtime_config.compiler = config.compiler.clone();
    runtime_config.max_instances = config.plugin_instances;
    runtime_config.instance_wait = config.plugin_instance_wait;
    runtime_config.mail_domain = config.mail_domain.trim_end_matches('.').to_lowercase();
    let runtime = Runtime::new(runtime_config, &stores, Arc::new(move || clock.now()))?;
    let (stop, stopped) = watch::channel(false);
    // Following the bus starts before the plugins load, so that a plugin
    // another server changes meanwhile is not missed.
    let follower = crate::plugin_sync::follow(
        &*bus,
        Arc::clone(&stores.plugins),
        runtime.clone(),
        config.plugin_resync,
        stopped.clone(),
    )
    .await?;
    let hub =
        Hub::start_looking_every(Arc::clone(&stores.conversations), Arc::clone(&bus), config.chat_look_every).await?;
    let countries = match &config.country_db {
        Some(path) => Some(Arc::new(crate::chat::CountryDb::open(path)?)),
        None => None,
    };
    let country_of = countries.clone().map(|db| -> CountryFn { Arc::new(move |addr| db.country(addr)) });
    runtime.attach_chat(ChatLink { hub: hub.clone(), country_of });
    let plugin_sync = crate::plugin_sync::PluginSync::new(Arc::clone(&bus));
    crate::plugins::load_installed(&stores, &runtime, now).await?;
    crate::plugins::install_bundled(&stores, &runtime, &plugin_sync, &config.bundled, now).await;
    if config.demo {
        crate::demo::enable_shipped_channels(&*backend.store(), &runtime, now).await?;
    }
    if let Ok(addr) = listener.local_addr() {
        crate::demo::announce_public_pages(&*stores.teams, &*stores.plugins, &runtime, &config.mail_domain, addr)
            .await?;
    }
    // The state holds a sender; when its last clone is dropped, `closed`
    // ends: no request can touch the store any more (mini-redis's
    // shutdown-complete signal).
    let (alive, mut closed) = mpsc::channel::<()>(1);
    let stats = backend.clone();
    let holder = server_name();
    let holder_for_timers = holder.clone();
    let inbound = Arc::new(crate::mail::Inbound {
        stores: stores.clone(),
        runtime: runtime.clone(),
        secret_key: Arc::clone(&secret_key),
        clock: Arc::clone(&config.clock),
        domain: config.mail_domain.trim_end_matches('.').to_lowercase(),
        holder: holder.clone(),
        config: config.smtp.clone(),
    });
    let smtp = crate::mail::start(inbound, stopped.clone()).await?;
    let mut mail_tasks = match smtp {
        Some((addr, tasks)) => {
            tracing::info!(addr = %addr, "receiving mail over SMTP");
            tasks
        }
        None => Vec::new(),
    };
    // Replies go out whether or not this server receives mail: another
    // server sharing the store may.
    let wake_replies = Arc::new(tokio::sync::Notify::new());
    let wake_outbox = Arc::new(tokio::sync::Notify::new());
    let replies = Arc::new(crate::mail::Replies {
        wake: Arc::clone(&wake_replies),
        outbox: Arc::clone(&wake_outbox),
        stores: stores.clone(),
        runtime: runtime.clone(),
        secret_key: Arc::clone(&secret_key),
        clock: Arc::clone(&config.clock),
        domain: config.mail_domain.trim_end_matches('.').to_lowercase(),
        holder: holder.clone(),
        config: config.smtp.clone(),
    });
    mail_tasks.push(tokio::spawn(replies.run_until(stopped.clone())));
    let transport = config.smtp.relay.as_ref().map(crate::mail::transport).transpose()?;
    let outbox = Arc::new(crate::mail::Outbox {
        stores: stores.clone(),
        clock: Arc::clone(&config.clock),
        holder: holder.clone(),
        config: config.smtp.clone(),
        transport,
        wake: wake_outbox,
    });
    mail_tasks.push(tokio::spawn(outbox.run_until(stopped.clone())));
    let state = AppState::new(Shared {
        stores: stores.clone(),
        failures: crate::failures::Failures::default(),
        secret_key,
        installs: Default::default(),
        plugin_sync,
        trusted_keys: config.trusted_keys.clone().into(),
        allow_unsigned_bundles: config.allow_unsigned_bundles,
        store_stats: Arc::new(move || stats.counters()),
        wake_replies,
        clock: Arc::clone(&config.clock),
        mail_domain: config.mail_domain.as_str().into(),
        runtime,
        chat: crate::chat::Chat { hub, countries, limits: config.chat_limits, stopping: stopped.clone() },
        public_limiter: Arc::new(RateLimiter::new(config.public_rate, config.public_burst)),
        trusted_proxies: config.trusted_proxies.clone().into(),
        public_url: config.public_url.as_deref().map(|u| u.trim_end_matches('/').into()),
        plugin_upload_limit: config.plugin_upload_limit,
        public_body_limit: config.public_body_limit,
        body_limit: config.body_limit,
        robot_wake: Arc::new(tokio::sync::Notify::new()),
        bus: Arc::clone(&bus),
        sign_in_limiter: Arc::new(std::sync::Mutex::new(switchboard_core::KeyedBuckets::new(10_000))),
        _alive: alive,
    });
    // With a bus, other servers share the store: the sweep takes turns.
    let sweeping = match &config.bus {
        Some(_) => crate::sweeper::Sweeping::Shared { jobs: Arc::clone(&stores.jobs), holder },
        None => crate::sweeper::Sweeping::Alone,
    };
    let lease = jiff::SignedDuration::try_from(config.robot_lease).unwrap_or(jiff::SignedDuration::from_secs(120));
    let robots = tokio::spawn(crate::robots::worker::run_robots(
        state.clone(),
        holder_for_timers.clone(),
        lease,
        stopped.clone(),
    ));
    let timers = tokio::spawn(crate::chat::run_timers(state.clone(), holder_for_timers, stopped.clone()));
    let sweeper = tokio::spawn(crate::sweeper::run(
        Arc::clone(&stores.tickets),
        Arc::clone(&stores.idempotency),
        Arc::clone(&config.clock),
        config.sla_sweep_interval,
        sweeping,
        stopped,
    ));
    let mut fault = stores.health.fault();
    let _returned = config.on_stuck_fault.map(|hook| watch_stuck_fault(stores.health.fault(), hook));
    drop(stores);
    let faulted = async move {
        let reason = fault.wait_for(Option::is_some).await.map(|reason| reason.clone().unwrap_or_default());
        match reason {
            Ok(reason) => reason,
            // The store is gone, so it cannot fault any more.
            Err(_) => std::future::pending().await,
        }
    };
    tracing::info!(addr = ?listener.local_addr().ok(), "serving");
    let app = crate::app::app(state, config.body_limit);
    let (stop_serving, serving_stopped) = tokio::sync::oneshot::channel::<()>();
    let server = axum::serve(listener, app.into_make_service_with_connect_info::<SocketAddr>())
        .with_graceful_shutdown(async move {
            let _ = serving_stopped.await;
        })
        .into_future();
    tokio::pin!(server);
    let fault = tokio::select! {
        served = &mut server => {
            served?;
            None
        }
        () = shutdown => None,
        reason = faulted => Some(reason),
    };
    let _ = stop_serving.send(());
    if let Some(reason) = fault {
        tracing::error!(reason = %reason, "the store stopped after a fault; shutting down");
        // Requests and tasks may be waiting on a store that will never
        // answer (a flush stuck on a failing disk): give them a moment to
        // finish, then go without them. Nothing they wait for can be
        // acknowledged any more.
        let _ = tokio::time::timeout(FAULT_GRACE, server).await;
        let _ = stop.send(true);
        return Err(ServeError::StoreFault(reason));
    }
    let served = server.await;
    let _ = stop.send(true);
    let _ = sweeper.await;
    let _ = timers.await;
    let _ = robots.await;
    let _ = follower.await;
    for task in mail_tasks {
        let _ = task.await;
    }
    // Connection tasks drop their copy of the state a moment after axum
    // reports them closed; wait for the last, so that the store closes (its
    // writer and flusher finish, sled releases the directory) before this
    // returns and a restart on the same directory can open it.
    let _ = closed.recv().await;
    if backend.in_use() {
        tracing::warn!("the store is still in use after shutdown; closing without waiting for it");
    }
    backend.close();
    served?;
    Ok(())
}

/// How long a server whose store stopped after a fault waits for its
/// connections before it returns.
const FAULT_GRACE: std::time::Duration = std::time::Duration::from_secs(3);

/// How long after a fault `serve` may take to return before
/// `Config::on_stuck_fault` is called: the grace, and time to return.
const FAULT_DEADLINE: std::time::Duration = std::time::Duration::from_secs(6);

/// Set when `serve` returns (the guard is dropped), so that a fault seen
/// afterwards is no longer this call's to report.
struct Returned(Arc<std::sync::atomic::AtomicBool>);

impl Drop for Returned {
    fn drop(&mut self) {
        self.0.store(true, std::sync::atomic::Ordering::Relaxed);
    }
}

/// Starts a thread that calls `hook` if the store faults and `serve` has
/// not returned [`FAULT_DEADLINE`] later. It is a thread, not a task,
/// because the runtime's workers may be the very threads stuck in the
/// store. It ends when the store is gone or `serve` has returned.
fn watch_stuck_fault(fault: watch::Receiver<Option<String>>, hook: fn(&str)) -> Returned {
    let returned = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let done = Arc::clone(&returned);
    let watching = std::thread::Builder::new().name("stuck-fault".into()).spawn(move || {
        let reason = loop {
            if done.load(std::sync::atomic::Ordering::Relaxed) || fault.has_changed().is_err() {
                return;
            }
            if let Some(reason) = fault.borrow().clone() {
                break reason;
            }
            std::thread::sleep(std::time::Duration::from_millis(200));
        };
        std::thread::sleep(FAULT_DEADLINE);
        if !done.load(std::sync::atomic::Ordering::Relaxed) {
            tracing::error!(reason = %reason, "the server did not stop after the store's fault");
            hook(&reason);
        }
    });
    if let Err(e) = watching {
        tracing::warn!(error = %e, "cannot start the thread that watches for a stuck fault");
    }
    Returned(returned)
}

/// This server's name among those sharing the store, as a lease holder:
/// its process id and a random part, so that a restarted server (which may
/// get the same pid) is not taken for the one that died.
fn server_name() -> String {
    let mut random = [0u8; 4];
    // Without randomness the pid alone still tells live servers apart.
    let _ = getrandom::fill(&mut random);
    format!("pid {} {}", std::process::id(), hex::encode(random))
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::{Duration, Instant};

    use super::*;

    static CALLED: AtomicUsize = AtomicUsize::new(0);

    fn hook(reason: &str) {
        assert_eq!(reason, "the disk is failing");
        CALLED.fetch_add(1, Ordering::SeqCst);
    }

    /// The hook runs on a thread of its own, with no runtime at all (as
    /// when every worker is stuck in the store), once the deadline after a
    /// fault has passed and `serve` has not returned; not when it has.
    #[test]
    fn a_fault_that_serve_cannot_end_calls_the_hook_from_a_thread_of_its_own() {
        let (fault, watched) = watch::channel(None);
        let stuck = watch_stuck_fault(watched, hook);
        let (late, watched_late) = watch::channel(None);
        let returned = watch_stuck_fault(watched_late, hook);
        let faulted = Instant::now();
        fault.send_replace(Some("the disk is failing".to_owned()));
        late.send_replace(Some("the disk is failing".to_owned()));
        drop(returned);
        while CALLED.load(Ordering::SeqCst) == 0 && faulted.elapsed() < FAULT_DEADLINE * 3 {
            std::thread::sleep(Duration::from_millis(50));
        }
        assert!(faulted.elapsed() >= FAULT_DEADLINE, "not before the deadline");
        std::thread::sleep(Duration::from_millis(500));
        assert_eq!(CALLED.load(Ordering::SeqCst), 1, "once, for the serve that never returned");
        drop(stuck);
    }
}
