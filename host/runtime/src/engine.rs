//! The engine, its linkers, the epoch ticker, and the table of loaded
//! plugins.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use sha2::{Digest, Sha256};
use switchboard_core::Manifest;
use switchboard_store::Stores;
use tokio::sync::Semaphore;
use wasmtime::component::{HasSelf, Linker};
use wasmtime::{Config, Enabled, Engine, InstanceAllocationStrategy, PoolingAllocationConfig};

use crate::bindings::{channel, robot};
use crate::cache::Cache;
use crate::compile::{CompilerProcess, compile_in_child};
use crate::host::{HostState, Services};
use crate::metrics::{Metrics, RuntimeStats};
use crate::plugin::Loaded;
use crate::{NowFn, RuntimeError, SUPPORTED_WIT};

/// How many instances may be live at once by default: the pooling
/// allocator's size.
pub(crate) const DEFAULT_MAX_INSTANCES: u32 = 256;

/// How much of a slot's memory or table is reset in place, page by page,
/// when an instance ends (see `engine_config`).
const KEEP_RESIDENT: usize = 2 << 20;

/// Settings of the runtime.
#[derive(Debug, Clone)]
pub struct RuntimeConfig {
    /// Where precompiled components are kept.
    pub cache_dir: PathBuf,
    /// Try the pooling allocator (with a fallback when it cannot reserve
    /// its memory).
    pub pooling: bool,
    /// How often the epoch advances; the CPU budget is checked this often.
    pub epoch_tick: Duration,
    /// The wall-clock limit of one call, host calls included.
    pub call_timeout: Duration,
    /// The largest HTTP response a channel may give.
    pub max_response_bytes: usize,
    /// The largest body an outbound HTTP request may bring back.
    pub max_http_body: usize,
    /// The timeout of one outbound HTTP request.
    pub http_timeout: Duration,
    /// The domain of team aliases: a plugin granted `mail:team` sends from
    /// its team's alias at this domain.
    pub mail_domain: String,
    /// The most plugin instances live at once (the pool's size). A call
    /// beyond it waits for an instance to end instead of failing at
    /// instantiation.
    pub max_instances: u32,
    /// How long a call waits for a free instance before it fails with
    /// [`RuntimeError::Busy`].
    pub instance_wait: Duration,
    /// The program that compiles in a process of its own; `None` compiles
    /// on a thread of the runtime's own (see `compile.rs` for why).
    pub compiler: Option<CompilerProcess>,
}

impl RuntimeConfig {
    /// Defaults: pooling, a 2 ms epoch tick, 30 s per call, 8 MiB
    /// responses, 10 s outbound requests, 256 instances at once with a
    /// wait of up to 5 s for one, compiling on a thread.
    pub fn new(cache_dir: impl Into<PathBuf>) -> Self {
        RuntimeConfig {
            cache_dir: cache_dir.into(),
            pooling: true,
            epoch_tick: Duration::from_millis(2),
            call_timeout: Duration::from_secs(30),
            max_response_bytes: 8 * 1024 * 1024,
            max_http_body: 8 * 1024 * 1024,
            http_timeout: Duration::from_secs(10),
            mail_domain: "localhost".into(),
            max_instances: DEFAULT_MAX_INSTANCES,
            instance_wait: Duration::from_secs(5),
            compiler: None,
        }
    }
}

/// A component compiled, checked and linked, not yet serving.
pub struct Prepared(pub(crate) Arc<Loaded>);

/// Runs plugins. Cheap to clone.
#[derive(Clone)]
pub struct Runtime {
    pub(crate) inner: Arc<Inner>,
}

/// The plugins loaded, by id: the runtime's, and read by host imports that
/// ask what another plugin can do (the `open-lines` import).
pub(crate) type LoadedPlugins = RwLock<HashMap<String, Arc<Loaded>>>;

pub(crate) struct Inner {
    pub(crate) engine: Engine,
    pub(crate) pooling: bool,
    channel_linker: Linker<HostState>,
    robot_linker: Linker<HostState>,
    cache: Cache,
    plugins: Arc<LoadedPlugins>,
    pub(crate) services: Arc<Services>,
    pub(crate) config: RuntimeConfig,
    pub(crate) metrics: Metrics,
    /// One permit per instance that may be live: a call holds one from
    /// before its instance is made until the instance is gone (see
    /// `Runtime::call`).
    pub(crate) instances: Arc<Semaphore>,
    stop_ticker: Arc<AtomicBool>,
}

