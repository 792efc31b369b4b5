//! The state each call's store holds, and the grant checks every host
//! import goes through.

mod conversations;
mod http;
mod log;
mod mail;
mod open_lines;
mod rate_limit;
mod secrets;
mod storage;
mod tickets;
mod timers;

use std::sync::Arc;
use std::time::Duration;

use switchboard_core::{Capability, Limits};
use switchboard_store::{
    Committed, ContactStore, Durability, JobStore, KvStore, PresenceStore, StoreError, TeamStore, TicketStore,
};
use wasmtime::ResourceLimiter;
use wasmtime_wasi::{ResourceTable, WasiCtx, WasiCtxView, WasiView};

use crate::NowFn;
use crate::bindings::wit::PluginError;
use crate::guest_clock::GuestClock;
use crate::stdio::{GuestOutput, Which};

/// The most entries a call's resource table may hold.
const MAX_RESOURCES: usize = 1024;

/// The most writes a call may have waiting for the disk; the next write
/// first waits for them, so that a loop of writes cannot queue without
/// bound.
const MAX_PENDING_WRITES: usize = 64;

/// What the host offers every call: the stores its imports use, an HTTP
/// client and the time.
pub(crate) struct Services {
    /// The plugins loaded, to ask whether a channel delivers replies.
    pub(crate) loaded: Arc<crate::engine::LoadedPlugins>,
    /// Installations, to ask whether a channel is enabled for a team.
    pub(crate) plugins: Arc<dyn switchboard_store::PluginStore>,
    /// Teams, read to show a ticket's stage by name.
    pub(crate) teams: Arc<dyn TeamStore>,
    /// Tickets and threads, for the `tickets` import.
    pub(crate) tickets: Arc<dyn TicketStore>,
    /// Contacts, read to attribute a customer's message.
    pub(crate) contacts: Arc<dyn ContactStore>,
    /// Plugin storage, for the `storage` import.
    pub(crate) kv: Arc<dyn KvStore>,
    /// Operators' presence, for `conversations.online-operators`.
    pub(crate) presence: Arc<dyn PresenceStore>,
    /// Jobs, for the `timers` import.
    pub(crate) jobs: Arc<dyn JobStore>,
    /// The conversation hub and country database, once the server
    /// attached them (see `Runtime::attach_chat`).
    pub(crate) chat: std::sync::OnceLock<crate::ChatLink>,
    pub(crate) http: reqwest::Client,
    pub(crate) now: NowFn,
    /// The domain of team aliases, for `mail:team`.
    pub(crate) mail_domain: Arc<str>,
    pub(crate) max_http_body: usize,
    /// The buckets of the `rate-limit` import.
    pub(crate) rate_limits: rate_limit::RateLimits,
}

/// Who is calling: the plugin, the team it is enabled for, and what it was
/// granted. `describe` and `validate-settings` run with no team and no
/// grants.
#[derive(Debug, Clone)]
pub(crate) struct Scope {
    pub(crate) plugin: Arc<str>,
    pub(crate) team: Arc<str>,
    pub(crate) grants: Vec<Capability>,
    pub(crate) limits: Limits,
    /// The installation's secrets, for the `secrets` import.
    pub(crate) secrets: crate::Secrets,
    /// Whether the call may only read: a robot's preview for the dry run.
    pub(crate) read_only: bool,
}

impl Scope {
    /// Refuses unless `capability` was granted; the error names it.
    pub(crate) fn require(&self, capability: &Capability) -> Result<(), PluginError> {
        if self.grants.contains(capability) {
            return Ok(());
        }
        Err(self.denied(capability))
    }

    /// The error for a missing capability.
    pub(crate) fn denied(&self, capability: &Capability) -> PluginError {
        if self.team.is_empty() {
            PluginError::Denied(format!(
                "capability \"{capability}\" is not available outside an installation (in describe or validate-settings)"
            ))
        } else {
            PluginError::Denied(format!(
                "capability \"{capability}\" was not granted to plugin \"{}\" in team \"{}\"",
                self.plugin, self.team
            ))
        }
    }
}

/// Caps linear memory and tables, and remembers when a guest hit the cap so
/// that the failure can be named.
pub(crate) struct Limiter {
    max_memory: usize,
    pub(crate) memory_exceeded: bool,
}

impl ResourceLimiter for Limiter {
    fn memory_growing(&mut self, _current: usize, desired: usize, _maximum: Option<usize>) -> wasmtime::Result<bool> {
        if desired > self.max_memory {
            self.memory_exceeded = true;
            return Ok(false);
        }
        Ok(true)
    }

    fn table_growing(&mut self, _current: usize, desired: usize, _maximum: Option<usize>) -> wasmtime::Result<bool> {
        Ok(desired <= 100_000)
    }

    fn instances(&self) -> usize {
        64
    }

    fn tables(&self) -> usize {
        64
    }

    fn memories(&self) -> usize {
        16
    }
}

