//! Calling plugins: a fresh store per event, limits on every call, and
//! failures classified by cause.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Instant;

use switchboard_core::{Contact, Installation, Limits, Team, Ticket};
use tokio::sync::OwnedSemaphorePermit;
use wasmtime::{Store, Trap, UpdateDeadline};

use crate::bindings::channel::exports::switchboard::plugin::channel_handler as ch;
use crate::bindings::robot::exports::switchboard::plugin::robot_handler as rh;
use crate::bindings::wit::PluginError;
use crate::convert::{contact_to_wit, ticket_to_wit};
use crate::engine::{Prepared, Runtime};
use crate::host::{HostState, Scope};
use crate::plugin::{Loaded, PluginInfo, Pre};
use crate::{RuntimeError, Secrets};

/// A request to a channel's public route.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HttpRequest {
    /// The method.
    pub method: String,
    /// The path below `/c/<team>/<plugin>`, starting with `/`.
    pub path: String,
    /// The raw query string.
    pub query: String,
    /// Header names (lowercase) and values.
    pub headers: Vec<(String, String)>,
    /// The body.
    pub body: Vec<u8>,
    /// The client's IP address.
    pub client_addr: String,
}

/// A channel's answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpResponse {
    /// The status code.
    pub status: u16,
    /// Header names and values.
    pub headers: Vec<(String, String)>,
    /// The body.
    pub body: Vec<u8>,
}

/// The typed error a plugin returned (the WIT `plugin-error`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PluginFailure {
    /// `invalid-settings`, `denied`, `not-found`, `rate-limited`,
    /// `transient` or `permanent`.
    pub kind: &'static str,
    /// The plugin's message.
    pub message: String,
}

impl From<PluginError> for PluginFailure {
    fn from(e: PluginError) -> Self {
        let (kind, message) = match e {
            PluginError::InvalidSettings(m) => ("invalid-settings", m),
            PluginError::Denied(m) => ("denied", m),
            PluginError::NotFound(m) => ("not-found", m),
            PluginError::RateLimited(m) => ("rate-limited", m),
            PluginError::Transient(m) => ("transient", m),
            PluginError::Permanent(m) => ("permanent", m),
        };
        PluginFailure { kind, message }
    }
}

impl PluginFailure {
    /// Whether the same call may work later: the plugin said `transient`
    /// or `rate-limited`.
    pub fn may_pass(&self) -> bool {
        matches!(self.kind, "transient" | "rate-limited")
    }
}

impl fmt::Display for PluginFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.kind, self.message)
    }
}

/// What a robot run needs.
#[derive(Debug, Clone)]
pub struct RunInput {
    /// The ticket.
    pub ticket: Ticket,
    /// Its team.
    pub team: Team,
    /// Its contact, if known.
    pub contact: Option<Contact>,
}

/// How a robot run ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// The work was done.
    Done,
    /// Nothing to do; the robot's reason.
    Skipped(String),
    /// The robot reported a failure.
    Failed(PluginFailure),
}

pub(crate) type CallFuture<'a, R> = Pin<Box<dyn Future<Output = wasmtime::Result<R>> + Send + 'a>>;

/// The result of an export call: a trap, or the plugin's own answer.
pub(crate) type Answer<T> = Result<T, PluginError>;

impl Runtime {
    fn new_store(&self, scope: Arc<Scope>) -> Store<HostState> {
        let inner = &self.inner;
        let mut store = Store::new(&inner.engine, HostState::new(scope, Arc::clone(&inner.services)));
        store.limiter(|s| &mut s.limiter);
        // Every epoch tick, check how much time the guest itself has used
        // (see `guest_clock`: host calls and waits to be polled again do not
        // count). Yielding lets other requests run on this thread.
        store.set_epoch_deadline(1);
        store.epoch_deadline_callback(|mut ctx| {
            let state = ctx.data_mut();
            if state.guest_time() > state.budget() {
                state.cpu_exceeded = true;
                return Ok(UpdateDeadline::Interrupt);
            }
            Ok(UpdateDeadline::Yield(1))
        });
        store
    }

    /// Runs `body` against a fresh instance of `loaded` under `scope`'s
    /// limits, and names the cause when it fails.
    pub(crate) async fn call<R>(
        &self,
        loaded: &Loaded,
        scope: Scope,
        body: impl for<'a> FnOnce(&'a mut Store<HostState>, &'a Pre) -> CallFuture<'a, R>,
    ) -> Result<R, RuntimeError> {
        let scope = Arc::new(scope);
        // Past the pool's size, instantiating would fail; a call waits for
        // an instance to end instead, and says so when none does in time.
        let instance = self.instance_slot(&scope.plugin).await?;
        let mut store = self.new_store(Arc::clone(&scope));
        let clock = store.data().clock.clone();
        let started = Instant::now();
        let timeout = self.inner.config.call_timeout;
        let outcome = tokio::time::timeout(timeout, clock.meter(body(&mut store, &loaded.pre))).await;
        let plugin = scope.plugin.to_string();
        let mut result = match outcome {
            Ok(Ok(value)) => Ok(value),
            Ok(Err(e)) => Err(classify(&scope, store.data(), &e)),
            Err(_) => Err(RuntimeError::Timeout { plugin: plugin.clone(), seconds: timeout.as_secs() }),
        };
        // The instance is done: end it now, so that its slot and stack go
        // back to the pool while the plugin's writes wait for the disk.
        // The answer leaves only once they are durable, even if the call
        // failed after writing.
        let pending = std::mem::take(&mut store.data_mut().pending);
        drop(store);
        drop(instance);
        if let Err(e) = crate::host::settle(pending).await {
            result = result.and(Err(RuntimeError::Durability { plugin, reason: e.to_string() }));
        }
        self.inner.metrics.record(&scope.plugin, started.elapsed());
        if let Err(e) = &result {
            self.inner.metrics.failed(&scope.plugin);
            tracing::warn!(plugin = %scope.plugin, team = %scope.team, error = %e, "plugin call failed");
        }
        result
    }