impl Drop for Inner {
    fn drop(&mut self) {
        self.stop_ticker.store(true, Ordering::Relaxed);
    }
}

pub(crate) fn engine_config(pooling: bool, instances: u32) -> Config {
    let mut config = Config::new();
    config.epoch_interruption(true);
    config.memory_init_cow(true);
    if pooling {
        let mut pool = PoolingAllocationConfig::default();
        pool.total_component_instances(instances)
            .total_core_instances(instances.saturating_mul(8))
            .total_memories(instances.saturating_mul(2))
            .total_tables(instances.saturating_mul(8))
            .total_stacks(instances)
            .max_memory_size(switchboard_core::Limits::MAX_MEMORY_MIB as usize * 1024 * 1024)
            // Returning a slot's memory to the kernel (`madvise`) makes it
            // shoot down TLB entries on every core running the server, and
            // under load that cost most of the plugin path's CPU. Batching
            // decommits pays it once per batch: measured with 64 concurrent
            // clients on hello-channel, 12k requests/s unbatched, 19k at 32.
            .decommit_batch_size(64)
            // A fresh instance used to fault in every page it touched, and a
            // first write to a page first read as zero (or mapped from the
            // image) is a copy-on-write fault that flushes the TLB on every
            // core: perf showed those IPIs from guest stores and lazy table
            // init. With PAGEMAP_SCAN (Linux 6.7+, else ignored) wasmtime
            // finds the pages an instance dirtied and restores just those
            // with memset, so they stay mapped for the next instance. Plugin
            // path, 64 clients: 4829 -> 6510 tickets/s, 30k -> 1k faults/s.
            .pagemap_scan(Enabled::Auto)
            .linear_memory_keep_resident(KEEP_RESIDENT)
            .table_keep_resident(KEEP_RESIDENT);
        config.allocation_strategy(InstanceAllocationStrategy::Pooling(pool));
    }
    config
}

/// Builds the engine, preferring the pooling allocator. The pool reserves
/// a large range of virtual memory up front; where that is refused (a
/// `ulimit -v`, a small address space), fall back to allocating on demand.
fn build_engine(try_pooling: bool, instances: u32) -> Result<(Engine, bool), RuntimeError> {
    if try_pooling {
        match Engine::new(&engine_config(true, instances)) {
            Ok(engine) => return Ok((engine, true)),
            Err(e) => {
                tracing::warn!(error = %e, "pooling allocator unavailable; allocating instances on demand")
            }
        }
    }
    Engine::new(&engine_config(false, instances))
        .map(|e| (e, false))
        .map_err(|e| RuntimeError::Engine(format!("{e:#}")))
}

fn build_linkers(engine: &Engine) -> wasmtime::Result<(Linker<HostState>, Linker<HostState>)> {
    let mut channel_linker = Linker::new(engine);
    wasmtime_wasi::p2::add_to_linker_async(&mut channel_linker)?;
    channel::Channel::add_to_linker::<_, HasSelf<_>>(&mut channel_linker, |s| s)?;
    // The `mail` import of the mail-channel world; plain channels do not
    // import it, and linking it unused costs nothing.
    crate::bindings::mail_channel::switchboard::plugin::mail::add_to_linker::<_, HasSelf<_>>(
        &mut channel_linker,
        |s| s,
    )?;
    // The imports of the chat-channel world, likewise. `conversations` is
    // in the channel world already: from WIT 0.1.11 `tickets` uses its
    // `delivery` type.
    crate::bindings::chat_channel::switchboard::plugin::timers::add_to_linker::<_, HasSelf<_>>(
        &mut channel_linker,
        |s| s,
    )?;
    let mut robot_linker = Linker::new(engine);
    wasmtime_wasi::p2::add_to_linker_async(&mut robot_linker)?;
    robot::Robot::add_to_linker::<_, HasSelf<_>>(&mut robot_linker, |s| s)?;
    // The imports of the stage-robot world (WIT 0.1.9): mail and the
    // customer's open line.
    crate::bindings::mail_channel::switchboard::plugin::mail::add_to_linker::<_, HasSelf<_>>(&mut robot_linker, |s| s)?;
    crate::bindings::stage_robot::switchboard::plugin::open_lines::add_to_linker::<_, HasSelf<_>>(
        &mut robot_linker,
        |s| s,
    )?;
    Ok((channel_linker, robot_linker))
}

/// The SHA-256 of a component, hex.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