/// The data of one call's store.
pub(crate) struct HostState {
    wasi: WasiCtx,
    table: ResourceTable,
    pub(crate) scope: Arc<Scope>,
    pub(crate) services: Arc<Services>,
    pub(crate) limiter: Limiter,
    /// The guest's own running time, for the CPU budget.
    pub(crate) clock: GuestClock,
    /// Set by the epoch callback when the budget ran out.
    pub(crate) cpu_exceeded: bool,
    /// Outbound HTTP requests made in this call.
    pub(crate) http_calls: u32,
    /// Writes of this call that are visible but not yet on disk (and, for
    /// a stage robot, its run's claim and the ticket it read). They are waited for before
    /// anything leaves the server: an outbound request, or the call's own
    /// answer (see `Runtime::call`).
    pub(crate) pending: Vec<Durability>,
}

impl HostState {
    /// A fresh state for one call: WASI with nothing preopened, no
    /// environment, no arguments, no sockets, and output logged.
    pub(crate) fn new(scope: Arc<Scope>, services: Arc<Services>) -> Self {
        let wasi = WasiCtx::builder()
            .stdout(GuestOutput::new(Which::Stdout, scope.plugin.clone(), scope.team.clone()))
            .stderr(GuestOutput::new(Which::Stderr, scope.plugin.clone(), scope.team.clone()))
            .allow_tcp(false)
            .allow_udp(false)
            .allow_ip_name_lookup(false)
            .build();
        let mut table = ResourceTable::new();
        table.set_max_capacity(MAX_RESOURCES);
        let max_memory = usize::try_from(scope.limits.memory_mib).unwrap_or(usize::MAX).saturating_mul(1024 * 1024);
        HostState {
            wasi,
            table,
            scope,
            services,
            limiter: Limiter { max_memory, memory_exceeded: false },
            clock: GuestClock::new(),
            cpu_exceeded: false,
            http_calls: 0,
            pending: Vec::new(),
        }
    }

    /// The guest's own running time so far.
    pub(crate) fn guest_time(&self) -> Duration {
        self.clock.guest_time()
    }

    /// The CPU budget of this call.
    pub(crate) fn budget(&self) -> Duration {
        Duration::from_millis(u64::from(self.scope.limits.cpu_ms))
    }
}

impl WasiView for HostState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView { ctx: &mut self.wasi, table: &mut self.table }
    }
}

impl HostState {
    /// The time host calls stamp their writes with.
    pub(crate) fn now(&self) -> jiff::Timestamp {
        (self.services.now)()
    }

    /// Makes a store write and returns its value once it is visible,
    /// without waiting for the disk: the guest goes on while the write
    /// waits for the group flush, and the write's durability joins
    /// `pending`, which is waited for before anything leaves the server.
    /// The write's time counts as host time, not against the plugin's CPU
    /// budget.
    ///
    /// Not waiting for the disk here is what lets the instance end (and its
    /// memory slot and stack go back to the pool, still warm in the CPU's
    /// caches) before the flush, instead of every in-flight request holding
    /// an instance across its disk wait; and a call that writes twice waits
    /// for one flush, not two in a row.
    pub(crate) async fn write<T>(
        &mut self,
        write: impl Future<Output = Result<Committed<T>, StoreError>>,
    ) -> Result<T, PluginError> {
        if self.scope.read_only {
            return Err(PluginError::Denied("a preview reads and writes nothing; this call would write".into()));
        }
        if self.pending.len() >= MAX_PENDING_WRITES {
            self.settle().await?;
        }
        self.clock.host_begin();
        let result = write.await;
        self.clock.host_end();
        let (value, durability) = result.map_err(plugin_error)?.split();
        self.pending.push(durability);
        Ok(value)
    }

    /// Waits until every write of this call so far is on disk. The wait is
    /// host time.
    pub(crate) async fn settle(&mut self) -> Result<(), PluginError> {
        self.clock.host_begin();
        let result = settle(std::mem::take(&mut self.pending)).await.map_err(plugin_error);
        self.clock.host_end();
        result
    }
}

/// Waits for every write in `pending` to be on disk; the first failure is
/// returned after all have been waited for.
pub(crate) async fn settle(pending: Vec<Durability>) -> Result<(), StoreError> {
    let mut outcome = Ok(());
    for durability in pending {
        if let Err(e) = durability.wait().await {
            outcome = outcome.and(Err(e));
        }
    }
    outcome
}

/// Turns a store error into the typed error a plugin sees. Client-side
/// mistakes keep their message; internal failures are logged and reported
/// as transient without detail.
pub(crate) fn plugin_error(e: StoreError) -> PluginError {
    match e {
        StoreError::UnknownTicket(_)
        | StoreError::UnknownTeam(_)
        | StoreError::UnknownContact(_)
        | StoreError::UnknownMessage { .. }
        | StoreError::UnknownAttachment { .. }
        | StoreError::UnknownConversation(_)
        | StoreError::UnknownChatMessage { .. }
        | StoreError::UnknownChatAttachment { .. } => PluginError::NotFound(e.to_string()),
        StoreError::Rule(_)
        | StoreError::ExternalKeyTaken { .. }
        | StoreError::StorageFull { .. }
        | StoreError::KeyReused(_) => PluginError::Permanent(e.to_string()),
        other => {
            tracing::error!(error = %other, "store failure in a host call");
            PluginError::Transient("the host could not complete the call; try again".into())
        }
    }
}

impl crate::bindings::channel::switchboard::plugin::types::Host for HostState {}