    /// A permit for one live instance, waited for up to the configured
    /// time. Calls get permits in the order they asked (the semaphore is
    /// fair), so a burst of one kind of call delays the others only by
    /// its place in the line.
    async fn instance_slot(&self, plugin: &str) -> Result<OwnedSemaphorePermit, RuntimeError> {
        let inner = &self.inner;
        let wait = inner.config.instance_wait;
        let busy = || RuntimeError::Busy {
            plugin: plugin.to_string(),
            instances: self.max_instances(),
            waited_ms: u64::try_from(wait.as_millis()).unwrap_or(u64::MAX),
        };
        if let Ok(permit) = Arc::clone(&inner.instances).try_acquire_owned() {
            return Ok(permit);
        }
        inner.metrics.instance_waited();
        match tokio::time::timeout(wait, Arc::clone(&inner.instances).acquire_owned()).await {
            Ok(Ok(permit)) => Ok(permit),
            // The semaphore is never closed; a closed one would mean no
            // call can ever start, which is the same answer.
            Ok(Err(_)) | Err(_) => {
                inner.metrics.instance_refused();
                Err(busy())
            }
        }
    }

    fn describe_scope(&self, loaded: &Loaded) -> Scope {
        Scope {
            plugin: loaded.manifest.id.as_str().into(),
            team: "".into(),
            grants: Vec::new(),
            limits: Limits::default(),
            secrets: Secrets::default(),
            read_only: false,
        }
    }

    /// What a call for `installation` may do. Only grants the loaded
    /// version asks for count: one an upgrade dropped gives nothing, also
    /// before the server has forgotten it.
    pub(crate) fn installation_scope(loaded: &Loaded, installation: &Installation, secrets: &Secrets) -> Scope {
        let mut grants = installation.grants_in_force(&loaded.manifest);
        crate::setting_hosts::resolve(&mut grants, &installation.settings, &loaded.manifest);
        Scope {
            plugin: installation.plugin.as_str().into(),
            team: installation.team.as_str().into(),
            grants,
            limits: installation.limits,
            secrets: secrets.clone(),
            read_only: false,
        }
    }

    /// Asks a plugin to describe itself.
    pub async fn describe(&self, plugin: &str) -> Result<PluginInfo, RuntimeError> {
        let loaded = self.loaded(plugin)?;
        self.describe_loaded(&loaded).await
    }

    /// Asks a prepared plugin, not yet serving, to describe itself.
    pub async fn describe_prepared(&self, prepared: &Prepared) -> Result<PluginInfo, RuntimeError> {
        self.describe_loaded(&prepared.0).await
    }

    async fn describe_loaded(&self, loaded: &Loaded) -> Result<PluginInfo, RuntimeError> {
        let scope = self.describe_scope(loaded);
        self.call(loaded, scope, |store, pre| {
            Box::pin(async move {
                Ok(match pre {
                    Pre::Channel { pre, .. } => {
                        let i = pre.instantiate_async(&mut *store).await?;
                        let info = i.switchboard_plugin_channel_handler().call_describe(&mut *store).await?;
                        PluginInfo { name: info.name, summary: info.summary, settings_schema: info.settings_schema }
                    }
                    Pre::Robot { pre, .. } => {
                        let i = pre.instantiate_async(&mut *store).await?;
                        let info = i.switchboard_plugin_robot_handler().call_describe(&mut *store).await?;
                        PluginInfo { name: info.name, summary: info.summary, settings_schema: info.settings_schema }
                    }
                })
            })
        })
        .await
    }