impl Runtime {
    /// Sets up the engine, the linkers and the epoch ticker. The host
    /// imports use the capabilities of `stores` that they offer plugins:
    /// teams, tickets, contacts and plugin storage.
    pub fn new(config: RuntimeConfig, stores: &Stores, now: NowFn) -> Result<Runtime, RuntimeError> {
        crate::compile::nice_compile_workers();
        // A pool of none would refuse every call; one is the least.
        let config = RuntimeConfig { max_instances: config.max_instances.max(1), ..config };
        let (engine, pooling) = build_engine(config.pooling, config.max_instances)?;
        let instances = Arc::new(Semaphore::new(config.max_instances as usize));
        let (channel_linker, robot_linker) =
            build_linkers(&engine).map_err(|e| RuntimeError::Engine(format!("{e:#}")))?;
        let cache = Cache::open(&config.cache_dir, &engine)?;
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(config.http_timeout)
            .build()
            .map_err(|e| RuntimeError::Engine(format!("cannot build the HTTP client: {e}")))?;
        let plugins: Arc<LoadedPlugins> = Arc::default();
        let services = Arc::new(Services {
            loaded: Arc::clone(&plugins),
            plugins: Arc::clone(&stores.plugins),
            teams: Arc::clone(&stores.teams),
            tickets: Arc::clone(&stores.tickets),
            contacts: Arc::clone(&stores.contacts),
            kv: Arc::clone(&stores.kv),
            presence: Arc::clone(&stores.presence),
            jobs: Arc::clone(&stores.jobs),
            chat: std::sync::OnceLock::new(),
            http,
            now,
            mail_domain: config.mail_domain.as_str().into(),
            max_http_body: config.max_http_body,
            rate_limits: Default::default(),
        });
        let stop_ticker = Arc::new(AtomicBool::new(false));
        spawn_ticker(engine.clone(), config.epoch_tick, Arc::clone(&stop_ticker))
            .map_err(|e| RuntimeError::Engine(format!("cannot start the epoch ticker: {e}")))?;
        Ok(Runtime {
            inner: Arc::new(Inner {
                engine,
                pooling,
                channel_linker,
                robot_linker,
                cache,
                plugins,
                services,
                config,
                metrics: Metrics::default(),
                instances,
                stop_ticker,
            }),
        })
    }

    /// Compiles (or loads from the cache) a plugin's component, checks it
    /// against the world of its kind, and makes it callable, replacing an
    /// older version. Calls already running finish on the old code. This
    /// compiles on the calling thread; call it from a blocking context.
    pub fn load(&self, manifest: &Manifest, wasm: &[u8]) -> Result<(), RuntimeError> {
        let prepared = self.prepare(manifest, wasm)?;
        self.activate(prepared);
        Ok(())
    }

    /// Loads a plugin that was installed before: as [`Runtime::load`], but
    /// a manifest that misnames the component's WIT version is logged, not
    /// refused, since hosts before the check accepted it and refusing it now
    /// would take a working plugin down at start.
    pub fn reload(&self, manifest: &Manifest, wasm: &[u8]) -> Result<(), RuntimeError> {
        let prepared = self.prepare_with(manifest, wasm, false)?;
        self.activate(prepared);
        Ok(())
    }

    /// Compiles, checks and links a component without making it callable,
    /// so that it can be asked to describe itself (see
    /// [`Runtime::describe_prepared`]) before it replaces the version that
    /// serves. Compiling runs on the calling thread; call it from a blocking
    /// context.
    pub fn prepare(&self, manifest: &Manifest, wasm: &[u8]) -> Result<Prepared, RuntimeError> {
        self.prepare_with(manifest, wasm, true)
    }

    /// Makes a prepared plugin the one that serves its id, at once: every
    /// call that starts after this runs the new code, and calls already
    /// running finish on the old.
    pub fn activate(&self, prepared: Prepared) {
        let loaded = prepared.0;
        self.inner
            .plugins
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .insert(loaded.manifest.id.clone(), loaded);
    }

    fn prepare_with(&self, manifest: &Manifest, wasm: &[u8], enforce_wit: bool) -> Result<Prepared, RuntimeError> {
        if !SUPPORTED_WIT.contains(&manifest.wit.as_str()) {
            return Err(RuntimeError::UnsupportedWit {
                plugin: manifest.id.clone(),
                wit: manifest.wit.clone(),
                supported: SUPPORTED_WIT.join(", "),
            });
        }
        let sha256 = sha256_hex(wasm);
        let inner = &self.inner;
        let component = match inner.cache.load(&inner.engine, &sha256) {
            Some(component) => {
                inner.metrics.cache_hits.fetch_add(1, Ordering::Relaxed);
                component
            }
            None => {
                let component = match &inner.config.compiler {
                    Some(compiler) => compile_in_child(
                        compiler,
                        &inner.cache,
                        &inner.engine,
                        inner.pooling,
                        &manifest.id,
                        &sha256,
                        wasm,
                    )?,
                    None => inner.cache.compile(&inner.engine, &manifest.id, &sha256, wasm)?,
                };
                inner.metrics.compiled.fetch_add(1, Ordering::Relaxed);
                tracing::info!(plugin = %manifest.id, version = %manifest.version, "compiled plugin");
                component
            }
        };
        let wit = match check_wit_version(manifest, &component, &inner.engine) {
            Err(RuntimeError::WitMismatch { component: built, .. }) if !enforce_wit => {
                tracing::warn!(plugin = %manifest.id, manifest = %manifest.wit, component = %built, "installed plugin misnames its WIT version");
                // What the host gives the plugin follows what it was built
                // against, not what its manifest says.
                built.rsplit(", ").next().unwrap_or(&manifest.wit).to_owned()
            }
            checked => checked?,
        };
        let loaded =
            Loaded::link(manifest.clone(), wit, sha256, &component, &inner.channel_linker, &inner.robot_linker)?;
        Ok(Prepared(Arc::new(loaded)))
    }

    /// Forgets a plugin.
    pub fn unload(&self, plugin: &str) {
        self.inner.plugins.write().unwrap_or_else(std::sync::PoisonError::into_inner).remove(plugin);
    }

    /// The ids of every loaded plugin.
    pub fn loaded_plugins(&self) -> Vec<String> {
        self.inner.plugins.read().unwrap_or_else(std::sync::PoisonError::into_inner).keys().cloned().collect()
    }

    /// The version and component hash of a loaded plugin.
    pub fn loaded_version(&self, plugin: &str) -> Option<(String, String)> {
        self.loaded(plugin).ok().map(|l| (l.manifest.version.clone(), l.sha256.clone()))
    }

    pub(crate) fn loaded(&self, plugin: &str) -> Result<Arc<Loaded>, RuntimeError> {
        self.inner
            .plugins
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get(plugin)
            .cloned()
            .ok_or_else(|| RuntimeError::NotLoaded(plugin.to_owned()))
    }

    /// How many plugin instances may be live at once; calls past it wait
    /// for one to end.
    pub fn max_instances(&self) -> u32 {
        self.inner.config.max_instances
    }

    /// Counters for `/metrics`.
    pub fn stats(&self) -> RuntimeStats {
        self.inner.metrics.snapshot(self.inner.pooling)
    }
}

/// Checks that the manifest's `wit` is the version of our package that
/// the component was built against: the one its imports and exports name
/// (`switchboard:plugin/tickets@0.1.3`). A manifest that claims an older
/// version would make the host believe the plugin knows less than it does.
/// Returns the version the component was built against.
fn check_wit_version(
    manifest: &Manifest,
    component: &wasmtime::component::Component,
    engine: &Engine,
) -> Result<String, RuntimeError> {
    let ty = component.component_type();
    let names = ty.imports(engine).map(|(name, _)| name).chain(ty.exports(engine).map(|(name, _)| name));
    let mut versions: Vec<&str> =
        names.filter_map(|name| name.strip_prefix("switchboard:plugin/")?.split_once('@').map(|(_, v)| v)).collect();
    versions.sort_unstable_by_key(|v| switchboard_core::parse_version("wit", v).unwrap_or_default());
    versions.dedup();
    if versions.is_empty() || versions == [manifest.wit.as_str()] {
        return Ok(manifest.wit.clone());
    }
    Err(RuntimeError::WitMismatch {
        plugin: manifest.id.clone(),
        manifest: manifest.wit.clone(),
        component: versions.join(", "),
    })
}

/// Advances the engine's epoch every `tick` until `stop` is set.
fn spawn_ticker(engine: Engine, tick: Duration, stop: Arc<AtomicBool>) -> std::io::Result<()> {
    std::thread::Builder::new().name("wasm-epoch".into()).spawn(move || {
        while !stop.load(Ordering::Relaxed) {
            std::thread::sleep(tick);
            engine.increment_epoch();
        }
    })?;
    Ok(())
}