    /// Asks a plugin whether `settings` (JSON, without secrets) are valid.
    /// A plugin built before the `secrets` import sees `secrets` inside the
    /// settings, as it will in its calls; a newer one sees none, and no
    /// secret is set during the check. The plugin's own refusal comes back
    /// as [`RuntimeError::Plugin`].
    pub async fn validate_settings(&self, plugin: &str, settings: &str, secrets: &Secrets) -> Result<(), RuntimeError> {
        let loaded = self.loaded(plugin)?;
        let scope = self.describe_scope(&loaded);
        let settings = secrets.settings_for(&loaded.wit, settings);
        let answer: Answer<()> = self
            .call(&loaded, scope, |store, pre| {
                Box::pin(async move {
                    match pre {
                        Pre::Channel { pre, .. } => {
                            let i = pre.instantiate_async(&mut *store).await?;
                            i.switchboard_plugin_channel_handler().call_validate_settings(&mut *store, &settings).await
                        }
                        Pre::Robot { pre, .. } => {
                            let i = pre.instantiate_async(&mut *store).await?;
                            i.switchboard_plugin_robot_handler().call_validate_settings(&mut *store, &settings).await
                        }
                    }
                })
            })
            .await?;
        answer.map_err(|e| RuntimeError::Plugin { plugin: plugin.to_owned(), failure: e.into() })
    }

    /// Hands a request on a channel's public route to its installation.
    pub async fn handle_http(
        &self,
        installation: &Installation,
        secrets: &Secrets,
        request: HttpRequest,
    ) -> Result<HttpResponse, RuntimeError> {
        let loaded = self.loaded(&installation.plugin)?;
        if !matches!(loaded.pre, Pre::Channel { .. }) {
            return Err(RuntimeError::WrongKind {
                plugin: installation.plugin.clone(),
                kind: "robot",
                wanted: "channel",
            });
        }
        let settings = secrets.settings_for(&loaded.wit, &installation.settings);
        let request = ch::HttpRequest {
            method: request.method,
            path: request.path,
            query: request.query,
            headers: request.headers,
            body: request.body,
            client_addr: request.client_addr,
        };
        let answer: Answer<ch::HttpResponse> = self
            .call(&loaded, Self::installation_scope(&loaded, installation, secrets), |store, pre| {
                Box::pin(async move {
                    let Pre::Channel { pre, .. } = pre else {
                        return Err(wasmtime::format_err!("not a channel"));
                    };
                    let i = pre.instantiate_async(&mut *store).await?;
                    i.switchboard_plugin_channel_handler().call_handle_http(&mut *store, &settings, &request).await
                })
            })
            .await?;
        let plugin = installation.plugin.clone();
        let limit = self.inner.config.max_response_bytes;
        let checked = match answer {
            Err(e) => Err(RuntimeError::Plugin { plugin, failure: e.into() }),
            Ok(r) if r.body.len() > limit => Err(RuntimeError::ResponseTooLarge { plugin, size: r.body.len(), limit }),
            Ok(r) => Ok(HttpResponse { status: r.status, headers: r.headers, body: r.body }),
        };
        if let Err(e) = &checked {
            self.inner.metrics.failed(&installation.plugin);
            tracing::warn!(plugin = %installation.plugin, team = %installation.team, error = %e, "plugin call failed");
        }
        checked
    }

    /// Runs a robot installation on a ticket.
    pub async fn run_robot(
        &self,
        installation: &Installation,
        secrets: &Secrets,
        input: RunInput,
    ) -> Result<Outcome, RuntimeError> {
        let loaded = self.loaded(&installation.plugin)?;
        if !matches!(loaded.pre, Pre::Robot { .. }) {
            return Err(RuntimeError::WrongKind {
                plugin: installation.plugin.clone(),
                kind: "channel",
                wanted: "robot",
            });
        }
        let context = rh::RunContext {
            ticket: ticket_to_wit(&input.ticket, &input.team),
            contact: input.contact.as_ref().map(contact_to_wit),
            team: rh::Team { slug: input.team.slug.clone(), name: input.team.name.clone() },
            stage: input.team.stage(input.ticket.stage).map(|s| s.name.clone()).unwrap_or_default(),
            settings: secrets.settings_for(&loaded.wit, &installation.settings),
        };
        let outcome = self
            .call(&loaded, Self::installation_scope(&loaded, installation, secrets), |store, pre| {
                Box::pin(async move {
                    let Pre::Robot { pre, .. } = pre else {
                        return Err(wasmtime::format_err!("not a robot"));
                    };
                    let i = pre.instantiate_async(&mut *store).await?;
                    i.switchboard_plugin_robot_handler().call_run(&mut *store, &context).await
                })
            })
            .await?;
        Ok(match outcome {
            rh::Outcome::Done => Outcome::Done,
            rh::Outcome::Skipped(why) => Outcome::Skipped(why),
            rh::Outcome::Failed(e) => {
                self.inner.metrics.failed(&installation.plugin);
                Outcome::Failed(e.into())
            }
        })
    }
}

/// Names why a call failed: the CPU budget, the memory cap, or a trap.
fn classify(scope: &Scope, state: &HostState, error: &wasmtime::Error) -> RuntimeError {
    let plugin = scope.plugin.to_string();
    if state.cpu_exceeded {
        return RuntimeError::CpuBudget { plugin, budget_ms: scope.limits.cpu_ms };
    }
    if state.limiter.memory_exceeded {
        return RuntimeError::Memory { plugin, limit_mib: scope.limits.memory_mib };
    }
    let reason = match error.downcast_ref::<Trap>() {
        Some(trap) => trap.to_string(),
        None => format!("{error:#}"),
    };
    RuntimeError::Trap { plugin, reason }
}
